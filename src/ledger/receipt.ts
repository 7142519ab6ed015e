/**
 * Offline verification of a downloaded receipt (`GET /ledger/tx/{txId}`): everything it claims
 * is re-derived from its own contents, with no node and no database.
 *
 *   1. the transaction: its shape, H_DATA and the sender's signature;
 *   2. the block header: encoding, hash, puzzle, the miner's id and signature;
 *   3. the id: txId = H_txID(H_BLOCK of that header, H_DATA), and the owner is the miner (its
 *      key is the block's miner key; a receipt from before ring ids were certified names no
 *      key, and its owner's id is the miner's id, the key's SHA-1);
 *   4. the Merkle path leads from txId to the header's Merkle root;
 *   5. when anchored: the path from the block's hash leads to the anchor's root, at the
 *      block's place among the anchored heights.
 * Steps 4 and 5 (and the header's hash and puzzle) are receipt-proofs.ts, which browsers run too.
 *
 * Given the ring's authority certificate (and, optionally, its CRL), {@link verifyReceipt} also
 * checks who the owner was: the membership certificate the receipt carries is the authority's,
 * was valid when the block was opened and is not revoked, names the owner's ring id, and holds
 * the key that signed the block. Without it, the receipt proves which key signed, not that
 * the key belonged to a member.
 *
 * Whether the anchor's public transaction exists is checked separately, against a chain
 * (ethereum-anchorer.ts), because that needs the network.
 */
import { X509Certificate } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { blockHash, transactionId, verifyTransaction, type DataTransaction } from '../broker/data-transaction.js';
import { ringIdHex } from '../membership/certified-ring-id.js';
import { verifyCrl } from '../membership/crl.js';
import { checkMemberCertificate, serials } from '../membership/membership.js';
import { checkHeader, type SignatureCheck } from './block.js';
import { NodeIdentity } from '../node-identity.js';
import { checkReceiptProofs, type ReceiptProofs } from './receipt-proofs.js';

/** A receipt as a node serves it, once mined. */
export interface MinedReceipt extends ReceiptProofs {
  readonly hData: string;
  readonly tx: DataTransaction;
  /** The owner: its ring id, its key and its membership certificate (PEM; receipts before these name the id alone). */
  readonly owner: { readonly id: string; readonly key?: string; readonly certificate?: string };
}

/** The ring authority a receipt's owner is checked against: its certificate and, optionally, its newest CRL (PEM). */
export interface ReceiptTrust {
  readonly authority: string;
  readonly crl?: string;
}

/** What a receipt proves, or why it proves nothing. */
export type ReceiptCheck = { readonly ok: true; readonly status: 'mined' | 'anchored'; readonly height: number; readonly anchor: MinedReceipt['anchor'] } | { readonly ok: false; readonly fault: string };

/** Checks `raw` (parsed JSON); never throws. */
export function checkReceipt(raw: unknown, verifySignature: SignatureCheck): ReceiptCheck {
  const fail = (fault: string): ReceiptCheck => ({ ok: false, fault });
  const receipt = raw as Partial<MinedReceipt> | null;
  if (typeof receipt !== 'object' || receipt === null) return fail('a receipt is a JSON object');
  if (receipt.status !== 'mined' && receipt.status !== 'anchored') return fail(`the transaction is ${String(receipt.status)}, not mined yet: there is nothing to verify`);
  try {
    const tx = verifyTransaction(receipt.tx);
    if (tx.hData !== receipt.hData) return fail('hData is not the transaction\'s H_DATA');
  } catch (err) {
    return fail(`transaction: ${(err as Error).message}`);
  }
  const block = receipt.minedIn;
  if (typeof block?.header !== 'object' || block.header === null) return fail('the receipt has no block header');
  const fault = checkHeader(block, verifySignature);
  if (fault !== undefined) return fail(`block: ${fault}`);
  const { header } = block;
  if (receipt.txId !== transactionId(blockHash(header.height, header.openedAt, header.openingNonce), receipt.hData)) return fail('txId is not H_txID of this block and H_DATA');
  const owner = receipt.owner;
  if (owner?.key !== undefined ? owner.key !== header.minerKey : owner?.id !== header.minerId) return fail('the owner named is not the block\'s miner');
  const proofFault = checkReceiptProofs(receipt as MinedReceipt);
  if (proofFault !== undefined) return fail(proofFault);
  return { ok: true, status: receipt.status, height: header.height, anchor: receipt.status === 'anchored' ? receipt.anchor! : null };
}

/**
 * Checks a receipt (the JSON of `GET /ledger/tx/{txId}`) offline, Ed25519 signatures
 * included: what `flowchain verify-receipt` does, for applications. With `trust`, also that
 * its owner was a member of that authority's ring. Never throws. Whether an anchor's public
 * transaction exists needs the chain and is not checked here.
 */
export function verifyReceipt(raw: unknown, trust?: ReceiptTrust): ReceiptCheck {
  const check = checkReceipt(raw, NodeIdentity.verify);
  const fault = check.ok && trust !== undefined ? ownerFault(raw as MinedReceipt, trust) : undefined;
  return fault === undefined ? check : { ok: false, fault };
}

/** Why the receipt's owner cannot be shown a member of the authority's ring at the block's time, if it cannot. */
function ownerFault(receipt: MinedReceipt, trust: ReceiptTrust): string | undefined {
  const { header } = receipt.minedIn;
  if (typeof receipt.owner.certificate !== 'string') return 'the receipt carries no membership certificate of its owner (a receipt from before they did): it cannot be checked against an authority';
  let authority: X509Certificate;
  try {
    authority = new X509Certificate(trust.authority);
  } catch {
    return 'the authority certificate is not a PEM certificate';
  }
  let revoked = new Set<string>();
  if (trust.crl !== undefined) {
    const crl = verifyCrl(trust.crl, authority.publicKey);
    if (crl === undefined) return 'the CRL is not one the authority signed';
    revoked = serials(crl);
  }
  try {
    const member = checkMemberCertificate(new X509Certificate(receipt.owner.certificate), authority, revoked, new Date(header.openedAt));
    if (ringIdHex(member.id) !== receipt.owner.id) return 'the owner\'s certificate names another ring id than the receipt\'s owner';
    if (bytesToHex(member.key) !== header.minerKey) return 'the owner\'s certificate holds another key than the one that signed the block';
  } catch (err) {
    return `the owner's membership: ${(err as Error).message}`;
  }
  return undefined;
}

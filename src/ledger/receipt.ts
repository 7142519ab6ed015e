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
 * Whether the anchor's public transaction exists is checked separately, against a chain
 * (ethereum-anchorer.ts), because that needs the network.
 */
import { blockHash, transactionId, verifyTransaction, type DataTransaction } from '../broker/data-transaction.js';
import { checkHeader, type SignatureCheck } from './block.js';
import { NodeIdentity } from '../node-identity.js';
import { checkReceiptProofs, type ReceiptProofs } from './receipt-proofs.js';

/** A receipt as a node serves it, once mined. */
export interface MinedReceipt extends ReceiptProofs {
  readonly hData: string;
  readonly tx: DataTransaction;
  readonly owner: { readonly id: string; readonly key?: string };
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
 * included: what `flowchain verify-receipt` does, for applications. Never throws. Whether an
 * anchor's public transaction exists needs the chain and is not checked here.
 */
export function verifyReceipt(raw: unknown): ReceiptCheck {
  return checkReceipt(raw, NodeIdentity.verify);
}

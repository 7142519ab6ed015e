/**
 * Data transactions, as defined by the Flowchain papers (Chen 2017–2018) with every "+" made
 * exact. A transaction records one property change of a Thing:
 *
 *   data      = { thing: TD id, property: name, value: JSON value, origin: "consumer" | "device" }
 *   timestamp = integer milliseconds since the Unix epoch, on the sender's clock
 *   λ         = 16 random bytes chosen by the sender, lower-case hex
 *   H_DATA    = SHA-1(UTF-8(canonicalJson([data, timestamp, λ])))               40 hex digits
 *   statement = UTF-8(canonicalJson([H_DATA, λ, data, timestamp, senderId]))
 *   signature = Ed25519 by the sender over statement                      (version 1)
 *   batch     = the transactions a sender delivers together are signed together (version 2,
 *               `"v": 2`): leaf_i = SHA-256(statement_i), root = the Merkle root of the leaves
 *               (src/common/merkle.ts), and the sender signs, once for the whole batch,
 *               UTF-8(canonicalJson(["flowchain-tx-batch", root, count])), the batch's size
 *               included as in a signed tree head (RFC 9162 §4.10). Each transaction carries
 *               `batch`: the root, that signature, and its own inclusion path to the root, so
 *               it stays verifiable alone. The tag keeps a batch signature from being taken
 *               for any other statement a node signs.
 *   H_BLOCK   = SHA-256(UTF-8(canonicalJson([blockNo, openedAt, blockNonce])))   64 hex digits
 *   H_txID    = SHA-256(SHA-256(H_BLOCK bytes ‖ H_DATA bytes))                    64 hex digits
 *
 * canonicalJson is defined in src/canonical-json.ts (sorted members, no whitespace); the JSON
 * array framing keeps the concatenation unambiguous. H_DATA is the transaction's key on the
 * ring: it is stored at SUCCESSOR(H_DATA). Pure: the clock and randomness are parameters.
 *
 * Throws FLOWCHAIN_ERR_TX_MALFORMED, FLOWCHAIN_ERR_TX_HASH_MISMATCH and
 * FLOWCHAIN_ERR_TX_SIGNATURE_INVALID.
 */
import { createHash, hash } from 'node:crypto';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { canonicalJson } from '../canonical-json.js';
import { HEX128, HEX40, HEX64 } from '../common/hex.js';
import { FlowchainError } from '../errors.js';
import { NodeIdentity, keyIdOf } from '../node-identity.js';
import { merkleProofs, rootFromProof, type MerkleProof, type Sha256 } from '../common/merkle.js';
import type { RecordedChange } from '../thing/change-journal.js';

/** What changed: the Thing's TD `id`, the property, its new value and the change's origin. */
export type TransactionData = RecordedChange;

/** A data transaction before it is signed: what a sender stores with the value it records. */
export interface UnsignedTransaction {
  readonly hData: string;
  readonly lambda: string;
  readonly data: TransactionData;
  readonly timestamp: number;
  /** The sender's node id (40 hex) and Ed25519 public key (64 hex). */
  readonly sender: { readonly id: string; readonly key: string };
}

/** How a version-2 transaction is signed: its batch's root, the sender's signature of it, and the path from this transaction to it. */
export interface BatchSignature extends MerkleProof {
  readonly root: string;
  readonly signature: string;
}

/** A transaction signed alone (version 1: every transaction before batch signatures). */
export type SignedAlone = UnsignedTransaction & { readonly v?: undefined; readonly signature: string };

/** A transaction signed in a batch (version 2). */
export type SignedInBatch = UnsignedTransaction & { readonly v: 2; readonly batch: BatchSignature };

/** A signed data transaction as it travels and is stored, of either version. */
export type DataTransaction = SignedAlone | SignedInBatch;

/** Most transactions one batch signature covers (a path of at most 12 steps). */
export const MAX_BATCH = 4096;

const hex40 = (id: bigint): string => id.toString(16).padStart(40, '0');
const malformed = (detail: string, field: string) => new FlowchainError('FLOWCHAIN_ERR_TX_MALFORMED', detail, { field });

/** The digest of `data` as hex (node:crypto: these run several times for every transaction). */
const digest = (algorithm: 'sha1' | 'sha256', data: string | Buffer): string => createHash(algorithm).update(data).digest('hex');

/** SHA-256 through node:crypto, for the batch trees (a transaction's path is checked by every node that stores it). */
const sha256: Sha256 = (bytes) => hash('sha256', bytes, 'buffer');

/** H_DATA of a change. */
export function dataHash(data: TransactionData, timestamp: number, lambda: string): string {
  return digest('sha1', hashedText(canonicalJson(data), canonicalJson(timestamp), canonicalJson(lambda)));
}

/** canonicalJson([data, timestamp, λ]) from its members' canonical JSON (an array's is theirs joined). */
const hashedText = (data: string, timestamp: string, lambda: string): string => `[${data},${timestamp},${lambda}]`;

/** H_BLOCK of the virtual block numbered `blockNo`, opened at `openedAt` with `blockNonce` (hex). */
export function blockHash(blockNo: number, openedAt: number, blockNonce: string): string {
  return digest('sha256', canonicalJson([blockNo, openedAt, blockNonce]));
}

/** H_txID of a transaction in a block: double SHA-256 over the two digests' bytes. */
export function transactionId(hBlock: string, hData: string): string {
  const inner = createHash('sha256').update(Buffer.from(hBlock, 'hex')).update(Buffer.from(hData, 'hex')).digest();
  return createHash('sha256').update(inner).digest('hex');
}

/**
 * The canonical JSON of H_DATA's input, [data, timestamp, λ], and of the statement a
 * transaction's signature (version 1) or its batch leaf (version 2) covers, [H_DATA, λ, data,
 * timestamp, senderId], each member encoded once.
 */
function encodings(tx: UnsignedTransaction): { readonly hashed: string; readonly signed: string } {
  const [data, timestamp, lambda] = [canonicalJson(tx.data), canonicalJson(tx.timestamp), canonicalJson(tx.lambda)];
  return { hashed: hashedText(data, timestamp, lambda), signed: `[${canonicalJson(tx.hData)},${lambda},${data},${timestamp},${canonicalJson(tx.sender.id)}]` };
}

/** The statement a transaction's signature or batch leaf covers. */
const statement = (tx: UnsignedTransaction): string => encodings(tx).signed;

/** Ring ids of the sender keys seen last (hex key to hex id): every transaction names its sender's. */
const senderIds = new Map<string, string>();
const SENDERS_MAX = 1024;

function senderIdOf(keyHex: string, key: Uint8Array): string {
  let id = senderIds.get(keyHex);
  if (id === undefined) {
    if (senderIds.size >= SENDERS_MAX) senderIds.clear();
    senderIds.set(keyHex, (id = hex40(keyIdOf(key))));
  }
  return id;
}

/** What a sender signs for a batch. */
const batchStatement = (root: string, count: number): Uint8Array => utf8ToBytes(canonicalJson(['flowchain-tx-batch', root, count]));

/** A transaction of `data` at `now` with λ from `lambdaBytes` (16 random bytes or more), not yet signed. */
export function prepareTransaction(data: TransactionData, identity: NodeIdentity, now: number, lambdaBytes: Uint8Array): UnsignedTransaction {
  if (lambdaBytes.length < 16) throw new RangeError('λ needs at least 128 bits');
  const lambda = bytesToHex(lambdaBytes);
  return { hData: dataHash(data, now, lambda), lambda, data, timestamp: now, sender: { id: hex40(identity.id), key: bytesToHex(identity.publicKey) } };
}

/** Creates a transaction signed alone (version 1). `lambda` is 16 random bytes, `now` the sender's clock. */
export function createTransaction(data: TransactionData, identity: NodeIdentity, now: number, lambdaBytes: Uint8Array): SignedAlone {
  const tx = prepareTransaction(data, identity, now, lambdaBytes);
  return { ...tx, signature: bytesToHex(identity.sign(utf8ToBytes(statement(tx)))) };
}

/**
 * Signs `txs` together with one signature (version 2): each comes back with the batch's root,
 * the signature and its own path. A transaction signed before is signed again, in this batch.
 */
export function signBatch(txs: readonly UnsignedTransaction[], identity: NodeIdentity): SignedInBatch[] {
  if (txs.length === 0) return [];
  if (txs.length > MAX_BATCH) throw new RangeError(`a batch signature covers at most ${MAX_BATCH} transactions`);
  const cores = txs.map(({ hData, lambda, data, timestamp, sender }): UnsignedTransaction => ({ hData, lambda, data, timestamp, sender }));
  const { root, proofs } = merkleProofs(cores.map((tx) => digest('sha256', statement(tx))), sha256);
  const signature = bytesToHex(identity.sign(batchStatement(root, cores.length)));
  return cores.map((tx, i) => ({ ...tx, v: 2, batch: { root, signature, ...proofs[i]! } }));
}

/**
 * Batch signatures already verified, by key, root, size and signature: the transactions of one
 * batch reach an owner and its replicas together, so each checks the signature once. Only
 * signatures that verified are kept; emptied when full.
 */
const verifiedBatches = new Set<string>();
const VERIFIED_MAX = 4096;

/** Whether `tx`'s signature, or its path and its batch's signature, verify under `key`; `signed` is its statement. */
function signatureHolds(tx: DataTransaction, key: Uint8Array, signed: string): boolean {
  if (tx.v === undefined) return NodeIdentity.verify(hexToBytes(tx.signature), utf8ToBytes(signed), key);
  const { batch } = tx;
  if (rootFromProof(digest('sha256', signed), batch, sha256) !== batch.root) return false;
  const id = `${tx.sender.key}:${batch.root}:${batch.count}:${batch.signature}`;
  if (verifiedBatches.has(id)) return true;
  if (!NodeIdentity.verify(hexToBytes(batch.signature), batchStatement(batch.root, batch.count), key)) return false;
  if (verifiedBatches.size >= VERIFIED_MAX) verifiedBatches.clear();
  verifiedBatches.add(id);
  return true;
}

/**
 * Checks a received transaction of either version: its shape, its H_DATA, its sender's id and
 * (unless `checkSignature` is false, for a transaction this node signed itself) its signature,
 * or its path to its batch's root and the batch's signature.
 */
export function verifyTransaction(raw: unknown, checkSignature = true): DataTransaction {
  const tx = checkShape(raw);
  const { hashed, signed } = encodings(tx);
  if (digest('sha1', hashed) !== tx.hData) {
    throw new FlowchainError('FLOWCHAIN_ERR_TX_HASH_MISMATCH', 'H_DATA is not SHA-1 of [data, timestamp, λ]', { field: 'hData' });
  }
  const key = hexToBytes(tx.sender.key);
  if (senderIdOf(tx.sender.key, key) !== tx.sender.id) {
    throw new FlowchainError('FLOWCHAIN_ERR_TX_SIGNATURE_INVALID', 'sender id is not the SHA-1 of its key', { field: 'sender.id' });
  }
  if (checkSignature && !signatureHolds(tx, key, signed)) {
    throw new FlowchainError('FLOWCHAIN_ERR_TX_SIGNATURE_INVALID', tx.v === 2 ? 'the path does not lead to a batch root the sender signed' : 'signature does not verify', { field: tx.v === 2 ? 'batch' : 'signature' });
  }
  return tx;
}

// Compiled once: a transaction is checked on every node that stores, replicates or serves it.
const LAMBDA = /^[0-9a-f]{32,128}$/;

function checkShape(raw: unknown): DataTransaction {
  const tx = raw as (Partial<UnsignedTransaction> & { readonly v?: unknown; readonly signature?: unknown; readonly batch?: unknown }) | null;
  if (typeof tx !== 'object' || tx === null || Array.isArray(tx)) throw malformed('a transaction is an object', '/');
  if (typeof tx.hData !== 'string' || !HEX40.test(tx.hData)) throw malformed('hData is 40 hex digits', 'hData');
  if (typeof tx.lambda !== 'string' || !LAMBDA.test(tx.lambda) || tx.lambda.length % 2 !== 0) throw malformed('λ is 16 to 64 bytes of hex', 'lambda');
  if (typeof tx.timestamp !== 'number' || !Number.isSafeInteger(tx.timestamp) || tx.timestamp < 0) throw malformed('timestamp is integer milliseconds', 'timestamp');
  const data = tx.data as Partial<TransactionData> | undefined;
  if (typeof data !== 'object' || data === null) throw malformed('data is an object', 'data');
  if (typeof data.thing !== 'string' || typeof data.property !== 'string') throw malformed('data names a thing and a property', 'data');
  if (data.origin !== 'consumer' && data.origin !== 'device') throw malformed('data.origin is consumer or device', 'data.origin');
  if (!('value' in data)) throw malformed('data.value is required', 'data.value');
  const sender = tx.sender as Partial<DataTransaction['sender']> | undefined;
  if (typeof sender?.id !== 'string' || !HEX40.test(sender.id)) throw malformed('sender.id is 40 hex digits', 'sender.id');
  if (typeof sender.key !== 'string' || !HEX64.test(sender.key)) throw malformed('sender.key is a 32-byte hex key', 'sender.key');
  if (tx.v === undefined) {
    if (typeof tx.signature !== 'string' || !HEX128.test(tx.signature)) throw malformed('signature is 64 bytes of hex', 'signature');
    if ('batch' in tx) throw malformed('a transaction signed alone has no batch', 'batch');
    return tx as DataTransaction;
  }
  if (tx.v !== 2) throw malformed('v is 2, or absent for a transaction signed alone', 'v');
  if ('signature' in tx) throw malformed('a transaction signed in a batch has its signature in batch', 'signature');
  const batch = tx.batch as Partial<BatchSignature> | undefined;
  if (typeof batch !== 'object' || batch === null) throw malformed('a version 2 transaction carries its batch signature', 'batch');
  if (typeof batch.root !== 'string' || !HEX64.test(batch.root)) throw malformed('batch.root is 32 bytes of hex', 'batch.root');
  if (typeof batch.signature !== 'string' || !HEX128.test(batch.signature)) throw malformed('batch.signature is 64 bytes of hex', 'batch.signature');
  if (!Number.isSafeInteger(batch.count) || batch.count! < 1 || batch.count! > MAX_BATCH) throw malformed(`batch.count is 1 to ${MAX_BATCH}`, 'batch.count');
  if (!Number.isSafeInteger(batch.index) || batch.index! < 0 || batch.index! >= batch.count!) throw malformed('batch.index is a position in the batch', 'batch.index');
  if (!Array.isArray(batch.path) || batch.path.length > 12) throw malformed('batch.path is at most 12 steps', 'batch.path');
  return tx as DataTransaction;
}

/**
 * Data transactions, as defined by the Flowchain papers (Chen 2017–2018) with every "+" made
 * exact. A transaction records one property change of a Thing:
 *
 *   data      = { thing: TD id, property: name, value: JSON value, origin: "consumer" | "device" }
 *   timestamp = integer milliseconds since the Unix epoch, on the sender's clock
 *   λ         = 16 random bytes chosen by the sender, lower-case hex
 *   H_DATA    = SHA-1(UTF-8(canonicalJson([data, timestamp, λ])))               40 hex digits
 *   signature = Ed25519 by the sender over UTF-8(canonicalJson([H_DATA, λ, data, timestamp, senderId]))
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
import { createHash } from 'node:crypto';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { canonicalJson } from '../canonical-json.js';
import { HEX128, HEX40, HEX64 } from '../common/hex.js';
import { FlowchainError } from '../errors.js';
import { NodeIdentity, keyIdOf } from '../node-identity.js';
import type { RecordedChange } from '../thing/change-journal.js';

/** What changed: the Thing's TD `id`, the property, its new value and the change's origin. */
export type TransactionData = RecordedChange;

/** A signed data transaction as it travels and is stored. */
export interface DataTransaction {
  readonly hData: string;
  readonly lambda: string;
  readonly data: TransactionData;
  readonly timestamp: number;
  /** The sender's node id (40 hex) and Ed25519 public key (64 hex). */
  readonly sender: { readonly id: string; readonly key: string };
  readonly signature: string;
}

const hex40 = (id: bigint): string => id.toString(16).padStart(40, '0');
const malformed = (detail: string, field: string) => new FlowchainError('FLOWCHAIN_ERR_TX_MALFORMED', detail, { field });

/** The digest of `data` as hex (node:crypto: these run several times for every transaction). */
const digest = (algorithm: 'sha1' | 'sha256', data: string | Buffer): string => createHash(algorithm).update(data).digest('hex');

/** H_DATA of a change. */
export function dataHash(data: TransactionData, timestamp: number, lambda: string): string {
  return digest('sha1', canonicalJson([data, timestamp, lambda]));
}

/** H_BLOCK of the virtual block numbered `blockNo`, opened at `openedAt` with `blockNonce` (hex). */
export function blockHash(blockNo: number, openedAt: number, blockNonce: string): string {
  return digest('sha256', canonicalJson([blockNo, openedAt, blockNonce]));
}

/** H_txID of a transaction in a block: double SHA-256 over the two digests' bytes. */
export function transactionId(hBlock: string, hData: string): string {
  const inner = createHash('sha256').update(Buffer.from(hBlock, 'hex')).update(Buffer.from(hData, 'hex')).digest();
  return createHash('sha256').update(inner).digest('hex');
}

/** The bytes the sender signs. */
function signedBytes(hData: string, lambda: string, data: TransactionData, timestamp: number, senderId: string): Uint8Array {
  return utf8ToBytes(canonicalJson([hData, lambda, data, timestamp, senderId]));
}

/** Creates and signs a transaction. `lambda` is 16 random bytes, `now` the sender's clock. */
export function createTransaction(data: TransactionData, identity: NodeIdentity, now: number, lambdaBytes: Uint8Array): DataTransaction {
  if (lambdaBytes.length < 16) throw new RangeError('λ needs at least 128 bits');
  const lambda = bytesToHex(lambdaBytes);
  const hData = dataHash(data, now, lambda);
  const senderId = hex40(identity.id);
  const signature = bytesToHex(identity.sign(signedBytes(hData, lambda, data, now, senderId)));
  return { hData, lambda, data, timestamp: now, sender: { id: senderId, key: bytesToHex(identity.publicKey) }, signature };
}

/**
 * Checks a received transaction: its shape, its H_DATA, its sender's id and (unless
 * `checkSignature` is false, for a transaction this node signed itself) its signature.
 */
export function verifyTransaction(raw: unknown, checkSignature = true): DataTransaction {
  const tx = checkShape(raw);
  if (dataHash(tx.data, tx.timestamp, tx.lambda) !== tx.hData) {
    throw new FlowchainError('FLOWCHAIN_ERR_TX_HASH_MISMATCH', 'H_DATA is not SHA-1 of [data, timestamp, λ]', { field: 'hData' });
  }
  const key = hexToBytes(tx.sender.key);
  if (hex40(keyIdOf(key)) !== tx.sender.id) {
    throw new FlowchainError('FLOWCHAIN_ERR_TX_SIGNATURE_INVALID', 'sender id is not the SHA-1 of its key', { field: 'sender.id' });
  }
  if (checkSignature && !NodeIdentity.verify(hexToBytes(tx.signature), signedBytes(tx.hData, tx.lambda, tx.data, tx.timestamp, tx.sender.id), key)) {
    throw new FlowchainError('FLOWCHAIN_ERR_TX_SIGNATURE_INVALID', 'signature does not verify', { field: 'signature' });
  }
  return tx;
}

// Compiled once: a transaction is checked on every node that stores, replicates or serves it.
const LAMBDA = /^[0-9a-f]{32,128}$/;

function checkShape(raw: unknown): DataTransaction {
  const tx = raw as Partial<DataTransaction> | null;
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
  if (typeof tx.signature !== 'string' || !HEX128.test(tx.signature)) throw malformed('signature is 64 bytes of hex', 'signature');
  return tx as DataTransaction;
}

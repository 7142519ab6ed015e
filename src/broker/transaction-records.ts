/**
 * What the broker keeps on the ring, as records that prove themselves (see
 * common/ring-records.ts), so no member can make another store, or a reader believe, a record
 * nobody vouches for:
 *
 *   tx         under H_DATA: the owner's record of a transaction. Checked: the transaction's
 *              shape, H_DATA recomputed and equal to the key, the sender's id and signature,
 *              H_BLOCK recomputed from the block it names and H_txID from H_BLOCK and H_DATA.
 *              Written once, and only by the owner's flow (never through a plain put).
 *   tx-index   under the first 160 bits of a transaction id: where its record is. Checked:
 *              H_txID(H_BLOCK, H_DATA) equals the id it is stored under, and H_BLOCK
 *              recomputed from the block it names, when it names one.
 *
 * Both expire, so a node's disk stays bounded: at the opening time of the transaction's block
 * plus twice the ledger's retention (`--retain-ledger`, {@link ringRecordsExpireAt}). The
 * owner's ledger prunes a transaction's body once its block is older than the retention; for
 * the same span again the ring still knows the transaction and its owner, so a receipt lookup
 * answers 410 FLOWCHAIN_ERR_TX_PRUNED (the owner says it pruned it) rather than 404; after
 * that the transaction is unknown (404 FLOWCHAIN_ERR_TX_NOT_FOUND). The opening time is bound
 * to the transaction id through H_BLOCK, so no member can move a record's expiry. Index
 * entries written before they named their block never expire. With an infinite retention
 * nothing expires.
 *
 * Pure. Throws FLOWCHAIN_ERR_RING_RECORD_INVALID from the kinds' `check`.
 */
import { HEX40, HEX64 } from '../common/hex.js';
import type { RecordKind } from '../common/ring-records.js';
import { FlowchainError, isFlowchainError } from '../errors.js';
import { blockHash, transactionId, verifyTransaction } from './data-transaction.js';
import type { OpenBlock, TransactionRecord } from './ledger-sink.js';

/** A transaction record as the ring stores it. */
export type RingTransactionRecord = TransactionRecord & { readonly kind: 'tx' };

/**
 * Where a transaction id's record is: its H_DATA, and the H_BLOCK that binds the two. `block`,
 * the block H_BLOCK is the hash of, dates the entry (it expires with the record); entries
 * written before it was added have none and never expire.
 */
export interface TransactionIndex {
  readonly kind: 'tx-index';
  readonly txId: string;
  readonly hData: string;
  readonly hBlock: string;
  readonly block?: OpenBlock;
}

/**
 * When the ring's records of a transaction whose block opened at `openedAt` expire, for a
 * ledger that keeps transactions `retainMs` (ms since the epoch): twice the retention after
 * the block opened, so for one retention more after the owner pruned it, a lookup is told the
 * transaction was pruned rather than never known. Undefined (never) for an infinite retention.
 */
export function ringRecordsExpireAt(openedAt: number, retainMs: number): number | undefined {
  return Number.isFinite(retainMs) ? openedAt + 2 * retainMs : undefined;
}

/** The ring key of a transaction id's index entry: its first 160 bits. */
export const indexKey = (txId: string): string => txId.slice(0, 40);

const invalid = (what: string, detail: string, field: string) => new FlowchainError('FLOWCHAIN_ERR_RING_RECORD_INVALID', `${what}: ${detail}`, { field });

/** Throws unless `block` is { number, openedAt, nonce } and H_BLOCK of it is `hBlock`. */
function checkBlock(what: string, block: Partial<OpenBlock> | undefined, hBlock: string | undefined): asserts hBlock is string {
  if (typeof block?.number !== 'number' || typeof block.openedAt !== 'number' || typeof block.nonce !== 'string' || !/^[0-9a-f]{32}$/.test(block.nonce)) throw invalid(what, 'block is { number, openedAt, nonce }', 'block');
  if (hBlock !== blockHash(block.number, block.openedAt, block.nonce)) throw invalid(what, 'hBlock is not H_BLOCK of its block', 'hBlock');
}

/** When `block` opened, if it is the block `hBlock` is the hash of (an owner's word proves nothing else). */
export function openedAtOf(block: unknown, hBlock: string): number | undefined {
  try {
    checkBlock('block', block as Partial<OpenBlock> | undefined, hBlock);
    return (block as OpenBlock).openedAt;
  } catch {
    return undefined;
  }
}

function checkRecord(keyHex: string, raw: unknown): RingTransactionRecord {
  const r = raw as Partial<RingTransactionRecord> | null;
  if (typeof r !== 'object' || r === null || r.kind !== 'tx') throw invalid('transaction record', 'a record is an object of kind tx', 'kind');
  try {
    verifyTransaction(r.tx, true);
  } catch (err) {
    throw invalid('transaction record', isFlowchainError(err) ? `${err.code}: ${err.message}` : 'the transaction does not verify', 'tx');
  }
  if (r.tx!.hData !== keyHex) throw invalid('transaction record', 'it is not stored under its H_DATA', 'tx.hData');
  checkBlock('transaction record', r.block, r.hBlock);
  if (r.txId !== transactionId(r.hBlock, keyHex)) throw invalid('transaction record', 'txId is not H_txID of its H_BLOCK and H_DATA', 'txId');
  if (typeof r.owner?.id !== 'string' || !HEX40.test(r.owner.id) || typeof r.owner.url !== 'string' || r.owner.url.length > 2048) throw invalid('transaction record', 'owner is a ring member', 'owner');
  if (r.owner.key !== undefined && (typeof r.owner.key !== 'string' || !HEX64.test(r.owner.key))) throw invalid('transaction record', 'owner.key is a 32-byte hex key', 'owner.key');
  if (typeof r.storedAt !== 'number' || typeof r.status !== 'string') throw invalid('transaction record', 'storedAt and status are required', 'storedAt');
  return r as RingTransactionRecord;
}

function checkIndex(keyHex: string, raw: unknown): TransactionIndex {
  const x = raw as Partial<TransactionIndex> | null;
  if (typeof x !== 'object' || x === null || x.kind !== 'tx-index') throw invalid('transaction index', 'an index entry is an object of kind tx-index', 'kind');
  if (typeof x.txId !== 'string' || !HEX64.test(x.txId) || indexKey(x.txId) !== keyHex) throw invalid('transaction index', 'it is not stored under its transaction id', 'txId');
  if (typeof x.hData !== 'string' || !HEX40.test(x.hData) || typeof x.hBlock !== 'string' || !HEX64.test(x.hBlock)) throw invalid('transaction index', 'hData and hBlock are digests', 'hData');
  if (transactionId(x.hBlock, x.hData) !== x.txId) throw invalid('transaction index', 'txId is not H_txID of its H_BLOCK and H_DATA', 'txId');
  // Its block dates it (its expiry): the one H_BLOCK is the hash of, or none at all.
  if (x.block !== undefined) checkBlock('transaction index', x.block, x.hBlock);
  return x as TransactionIndex;
}

/**
 * Transaction records, for a node whose ledger keeps transactions `retainMs`: written once, by
 * the owner's flow only; a copy is identified by its transaction id; expires
 * {@link ringRecordsExpireAt} its block's opening.
 */
export function transactionRecords(retainMs: number): RecordKind<RingTransactionRecord> {
  return { kind: 'tx', check: checkRecord, ownerOnly: true, fingerprint: (record) => record.txId, expiresAt: (record) => ringRecordsExpireAt(record.block.openedAt, retainMs) };
}

/**
 * Index entries, for a node whose ledger keeps transactions `retainMs`: written once (another
 * record for the same id cannot exist); an entry that names its block expires with the
 * transaction's record, one that does not (written before entries did) never.
 */
export function transactionIndex(retainMs: number): RecordKind<TransactionIndex> {
  return { kind: 'tx-index', check: checkIndex, expiresAt: (entry) => (entry.block === undefined ? undefined : ringRecordsExpireAt(entry.block.openedAt, retainMs)) };
}

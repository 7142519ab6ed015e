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
 *              H_txID(H_BLOCK, H_DATA) equals the id it is stored under.
 *
 * Pure. Throws FLOWCHAIN_ERR_RING_RECORD_INVALID from the kinds' `check`.
 */
import { HEX40, HEX64 } from '../common/hex.js';
import type { RecordKind } from '../common/ring-records.js';
import { FlowchainError, isFlowchainError } from '../errors.js';
import { blockHash, transactionId, verifyTransaction } from './data-transaction.js';
import type { TransactionRecord } from './ledger-sink.js';

/** A transaction record as the ring stores it. */
export type RingTransactionRecord = TransactionRecord & { readonly kind: 'tx' };

/** Where a transaction id's record is: its H_DATA, and the H_BLOCK that binds the two. */
export interface TransactionIndex {
  readonly kind: 'tx-index';
  readonly txId: string;
  readonly hData: string;
  readonly hBlock: string;
}

/** The ring key of a transaction id's index entry: its first 160 bits. */
export const indexKey = (txId: string): string => txId.slice(0, 40);

const invalid = (what: string, detail: string, field: string) => new FlowchainError('FLOWCHAIN_ERR_RING_RECORD_INVALID', `${what}: ${detail}`, { field });

function checkRecord(keyHex: string, raw: unknown): RingTransactionRecord {
  const r = raw as Partial<RingTransactionRecord> | null;
  if (typeof r !== 'object' || r === null || r.kind !== 'tx') throw invalid('transaction record', 'a record is an object of kind tx', 'kind');
  try {
    verifyTransaction(r.tx, true);
  } catch (err) {
    throw invalid('transaction record', isFlowchainError(err) ? `${err.code}: ${err.message}` : 'the transaction does not verify', 'tx');
  }
  if (r.tx!.hData !== keyHex) throw invalid('transaction record', 'it is not stored under its H_DATA', 'tx.hData');
  const block = r.block;
  if (typeof block?.number !== 'number' || typeof block.openedAt !== 'number' || typeof block.nonce !== 'string' || !/^[0-9a-f]{32}$/.test(block.nonce)) throw invalid('transaction record', 'block is { number, openedAt, nonce }', 'block');
  if (r.hBlock !== blockHash(block.number, block.openedAt, block.nonce)) throw invalid('transaction record', 'hBlock is not H_BLOCK of its block', 'hBlock');
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
  return x as TransactionIndex;
}

/** Transaction records: written once, by the owner's flow only; a copy is identified by its transaction id. */
export const TRANSACTION_RECORDS: RecordKind<RingTransactionRecord> = { kind: 'tx', check: checkRecord, ownerOnly: true, fingerprint: (record) => record.txId };

/** Index entries: written once (another record for the same id cannot exist). */
export const TRANSACTION_INDEX: RecordKind<TransactionIndex> = { kind: 'tx-index', check: checkIndex };

/**
 * Recorded values in the node's history (see history/thing-history.ts), each with the
 * transaction that carries it: written when the change is queued, in the same atomic batch as
 * the transaction, and completed with the transaction id once the owner has stored it.
 * Retention, not this module, decides how long they stay.
 */
import { entryKey } from '../history/time-series.js';
import type { PropertyEntry } from '../history/thing-history.js';
import type { PreparedWrite, Section } from '../storage.js';
import type { UnsignedTransaction } from './data-transaction.js';

// H_DATA keeps the values of one millisecond apart (ordered by it, not by arrival).
const keyOf = (tx: UnsignedTransaction): string => entryKey(tx.data.thing, tx.data.property, tx.timestamp, tx.hData);

const entryOf = (tx: UnsignedTransaction, txId?: string): PropertyEntry => ({ value: tx.data.value, timestamp: tx.timestamp, origin: tx.data.origin, hData: tx.hData, ...(txId === undefined ? {} : { txId }) });

/** The recorded values of every property of one node. */
export class History {
  readonly #section: Section;

  /** `section`: the history's property section. */
  constructor(section: Section) {
    this.#section = section;
  }

  /** The entries of `txs`, prepared to be written with the transactions themselves (one atomic batch). */
  prepare(txs: readonly UnsignedTransaction[]): PreparedWrite {
    return this.#section.prepare(txs.map((tx) => ({ type: 'put', key: keyOf(tx), value: entryOf(tx) })));
  }

  /**
   * The transaction ids, to be added once the owners have stored the transactions: prepared,
   * so that they are written with the outbox's removal of those transactions. Only entries
   * still there get theirs: one that retention pruned meanwhile (its transaction waited past
   * `--retain-history`) does not come back.
   */
  async settle(settled: readonly (readonly [UnsignedTransaction, string])[]): Promise<PreparedWrite> {
    const present = await this.#section.getMany(settled.map(([tx]) => keyOf(tx)));
    return this.#section.prepare(settled.filter((_, i) => present[i] !== undefined).map(([tx, txId]) => ({ type: 'put', key: keyOf(tx), value: entryOf(tx, txId) })));
  }
}

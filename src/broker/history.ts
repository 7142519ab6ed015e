/**
 * Recent values of each recorded property on the node that exposes it, with the transaction
 * that carries each one: written when the change is queued, completed with the transaction id
 * once the owner has stored it. Bounded per property; the ledger keeps everything.
 */
import type { PreparedWrite, Section } from '../storage.js';
import type { DataTransaction } from './data-transaction.js';

/** One recorded value. */
export interface HistoryEntry {
  readonly value: unknown;
  readonly timestamp: number;
  readonly origin: string;
  /** H_DATA: the transaction's key on the ring. */
  readonly hData: string;
  /** Absent until the owner acknowledged the transaction. */
  readonly txId?: string;
}

/** Prune a property's history after this many appends. */
const PRUNE_EVERY = 32;

const prefixOf = (thing: string, property: string): string => `${encodeURIComponent(thing)}/${encodeURIComponent(property)}/`;
// Timestamps are padded so key order is time order; H_DATA keeps equal times apart (values
// written in the same millisecond are ordered by it, not by arrival).
const keyOf = (tx: DataTransaction): string => `${prefixOf(tx.data.thing, tx.data.property)}${tx.timestamp.toString().padStart(15, '0')}/${tx.hData}`;

const entryOf = (tx: DataTransaction, txId?: string): HistoryEntry => ({ value: tx.data.value, timestamp: tx.timestamp, origin: tx.data.origin, hData: tx.hData, ...(txId === undefined ? {} : { txId }) });

/** The history of every recorded property of one node. */
export class History {
  readonly #section: Section;
  readonly #limit: number;
  /** The keys of each property's entries, oldest first, once it was appended to in this process. */
  readonly #keys = new Map<string, string[]>();

  /** Keeps the newest `limit` values of each property. */
  constructor(section: Section, limit = 100) {
    this.#section = section;
    this.#limit = limit;
  }

  /** The entries of `txs`, prepared to be written with the transactions themselves (one atomic batch). */
  prepare(txs: readonly DataTransaction[]): PreparedWrite {
    return this.#section.prepare(txs.map((tx) => ({ type: 'put', key: keyOf(tx), value: entryOf(tx) })));
  }

  /**
   * Call once prepared entries are written: every {@link PRUNE_EVERY} appends, a property's
   * entries beyond the newest `limit` are deleted. The keys written are remembered in order, so
   * pruning reads the database only the first time a property is appended to in a process.
   */
  async appended(txs: readonly DataTransaction[]): Promise<void> {
    for (const tx of txs) {
      const prefix = prefixOf(tx.data.thing, tx.data.property);
      let keys = this.#keys.get(prefix);
      if (keys === undefined) {
        keys = await this.#prune(prefix);
        this.#keys.set(prefix, keys);
      }
      keys.push(keyOf(tx));
      if (keys.length >= this.#limit + PRUNE_EVERY) {
        const old = keys.splice(0, keys.length - this.#limit);
        await this.#section.batch(old.map((key) => ({ type: 'del', key })));
      }
    }
  }

  /**
   * The transaction ids, to be added once the owners have stored the transactions: prepared,
   * so that they are written with the outbox's removal of those transactions. (An entry pruned
   * meanwhile comes back until the next pruning: it is older than the limit.)
   */
  settle(settled: readonly (readonly [DataTransaction, string])[]): PreparedWrite {
    return this.#section.prepare(settled.map(([tx, txId]) => ({ type: 'put', key: keyOf(tx), value: entryOf(tx, txId) })));
  }

  /** The newest `limit` values of a property, newest first. */
  async recent(thing: string, property: string, limit: number): Promise<HistoryEntry[]> {
    const entries: HistoryEntry[] = [];
    for await (const [, entry] of this.#section.entries(prefixOf(thing, property))) entries.push(entry as HistoryEntry);
    return entries.reverse().slice(0, limit);
  }

  /** Deletes all but the newest `limit` entries of a property; returns the keys kept, oldest first. */
  async #prune(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of this.#section.keys(prefix)) keys.push(key);
    const old = keys.splice(0, Math.max(0, keys.length - this.#limit));
    if (old.length > 0) await this.#section.batch(old.map((key) => ({ type: 'del', key })));
    return keys;
  }
}

/**
 * Durable property values. Every accepted change of a property that consumers can write is
 * stored before it is acknowledged, so it survives a restart.
 *
 * Writes are group-committed: while one LevelDB batch is being written, later saves collect in
 * the next batch, which is written as soon as the first completes. Batches are written strictly
 * in order, so the stored order is the order of the save() calls, and each save resolves only
 * once its own batch is stored. Under load this turns thousands of small writes into a few
 * large ones; alone, a save is written at once.
 *
 * Rejects with FLOWCHAIN_ERR_STORE_FAILED when the database write fails.
 */
import type { BatchOperation, Section } from '../storage.js';

interface Batch {
  readonly operations: BatchOperation[];
  readonly written: Promise<void>;
}

/** Stores the values of one node's Things, keyed by Thing slug and property name. */
export class PropertyStore {
  readonly #section: Section;
  /** The batch still accepting operations, if any. */
  #collecting: Batch | undefined;
  /** The most recently scheduled batch write; the next one starts after it. */
  #last: Promise<void> = Promise.resolve();

  constructor(section: Section) {
    this.#section = section;
  }

  /** Every stored value of the Thing `slug`. */
  async load(slug: string): Promise<Map<string, unknown>> {
    const values = new Map<string, unknown>();
    const prefix = `${slug}/`;
    for await (const [key, value] of this.#section.entries(prefix)) values.set(key.slice(prefix.length), value);
    return values;
  }

  /** Stores the values atomically (all of them or none); resolves once they are written. */
  save(slug: string, values: ReadonlyMap<string, unknown>): Promise<void> {
    const batch = this.#collecting ?? this.#openBatch();
    for (const [name, value] of values) batch.operations.push({ type: 'put', key: `${slug}/${name}`, value });
    return batch.written;
  }

  /** Resolves once everything saved so far is written (or failed). */
  async flushed(): Promise<void> {
    await this.#last.catch(() => undefined);
  }

  #openBatch(): Batch {
    const operations: BatchOperation[] = [];
    const written = this.#last
      .catch(() => undefined)
      .then(() => {
        // From here on this batch is closed: later saves open the next one.
        if (this.#collecting?.operations === operations) this.#collecting = undefined;
        return this.#section.batch(operations);
      });
    const batch = { operations, written };
    this.#collecting = batch;
    this.#last = written;
    return batch;
  }
}

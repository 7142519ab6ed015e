/**
 * Durable property values. Every accepted change of a property that consumers can write is
 * stored before it is acknowledged, so it survives a restart. (The database group-commits
 * writes, so many concurrent saves cost a few LevelDB batches.)
 *
 * Rejects with FLOWCHAIN_ERR_STORE_FAILED when the database write fails.
 */
import type { Section } from '../storage.js';

/** Stores the values of one node's Things, keyed by Thing slug and property name. */
export class PropertyStore {
  readonly #section: Section;
  /** The latest save, so {@link flushed} can wait for it. */
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
    this.#last = this.#section.batch([...values].map(([name, value]) => ({ type: 'put', key: `${slug}/${name}`, value })));
    return this.#last;
  }

  /** Resolves once everything saved so far is written (or failed): writes are stored in call order. */
  async flushed(): Promise<void> {
    await this.#last.catch(() => undefined);
  }
}

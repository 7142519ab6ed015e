/**
 * Durable property values. Every accepted change of a property that consumers can write is
 * stored before it is acknowledged, so it survives a restart, and in the same atomic write as
 * the transaction that records it (see change-journal.ts).
 */
import type { PreparedWrite, Section } from '../storage.js';

/** Stores the values of one node's Things, keyed by Thing slug and property name. */
export class PropertyStore {
  readonly #section: Section;

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

  /** The values, prepared to be stored atomically (all of them or none), alone or alongside their transactions. */
  prepare(slug: string, values: ReadonlyMap<string, unknown>): PreparedWrite {
    return this.#section.prepare([...values].map(([name, value]) => ({ type: 'put', key: `${slug}/${name}`, value })));
  }
}

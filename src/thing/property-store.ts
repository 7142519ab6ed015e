/**
 * Durable property values. Every accepted change of a property that consumers can write is
 * stored before it is acknowledged, so it survives a restart.
 */
import type { Section } from '../storage.js';

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

  /** Stores the values atomically: all of them or none. */
  async save(slug: string, values: ReadonlyMap<string, unknown>): Promise<void> {
    await this.#section.batch([...values].map(([name, value]) => ({ type: 'put', key: `${slug}/${name}`, value })));
  }
}

/**
 * The Things one node exposes, found by URL slug or by TD `id`.
 *
 * Throws FLOWCHAIN_ERR_THING_NOT_FOUND.
 */
import { FlowchainError } from '../errors.js';
import type { ExposedThing } from './exposed-thing.js';

/** Every exposed Thing of a node, in TD-file order. */
export class ThingRegistry {
  readonly #bySlug = new Map<string, ExposedThing>();
  readonly #byId = new Map<string, ExposedThing>();

  constructor(things: readonly ExposedThing[]) {
    for (const thing of things) {
      this.#bySlug.set(thing.slug, thing);
      this.#byId.set(thing.id, thing);
    }
  }

  /** The Thing whose slug or TD `id` is `ref`. */
  get(ref: string): ExposedThing {
    const thing = this.#bySlug.get(ref) ?? this.#byId.get(ref);
    if (thing === undefined) throw new FlowchainError('FLOWCHAIN_ERR_THING_NOT_FOUND', `no Thing ${ref} on this node`, { field: 'thing' });
    return thing;
  }

  list(): ExposedThing[] {
    return [...this.#bySlug.values()];
  }
}

/**
 * The Things one node exposes now, found by URL slug or by TD `id`. Things come and go while
 * the node runs (produce, expose, destroy); listeners hear of every change.
 *
 * Throws FLOWCHAIN_ERR_THING_NOT_FOUND.
 */
import { FlowchainError } from '../errors.js';
import type { ExposedThing } from './exposed-thing.js';

/** Every exposed Thing of a node, in the order they were exposed. */
export class ThingRegistry {
  readonly #bySlug = new Map<string, ExposedThing>();
  readonly #byId = new Map<string, ExposedThing>();
  readonly #listeners = new Set<(thing: ExposedThing, change: 'added' | 'removed') => void>();

  /** The Thing whose slug or TD `id` is `ref`. */
  get(ref: string): ExposedThing {
    const thing = this.#bySlug.get(ref) ?? this.#byId.get(ref);
    if (thing === undefined) throw new FlowchainError('FLOWCHAIN_ERR_THING_NOT_FOUND', `no Thing ${ref} on this node`, { field: 'thing' });
    return thing;
  }

  /** Whether a Thing has this slug or this id. */
  has(ref: string): boolean {
    return this.#bySlug.has(ref) || this.#byId.has(ref);
  }

  list(): ExposedThing[] {
    return [...this.#bySlug.values()];
  }

  add(thing: ExposedThing): void {
    this.#bySlug.set(thing.slug, thing);
    this.#byId.set(thing.id, thing);
    this.#changed(thing, 'added');
  }

  remove(thing: ExposedThing): void {
    if (this.#bySlug.get(thing.slug) !== thing) return;
    this.#bySlug.delete(thing.slug);
    this.#byId.delete(thing.id);
    this.#changed(thing, 'removed');
  }

  /** Calls `listener` whenever a Thing is added or removed; returns the unsubscribe. */
  onChange(listener: (thing: ExposedThing, change: 'added' | 'removed') => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(thing: ExposedThing, change: 'added' | 'removed'): void {
    for (const listener of this.#listeners) listener(thing, change);
  }
}

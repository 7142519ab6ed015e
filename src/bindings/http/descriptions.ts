/**
 * Serves Thing Descriptions. A TD's `base` follows the URL the client used (or the configured
 * public URL), so a phone on the LAN and a test on loopback both get forms they can follow.
 * Serialised TDs are cached per base; the cache is bounded because the Host header is client
 * input.
 *
 * Throws FLOWCHAIN_ERR_REQUEST_MALFORMED (field `host`) from {@link Descriptions.baseFor}.
 */
import type { FastifyRequest } from 'fastify';
import { buildThingDescription, type ExposureOptions, type FormSource } from '../../td/td-builder.js';
import type { ThingDescription } from '../../td/thing-description.js';
import type { ExposedThing } from '../../thing/exposed-thing.js';
import type { ThingRegistry } from '../../thing/thing-registry.js';
import { requestAuthority } from './host.js';
import { buildNodeDescription } from './node-description.js';

const MAX_CACHED_BASES = 32;

interface Rendered {
  readonly things: Map<string, string>;
  readonly node: string;
}

/** Builds, caches and serialises the TDs of one node. */
export class Descriptions {
  readonly #registry: ThingRegistry;
  readonly #nodeId: string;
  readonly #bearerAuth: boolean;
  readonly #basicAuth: boolean;
  readonly #publicUrl: string | undefined;
  /** Every server binding's forms, in the order they appear in each TD. */
  readonly #bindings: readonly FormSource[];
  readonly #cache = new Map<string, Rendered>();

  constructor(registry: ThingRegistry, init: { nodeId: string; bearerAuth: boolean; basicAuth?: boolean; publicUrl: string | undefined; bindings: readonly FormSource[] }) {
    this.#registry = registry;
    this.#nodeId = init.nodeId;
    this.#bearerAuth = init.bearerAuth;
    this.#basicAuth = init.basicAuth ?? false;
    this.#publicUrl = init.publicUrl;
    this.#bindings = init.bindings;
    // Things come and go while the node runs: every rendering of the old set is stale.
    registry.onChange(() => this.#cache.clear());
  }

  /**
   * The base URL TDs carry for this request: the public URL, or the scheme and Host the
   * client used. Throws FLOWCHAIN_ERR_REQUEST_MALFORMED (field `host`) for a Host that names
   * no valid authority (the app refuses such requests before routing them).
   */
  baseFor(request: FastifyRequest): string {
    if (this.#publicUrl !== undefined) return this.#publicUrl;
    return `${request.protocol}://${requestAuthority(request.raw, request.protocol)}/`;
  }

  /** The TD of `thing` as JSON text. */
  thing(thing: ExposedThing, base: string): string {
    return this.#rendered(base).things.get(thing.slug) as string;
  }

  /** Every TD as JSON text, in registry order. */
  texts(base: string): string[] {
    return [...this.#rendered(base).things.values()];
  }

  /** The node's own TD. */
  node(base: string): string {
    return this.#rendered(base).node;
  }

  /** The TD of `thing` as an object, for callers that inspect rather than send it. */
  describe(thing: ExposedThing, base: string): ThingDescription {
    return buildThingDescription(thing.td, thing, this.#exposure(base), this.#bindings);
  }

  #exposure(base: string): ExposureOptions {
    return { base, bearerAuth: this.#bearerAuth, basicAuth: this.#basicAuth };
  }

  #rendered(base: string): Rendered {
    const cached = this.#cache.get(base);
    if (cached) return cached;
    const things = this.#registry.list();
    const tds = things.map((thing) => this.describe(thing, base));
    const rendered: Rendered = {
      things: new Map(things.map((thing, i) => [thing.slug, JSON.stringify(tds[i])])),
      node: JSON.stringify(buildNodeDescription(this.#nodeId, things.map((t) => ({ slug: t.slug, title: t.td.title })), this.#exposure(base))),
    };
    if (this.#cache.size >= MAX_CACHED_BASES) this.#cache.clear();
    this.#cache.set(base, rendered);
    return rendered;
  }
}

/**
 * The `flowchain-server` config node: one Flowchain node (its base URL and credentials, from
 * Node-RED's credential store) that the other Flowchain nodes of a flow talk to. It owns the
 * directory listing of the ring (read through the node's directory Thing, `/.well-known/wot`,
 * and shared by every node using this server for a few seconds), finds a Thing by TD URL or by
 * TD id, and keeps the Things it consumed until it closes. Its credentials are used for
 * Things of its own origin only.
 *
 * Throws FLOWCHAIN_ERR_THING_NOT_FOUND (field `thing`), FLOWCHAIN_ERR_CONFIG_INVALID (field
 * `url`: not an http(s) URL) and the consumer's codes (FLOWCHAIN_ERR_REMOTE_UNREACHABLE, ...).
 */
import { consumeThing, fetchThingDescription, type ConsumedThing, type ConsumeOptions } from '../client/consumed-thing.js';
import { exploreDirectory } from '../client/discovery.js';
import type { Credentials } from '../client/forms.js';
import { FlowchainError } from '../errors.js';
import type { ThingDescription } from '../td/thing-description.js';
import type { FlowsComponents } from './flows-context.js';
import type { NodeDefinition, NodeRedRuntime, RuntimeNode } from './node-red-api.js';

/** A consumed Thing with the TD it was consumed from. */
export interface ResolvedThing {
  readonly td: ThingDescription;
  readonly thing: ConsumedThing;
}

/** A Thing as the editor's drop-downs show it. */
export interface ThingSummary {
  readonly id: string | undefined;
  readonly title: string;
  /** The TD's URL at this node (undefined for a TD without id). */
  readonly href: string | undefined;
  readonly properties: readonly string[];
  readonly actions: readonly string[];
  readonly events: readonly string[];
}

/** The base URL of a Flowchain node, with a trailing slash; FLOWCHAIN_ERR_CONFIG_INVALID unless http(s). */
export function serverUrl(raw: unknown): string {
  let url: URL | undefined;
  try {
    url = typeof raw === 'string' ? new URL(raw.trim()) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', `the Flowchain server's URL must be an http or https URL (it is ${JSON.stringify(raw)})`, { field: 'url' });
  }
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}

/** The credentials a config node holds, or none when it holds neither a token nor a user name. */
export function credentialsOf(stored: Readonly<Record<string, string | undefined>> | undefined): Credentials | undefined {
  if (stored?.token) return { token: stored.token };
  if (stored?.username) return { username: stored.username, password: stored.password ?? '' };
  return undefined;
}

/** One Flowchain node as the flows see it. */
export class FlowchainServer {
  readonly url: string;
  readonly #consume: ConsumeOptions;
  readonly #components: FlowsComponents;
  #listing: { readonly at: number; readonly tds: Promise<readonly ThingDescription[]> } | undefined;
  readonly #things = new Map<string, Promise<ResolvedThing>>();

  /** FLOWCHAIN_ERR_CONFIG_INVALID when `url` is not an http(s) URL. */
  constructor(settings: { readonly url: unknown; readonly credentials?: Credentials | undefined }, components: FlowsComponents) {
    this.url = serverUrl(settings.url);
    this.#components = components;
    this.#consume = {
      ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
      ...(components.timeoutMs === undefined ? {} : { timeoutMs: components.timeoutMs }),
    };
  }

  /** The node's directory TD, which lists the whole ring. */
  get directoryUrl(): string {
    return `${this.url}.well-known/wot`;
  }

  /** The ring's TDs, as the directory lists them (the same listing for a few seconds unless `fresh`). */
  async listing(fresh = false): Promise<readonly ThingDescription[]> {
    const now = this.#components.clock.now();
    if (fresh || this.#listing === undefined || now - this.#listing.at >= this.#components.listingTtlMs) {
      const tds = this.#explore(undefined);
      this.#listing = { at: now, tds };
      // A failed listing is not kept: the next caller asks again.
      tds.catch(() => {
        if (this.#listing?.tds === tds) this.#listing = undefined;
      });
    }
    return this.#listing.tds;
  }

  /** The TDs a JSONPath query selects from the ring's listing (the directory's searchJSONPath action). */
  search(query: string): Promise<readonly ThingDescription[]> {
    return this.#explore(query);
  }

  /** The listing as the editor shows it. */
  async summaries(): Promise<ThingSummary[]> {
    return (await this.listing(true)).map((td) => summarize(td, this.url));
  }

  /**
   * The Thing `ref` names: a TD URL (http or https), or the id of a TD the directory lists.
   * FLOWCHAIN_ERR_THING_NOT_FOUND when the directory lists none with that id.
   */
  thing(ref: string): Promise<ResolvedThing> {
    let found = this.#things.get(ref);
    if (found === undefined) {
      found = this.#resolve(ref);
      this.#things.set(ref, found);
      found.catch(() => this.#things.delete(ref));
    }
    return found;
  }

  /** Drops what is kept of the Thing `ref` names, so the next use fetches its TD again. */
  forget(ref: string): void {
    const kept = this.#things.get(ref);
    this.#things.delete(ref);
    kept?.then(({ thing }) => thing.close(), () => undefined);
  }

  /** Closes every consumed Thing (their WebSockets). */
  close(): void {
    for (const ref of [...this.#things.keys()]) this.forget(ref);
    this.#listing = undefined;
  }

  async #resolve(ref: string): Promise<ResolvedThing> {
    const trimmed = ref.trim();
    if (trimmed === '') throw new FlowchainError('FLOWCHAIN_ERR_THING_NOT_FOUND', 'no Thing is set: choose one of the ring\'s Things', { field: 'thing' });
    let td: ThingDescription | undefined;
    if (/^https?:\/\//i.test(trimmed)) {
      td = await fetchThingDescription(trimmed, this.#optionsFor(trimmed));
    } else {
      td = (await this.listing()).find((listed) => listed.id === trimmed) ?? (await this.listing(true)).find((listed) => listed.id === trimmed);
      if (td === undefined) throw new FlowchainError('FLOWCHAIN_ERR_THING_NOT_FOUND', `the directory of ${this.url} lists no Thing with the id ${trimmed}`, { field: 'thing' });
    }
    return { td, thing: await consumeThing(td, this.#optionsFor(typeof td.base === 'string' ? td.base : trimmed)) };
  }

  /**
   * The credentials go only to this server's own origin: a TD elsewhere (another member's
   * Thing, another servient's) could name a security scheme just to be handed them.
   */
  #optionsFor(address: string): ConsumeOptions {
    let origin: string | undefined;
    try {
      origin = new URL(address).origin;
    } catch {
      origin = undefined;
    }
    if (origin === new URL(this.url).origin) return this.#consume;
    const { credentials: _credentials, ...rest } = this.#consume;
    return rest;
  }

  async #explore(query: string | undefined): Promise<readonly ThingDescription[]> {
    const found: ThingDescription[] = [];
    for await (const td of exploreDirectory(this.directoryUrl, query === undefined ? {} : { query }, this.#consume)) found.push(td);
    return found;
  }
}

/** A TD as the editor lists it. */
export function summarize(td: ThingDescription, url: string): ThingSummary {
  const id = typeof td.id === 'string' ? td.id : undefined;
  return {
    id,
    title: td.title,
    href: id === undefined ? undefined : `${url}things/${encodeURIComponent(id)}`,
    properties: Object.keys(td.properties ?? {}),
    actions: Object.keys(td.actions ?? {}),
    events: Object.keys(td.events ?? {}),
  };
}

/** The config nodes' servers, by config node: what the other node types look their server up in. */
export class ServerNodes {
  readonly #byNode = new WeakMap<object, FlowchainServer>();
  readonly #errors = new WeakMap<object, unknown>();

  /** Registers `flowchain-server` with Node-RED. */
  register(RED: NodeRedRuntime, components: FlowsComponents): void {
    const byNode = this.#byNode;
    const errors = this.#errors;
    RED.nodes.registerType(
      'flowchain-server',
      function (this: RuntimeNode, definition: NodeDefinition) {
        RED.nodes.createNode(this, definition);
        try {
          const server = new FlowchainServer({ url: definition.url, credentials: credentialsOf(this.credentials) }, components);
          byNode.set(this, server);
          this.on('close', (_removed, done) => {
            server.close();
            done();
          });
        } catch (err) {
          // The nodes using it report this configuration error as theirs.
          errors.set(this, err);
          this.error(err);
        }
      },
      { credentials: { token: { type: 'password' }, username: { type: 'text' }, password: { type: 'password' } } },
    );
  }

  /**
   * The server of the deployed config node `id`. FLOWCHAIN_ERR_CONFIG_INVALID when none is
   * deployed with that id or its URL is not http(s).
   */
  serverOf(RED: NodeRedRuntime, id: unknown): FlowchainServer {
    const node = typeof id === 'string' && id !== '' ? RED.nodes.getNode(id) : undefined;
    const server = typeof node === 'object' && node !== null ? this.#byNode.get(node) : undefined;
    if (server !== undefined) return server;
    const err = typeof node === 'object' && node !== null ? this.#errors.get(node) : undefined;
    throw err ?? new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', 'no Flowchain server is set: add a flowchain-server configuration', { field: 'server' });
  }
}

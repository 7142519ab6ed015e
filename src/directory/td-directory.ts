/**
 * The Thing Description Directory of one node (W3C WoT Discovery §7.3): TDs of Things hosted
 * anywhere, registered here through the directory API (create, replace, merge-patch, delete),
 * with their registration information, kept durably in the node's database (they survive a
 * restart) and published into the ring through {@link RingDirectory}, signed by this node, so
 * every node, and a replica when this node is gone, can serve them.
 *
 * Rules (each refusal a catalogue code):
 * - a TD must validate against the TD 1.1 JSON Schema: FLOWCHAIN_ERR_DIRECTORY_TD_INVALID,
 *   with every fault in `validationErrors`, and nothing is stored (WoT Discovery §7.3.2.1.1);
 * - a Thing this node hosts (TD files, produce()) is changed by its code, never through the
 *   directory, and an entry another node published (its hosted Thing or a registration made
 *   there) only by that node: FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN;
 * - unknown ids: FLOWCHAIN_ERR_THING_NOT_FOUND.
 * The ring lookup a write makes rejects with the ring store's codes
 * (FLOWCHAIN_ERR_PEER_UNREACHABLE, FLOWCHAIN_ERR_LOOKUP_FAILED).
 *
 * Registration information (WoT Discovery §7.3.2.1.3): `created` and `modified` are set here;
 * a client asks for a lifetime with `registration.ttl` (seconds) in the TD it submits, and the
 * TD expires `ttl` after its last modification; expired TDs are no longer served and are
 * purged every `purgeIntervalMs`. The clock and the id generator are injected.
 */
import type { Clock, Timer } from '../common/clock.js';
import { FlowchainError, type ValidationFault } from '../errors.js';
import type { Section } from '../storage.js';
import type { ThingDescription } from '../td/thing-description.js';
import type { TdValidator } from '../td/td-validator.js';
import { applyMergePatch, isObject, mergePatchBetween, type Json } from './merge-patch.js';
import type { ThingEntry } from './thing-entry.js';
import type { RingDirectory } from './ring-directory.js';

/** The discovery context, which defines `registration` (WoT Discovery §8.1). */
export const DISCOVERY_CONTEXT = 'https://www.w3.org/2022/wot/discovery';

/** A TD registered at this node, as stored. */
export interface Registration {
  readonly id: string;
  /** The TD as submitted, without `registration`. */
  readonly td: ThingDescription;
  /** ms since the epoch. */
  readonly created: number;
  readonly modified: number;
  /** Seconds, as the client asked. */
  readonly ttl?: number;
  /** ms since the epoch; absent: until deleted. */
  readonly expires?: number;
}

/** A TD of the listing as served: the object and its JSON text, each made once. */
export interface ListedTd {
  readonly td: ThingDescription;
  readonly text: string;
}

/** What a registration change notifies (WoT Discovery §7.3.2.3). */
export interface DirectoryChange {
  readonly type: 'thing_created' | 'thing_updated' | 'thing_deleted';
  readonly id: string;
  /** The TD as now served (with registration information); for a deletion, the last one. */
  readonly td: ThingDescription;
  /** For an update: the merge patch from the old TD to the new one. */
  readonly diff?: Record<string, Json>;
}

/** What the directory needs of the ring's directory (a {@link RingDirectory}). */
export type RegistrationRing = Pick<RingDirectory, 'register' | 'unregister' | 'entryOf' | 'entries' | 'isOwn'>;

/** Collaborators of the directory. */
export interface TdDirectoryComponents {
  readonly section: Section;
  readonly clock: Clock;
  readonly validator: TdValidator;
  /** Publishes registrations into the ring and reads other nodes' entries. */
  readonly ring: RegistrationRing;
  /** A fresh UUID (RFC 9562, lower-case, without the urn: prefix), for anonymous TDs. */
  readonly randomUuid: () => string;
  /** Whether this node hosts the Thing with this TD id (or slug). */
  readonly isHosted: (id: string) => boolean;
  readonly log?: { warn(obj: object, msg: string): void };
}

/** Directory settings. */
export interface TdDirectoryInit {
  /** How often expired registrations are purged. */
  readonly purgeIntervalMs?: number;
}

const invalid = (faults: readonly ValidationFault[]): FlowchainError =>
  new FlowchainError('FLOWCHAIN_ERR_DIRECTORY_TD_INVALID', faults.map((f) => `${f.field}: ${f.description}`).join('; '), { field: faults[0]?.field, validationErrors: faults });

const notFound = (id: string): FlowchainError => new FlowchainError('FLOWCHAIN_ERR_THING_NOT_FOUND', `the directory holds no TD with id ${id}`);

/** TDs registered at this node. */
export class TdDirectory {
  readonly #c: TdDirectoryComponents;
  readonly #purgeIntervalMs: number;
  readonly #registrations = new Map<string, Registration>();
  readonly #listeners = new Set<(change: DirectoryChange) => void>();
  #timer: Timer | undefined;
  /** The listed form of each registration and ring entry, made once per (immutable) object. */
  readonly #listed = new WeakMap<object, ListedTd>();
  /** Writes one after another, so a check and the write it allows see the same state. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(components: TdDirectoryComponents, init: TdDirectoryInit = {}) {
    this.#c = components;
    this.#purgeIntervalMs = init.purgeIntervalMs ?? 10_000;
  }

  /** Loads the stored registrations (dropping expired ones) and hands them to the ring directory. Throws FLOWCHAIN_ERR_STORE_FAILED. */
  async open(): Promise<void> {
    const now = this.#c.clock.now();
    const expired: string[] = [];
    for await (const [id, value] of this.#c.section.entries()) {
      const registration = value as Registration;
      if (registration.expires !== undefined && registration.expires <= now) expired.push(id);
      else this.#registrations.set(id, registration);
    }
    if (expired.length > 0) await this.#c.section.batch(expired.map((key) => ({ type: 'del', key })));
    for (const registration of this.#registrations.values()) await this.#c.ring.register(this.#published(registration));
  }

  /** Purges expired registrations every `purgeIntervalMs` until {@link stop}. */
  start(): void {
    this.#timer ??= this.#c.clock.every(this.#purgeIntervalMs, () => void this.purge().catch((err: unknown) => this.#c.log?.warn({ err }, 'purging expired registrations failed')));
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Calls `listener` on every creation, update and deletion (expiry included); returns the unsubscribe. */
  onChange(listener: (change: DirectoryChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The registrations that have not expired, by id. */
  list(): Registration[] {
    const now = this.#c.clock.now();
    return [...this.#registrations.values()].filter((r) => !expiredAt(r, now)).sort((a, b) => byCodePoint(a.id, b.id));
  }

  /** The registration of `id`, unless there is none or it expired. */
  get(id: string): Registration | undefined {
    const registration = this.#registrations.get(id);
    return registration === undefined || expiredAt(registration, this.#c.clock.now()) ? undefined : registration;
  }

  /**
   * The TD with id `id` as served: a registration of this node, or else the ring's entry (a
   * Thing another node hosts, or a TD registered there; checked by its signature, and not
   * once expired). Undefined when neither has it. Rejects with the ring store's codes.
   */
  async find(id: string): Promise<ThingDescription | undefined> {
    const own = this.get(id);
    if (own !== undefined) return this.served(own);
    const entry = await this.#c.ring.entryOf(id);
    if (entry === undefined || entry.td === null || entry.expires <= this.#c.clock.now()) return undefined;
    return servedEntry(entry, entry.td);
  }

  /** The registrations that have not expired, by id, as listed. */
  listed(): ListedTd[] {
    return this.list().map((registration) => this.#listedOf(registration, () => this.served(registration)));
  }

  /**
   * The TDs of the ring's directory that other nodes published (their hosted Things and the
   * TDs registered there), by id, as listed; those of this node are served from here.
   */
  async others(): Promise<ListedTd[]> {
    const entries = (await this.#c.ring.entries()).filter((entry) => !this.#c.ring.isOwn(entry) && !this.#c.isHosted(entry.thingId) && this.get(entry.thingId) === undefined);
    entries.sort((a, b) => byCodePoint(a.thingId, b.thingId));
    return entries.map((entry) => this.#listedOf(entry, () => servedEntry(entry, entry.td!)));
  }

  #listedOf(source: object, serve: () => ThingDescription): ListedTd {
    let listed = this.#listed.get(source);
    if (listed === undefined) {
      const td = serve();
      listed = { td, text: JSON.stringify(td) };
      this.#listed.set(source, listed);
    }
    return listed;
  }

  /**
   * PUT /things/{id}: creates (true) or replaces (false) the TD with id `id`. The TD's own id,
   * if it has one, must be `id`.
   */
  async put(id: string, body: unknown): Promise<boolean> {
    return this.#serialized(async () => {
      await this.#assertMayWrite(id);
      const { td, ttl } = this.#accept(body, id);
      const existing = this.get(id);
      await this.#store(id, td, ttl, existing);
      return existing === undefined;
    });
  }

  /** POST /things: registers an anonymous TD (one without id) under a new `urn:uuid:` id, which it returns. */
  async create(body: unknown): Promise<string> {
    return this.#serialized(async () => {
      if (isObject(body) && body.id !== undefined) throw invalid([{ field: '/id', description: 'an anonymous TD has no id: PUT a TD with an id to /things/{id}' }]);
      const id = `urn:uuid:${this.#c.randomUuid()}`;
      const { td, ttl } = this.#accept(body, id);
      await this.#store(id, td, ttl, undefined);
      return id;
    });
  }

  /**
   * PATCH /things/{id}: applies an RFC 7396 merge patch to the stored TD; the result must be a
   * valid TD with the same id, or nothing changes.
   */
  async patch(id: string, patch: unknown): Promise<void> {
    return this.#serialized(async () => {
      await this.#assertMayWrite(id);
      const existing = this.get(id);
      if (existing === undefined) throw notFound(id);
      if (!isObject(patch)) throw invalid([{ field: '/', description: 'a merge patch of a TD is a JSON object' }]);
      const current = { ...existing.td, ...(existing.ttl === undefined ? {} : { registration: { ttl: existing.ttl } }) };
      const { td, ttl } = this.#accept(applyMergePatch(current, patch), id);
      await this.#store(id, td, ttl, existing);
    });
  }

  /** DELETE /things/{id}. */
  async remove(id: string): Promise<void> {
    return this.#serialized(async () => {
      await this.#assertMayWrite(id);
      const existing = this.get(id);
      if (existing === undefined) throw notFound(id);
      await this.#delete(existing);
    });
  }

  /** Deletes every expired registration now (the timer calls this). */
  async purge(): Promise<void> {
    return this.#serialized(async () => {
      const now = this.#c.clock.now();
      for (const registration of [...this.#registrations.values()]) if (expiredAt(registration, now)) await this.#delete(registration);
    });
  }

  /** The TD of a registration as the directory serves it: with its registration information (WoT Discovery §7.3.2.1.3). */
  served(registration: Registration): ThingDescription {
    return enriched(registration.td, registration);
  }

  async #store(id: string, td: ThingDescription, ttl: number | undefined, existing: Registration | undefined): Promise<void> {
    const now = this.#c.clock.now();
    const registration: Registration = {
      id,
      td,
      created: existing?.created ?? now,
      modified: now,
      ...(ttl === undefined ? {} : { ttl, expires: now + Math.round(ttl * 1000) }),
    };
    await this.#c.section.put(id, registration);
    this.#registrations.set(id, registration);
    await this.#announce(this.#c.ring.register(this.#published(registration)), id);
    const served = this.served(registration);
    if (existing === undefined) this.#emit({ type: 'thing_created', id, td: served });
    else {
      const diff = mergePatchBetween(this.served(existing), served);
      this.#emit({ type: 'thing_updated', id, td: served, ...(diff === undefined ? {} : { diff }) });
    }
  }

  async #delete(registration: Registration): Promise<void> {
    await this.#c.section.batch([{ type: 'del', key: registration.id }]);
    this.#registrations.delete(registration.id);
    await this.#announce(this.#c.ring.unregister(registration.id), registration.id);
    this.#emit({ type: 'thing_deleted', id: registration.id, td: this.served(registration) });
  }

  /**
   * Waits for the ring publication; its failure does not fail the change, which is stored
   * here: the ring directory publishes every registration again with each refresh.
   */
  async #announce(publication: Promise<void>, id: string): Promise<void> {
    await publication.catch((err: unknown) => this.#c.log?.warn({ err, id }, 'publishing a registration into the ring failed; it is published again with the next refresh'));
  }

  #published(registration: Registration) {
    return {
      thingId: registration.id,
      td: registration.td,
      registration: { created: registration.created, modified: registration.modified, ...(registration.ttl === undefined ? {} : { ttl: registration.ttl }) },
      expires: registration.expires ?? null,
    };
  }

  /** The TD to store, and the lifetime asked for, or FLOWCHAIN_ERR_DIRECTORY_TD_INVALID with every fault. */
  #accept(body: unknown, id: string): { td: ThingDescription; ttl: number | undefined } {
    if (!isObject(body)) throw invalid([{ field: '/', description: 'a TD is a JSON object' }]);
    const { registration, ...rest } = body;
    const faults: ValidationFault[] = [];
    let ttl: number | undefined;
    if (registration !== undefined) {
      const asked = isObject(registration) ? registration.ttl : undefined;
      if (!isObject(registration)) faults.push({ field: '/registration', description: 'registration is an object' });
      else if (asked !== undefined && !(typeof asked === 'number' && Number.isFinite(asked) && asked > 0)) faults.push({ field: '/registration/ttl', description: 'ttl is a positive number of seconds' });
      else if (typeof asked === 'number') ttl = asked;
    }
    if (rest.id !== undefined && rest.id !== id) faults.push({ field: '/id', description: `the TD's id must be the one of the URL, ${id}` });
    const td = { ...rest, id } as ThingDescription;
    faults.push(...this.#c.validator.faults(td));
    if (faults.length > 0) throw invalid(faults);
    return { td, ttl };
  }

  /** FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN unless this node may change the TD with id `id`. */
  async #assertMayWrite(id: string): Promise<void> {
    if (this.#c.isHosted(id)) throw new FlowchainError('FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN', `${id} is a Thing this node hosts: its TD changes with the Thing, not through the directory`, { field: 'id' });
    if (this.#registrations.has(id)) return;
    const entry = await this.#c.ring.entryOf(id);
    if (entry !== undefined && entry.td !== null && !this.#c.ring.isOwn(entry)) {
      const what = entry.registration === undefined ? 'a Thing hosted by' : 'a TD registered at';
      throw new FlowchainError('FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN', `${id} is ${what} node ${entry.host.url}: only that node may change it`, { field: 'id' });
    }
  }

  #emit(change: DirectoryChange): void {
    for (const listener of this.#listeners) listener(change);
  }

  #serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * A TD with registration information (`registration`, from the discovery context, which is
 * added to its `@context`): ISO 8601 times, `ttl` in seconds. `entry` gives the times in ms.
 */
export function enriched(td: ThingDescription, entry: { readonly created: number; readonly modified: number; readonly ttl?: number; readonly expires?: number | null }): ThingDescription {
  const context = td['@context'];
  const contexts = Array.isArray(context) ? context : [context];
  return {
    ...td,
    '@context': (contexts.includes(DISCOVERY_CONTEXT) ? contexts : [...contexts, DISCOVERY_CONTEXT]) as ThingDescription['@context'],
    registration: {
      created: new Date(entry.created).toISOString(),
      modified: new Date(entry.modified).toISOString(),
      ...(entry.expires === undefined || entry.expires === null ? {} : { expires: new Date(entry.expires).toISOString() }),
      ...(entry.ttl === undefined ? {} : { ttl: entry.ttl }),
    },
  };
}

/** The TD `td` of a live ring entry as served: a registration's with its registration information, a hosted Thing's as its host serves it. */
function servedEntry(entry: ThingEntry, td: ThingDescription): ThingDescription {
  // The entry's own expiry may be the ring's cap on how long it counts: the registration's is its TTL's.
  return entry.registration === undefined ? td : enriched(td, { ...entry.registration, expires: entry.registration.ttl === undefined ? null : entry.registration.modified + Math.round(entry.registration.ttl * 1000) });
}

function expiredAt(registration: Registration, now: number): boolean {
  return registration.expires !== undefined && registration.expires <= now;
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

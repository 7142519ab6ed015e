/**
 * The node's part of the ring-wide directory of Things: it publishes a signed entry for each
 * Thing this node hosts into the ring (replicated like any ring record), keeps those entries
 * alive while the node runs (a fresh version and expiry every `refreshMs`), withdraws them
 * with a signed tombstone, and answers who hosts a Thing and with which TD, from the ring,
 * with a short cache.
 *
 * It also holds the ring's directory (other members' entries) in memory, so that a listing
 * walks nothing: every change (a Thing hosted, changed or withdrawn, a registration made or
 * deleted) is announced to every member as it is published, and the ring is walked once every
 * `syncMs` in the background to take what an announcement missed and drop what the ring no
 * longer holds. Every entry held was checked by its publisher's signature (the ring store
 * checks announced ones). An entry of another publisher for an id already held is settled by
 * the ring (a quorum read of the id's owner and replicas), not by the word of the member that
 * sent it. An announced entry for an id not held yet is held on its signature until the next
 * walk, at most {@link MAX_ANNOUNCED_PER_PUBLISHER} of one publisher; at most `maxHeld` in all.
 *
 * Rejects with the ring store's codes (FLOWCHAIN_ERR_PEER_UNREACHABLE,
 * FLOWCHAIN_ERR_LOOKUP_FAILED, FLOWCHAIN_ERR_RING_RECORD_INVALID) where noted.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ThingHosts } from '../broker/transaction-owner.js';
import type { Clock, Timer } from '../common/clock.js';
import type { RecordStore } from '../common/ring-records.js';
import { isFlowchainError } from '../errors.js';
import type { NodeIdentity } from '../node-identity.js';
import type { ThingDescription } from '../td/thing-description.js';
import { hostedThingId } from '../td/thing-id.js';
import { MAX_ENTRY_LIFETIME_MS, signThingEntry, thingKey, THING_ENTRIES, type EntryRegistration, type ThingEntry } from './thing-entry.js';

/** Collaborators of the directory. */
export interface RingDirectoryComponents {
  readonly store: RecordStore;
  readonly identity: NodeIdentity;
  readonly clock: Clock;
  readonly log?: { warn(obj: object, msg: string): void };
}

/** Directory settings. */
export interface RingDirectoryInit {
  /** How long an entry counts without being published again. */
  readonly ttlMs?: number;
  /** How often this node publishes its entries again. */
  readonly refreshMs?: number;
  /** How long an entry read from the ring is used before it is read again. */
  readonly cacheMs?: number;
  /** How often the ring is walked to bring the directory held here up to date. */
  readonly syncMs?: number;
  /** Most entries held (others' entries past it are left out, and said). */
  readonly maxHeld?: number;
}

/** A Thing this node hosts, as it publishes it. */
export interface HostedThing {
  readonly thingId: string;
  /** The TD as served, with absolute `base`. */
  readonly td: ThingDescription;
  /** The Thing's slug: its entry proves the host when the id derives from it ({@link hostedThingId}). */
  readonly slug?: string;
}

/** A TD registered at this node through the directory API, as it publishes it. */
export interface RegisteredThing {
  readonly thingId: string;
  readonly td: ThingDescription;
  readonly registration: EntryRegistration;
  /** When it expires (ms since the epoch), or null: when it is deleted. */
  readonly expires: number | null;
}

/** One publication: a hosted Thing's TD, a registration, or a tombstone (td null). */
interface Publication {
  readonly thingId: string;
  readonly td: ThingDescription | null;
  readonly registration?: EntryRegistration;
  /** For a hosted Thing whose id derives from this node's key, the slug it derives from. */
  readonly name?: string;
  /** Undefined: the hosted Things' rolling TTL. */
  readonly expires?: number | null;
}

/** How soon a failed publication is tried again. */
const RETRY_MS = 1_000;

/**
 * Most entries for ids not yet held that one publisher's announcements alone bring in between
 * two walks of the ring (a walk takes any number, up to maxHeld): a member announcing entries
 * it never stored cannot fill the directory others hold.
 */
const MAX_ANNOUNCED_PER_PUBLISHER = 1_000;

/** Who hosts a Thing, and its TD (null once withdrawn). */
export interface HostedBy {
  readonly hostId: string;
  readonly td: ThingDescription | null;
}

/** This node's directory. */
export class RingDirectory implements ThingHosts {
  readonly #c: RingDirectoryComponents;
  readonly #ttlMs: number;
  readonly #refreshMs: number;
  readonly #cacheMs: number;
  /** What this node publishes, by Thing id, and the base URL of its forms. */
  readonly #hosted = new Map<string, Publication>();
  /** TDs registered at this node, by Thing id. */
  readonly #registered = new Map<string, RegisteredThing>();
  #url: string | undefined;
  readonly #cache = new Map<string, { readonly at: number; readonly entry: Promise<ThingEntry | undefined> }>();
  /** The ring's directory as this node holds it, by Thing id. */
  #held = new Map<string, ThingEntry>();
  readonly #syncMs: number;
  readonly #maxHeld: number;
  #syncing: Promise<void> | undefined;
  /** When the last walk ended (undefined: none yet). */
  #syncedAt: number | undefined;
  /** Entries taken while a walk runs: they are newer than what it may find. */
  #takenMeanwhile: ThingEntry[] | undefined;
  /** Whether a walk succeeded yet, and the error of the last one that failed. */
  #walked = false;
  #walkError: unknown;
  /** Held entries each publisher's announcements alone brought in since the last walk, by key. */
  readonly #announcedBy = new Map<string, number>();
  /** Ids whose publisher the ring is being asked about. */
  readonly #disputed = new Set<string>();
  /** "thingId publisherKey" of entries the ring outvoted since the last walk: not asked about again. */
  readonly #outvoted = new Set<string>();
  #fullSaid = false;
  #version = 0;
  #timer: Timer | undefined;
  #publishedAt = 0;
  #failed = false;
  #publishing = false;
  /** Thing ids whose ring entry another member holds, already logged. */
  readonly #taken = new Set<string>();

  constructor(components: RingDirectoryComponents, init: RingDirectoryInit = {}) {
    this.#c = components;
    this.#ttlMs = init.ttlMs ?? 90_000;
    this.#refreshMs = init.refreshMs ?? 30_000;
    this.#cacheMs = init.cacheMs ?? 30_000;
    this.#syncMs = init.syncMs ?? this.#refreshMs;
    this.#maxHeld = init.maxHeld ?? 10_000;
    components.store.register(THING_ENTRIES);
    components.store.onAnnounced(THING_ENTRIES.kind, (records) => {
      for (const [, entry] of records) this.#take(entry as ThingEntry, 'announced');
    });
  }

  /**
   * Publishes `things` (hosted at `url`) and keeps every hosted Thing published until
   * {@link stop}: again every `refreshMs`, and every second while a publication failed (a ring
   * that is still stabilizing after a join sends puts to the wrong owner). Resolves after the
   * first attempt, whether or not it reached every owner.
   */
  async start(url: string, things: readonly HostedThing[]): Promise<void> {
    this.#url = url;
    for (const thing of things) this.#hosted.set(thing.thingId, this.#hostedPublication(thing));
    await this.#refresh();
    void this.#sync();
    this.#timer ??= this.#c.clock.every(RETRY_MS, () => {
      const now = this.#c.clock.now();
      const due = this.#failed || now - this.#publishedAt >= this.#refreshMs;
      if (due && !this.#publishing) void this.#refresh();
      if (this.#syncedAt !== undefined && now - this.#syncedAt >= this.#syncMs) void this.#sync();
    });
  }

  /** Adds or updates a hosted Thing; resolves once its entry is stored at its owner. */
  async host(thing: HostedThing): Promise<void> {
    const publication = this.#hostedPublication(thing);
    this.#hosted.set(thing.thingId, publication);
    if (this.#url !== undefined) await this.#publish([publication], true);
  }

  /** Withdraws a hosted Thing: a signed tombstone replaces its entry. */
  async withdraw(thingId: string): Promise<void> {
    const hosted = this.#hosted.get(thingId);
    if (!this.#hosted.delete(thingId) || this.#url === undefined) return;
    await this.#publish([{ ...hosted, thingId, td: null }], true);
  }

  /**
   * Publishes a TD registered at this node (created or replaced), signed by this node, and
   * keeps publishing it with the hosted Things until it is {@link unregister}ed. Before
   * {@link start} it is only kept, and published once the node starts.
   */
  async register(thing: RegisteredThing): Promise<void> {
    this.#registered.set(thing.thingId, thing);
    this.#cache.delete(thing.thingId);
    if (this.#url !== undefined) await this.#publish([this.#registration(thing)], true);
  }

  /** Withdraws a registration of this node: a signed tombstone replaces its entry. */
  async unregister(thingId: string): Promise<void> {
    this.#cache.delete(thingId);
    if (!this.#registered.delete(thingId) || this.#url === undefined) return;
    await this.#publish([{ thingId, td: null }], true);
  }

  /**
   * Every live entry of the ring's directory that other members published (not withdrawn, not
   * expired, each checked by its publisher's signature), as this node holds it. Empty before
   * {@link start}; until a walk of the ring succeeded, a listing waits for one, and rejects
   * with the ring store's codes when it fails.
   */
  async entries(): Promise<ThingEntry[]> {
    if (this.#url === undefined) return [];
    // Until one walk succeeded, each listing walks (as one that failed is tried again).
    if (!this.#walked) await this.#sync();
    if (!this.#walked) throw this.#walkError;
    const now = this.#c.clock.now();
    return [...this.#held.values()].filter((entry) => entry.td !== null && entry.expires > now);
  }

  /** Whether an entry was published by this node. */
  isOwn(entry: ThingEntry): boolean {
    return entry.host.id === this.#selfId();
  }

  /**
   * The ring's entry for `thingId`, read again from its owner and its replicas (checked:
   * signature, key; the publisher most of them hold wins); undefined when the ring has none or
   * this node is not in a ring yet (not started). Rejects with the ring store's codes.
   */
  async entryOf(thingId: string): Promise<ThingEntry | undefined> {
    if (this.#url === undefined) return undefined;
    return (await this.#c.store.get(thingKey(thingId), { quorum: true })) as ThingEntry | undefined;
  }

  /** Publishes every hosted Thing again; a failure is retried within a second. */
  async #refresh(): Promise<void> {
    this.#publishing = true;
    try {
      await this.#publish([...this.#hosted.values(), ...[...this.#registered.values()].map((thing) => this.#registration(thing))]);
      this.#failed = false;
      this.#publishedAt = this.#c.clock.now();
    } catch (err) {
      if (!this.#failed) this.#c.log?.warn({ err }, 'publishing this node\'s Things into the ring failed; trying again every second');
      this.#failed = true;
    } finally {
      this.#publishing = false;
    }
  }

  /**
   * Walks the ring for its directory and holds what it found (the entries of each key's owner),
   * with what was announced meanwhile; what an announcement alone brought and the walk did not
   * find is dropped. A walk that fails leaves what is held as it was.
   */
  #sync(): Promise<void> {
    this.#syncing ??= (async () => {
      this.#takenMeanwhile = [];
      try {
        const found = (await this.#c.store.list(THING_ENTRIES.kind)) as ThingEntry[];
        const meanwhile = this.#takenMeanwhile;
        this.#takenMeanwhile = undefined;
        this.#held = new Map();
        this.#announcedBy.clear();
        this.#outvoted.clear();
        this.#fullSaid = false;
        for (const entry of found) this.#take(entry, 'walk');
        for (const entry of meanwhile) this.#take(entry, 'announced');
        this.#walked = true;
      } catch (err) {
        this.#walkError = err;
        this.#c.log?.warn({ err }, 'walking the ring for its directory failed; it is tried again in a while');
      } finally {
        this.#takenMeanwhile = undefined;
        this.#syncedAt = this.#c.clock.now();
        this.#syncing = undefined;
      }
    })();
    return this.#syncing;
  }

  /**
   * Holds a checked entry of another publisher: a newer one of the same publisher replaces the
   * held one, another publisher's only where the ring's rule lets it (THING_ENTRIES.replaces),
   * and otherwise the ring's owner and replicas are asked which one they hold (once per
   * publisher and id until the next walk). An announced entry for an id not held counts
   * against its publisher's share, {@link MAX_ANNOUNCED_PER_PUBLISHER}, until a walk finds it.
   */
  #take(entry: ThingEntry, via: 'walk' | 'announced'): void {
    if (this.isOwn(entry)) return;
    this.#takenMeanwhile?.push(entry);
    const held = this.#held.get(entry.thingId);
    if (held === undefined) {
      const announced = this.#announcedBy.get(entry.host.key) ?? 0;
      if (this.#held.size >= this.#maxHeld || (via === 'announced' && announced >= MAX_ANNOUNCED_PER_PUBLISHER)) {
        if (!this.#fullSaid) this.#c.log?.warn({ maxHeld: this.#maxHeld, publisher: entry.host.url }, 'the ring\'s directory holds more entries than this node keeps (or one member announced more than its share); the rest are listed here once a walk of the ring finds them, if there is room');
        this.#fullSaid = true;
        return;
      }
      if (via === 'announced') this.#announcedBy.set(entry.host.key, announced + 1);
      this.#held.set(entry.thingId, entry);
    } else if (held.host.key === entry.host.key) {
      if (entry.version > held.version) this.#held.set(entry.thingId, entry);
    } else if (THING_ENTRIES.replaces!(entry, held)) {
      this.#held.set(entry.thingId, entry);
    } else if (!THING_ENTRIES.replaces!(held, entry)) {
      void this.#settle(entry);
    }
  }

  /** Holds what most of the owner and replicas of the key of `offered`'s Thing hold. */
  async #settle(offered: ThingEntry): Promise<void> {
    const dispute = `${offered.thingId} ${offered.host.key}`;
    if (this.#outvoted.has(dispute) || this.#disputed.has(offered.thingId)) return;
    this.#disputed.add(offered.thingId);
    try {
      const entry = await this.entryOf(offered.thingId);
      if (entry?.host.key !== offered.host.key) this.#outvoted.add(dispute);
      const held = this.#held.get(offered.thingId);
      if (entry === undefined) this.#held.delete(offered.thingId);
      // The ring's answer, unless a newer entry of the same publisher came in meanwhile.
      else if (held === undefined ? this.#held.size < this.#maxHeld : held.host.key !== entry.host.key || entry.version > held.version) {
        this.#held.set(offered.thingId, entry);
        this.#takenMeanwhile?.push(entry);
      }
    } catch (err) {
      this.#c.log?.warn({ err, thingId: offered.thingId }, 'two members published an entry for one Thing id, and the ring could not be asked which it holds');
    } finally {
      this.#disputed.delete(offered.thingId);
    }
  }

  /** Stops refreshing (entries then expire after their TTL unless the node comes back). */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /**
   * Who hosts `thingId`: this node for the Things it hosts, otherwise its ring entry (cached for
   * `cacheMs`; read again at once with `fresh`). Undefined when the ring has no entry.
   */
  async hostOf(thingId: string, fresh = false): Promise<HostedBy | undefined> {
    const local = this.#hosted.get(thingId);
    if (local !== undefined) return { hostId: this.#selfId(), td: local.td };
    const now = this.#c.clock.now();
    let cached = this.#cache.get(thingId);
    if (cached === undefined || fresh || now - cached.at > this.#cacheMs) {
      // The owner of the Thing's key alone could name itself its host: its replicas vote too.
      const entry = this.#c.store.get(thingKey(thingId), { quorum: true }) as Promise<ThingEntry | undefined>;
      cached = { at: now, entry };
      this.#cache.set(thingId, cached);
      // A failed read is not remembered.
      entry.catch(() => this.#cache.get(thingId) === cached && this.#cache.delete(thingId));
      if (this.#cache.size > 4096) this.#cache.delete(this.#cache.keys().next().value as string);
    }
    const entry = await cached.entry;
    // A registration names the node it was made at, not a host of the Thing.
    return entry === undefined || entry.registration !== undefined ? undefined : { hostId: entry.host.id, td: entry.td };
  }

  /** A hosted Thing's publication: with its slug when its id derives from this node's key. */
  #hostedPublication(thing: HostedThing): Publication {
    const bound = thing.slug !== undefined && hostedThingId(bytesToHex(this.#c.identity.publicKey), thing.slug) === thing.thingId;
    return { thingId: thing.thingId, td: thing.td, ...(bound ? { name: thing.slug } : {}) };
  }

  #registration(thing: RegisteredThing): Publication {
    return { thingId: thing.thingId, td: thing.td, registration: thing.registration, expires: thing.expires };
  }

  /** Stores `things`' entries at their owners; with `announce`, a change, also announces them to every member. */
  async #publish(things: readonly Publication[], announce = false): Promise<void> {
    const url = this.#url;
    if (url === undefined || things.length === 0) return;
    const now = this.#c.clock.now();
    // Versions grow even if two publications fall in one millisecond.
    this.#version = Math.max(this.#version + 1, now);
    const entries = things.map((p): [string, ThingEntry] => [
      thingKey(p.thingId),
      // A registration without a TTL (expires null) lives a week past its node's last publication.
      signThingEntry(this.#c.identity, { thingId: p.thingId, td: p.td, url, version: this.#version, expires: p.expires === undefined ? now + this.#ttlMs : Math.min(p.expires ?? Infinity, now + MAX_ENTRY_LIFETIME_MS), ...(p.registration === undefined ? {} : { registration: p.registration }), ...(p.name === undefined ? {} : { name: p.name }) }),
    ]);
    const failures = await this.#c.store.putMany(entries);
    const stored = entries.filter((_, i) => failures[i] === undefined);
    if (announce) await this.#c.store.announce(stored).catch((err: unknown) => this.#c.log?.warn({ err }, 'announcing a directory change failed; other members learn it from their next walk of the ring'));
    // The ring keeps the first signed entry for a Thing id: publishing again cannot change that.
    // Said once per Thing, not at every refresh.
    const taken = entries.filter((_, i) => isFlowchainError(failures[i], 'FLOWCHAIN_ERR_RING_RECORD_CONFLICT')).map(([, entry]) => entry.thingId).filter((id) => !this.#taken.has(id));
    for (const id of taken) this.#taken.add(id);
    if (taken.length > 0) this.#c.log?.warn({ things: taken }, 'the ring holds another member\'s entry for these Thing ids: they are served here but not listed ring-wide as this node\'s');
    const failed = failures.find((f) => f !== undefined && !isFlowchainError(f, 'FLOWCHAIN_ERR_RING_RECORD_CONFLICT'));
    if (failed !== undefined) throw failed;
  }

  #selfId(): string {
    return this.#c.identity.id.toString(16).padStart(40, '0');
  }
}

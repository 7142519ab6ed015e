/**
 * A key–value store on the ring. A key (40 hex digits) lives at SUCCESSOR(key) and is
 * replicated to that node's r successors, so it survives the crash of its owner (Chord §5.2
 * suggests exactly this use of the successor list). Keys change hands as the ring changes:
 * a node that accepts a new predecessor hands it the keys it now owns (Chord §4.4), and in the
 * first maintenance round after its neighbourhood changed an owner pushes what it owns to its
 * current successors, which restores r copies after a failure (writes that missed a successor
 * are pushed again every round until they reach it). Conflicting writes resolve by version,
 * assigned by the owner.
 *
 * Throws FLOWCHAIN_ERR_RING_NOT_OWNER (a put sent to a node that does not own the key),
 * FLOWCHAIN_ERR_RING_VALUE_TOO_LARGE and FLOWCHAIN_ERR_PEER_MESSAGE_INVALID.
 */
import { FlowchainError } from '../errors.js';
import type { Section } from '../storage.js';
import type { Clock } from '../thing/clock.js';
import type { ChordNode } from './chord-node.js';
import { chunks } from './chunks.js';
import { keyFromWire, toWire, type Peer, type WirePeer } from './peer.js';
import type { RingSpace } from './ring-space.js';
import type { PeerReply, PeerRequest, Transport } from './transport.js';

/** A stored value and the owner-assigned version that orders writes. */
export interface StoredValue {
  readonly value: unknown;
  readonly version: number;
}

/** What a put reports. */
export interface PutResult {
  readonly key: string;
  readonly owner: WirePeer;
  readonly version: number;
  /** Successors that confirmed their copy. */
  readonly replicas: number;
}

/** Collaborators of the store. */
export interface RingStoreComponents {
  readonly node: ChordNode;
  readonly transport: Transport;
  readonly section: Section;
  readonly clock: Clock;
  readonly space: RingSpace;
}

/** Limits of the store. */
export interface RingStoreInit {
  /** The peer frame limit: replication messages are cut to fit well inside it. */
  readonly maxPayload?: number;
  /** Largest value, as JSON bytes; at most a quarter of the frame limit. */
  readonly maxValueBytes?: number;
}

/** Most entries in one replication message. */
const CHUNK = 32;
/** How far ahead of our clock a replicated version may be (the peer-message time window). */
const VERSION_SLACK_MS = 30_000;

/** This node's part of the ring store. */
export class RingStore {
  readonly #node: ChordNode;
  readonly #transport: Transport;
  readonly #section: Section;
  readonly #clock: Clock;
  readonly #space: RingSpace;
  readonly #maxValueBytes: number;
  readonly #maxFrameBytes: number;
  /** The neighbourhood (predecessor and successors) at the last complete push of everything owned. */
  #pushedTo = '';
  /** Owned entries that did not reach every successor when written: pushed again next round. */
  readonly #unreplicated = new Map<string, StoredValue>();

  constructor(components: RingStoreComponents, init: RingStoreInit = {}) {
    this.#node = components.node;
    this.#transport = components.transport;
    this.#section = components.section;
    this.#clock = components.clock;
    this.#space = components.space;
    const maxPayload = init.maxPayload ?? 64 * 1024;
    this.#maxFrameBytes = Math.floor(maxPayload / 2);
    this.#maxValueBytes = Math.min(init.maxValueBytes ?? 16 * 1024, Math.floor(maxPayload / 4));
    this.#node.register('store-put', (request) => this.#onPut(request));
    this.#node.register('store-put-many', (request) => this.#onPutMany(request));
    this.#node.register('store-get', (request) => this.#onGet(request));
    this.#node.register('store-replicate', (request) => this.#onReplicate(request));
    // Best effort: if it fails, the next rounds' owner pushes deliver the keys instead.
    this.#node.onPredecessorChange((previous, current) => void this.#handOver(previous, current).catch(() => undefined));
    this.#node.onMaintenance(() => this.#pushOwned());
    this.#node.onLeave(() => this.#handOverAll());
  }

  /** Stores `value` under `keyHex` at its owner, which replicates it; resolves once stored. */
  async put(keyHex: string, value: unknown): Promise<PutResult> {
    const key = this.#parseKey(keyHex);
    this.#checkSize(value);
    const { owner, reply } = await this.#node.askOwner(key, { type: 'store-put', key: this.#space.toHex(key), value });
    return { key: this.#space.toHex(key), owner: toWire(owner, this.#space), version: reply.version as number, replicas: reply.replicas as number };
  }

  /** The value under `keyHex`, from its owner (or undefined). */
  async get(keyHex: string): Promise<(StoredValue & { readonly owner: WirePeer }) | undefined> {
    const key = this.#parseKey(keyHex);
    const { owner, reply } = await this.#node.askOwner(key, { type: 'store-get', key: this.#space.toHex(key) });
    if (reply.found !== true) return undefined;
    return { value: reply.value, version: reply.version as number, owner: toWire(owner, this.#space) };
  }

  /**
   * Stores each `[keyHex, value]` at the key's owner, one message per owner (keys looked up in
   * parallel). Resolves with one entry per input: undefined where it is stored, the error
   * (its lookup's, its owner's) where not.
   */
  async putMany(entries: readonly (readonly [string, unknown])[]): Promise<unknown[]> {
    const keys = entries.map(([keyHex, value]) => {
      this.#checkSize(value);
      return this.#parseKey(keyHex);
    });
    const failures: unknown[] = entries.map(() => undefined);
    await Promise.all(
      (await this.#node.ownersOf(keys)).map(async (group) => {
        const mine = group.positions.map((i): [string, unknown] => [this.#space.toHex(keys[i]!), entries[i]![1]]);
        try {
          if (group.owner === undefined) throw group.error;
          const owner = group.owner;
          await Promise.all([...chunks(mine, CHUNK, this.#maxFrameBytes)].map((chunk) => this.#node.ask(owner, { type: 'store-put-many', entries: chunk })));
        } catch (err) {
          for (const i of group.positions) failures[i] = err;
        }
      }),
    );
    return failures;
  }

  /**
   * Stores the entries on this node, which must own every key, in one write, and replicates
   * them to the successors: what a put does at its owner. With `ifAbsent`, a key that already
   * has a value keeps it (nothing is written for it) and `existing` reports that value.
   * Throws FLOWCHAIN_ERR_RING_NOT_OWNER.
   */
  async putOwned(entries: readonly (readonly [string, unknown])[], ifAbsent = false): Promise<{ readonly versions: number[]; readonly existing: (StoredValue | undefined)[]; readonly replicas: number }> {
    const keys = entries.map(([keyHex, value]) => {
      const key = this.#parseKey(keyHex);
      if (!this.#mayOwn(key)) throw new FlowchainError('FLOWCHAIN_ERR_RING_NOT_OWNER', `${this.#space.toHex(key)} belongs to another node`, { field: 'key' });
      this.#checkSize(value);
      return this.#space.toHex(key);
    });
    const current = (await this.#section.getMany(keys)) as (StoredValue | undefined)[];
    // Versions increase per key even if clocks disagree between successive owners.
    const now = this.#clock.now();
    const versions = current.map((stored) => Math.max(now, (stored?.version ?? 0) + 1));
    const stored = keys.flatMap((key, i): [string, StoredValue][] => (ifAbsent && current[i] !== undefined ? [] : [[key, { value: entries[i]![1], version: versions[i]! }]]));
    await this.#write(stored);
    const copies = stored.length === 0 ? [] : await Promise.allSettled(this.#node.table.successors.map((peer) => this.#replicate(peer, stored, true)));
    const missed = copies.some((c) => c.status === 'rejected');
    for (const [key, value] of stored) {
      if (missed) this.#unreplicated.set(key, value);
      else this.#unreplicated.delete(key);
    }
    return { versions, existing: ifAbsent ? current : keys.map(() => undefined), replicas: copies.filter((c) => c.status === 'fulfilled').length };
  }

  /** True unless this node knows the key belongs to another node. */
  owns(keyHex: string): boolean {
    return this.#mayOwn(this.#parseKey(keyHex));
  }

  async #onPut(request: PeerRequest): Promise<PeerReply> {
    const { versions, replicas } = await this.putOwned([[request.key as string, request.value]]);
    return { version: versions[0], replicas };
  }

  async #onPutMany(request: PeerRequest): Promise<PeerReply> {
    const entries = this.#entries(request);
    if (!entries.every((entry) => Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'string')) {
      throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'each entry is [key, value]', { field: 'entries' });
    }
    const { replicas } = await this.putOwned(entries as [string, unknown][]);
    return { replicas };
  }

  async #onGet(request: PeerRequest): Promise<PeerReply> {
    const key = this.#space.toHex(this.#parseKey(request.key));
    let stored = (await this.#section.get(key)) as StoredValue | undefined;
    if (stored === undefined && request.local !== true) {
      // Just took the key over and the copy has not arrived: ask the replicas (read repair).
      for (const peer of this.#node.table.successors) {
        const reply = await this.#transport.request(peer, { type: 'store-get', key, local: true }).catch(() => undefined);
        if (reply?.found === true) {
          stored = { value: reply.value, version: reply.version as number };
          await this.#write([[key, stored]]);
          break;
        }
      }
    }
    return stored === undefined ? { found: false } : { found: true, value: stored.value, version: stored.version };
  }

  /** A message's `entries`: an array of at most CHUNK. */
  #entries(request: PeerRequest): unknown[] {
    if (!Array.isArray(request.entries) || request.entries.length > CHUNK) {
      throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', `entries must be an array of at most ${CHUNK}`, { field: 'entries' });
    }
    return request.entries;
  }

  async #onReplicate(request: PeerRequest): Promise<PeerReply> {
    const offered = new Map<string, StoredValue>();
    for (const entry of this.#entries(request)) {
      const [keyHex, stored] = Array.isArray(entry) ? entry : [];
      const key = this.#space.toHex(this.#parseKey(keyHex));
      const version = (stored as StoredValue | undefined)?.version;
      if (typeof version !== 'number' || !Number.isSafeInteger(version)) {
        throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'each entry is [key, { value, version }]', { field: 'entries' });
      }
      // Versions are owner clock readings: one far in the future would pin the key forever.
      if (version > this.#clock.now() + VERSION_SLACK_MS) {
        throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'version is ahead of every clock', { field: 'entries' });
      }
      this.#checkSize((stored as StoredValue).value);
      if ((offered.get(key)?.version ?? -1) < version) offered.set(key, { value: (stored as StoredValue).value, version });
    }
    const keys = [...offered.keys()];
    const current = (await this.#section.getMany(keys)) as (StoredValue | undefined)[];
    const accepted = keys.flatMap((key, i): [string, StoredValue][] => (current[i] === undefined || current[i].version < offered.get(key)!.version ? [[key, offered.get(key)!]] : []));
    await this.#write(accepted);
    return { stored: accepted.length };
  }

  /** A new predecessor owns (previous, current]: send it those keys; we keep them as replicas. */
  async #handOver(previous: Peer | undefined, current: Peer): Promise<void> {
    const entries: [string, StoredValue][] = [];
    for await (const [key, stored] of this.#section.entries()) {
      const id = this.#space.fromHex(key);
      const theirs = previous === undefined ? !this.#space.betweenRightInclusive(id, current.id, this.#node.self.id) : this.#space.betweenRightInclusive(id, previous.id, current.id);
      if (theirs) entries.push([key, stored as StoredValue]);
    }
    await this.#replicate(current, entries).catch(() => undefined);
  }

  /** Leaving: the successor becomes the owner of everything this node owned. */
  async #handOverAll(): Promise<void> {
    const successor = this.#node.table.successor;
    if (successor.id === this.#node.self.id) return;
    const owned: [string, StoredValue][] = [];
    for await (const [key, stored] of this.#section.entries()) {
      if (this.#mayOwn(this.#space.fromHex(key))) owned.push([key, stored as StoredValue]);
    }
    await this.#replicate(successor, owned);
  }

  /**
   * Owner's duty each round: when the neighbourhood changed, push everything owned to the
   * current successors (restoring r copies after a failure or a join); otherwise push only
   * what did not reach every successor when it was written.
   */
  async #pushOwned(): Promise<void> {
    const successors = this.#node.table.successors;
    if (successors.length === 0) return;
    const neighbourhood = `${this.#node.table.predecessor?.id}|${successors.map((p) => p.id).join(',')}`;
    const retried = [...this.#unreplicated];
    let owned: [string, StoredValue][] = retried;
    if (neighbourhood !== this.#pushedTo) {
      owned = [];
      for await (const [key, stored] of this.#section.entries()) owned.push([key, stored as StoredValue]);
    }
    owned = owned.filter(([key]) => this.#mayOwn(this.#space.fromHex(key)));
    if (owned.length === 0 && neighbourhood === this.#pushedTo) return;
    const results = await Promise.allSettled(successors.map((peer) => this.#replicate(peer, owned)));
    if (results.some((r) => r.status === 'rejected')) return;
    this.#pushedTo = neighbourhood;
    // Unless rewritten meanwhile (that write reported its own replication).
    for (const [key, stored] of retried) if (this.#unreplicated.get(key) === stored) this.#unreplicated.delete(key);
  }

  /**
   * Sends entries in messages of at most CHUNK entries and half the peer frame limit: one
   * after another, or with `together` (a write's few messages) all at once.
   */
  async #replicate(peer: Peer, entries: readonly [string, StoredValue][], together = false): Promise<void> {
    const send = (chunk: [string, StoredValue][]) => this.#transport.request(peer, { type: 'store-replicate', entries: chunk });
    if (together) await Promise.all([...chunks(entries, CHUNK, this.#maxFrameBytes)].map(send));
    else for (const chunk of chunks(entries, CHUNK, this.#maxFrameBytes)) await send(chunk);
  }

  async #write(entries: readonly [string, StoredValue][]): Promise<void> {
    if (entries.length === 0) return;
    await this.#section.batch(entries.map(([key, value]) => ({ type: 'put', key, value })));
  }

  /** True unless a known predecessor says the key is someone else's. */
  #mayOwn(key: bigint): boolean {
    const predecessor = this.#node.table.predecessor;
    return predecessor === undefined || this.#space.betweenRightInclusive(key, predecessor.id, this.#node.self.id);
  }

  #checkSize(value: unknown): void {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch {
      text = undefined;
    }
    if (text === undefined) throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'value must be JSON', { field: 'value' });
    if (Buffer.byteLength(text) > this.#maxValueBytes) {
      throw new FlowchainError('FLOWCHAIN_ERR_RING_VALUE_TOO_LARGE', `values are at most ${this.#maxValueBytes} bytes`, { field: 'value' });
    }
  }

  #parseKey(value: unknown): bigint {
    return keyFromWire(value, this.#space);
  }
}

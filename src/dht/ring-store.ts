/**
 * A key–value store on the ring. A key (40 hex digits) lives at SUCCESSOR(key) and is
 * replicated to that node's r successors, so it survives the crash of its owner (Chord §5.2
 * suggests exactly this use of the successor list). Keys change hands as the ring changes:
 * a node that accepts a new predecessor hands it the keys it now owns (Chord §4.4), and every
 * maintenance round an owner pushes what it owns to its current successors, which restores r
 * copies after a failure. Conflicting writes resolve by version, assigned by the owner.
 *
 * Throws FLOWCHAIN_ERR_RING_NOT_OWNER (a put sent to a node that does not own the key),
 * FLOWCHAIN_ERR_RING_VALUE_TOO_LARGE and FLOWCHAIN_ERR_PEER_MESSAGE_INVALID.
 */
import { canonicalJson } from '../canonical-json.js';
import { FlowchainError } from '../errors.js';
import type { Section } from '../storage.js';
import type { Clock } from '../thing/clock.js';
import type { ChordNode } from './chord-node.js';
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
  /** Largest value, as canonical JSON bytes; at most a quarter of the frame limit. */
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
  /** Bumped on every local change, so an unchanged store is not pushed again. */
  #changes = 0;
  #lastPush = '';

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
   * Stores `value` under `keyHex` on this node, which must own the key, and replicates it to
   * the successors: what a put does at its owner. Throws FLOWCHAIN_ERR_RING_NOT_OWNER.
   */
  async putOwned(keyHex: string, value: unknown): Promise<{ readonly version: number; readonly replicas: number }> {
    const reply = await this.#onPut({ type: 'store-put', key: keyHex, value });
    return { version: reply.version as number, replicas: reply.replicas as number };
  }

  /** The value under `keyHex` as this node has it, asking its successors when it has no copy. */
  async getOwned(keyHex: string): Promise<StoredValue | undefined> {
    const reply = await this.#onGet({ type: 'store-get', key: keyHex });
    return reply.found === true ? { value: reply.value, version: reply.version as number } : undefined;
  }

  /** True unless this node knows the key belongs to another node. */
  owns(keyHex: string): boolean {
    return this.#mayOwn(this.#parseKey(keyHex));
  }

  async #onPut(request: PeerRequest): Promise<PeerReply> {
    const key = this.#parseKey(request.key);
    if (!this.#mayOwn(key)) throw new FlowchainError('FLOWCHAIN_ERR_RING_NOT_OWNER', `${this.#space.toHex(key)} belongs to another node`, { field: 'key' });
    this.#checkSize(request.value);
    const current = (await this.#section.get(this.#space.toHex(key))) as StoredValue | undefined;
    // Versions increase per key even if clocks disagree between successive owners.
    const version = Math.max(this.#clock.now(), (current?.version ?? 0) + 1);
    const stored: StoredValue = { value: request.value, version };
    await this.#write([[this.#space.toHex(key), stored]]);
    const copies = await Promise.allSettled(this.#node.table.successors.map((peer) => this.#replicate(peer, [[this.#space.toHex(key), stored]])));
    return { version, replicas: copies.filter((c) => c.status === 'fulfilled').length };
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

  async #onReplicate(request: PeerRequest): Promise<PeerReply> {
    if (!Array.isArray(request.entries) || request.entries.length > CHUNK) {
      throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', `entries must be an array of at most ${CHUNK}`, { field: 'entries' });
    }
    const accepted: [string, StoredValue][] = [];
    for (const entry of request.entries as unknown[]) {
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
      const current = (await this.#section.get(key)) as StoredValue | undefined;
      if (current === undefined || current.version < version) accepted.push([key, { value: (stored as StoredValue).value, version }]);
    }
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

  /** Owner's duty each round: push owned keys to the current successors if anything changed. */
  async #pushOwned(): Promise<void> {
    const successors = this.#node.table.successors;
    const signature = `${this.#changes}|${this.#node.table.predecessor?.id}|${successors.map((p) => p.id).join(',')}`;
    if (signature === this.#lastPush || successors.length === 0) return;
    const owned: [string, StoredValue][] = [];
    for await (const [key, stored] of this.#section.entries()) {
      if (this.#mayOwn(this.#space.fromHex(key))) owned.push([key, stored as StoredValue]);
    }
    const results = await Promise.allSettled(successors.map((peer) => this.#replicate(peer, owned)));
    if (results.every((r) => r.status === 'fulfilled')) this.#lastPush = signature;
  }

  /** Sends entries in messages of at most CHUNK entries and half the peer frame limit. */
  async #replicate(peer: Peer, entries: readonly [string, StoredValue][]): Promise<void> {
    let chunk: [string, StoredValue][] = [];
    let bytes = 0;
    for (const entry of entries) {
      const size = Buffer.byteLength(canonicalJson(entry));
      if (chunk.length === CHUNK || (chunk.length > 0 && bytes + size > this.#maxFrameBytes)) {
        await this.#transport.request(peer, { type: 'store-replicate', entries: chunk });
        chunk = [];
        bytes = 0;
      }
      chunk.push(entry);
      bytes += size;
    }
    if (chunk.length > 0) await this.#transport.request(peer, { type: 'store-replicate', entries: chunk });
  }

  async #write(entries: readonly [string, StoredValue][]): Promise<void> {
    if (entries.length === 0) return;
    await this.#section.batch(entries.map(([key, value]) => ({ type: 'put', key, value })));
    this.#changes++;
  }

  /** True unless a known predecessor says the key is someone else's. */
  #mayOwn(key: bigint): boolean {
    const predecessor = this.#node.table.predecessor;
    return predecessor === undefined || this.#space.betweenRightInclusive(key, predecessor.id, this.#node.self.id);
  }

  #checkSize(value: unknown): void {
    let text: string;
    try {
      text = canonicalJson(value);
    } catch {
      throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'value must be JSON', { field: 'value' });
    }
    if (Buffer.byteLength(text) > this.#maxValueBytes) {
      throw new FlowchainError('FLOWCHAIN_ERR_RING_VALUE_TOO_LARGE', `values are at most ${this.#maxValueBytes} bytes`, { field: 'value' });
    }
  }

  #parseKey(value: unknown): bigint {
    return keyFromWire(value, this.#space);
  }
}

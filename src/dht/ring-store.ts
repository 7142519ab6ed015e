/**
 * The ring's record store. A key (40 hex digits) lives at SUCCESSOR(key) and is replicated to
 * that node's r successors, so it survives the crash of its owner (Chord §5.2 suggests exactly
 * this use of the successor list). Keys change hands as the ring changes: a node that accepts
 * a new predecessor hands it the keys it now owns (Chord §4.4), and in the first maintenance
 * round after its neighbourhood changed an owner pushes what it owns to its current
 * successors, which restores r copies after a failure (writes that missed a successor are
 * pushed again every round until they reach it).
 *
 * It stores only records that prove themselves ({@link RecordKind}, registered by the layers
 * above): every record is checked against its key before it is stored, whoever offers it (a
 * writer, the owner replicating, a neighbour handing keys over), and again by the node that
 * reads it. A key is written once unless its kind says a newer record replaces the stored one;
 * expired records are dropped. What each peer makes this node store is bounded by a per-peer
 * quota (bytes, refilled over time).
 *
 * Records of listed kinds can also be announced to every member ({@link RingStore.announce}):
 * a broadcast along the routing table (El-Ansary et al., "Efficient Broadcast in Structured
 * P2P Networks", IPTPS 2003), each member forwarding to the members it knows in the arc it was
 * handed, so a change reaches N members in N-1 messages within O(log N) hops. Every member
 * checks each record before it takes or forwards it, forwards only what it had not seen, and
 * charges it to a quota the sender has for announcements alone.
 *
 * Throws FLOWCHAIN_ERR_RING_NOT_OWNER (a put sent to a node that does not own the key),
 * FLOWCHAIN_ERR_RING_VALUE_TOO_LARGE, FLOWCHAIN_ERR_RING_RECORD_INVALID,
 * FLOWCHAIN_ERR_RING_RECORD_CONFLICT,
 * FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED and FLOWCHAIN_ERR_PEER_MESSAGE_INVALID.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../common/clock.js';
import type { PeerSender } from '../common/peer-rpc.js';
import { holdingStatement, kindOf, type HoldingProof, type ReadOptions, type RecordKind, type RecordStore } from '../common/ring-records.js';
import { describeError, errorFromBody, FlowchainError } from '../errors.js';
import type { Section } from '../storage.js';
import type { ChordNode } from './chord-node.js';
import { chunks } from '../common/chunks.js';
import { fromWire, keyFromWire, toWire, type Peer } from './peer.js';
import type { RingSpace } from './ring-space.js';
import type { PeerReply, PeerRequest, Transport } from './transport.js';

/** Collaborators of the store. */
export interface RingStoreComponents {
  readonly node: ChordNode;
  readonly transport: Transport;
  readonly section: Section;
  readonly clock: Clock;
  readonly space: RingSpace;
  readonly log?: { warn(object: object, message: string): void };
  /** How this node signs what it holds ({@link HoldingProof}): its ring id, certificate and key. */
  readonly holder?: { readonly member: string; readonly certificate: string; sign(bytes: Uint8Array): Uint8Array };
}

/** Limits of the store. */
export interface RingStoreInit {
  /** The peer frame limit: replication messages are cut to fit well inside it. */
  readonly maxPayload?: number;
  /** Largest record, as JSON bytes; at most a quarter of the frame limit. */
  readonly maxValueBytes?: number;
  /** Bytes one peer may make this node store per second, sustained ... */
  readonly quotaBytesPerSecond?: number;
  /** ... and at once (the bucket's size). */
  readonly quotaBurstBytes?: number;
  /** Bytes of records one peer may announce to this node per second, sustained ... */
  readonly announceBytesPerSecond?: number;
  /** ... and at once. */
  readonly announceBurstBytes?: number;
}

/** How many announced records a member remembers having seen (to forward each once). */
const SEEN_ANNOUNCEMENTS = 4_096;

/** Most members a ring-wide listing visits. */
const MAX_LISTED_MEMBERS = 1_024;

/** A replica's read that failed (apart from one that found nothing). */
const failed = Symbol('failed');

/** Most entries in one replication message. */
const CHUNK = 32;

const conflictError = (key: string) => new FlowchainError('FLOWCHAIN_ERR_RING_RECORD_CONFLICT', `${key} holds a record another member vouches for`, { field: 'entries' });

const invalidMessage = (detail: string) => new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', detail, { field: 'entries' });

/** This node's part of the ring store. */
export class RingStore implements RecordStore {
  readonly #node: ChordNode;
  readonly #transport: Transport;
  readonly #section: Section;
  readonly #clock: Clock;
  readonly #space: RingSpace;
  readonly #log: RingStoreComponents['log'];
  readonly #holder: RingStoreComponents['holder'];
  readonly #maxValueBytes: number;
  readonly #maxFrameBytes: number;
  readonly #kinds = new Map<string, RecordKind>();
  readonly #quota: { readonly rate: number; readonly burst: number };
  readonly #buckets = new Map<bigint, { tokens: number; at: number }>();
  readonly #announceBuckets = new Map<bigint, { tokens: number; at: number }>();
  readonly #announceQuota: { readonly rate: number; readonly burst: number };
  /** The neighbourhood (predecessor and successors) at the last complete push of everything owned. */
  #pushedTo = '';
  /** Owned entries that did not reach every successor when written: pushed again next round. */
  readonly #unreplicated = new Map<string, unknown>();
  /** When each stored record of a kind that expires does (filled as records are written or read in a full pass). */
  readonly #expiring = new Map<string, number>();
  /** Keys of the records of each listed kind this node holds; built by one scan at the first listing, kept by every write and drop. */
  #listedKeys: Map<string, Set<string>> | undefined;
  #indexing: Promise<void> | undefined;
  /** Announced records seen lately (fingerprints of their JSON, oldest first). */
  readonly #seen = new Set<string>();
  readonly #announcedListeners = new Map<string, Set<(records: readonly (readonly [string, unknown])[]) => void>>();

  constructor(components: RingStoreComponents, init: RingStoreInit = {}) {
    this.#node = components.node;
    this.#transport = components.transport;
    this.#section = components.section;
    this.#clock = components.clock;
    this.#space = components.space;
    this.#log = components.log;
    this.#holder = components.holder;
    const maxPayload = init.maxPayload ?? 64 * 1024;
    this.#maxFrameBytes = Math.floor(maxPayload / 2);
    this.#maxValueBytes = Math.min(init.maxValueBytes ?? 16 * 1024, Math.floor(maxPayload / 4));
    // 2 MiB/s is about 1,700 transaction records a second from one member: well above what
    // replication to one successor carries (bench/broker-notes.md), and 16 MiB at once covers a
    // hand-over of a few thousand records after a join.
    this.#quota = { rate: init.quotaBytesPerSecond ?? 2 * 1024 * 1024, burst: init.quotaBurstBytes ?? 16 * 1024 * 1024 };
    // Announcements are directory changes, not bulk data: a few hundred TDs a second at most.
    this.#announceQuota = { rate: init.announceBytesPerSecond ?? 256 * 1024, burst: init.announceBurstBytes ?? 1024 * 1024 };
    this.#node.register('store-put-many', (request, sender) => this.#onPutMany(request, sender));
    this.#node.register('store-get', (request) => this.#onGet(request));
    this.#node.register('store-replicate', (request, sender) => this.#onReplicate(request, sender));
    this.#node.register('store-list', (request) => this.#onList(request));
    this.#node.register('store-announce', (request, sender) => this.#onAnnounce(request, sender));
    // Best effort: if it fails, the next rounds' owner pushes deliver the keys instead.
    this.#node.onPredecessorChange((previous, current) => void this.#handOver(previous, current).catch(() => undefined));
    this.#node.onMaintenance(() => this.#pushOwned());
    this.#node.onLeave(() => this.#handOverAll());
  }

  register(kind: RecordKind): void {
    if (this.#kinds.has(kind.kind)) throw new Error(`record kind ${kind.kind} is taken`);
    this.#kinds.set(kind.kind, kind);
  }

  async get(keyHex: string, options: ReadOptions = {}): Promise<unknown> {
    const key = this.#parseKey(keyHex);
    const hex = this.#space.toHex(key);
    let owner: Peer | undefined;
    let answer: unknown;
    let failure: unknown;
    try {
      const asked = await this.#node.askOwner(key, { type: 'store-get', key: hex });
      owner = asked.owner;
      // Whoever else answered, the record must prove itself here too: a forged one is never an
      // answer. (This node's own answer was checked as it was read from the disk.)
      if (asked.reply.found === true) answer = owner.id === this.#node.self.id ? asked.reply.value : this.#usable(hex, asked.reply.value);
      if (asked.reply.found === true && answer === undefined) this.#log?.warn({ owner: owner.url, key: hex }, 'a key\'s owner answered a record that does not prove itself; its replicas answer instead');
    } catch (err) {
      failure = err;
    }
    if (answer !== undefined && options.quorum !== true) return answer;
    // "Not found", a record that fails, no answer, or a read that must not take one member's
    // word: the replicas answer too, each checked (Castro et al., OSDI 2002, §4: redundant
    // routing to the replica set).
    const replies = await Promise.all(
      this.#replicasOf(key, owner).map((peer) =>
        this.#node.ask(peer, { type: 'store-get', key: hex, local: true }).then(
          (reply) => (reply.found === true ? (peer.id === this.#node.self.id ? reply.value : this.#usable(hex, reply.value)) : undefined),
          () => failed,
        ),
      ),
    );
    const held = [answer, ...replies].filter((value) => value !== undefined && value !== failed);
    if (held.length === 0) {
      if (failure !== undefined && replies.every((value) => value === failed)) throw failure;
      return undefined;
    }
    if (answer === undefined && owner !== undefined && failure === undefined) this.#log?.warn({ owner: owner.url, key: hex }, 'a key\'s owner has no sound record that its replicas hold');
    return this.#agree(held);
  }

  /**
   * The members that hold the key's copies, as this node's own view of the ring places them
   * (never a list the owner names): the r members after the owner, or, with no owner, the r + 1
   * members at or after the key.
   */
  #replicasOf(key: bigint, owner: Peer | undefined): Peer[] {
    const from = owner?.id ?? key;
    const members = this.#node.table.members().filter((peer) => peer.id !== owner?.id);
    members.sort((a, b) => (this.#space.distance(from, a.id) < this.#space.distance(from, b.id) ? -1 : 1));
    return members.slice(0, Math.max(1, this.#node.table.successors.length) + (owner === undefined ? 1 : 0));
  }

  /**
   * What several members' sound records of one key say together: of a kind with a voucher,
   * the newest record of the voucher most of them hold (one lying member is outvoted by the
   * honest copies), leaving out records that one of another voucher would replace in the
   * store (one honest copy of an entry that proves its claim outranks any number of others);
   * otherwise the first (the owner's, when it had one).
   */
  #agree(records: readonly unknown[]): unknown {
    const kind = this.#kindFor(records[0]);
    const { voucher, replaces } = kind;
    if (voucher === undefined) return records[0];
    const outranked = (record: unknown) => records.some((other) => voucher(other) !== voucher(record) && replaces?.(other, record) === true);
    const standing = records.filter((r) => !outranked(r));
    const votes = new Map<string, unknown[]>();
    for (const record of standing.length > 0 ? standing : records) {
      const by = voucher(record);
      votes.set(by, [...(votes.get(by) ?? []), record]);
    }
    // Ties go to the voucher named first (the owner's answer comes first).
    const [, chosen] = [...votes].reduce((best, next) => (next[1].length > best[1].length ? next : best));
    return chosen.reduce((newest, record) => (kind.replaces?.(record, newest) === true ? record : newest));
  }

  async putMany(entries: readonly (readonly [string, unknown])[]): Promise<unknown[]> {
    const keys = entries.map(([keyHex, value]) => {
      const key = this.#parseKey(keyHex);
      this.#check(this.#space.toHex(key), value, false);
      return key;
    });
    const failures: unknown[] = entries.map(() => undefined);
    await Promise.all(
      (await this.#node.ownersOf(keys)).map(async (group) => {
        const mine = group.positions.map((i): [string, unknown] => [this.#space.toHex(keys[i]!), entries[i]![1]]);
        try {
          if (group.owner === undefined) throw group.error;
          const owner = group.owner;
          // An entry the owner did not take (another member vouches for its key) fails alone.
          const refuse = (key: string, error: unknown) => group.positions.forEach((i, j) => mine[j]![0] === key && (failures[i] = error));
          if (owner.id === this.#node.self.id) {
            const { conflicts } = await this.putOwned(mine);
            for (const j of conflicts) refuse(mine[j]![0], conflictError(mine[j]![0]));
            return;
          }
          await Promise.all(
            [...chunks(mine, CHUNK, this.#maxFrameBytes)].map(async (chunk) => {
              const reply = await this.#transport.request(owner, { type: 'store-put-many', entries: chunk });
              for (const refused of Array.isArray(reply.refused) ? (reply.refused as { key?: unknown; error?: unknown }[]) : []) {
                if (typeof refused?.key === 'string') refuse(refused.key, errorFromBody(refused.error, owner.url));
              }
            }),
          );
        } catch (err) {
          for (const i of group.positions) failures[i] = err;
        }
      }),
    );
    return failures;
  }

  async putOwned(entries: readonly (readonly [string, unknown])[]): Promise<{ readonly existing: readonly unknown[]; readonly replicas: number; readonly proofs: readonly HoldingProof[]; readonly conflicts: readonly number[] }> {
    const keys = entries.map(([keyHex, value]) => {
      const key = this.#parseKey(keyHex);
      if (!this.#mayOwn(key)) throw new FlowchainError('FLOWCHAIN_ERR_RING_NOT_OWNER', `${this.#space.toHex(key)} belongs to another node`, { field: 'key' });
      const hex = this.#space.toHex(key);
      // The caller is this node's own flow, which made the record or checked it already.
      this.#check(hex, value, false);
      return hex;
    });
    const current = await this.#section.getMany(keys);
    const existing = current.map((stored, i) => (stored === undefined ? undefined : this.#usable(keys[i]!, stored, false)));
    // A record another member vouches for is not replaced by one of another voucher (the first
    // signed directory entry for a Thing wins): that entry is refused, and said.
    const conflicts = keys.flatMap((_, i) => (this.#conflicts(entries[i]![1], existing[i]) ? [i] : []));
    if (conflicts.length > 0) this.#log?.warn({ keys: conflicts.map((i) => keys[i]) }, 'records were offered for keys that hold ones another member vouches for; refused');
    const stored = this.#merge(keys.flatMap((key, i): [string, unknown][] => (conflicts.includes(i) ? [] : [[key, entries[i]![1]]])), existing.filter((_, i) => !conflicts.includes(i)));
    await this.#write(stored);
    // What each key holds now goes to the successors, kept records too: a writer that asks
    // again (its first answer was lost, or too few copies were proven) gets fresh proofs.
    const held = new Map<string, unknown>(keys.flatMap((key, i) => (existing[i] === undefined ? [] : [[key, existing[i]]])));
    for (const [key, value] of stored) held.set(key, value);
    const copies = held.size === 0 ? [] : await Promise.allSettled(this.#node.table.successors.map((peer) => this.#replicate(peer, [...held], true)));
    const missed = copies.some((c) => c.status === 'rejected');
    for (const [key, value] of stored) {
      if (missed) this.#unreplicated.set(key, value);
      else this.#unreplicated.delete(key);
    }
    const proofs = copies.flatMap((c) => (c.status === 'fulfilled' ? c.value : []));
    return { existing, replicas: copies.filter((c) => c.status === 'fulfilled').length, proofs, conflicts };
  }

  owns(keyHex: string): boolean {
    return this.#mayOwn(this.#parseKey(keyHex));
  }

  async list(kind: string): Promise<unknown[]> {
    if (this.#kinds.get(kind)?.listed !== true) throw new FlowchainError('FLOWCHAIN_ERR_RING_RECORD_INVALID', `records of kind ${kind} are not listed`, { field: 'kind' });
    const found = new Map<string, unknown>();
    const visited = new Set<bigint>();
    let peer: Peer = this.#node.self;
    // Chord §4: following successors from any node visits every member once.
    while (!visited.has(peer.id) && visited.size < MAX_LISTED_MEMBERS) {
      visited.add(peer.id);
      let after: string | undefined;
      let successor: Peer | undefined;
      try {
        for (let page = 0; page < 1_000; page++) {
          const reply = peer.id === this.#node.self.id ? await this.#onList({ type: 'store-list', kind, ...(after ? { after } : {}) }) : await this.#transport.request(peer, { type: 'store-list', kind, ...(after ? { after } : {}) });
          successor = await this.#believedSuccessor(peer, fromWire(reply.successor, this.#space));
          const entries = Array.isArray(reply.entries) ? (reply.entries as unknown[]) : [];
          for (const entry of entries) {
            if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') continue;
            const key = this.#space.toHex(this.#parseKey(entry[0]));
            const value = peer.id === this.#node.self.id ? entry[1] : this.#usable(key, entry[1]);
            if (value === undefined || kindOf(value) !== kind) continue;
            const known = found.get(key);
            if (known === undefined || this.#kinds.get(kind)!.replaces?.(value, known) === true) found.set(key, value);
            after = key;
          }
          if (reply.more !== true || entries.length === 0) break;
        }
      } catch {
        // Unreachable: go on from the next member this node knows after it.
        successor = this.#node.table.successors.find((p) => !visited.has(p.id));
      }
      if (successor === undefined) break;
      peer = successor;
    }
    return [...found.values()];
  }

  async announce(entries: readonly (readonly [string, unknown])[]): Promise<void> {
    const checked = entries.map(([key, value]): [string, unknown] => {
      const hex = this.#space.toHex(this.#parseKey(key));
      this.#check(hex, value, false);
      return [hex, value];
    });
    this.#assertListed(checked);
    await this.#forward(checked.filter(([key, value]) => this.#fresh(key, value)), this.#node.self.id);
  }

  onAnnounced(kind: string, listener: (records: readonly (readonly [string, unknown])[]) => void): () => void {
    let listeners = this.#announcedListeners.get(kind);
    if (listeners === undefined) this.#announcedListeners.set(kind, (listeners = new Set()));
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /**
   * Sends `entries` to every member in the arc after this node up to `limit` (the whole ring
   * when `limit` is this node): each member this node knows there gets them with the arc up to
   * the next one it knows, and forwards them across that arc in turn. Best effort: a member
   * that cannot be reached leaves its arc to the next ring-wide listing.
   */
  async #forward(entries: readonly (readonly [string, unknown])[], limit: bigint): Promise<void> {
    if (entries.length === 0) return;
    const self = this.#node.self.id;
    const within = (id: bigint) => id !== self && (limit === self || this.#space.between(id, self, limit));
    const targets = this.#node.table.members().filter((peer) => within(peer.id)).sort((a, b) => (this.#space.distance(self, a.id) < this.#space.distance(self, b.id) ? -1 : 1));
    const sends: Promise<unknown>[] = [];
    targets.forEach((peer, i) => {
      const arcEnd = this.#space.toHex(targets[i + 1]?.id ?? limit);
      for (const chunk of chunks(entries, CHUNK, this.#maxFrameBytes / 2, ([, value]) => value)) {
        sends.push(this.#transport.request(peer, { type: 'store-announce', entries: chunk, limit: arcEnd }).catch(() => undefined));
      }
    });
    await Promise.all(sends);
  }

  /** Announced records from a member: checked, charged to its quota, handed to the listeners, and forwarded across the arc it names. */
  async #onAnnounce(request: PeerRequest, sender: PeerSender): Promise<PeerReply> {
    const entries = this.#entries(request);
    const limit = this.#parseKey(request.limit);
    // A member hands on the arc from itself to the limit, which holds this node: it cannot make
    // this node announce across more of the ring than it could have reached itself.
    if (limit !== sender.id && !this.#space.between(this.#node.self.id, sender.id, limit)) throw invalidMessage('limit ends an arc from the sender that holds this node');
    this.#assertListed(entries);
    // A quota of its own: a member flooding announcements, which honest members pass on, must
    // not use up the quota their writes and replication need.
    this.#charge(sender, entries, this.#announceBuckets, this.#announceQuota);
    const fresh = entries.filter(([key, value]) => this.#fresh(key, value));
    const byKind = new Map<string, [string, unknown][]>();
    for (const entry of fresh) {
      const kind = kindOf(entry[1])!;
      if (!byKind.has(kind)) byKind.set(kind, []);
      byKind.get(kind)!.push(entry);
    }
    for (const [kind, records] of byKind) for (const listener of this.#announcedListeners.get(kind) ?? []) listener(records);
    // Not awaited: the sender's reply does not wait for the rest of the arc.
    void this.#forward(fresh, limit);
    return {};
  }

  /** FLOWCHAIN_ERR_RING_RECORD_INVALID unless every record is of a listed kind (only those are announced). */
  #assertListed(entries: readonly (readonly [string, unknown])[]): void {
    const unlisted = entries.find(([, value]) => this.#kindFor(value).listed !== true);
    if (unlisted !== undefined) throw new FlowchainError('FLOWCHAIN_ERR_RING_RECORD_INVALID', `records of kind ${kindOf(unlisted[1])} are not listed, so not announced`, { field: 'kind' });
  }

  /** Whether an announced record was not seen lately (and marks it seen). */
  #fresh(key: string, value: unknown): boolean {
    const fingerprint = createHash('sha1').update(key).update(JSON.stringify(value)).digest('hex');
    if (this.#seen.has(fingerprint)) return false;
    this.#seen.add(fingerprint);
    if (this.#seen.size > SEEN_ANNOUNCEMENTS) this.#seen.delete(this.#seen.values().next().value as string);
    return true;
  }

  /**
   * The successor `peer` named, unless a member this node knows lies between the two (a member
   * that names a successor past others, or this node itself, to cut a walk short is not
   * believed): then the nearer of the nearest such member and SUCCESSOR(peer + 1) looked up
   * through this node's own routing table.
   */
  async #believedSuccessor(peer: Peer, named: Peer): Promise<Peer> {
    const known = this.#node.table.members().filter((other) => other.id !== peer.id && this.#space.between(other.id, peer.id, named.id));
    if (known.length === 0) return named;
    let believed = this.#nearestAfter(peer.id, known);
    const found = await this.#node.findSuccessor(this.#space.add(peer.id, 1n)).catch(() => undefined);
    if (found !== undefined && found.owner.id !== peer.id && this.#space.distance(peer.id, found.owner.id) < this.#space.distance(peer.id, believed.id)) believed = found.owner;
    this.#log?.warn({ peer: peer.url, named: named.url, believed: believed.url }, 'a member named a successor past members this node knows; the walk goes on from the one this node finds');
    return believed;
  }

  #nearestAfter(id: bigint, peers: readonly Peer[]): Peer {
    return peers.reduce((best, peer) => (this.#space.distance(id, peer.id) < this.#space.distance(id, best.id) ? peer : best));
  }

  /** A page of the listed records this node owns, by key, after `after`, and its successor to ask next. */
  async #onList(request: PeerRequest): Promise<PeerReply> {
    const kind = typeof request.kind === 'string' ? this.#kinds.get(request.kind) : undefined;
    if (kind?.listed !== true) throw invalidMessage('kind names no listed record kind');
    const after = request.after === undefined ? undefined : this.#space.toHex(this.#parseKey(request.after));
    const keys = [...((await this.#listed()).get(kind.kind) ?? [])].filter((key) => (after === undefined || key > after) && this.#mayOwn(this.#space.fromHex(key))).sort();
    const entries: [string, unknown][] = [];
    let bytes = 0;
    let more = false;
    for (const key of keys) {
      const value = this.#usable(key, await this.#section.get(key), false);
      if (value === undefined) continue;
      const size = Buffer.byteLength(JSON.stringify(value));
      if (entries.length > 0 && (bytes + size > this.#maxFrameBytes / 2 || entries.length >= 4 * CHUNK)) {
        more = true;
        break;
      }
      entries.push([key, value]);
      bytes += size;
    }
    return { entries, more, successor: toWire(this.#node.table.successor, this.#space) };
  }

  /** The index of listed keys, built by one scan of the section the first time (writes meanwhile go into it too). */
  async #listed(): Promise<Map<string, Set<string>>> {
    if (this.#indexing === undefined) {
      const index = new Map<string, Set<string>>();
      this.#listedKeys = index;
      this.#indexing = (async () => {
        for await (const [key, value] of this.#section.entries()) this.#noteListed(key, value);
      })().catch((err: unknown) => {
        // A failed scan is made again by the next listing.
        this.#indexing = undefined;
        this.#listedKeys = undefined;
        throw err;
      });
    }
    await this.#indexing;
    return this.#listedKeys!;
  }

  #noteListed(key: string, value: unknown): void {
    const kind = kindOf(value);
    if (this.#listedKeys === undefined || kind === undefined || this.#kinds.get(kind)?.listed !== true) return;
    let keys = this.#listedKeys.get(kind);
    if (keys === undefined) this.#listedKeys.set(kind, (keys = new Set()));
    keys.add(key);
  }

  async #onPutMany(request: PeerRequest, sender: PeerSender): Promise<PeerReply> {
    const entries = this.#entries(request);
    const reserved = entries.find(([, value]) => this.#kindFor(value).ownerOnly === true);
    if (reserved !== undefined) throw new FlowchainError('FLOWCHAIN_ERR_RING_RECORD_INVALID', `records of kind ${kindOf(reserved[1])} are written by their owner only`, { field: 'kind' });
    this.#charge(sender, entries);
    const { admitted, refused } = await this.#admit(entries);
    if (refused.length > 0) throw refused[0]!.error;
    const { replicas, conflicts } = await this.putOwned(admitted);
    if (conflicts.length === 0) return { replicas };
    return { replicas, refused: conflicts.map((i) => ({ key: admitted[i]![0], error: describeError(conflictError(admitted[i]![0])) })) };
  }

  /** Whether `offered` would take the place of `stored` of another voucher, which its kind does not let it. */
  #conflicts(offered: unknown, stored: unknown): boolean {
    const kind = this.#kindFor(offered);
    return stored !== undefined && kind.voucher !== undefined && kind.voucher(offered) !== kind.voucher(stored) && kind.replaces?.(offered, stored) !== true;
  }

  async #onGet(request: PeerRequest): Promise<PeerReply> {
    const key = this.#space.toHex(this.#parseKey(request.key));
    const held: unknown = await this.#section.get(key);
    let stored = held === undefined ? undefined : this.#usable(key, held);
    // What this node holds no longer proves itself (and has not merely expired): its disk was changed.
    const corrupt = stored === undefined && held !== undefined && !this.#expired(held);
    if (stored === undefined && request.local !== true) {
      // Just took the key over and the copy has not arrived: ask the replicas (read repair).
      for (const peer of this.#node.table.successors) {
        const reply = await this.#transport.request(peer, { type: 'store-get', key, local: true }).catch(() => undefined);
        let repaired = reply?.found === true ? this.#usable(key, reply.value) : undefined;
        if (repaired !== undefined && (await this.#admit([[key, repaired]])).refused.length > 0) repaired = undefined;
        if (repaired !== undefined) {
          stored = repaired;
          await this.#write([[key, repaired]]);
          break;
        }
      }
    }
    if (stored === undefined && corrupt) throw new FlowchainError('FLOWCHAIN_ERR_RING_RECORD_INVALID', `the record under ${key} fails verification on this node and no replica holds a sound one`, { field: 'key' });
    return stored === undefined ? { found: false } : { found: true, value: stored };
  }

  /** A message's `entries`: an array of at most CHUNK [key, record] pairs, each record checked. */
  #entries(request: PeerRequest): [string, unknown][] {
    if (!Array.isArray(request.entries) || request.entries.length > CHUNK) throw invalidMessage(`entries must be an array of at most ${CHUNK}`);
    return request.entries.map((entry: unknown): [string, unknown] => {
      if (!Array.isArray(entry) || entry.length !== 2) throw invalidMessage('each entry is [key, record]');
      const key = this.#space.toHex(this.#parseKey(entry[0]));
      this.#check(key, entry[1]);
      return [key, entry[1]];
    });
  }

  /**
   * Replication, a hand-over or an owner's push: records another member holds for their keys.
   * Taken only from a member that may hold them: one that plausibly owns the key (no member this
   * node knows lies between the key and it), or this node's successor handing over a key this
   * node now owns.
   */
  async #onReplicate(request: PeerRequest, sender: PeerSender): Promise<PeerReply> {
    const offered = this.#entries(request);
    const known = this.#node.table.members();
    const stray = offered.find(([key]) => !this.#mayOffer(this.#space.fromHex(key), sender.id, known));
    if (stray !== undefined) throw new FlowchainError('FLOWCHAIN_ERR_RING_NOT_OWNER', `${sender.id.toString(16)} does not own ${stray[0]} as far as this node knows`, { field: 'entries' });
    this.#charge(sender, offered);
    const { admitted, refused } = await this.#admit(offered);
    if (refused.length > 0) this.#log?.warn({ peer: sender.url, refused: refused.map(({ key, error }) => ({ key, code: describeError(error).code })) }, 'a member offered records that fail the rules of their kind; they are not stored');
    const keys = admitted.map(([key]) => key);
    const current = await this.#section.getMany(keys);
    // What this node holds already counts for precedence only: its proofs were checked when it came.
    const held = current.map((stored, i) => (stored === undefined ? undefined : this.#usable(keys[i]!, stored, false)));
    const accepted = this.#merge(admitted, held);
    await this.#write(accepted);
    // It signs for what it now holds of each key: what it just wrote, or the sound record it kept.
    const written = new Map(accepted);
    const proof = this.#proofOf(admitted.map(([key], i) => [key, written.has(key) ? written.get(key) : held[i]]));
    return { stored: accepted.length, refused: refused.map(({ key, error }) => ({ key, error: describeError(error) })), ...(proof === undefined ? {} : { proof }) };
  }

  /** This node's signed statement that it holds `held` (the records of kinds with a fingerprint); none if there are none. */
  #proofOf(held: readonly (readonly [string, unknown])[]): HoldingProof | undefined {
    if (this.#holder === undefined) return undefined;
    const records = held.flatMap(([key, value]): [string, string][] => {
      const fingerprint = value === undefined ? undefined : this.#kinds.get(kindOf(value) ?? '')?.fingerprint;
      return fingerprint === undefined ? [] : [[key, fingerprint(value)]];
    });
    if (records.length === 0) return undefined;
    const { member, certificate } = this.#holder;
    return { member, certificate, records, signature: Buffer.from(this.#holder.sign(holdingStatement(member, records))).toString('hex') };
  }

  /**
   * Runs each offered record's kind's own rules ({@link RecordKind.admit}), all at once: the
   * records that pass, and the ones that do not with their errors.
   */
  async #admit(entries: readonly [string, unknown][]): Promise<{ admitted: [string, unknown][]; refused: { key: string; error: unknown }[] }> {
    const outcomes = await Promise.all(entries.map(([key, value]) => Promise.resolve(this.#kindFor(value).admit?.(key, value)).then(() => undefined, (error: unknown) => error)));
    return {
      admitted: entries.filter((_, i) => outcomes[i] === undefined),
      refused: entries.flatMap(([key], i) => (outcomes[i] === undefined ? [] : [{ key, error: outcomes[i] }])),
    };
  }

  /**
   * What to write of the offered records, given what each key holds: a record where there is
   * none, or one whose kind says it replaces the stored one; duplicates in one offer count once.
   */
  #merge(offered: readonly (readonly [string, unknown])[], held: readonly unknown[]): [string, unknown][] {
    const chosen = new Map<string, unknown>();
    offered.forEach(([key, value], i) => {
      const against = chosen.has(key) ? chosen.get(key) : held[i];
      if (against === undefined || this.#kindFor(value).replaces?.(value, against) === true) chosen.set(key, value);
    });
    return [...chosen];
  }

  /** A new predecessor owns (previous, current]: send it those keys; we keep them as replicas. */
  async #handOver(previous: Peer | undefined, current: Peer): Promise<void> {
    const entries: [string, unknown][] = [];
    for await (const [key, stored] of this.#section.entries()) {
      const id = this.#space.fromHex(key);
      const theirs = previous === undefined ? !this.#space.betweenRightInclusive(id, current.id, this.#node.self.id) : this.#space.betweenRightInclusive(id, previous.id, current.id);
      if (theirs) entries.push([key, stored]);
    }
    await this.#replicate(current, entries).catch(() => undefined);
  }

  /** Leaving: the successor becomes the owner of everything this node owned. */
  async #handOverAll(): Promise<void> {
    const successor = this.#node.table.successor;
    if (successor.id === this.#node.self.id) return;
    const owned: [string, unknown][] = [];
    for await (const [key, stored] of this.#section.entries()) {
      if (this.#mayOwn(this.#space.fromHex(key))) owned.push([key, stored]);
    }
    await this.#replicate(successor, owned);
  }

  /**
   * Owner's duty each round: drop records that expired; when the neighbourhood changed, push
   * everything owned to the current successors (restoring r copies after a failure or a join);
   * otherwise push only what did not reach every successor when it was written. A node alone
   * has nobody to push to, and only reads its whole section when its neighbourhood changes.
   */
  async #pushOwned(): Promise<void> {
    await this.#dropExpired();
    const successors = this.#node.table.successors;
    const neighbourhood = `${this.#node.table.predecessor?.id}|${successors.map((p) => p.id).join(',')}`;
    const retried = [...this.#unreplicated];
    let owned: [string, unknown][] = retried;
    if (neighbourhood !== this.#pushedTo) {
      owned = [];
      for await (const [key, stored] of this.#section.entries()) {
        this.#noteExpiry(key, stored);
        owned.push([key, stored]);
      }
    }
    owned = owned.filter(([key, stored]) => this.#mayOwn(this.#space.fromHex(key)) && !this.#expired(stored));
    if (owned.length === 0 && neighbourhood === this.#pushedTo) return;
    const results = await Promise.allSettled(successors.map((peer) => this.#replicate(peer, owned)));
    if (results.some((r) => r.status === 'rejected')) return;
    this.#pushedTo = neighbourhood;
    // Unless rewritten meanwhile (that write reported its own replication).
    for (const [key, stored] of retried) if (this.#unreplicated.get(key) === stored) this.#unreplicated.delete(key);
  }

  /** Remembers when a record of a kind that expires does, so dropping it needs no scan. */
  #noteExpiry(key: string, value: unknown): void {
    const expiresAt = this.#kinds.get(kindOf(value) ?? '')?.expiresAt?.(value);
    if (expiresAt === undefined) this.#expiring.delete(key);
    else this.#expiring.set(key, expiresAt);
  }

  /** Deletes the records whose time is up (the newest written under each key is what counts). */
  async #dropExpired(): Promise<void> {
    const now = this.#clock.now();
    const due = [...this.#expiring].filter(([, at]) => at <= now).map(([key]) => key);
    if (due.length === 0) return;
    for (const key of due) {
      this.#expiring.delete(key);
      for (const keys of this.#listedKeys?.values() ?? []) keys.delete(key);
    }
    await this.#section.batch(due.map((key) => ({ type: 'del', key })));
  }

  /**
   * Sends entries in messages of at most CHUNK entries and half the peer frame limit: one
   * after another, or with `together` (a write's few messages) all at once.
   */
  async #replicate(peer: Peer, entries: readonly [string, unknown][], together = false): Promise<HoldingProof[]> {
    const send = (chunk: [string, unknown][]) => this.#transport.request(peer, { type: 'store-replicate', entries: chunk });
    const replies: PeerReply[] = [];
    if (together) replies.push(...(await Promise.all([...chunks(entries, CHUNK, this.#maxFrameBytes)].map(send))));
    else for (const chunk of chunks(entries, CHUNK, this.#maxFrameBytes)) replies.push(await send(chunk));
    // Passed on as they came: whoever relies on a proof checks it (its certificate, its signature).
    return replies.flatMap((reply) => (typeof reply.proof === 'object' && reply.proof !== null ? [reply.proof as HoldingProof] : []));
  }

  async #write(entries: readonly [string, unknown][]): Promise<void> {
    if (entries.length === 0) return;
    for (const [key, value] of entries) {
      this.#noteExpiry(key, value);
      this.#noteListed(key, value);
    }
    await this.#section.batch(entries.map(([key, value]) => ({ type: 'put', key, value })));
  }

  /** Takes what `sender` offers from its quota, or refuses the whole message. */
  #charge(sender: PeerSender, entries: readonly (readonly [string, unknown])[], buckets = this.#buckets, quota = this.#quota): void {
    if (sender.id === this.#node.self.id) return;
    const bytes = entries.reduce((sum, [, value]) => sum + Buffer.byteLength(JSON.stringify(value)), 0);
    const now = this.#clock.now();
    const bucket = buckets.get(sender.id) ?? { tokens: quota.burst, at: now };
    bucket.tokens = Math.min(quota.burst, bucket.tokens + ((now - bucket.at) / 1000) * quota.rate);
    bucket.at = now;
    buckets.set(sender.id, bucket);
    if (bucket.tokens < bytes) {
      const what = buckets === this.#buckets ? 'make this node store' : 'announce to this node';
      throw new FlowchainError('FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED', `this peer may ${what} ${quota.rate} bytes per second (${quota.burst} at once)`, { field: 'entries' });
    }
    bucket.tokens -= bytes;
  }

  #kindFor(value: unknown): RecordKind {
    const kind = kindOf(value);
    const registered = kind === undefined ? undefined : this.#kinds.get(kind);
    if (registered === undefined) throw new FlowchainError('FLOWCHAIN_ERR_RING_RECORD_INVALID', `the ring stores no records of kind ${String(kind)}`, { field: 'kind' });
    return registered;
  }

  /**
   * Checks a record offered for `key`: its size, its kind, its expiry and (unless this node's
   * own flow made it, `proofs` false) its proofs. Throws if it fails.
   */
  #check(key: string, value: unknown, proofs = true): void {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch {
      text = undefined;
    }
    if (text === undefined) throw new FlowchainError('FLOWCHAIN_ERR_RING_RECORD_INVALID', 'a record is JSON', { field: 'value' });
    if (Buffer.byteLength(text) > this.#maxValueBytes) {
      throw new FlowchainError('FLOWCHAIN_ERR_RING_VALUE_TOO_LARGE', `records are at most ${this.#maxValueBytes} bytes`, { field: 'value' });
    }
    const kind = this.#kindFor(value);
    if (proofs) kind.check(key, value);
    if (this.#expired(value)) throw new FlowchainError('FLOWCHAIN_ERR_RING_RECORD_INVALID', 'the record has expired', { field: 'expires' });
    if (proofs && kind.maxLifetimeMs !== undefined) {
      const expiresAt = kind.expiresAt?.(value);
      if (expiresAt === undefined || expiresAt - this.#clock.now() > kind.maxLifetimeMs) {
        throw new FlowchainError('FLOWCHAIN_ERR_RING_RECORD_INVALID', `records of kind ${kind.kind} count for at most ${kind.maxLifetimeMs} ms from now`, { field: 'expires' });
      }
    }
  }

  /** A stored or received record if it still proves itself (with `proofs`) and has not expired; else undefined. */
  #usable(key: string, value: unknown, proofs = true): unknown {
    try {
      this.#check(key, value, proofs);
      return value;
    } catch {
      return undefined;
    }
  }

  #expired(value: unknown): boolean {
    const kind = this.#kinds.get(kindOf(value) ?? '');
    const expiresAt = kind?.expiresAt?.(value);
    return expiresAt !== undefined && expiresAt <= this.#clock.now();
  }

  /** Whether `sender` may offer this node a record for `key` (see {@link #onReplicate}); `known` is every member this node knows. */
  #mayOffer(key: bigint, sender: bigint, known: readonly Peer[]): boolean {
    const table = this.#node.table;
    if (this.#mayOwn(key) && (sender === table.successor.id || table.predecessor === undefined)) return true;
    // SUCCESSOR(key) is the first node at or after the key: any known node in [key, sender) precedes the sender.
    const before = (id: bigint) => id === key || this.#space.between(id, key, sender);
    return !known.some((peer) => peer.id !== sender && before(peer.id));
  }

  /** True unless a known predecessor says the key is someone else's. */
  #mayOwn(key: bigint): boolean {
    const predecessor = this.#node.table.predecessor;
    return predecessor === undefined || this.#space.betweenRightInclusive(key, predecessor.id, this.#node.self.id);
  }

  #parseKey(value: unknown): bigint {
    return keyFromWire(value, this.#space);
  }
}

/**
 * A Chord node's view of the ring (Stoica et al. 2001): its predecessor, a list of its first r
 * successors (§5.2, so the ring survives r-1 simultaneous failures) and m fingers, finger i
 * being the first node that succeeds n + 2^i (§4.3). Pure state, no I/O.
 */
import type { Peer } from './peer.js';
import type { RingSpace } from './ring-space.js';

/** Routing state of one node. */
export class RoutingTable {
  /** This node; its URL is settled once its peer port is bound, its id never changes. */
  self: Peer;
  readonly space: RingSpace;
  readonly #size: number;
  #successors: Peer[] = [];
  #predecessor: Peer | undefined;
  readonly #fingers: (Peer | undefined)[];

  constructor(space: RingSpace, self: Peer, successorListSize: number) {
    this.space = space;
    this.self = self;
    this.#size = successorListSize;
    this.#fingers = new Array<Peer | undefined>(space.bits).fill(undefined);
  }

  /** The immediate successor; the node itself when it is alone. */
  get successor(): Peer {
    return this.#successors[0] ?? this.self;
  }

  get successors(): readonly Peer[] {
    return this.#successors;
  }

  get predecessor(): Peer | undefined {
    return this.#predecessor;
  }

  set predecessor(peer: Peer | undefined) {
    this.#predecessor = peer === undefined || peer.id === this.self.id ? undefined : peer;
  }

  get fingers(): readonly (Peer | undefined)[] {
    return this.#fingers;
  }

  /**
   * Replaces the successor list with `peers` in ring order: it ends where it comes back round
   * to this node (anything after that is a second lap, and a stale entry there would circulate
   * forever among nodes of a ring smaller than r), duplicates are dropped, r are kept.
   */
  setSuccessors(peers: readonly Peer[]): void {
    const seen = new Set<bigint>();
    const list: Peer[] = [];
    for (const peer of peers) {
      if (peer.id === this.self.id) break;
      if (seen.has(peer.id)) continue;
      seen.add(peer.id);
      list.push(peer);
      if (list.length === this.#size) break;
    }
    this.#successors = list;
  }

  setFinger(i: number, peer: Peer | undefined): void {
    this.#fingers[i] = peer?.id === this.self.id ? undefined : peer;
  }

  /** Forgets a peer that failed: it leaves the fingers, the successor list and the predecessor. */
  remove(id: bigint): void {
    this.#successors = this.#successors.filter((p) => p.id !== id);
    if (this.#predecessor?.id === id) this.#predecessor = undefined;
    for (let i = 0; i < this.#fingers.length; i++) if (this.#fingers[i]?.id === id) this.#fingers[i] = undefined;
  }

  /**
   * True when key ∈ (n, successor]: the successor owns the key if the successor pointer is
   * current, which a join since the last stabilize can make it not be (Chord §4.4).
   */
  successorOwns(key: bigint): boolean {
    return this.space.betweenRightInclusive(key, this.self.id, this.successor.id);
  }

  /**
   * The node this table's successor list names as SUCCESSOR(key): successor i+1 for
   * (successor i, successor i+1] (Chord §5.2), skipping `exclude`, with the entry before it
   * (`after`, this node for the first live successor); undefined when the key lies beyond the
   * list. Only a candidate: entries past the first are a copy of the successor's list from the
   * last stabilize, so a node that joined inside that arc since then is missing (§4.4). A lookup
   * answers it only once the candidate has confirmed it (see `ChordNode.findSuccessor`).
   */
  successorCandidate(key: bigint, exclude: ReadonlySet<bigint> = new Set()): { readonly owner: Peer; readonly after: Peer } | undefined {
    let after = this.self;
    for (const successor of this.#successors) {
      if (exclude.has(successor.id)) continue;
      if (this.space.betweenRightInclusive(key, after.id, successor.id)) return { owner: successor, after };
      after = successor;
    }
    return undefined;
  }

  /** True when this node owns `key`: key ∈ (predecessor, n]. Unknown predecessor: only a lone node owns everything. */
  owns(key: bigint): boolean {
    if (this.#predecessor === undefined) return this.#successors.length === 0;
    return this.space.betweenRightInclusive(key, this.#predecessor.id, this.self.id);
  }

  /**
   * closest_preceding_node (Chord Fig. 5), widened to the successor list as §5.3 suggests:
   * the known node closest to `key` while strictly preceding it; the node itself if none.
   * `exclude` skips nodes a lookup has just found dead.
   */
  closestPreceding(key: bigint, exclude: ReadonlySet<bigint> = new Set()): Peer {
    // x ∈ (n, key) exactly when 0 < distance(n, x) < distance(n, key); key = n stands for the
    // whole circle but n. One subtraction per distinct peer: consecutive fingers mostly name
    // the same node (the same object), which is considered once.
    const self = this.self.id;
    const limit = key === self ? this.space.size : this.space.distance(self, key);
    let best: Peer = this.self;
    let bestDistance = 0n;
    let last: Peer | undefined;
    const consider = (peer: Peer | undefined): void => {
      if (peer === undefined || peer === last) return;
      last = peer;
      const d = this.space.distance(self, peer.id);
      if (d > bestDistance && d < limit && !exclude.has(peer.id)) {
        best = peer;
        bestDistance = d;
      }
    };
    for (const finger of this.#fingers) consider(finger);
    for (const successor of this.#successors) consider(successor);
    return best;
  }

  /** This node and every peer it knows, each once: the ring as far as this node can see it. */
  members(): Peer[] {
    return [this.self, ...this.knownPeers().filter((peer) => peer.id !== this.self.id)];
  }

  /** Every distinct peer this node knows, for diagnostics. */
  knownPeers(): Peer[] {
    const all = new Map<bigint, Peer>();
    for (const peer of [...this.#successors, ...this.#fingers, this.#predecessor]) if (peer) all.set(peer.id, peer);
    return [...all.values()];
  }
}

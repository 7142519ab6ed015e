/**
 * One Chord node (Stoica et al., SIGCOMM 2001): iterative lookup (§4.3, Fig. 5) that routes
 * around dead nodes and answers only an owner that its own predecessor pointer confirms (Zave
 * 2017), join (§4.4), and the periodic stabilize / notify / fix_fingers / check_predecessor of
 * §4.4 Fig. 6 with the successor list of §5.2. Talks to other nodes only through a
 * {@link Transport}; time comes from an injected clock.
 *
 * A peer that does not answer, answers malformed replies or answers with an error is treated
 * as failed by lookups and maintenance; nothing a peer sends can make maintenance throw.
 *
 * Throws FLOWCHAIN_ERR_LOOKUP_FAILED when no owner of a key can be confirmed (and, from
 * {@link ChordNode.join}, whatever the bootstrap node answered), answers malformed requests
 * with FLOWCHAIN_ERR_PEER_MESSAGE_INVALID, and once it has left the ring answers every request
 * with FLOWCHAIN_ERR_PEER_UNREACHABLE.
 */
import { FlowchainError, isFlowchainError } from '../errors.js';
import type { Clock, Timer } from '../common/clock.js';
import { fromWire, keyFromWire, toWire, type Peer, type WirePeer } from './peer.js';
import type { RingSpace } from './ring-space.js';
import { RoutingTable } from './routing-table.js';
import type { PeerReply, PeerRequest, Transport } from './transport.js';

/** Collaborators of a node. */
export interface ChordComponents {
  readonly transport: Transport;
  readonly space: RingSpace;
  readonly clock: Clock;
  readonly log?: { warn(obj: object, msg: string): void };
}

/** Configuration of a node. */
export interface ChordInit {
  readonly self: Peer;
  /** r, the successor-list length (Chord §5.2); the ring survives r-1 simultaneous failures. */
  readonly successorListSize?: number;
  /** How often stabilize, fix_fingers and check_predecessor run. */
  readonly maintenanceIntervalMs?: number;
}

/** The result of a lookup. */
export interface Lookup {
  /** SUCCESSOR(key), confirmed by the owner itself unless it is this node. */
  readonly owner: Peer;
  /**
   * Routing steps: `step` requests sent, as Chord §4.3 counts them (0 when this node or its
   * successor list names the candidate).
   */
  readonly hops: number;
  /** Every request the lookup sent: its routing steps and the confirmations with candidates. */
  readonly messages: number;
}

/** Keys that one node owns, by their positions in a list; `error` when their lookup failed. */
export type OwnerGroup = { readonly owner: Peer; readonly positions: readonly number[] } | { readonly error: unknown; readonly positions: readonly number[]; readonly owner?: undefined };

/** Answers one type of peer request. */
export type RequestHandler = (request: PeerRequest, sender: Peer) => PeerReply | Promise<PeerReply>;

/**
 * Upper bound on the requests of one lookup (steps and confirmations); with working fingers it
 * takes about ½·log2 N steps and one confirmation.
 */
const MAX_MESSAGES = 64;

/**
 * Finger lookups one maintenance round makes at most: a ring of up to 16 nodes refreshes every
 * finger each round, one of 10,000 (about 14 distinct fingers) every four rounds.
 */
const FINGER_LOOKUPS_PER_ROUND = 4;

/** Stabilize rounds a join runs at most until its successor accepts it as predecessor. */
const JOIN_ATTEMPTS = 4;

/** A Chord ring member. */
export class ChordNode {
  readonly table: RoutingTable;
  readonly #transport: Transport;
  readonly #space: RingSpace;
  readonly #clock: Clock;
  readonly #interval: number;
  readonly #log: ChordComponents['log'];
  #timer: Timer | undefined;
  /** The maintenance round in flight, if any. */
  #round: Promise<void> | undefined;
  /** The finger the next fix_fingers round starts at. */
  #nextFinger = 0;
  /** Set by leave(): no more rounds, so nothing re-announces this node afterwards. */
  #left = false;
  /**
   * Set once leave() has told its neighbours: this node no longer owns anything, so it answers
   * no request, in particular no lookup's confirmation with its outdated predecessor.
   */
  #gone = false;
  /** Candidates' predecessors as they answered this maintenance round, for {@link ownersOf}. */
  readonly #confirmations = new Map<bigint, { readonly predecessor: Promise<Peer | undefined>; readonly at: number }>();
  readonly #handlers: Record<string, RequestHandler>;
  readonly #predecessorListeners = new Set<(previous: Peer | undefined, current: Peer) => void>();
  readonly #roundListeners = new Set<() => Promise<void>>();
  readonly #leaveListeners = new Set<() => Promise<void>>();

  constructor(components: ChordComponents, init: ChordInit) {
    this.#transport = components.transport;
    this.#space = components.space;
    this.#clock = components.clock;
    this.#interval = init.maintenanceIntervalMs ?? 1000;
    this.#log = components.log;
    this.table = new RoutingTable(components.space, init.self, init.successorListSize ?? 4);
    // One handler per peer message type.
    this.#handlers = {
      ping: () => ({}),
      step: (request) => this.#onStep(request),
      'find-successor': async (request) => {
        const { owner, hops } = await this.findSuccessor(this.#key(request.key));
        return { owner: this.#wire(owner), hops };
      },
      neighbours: () => ({
        predecessor: this.table.predecessor ? this.#wire(this.table.predecessor) : null,
        successors: this.table.successors.map((p) => this.#wire(p)),
      }),
      leaving: (request, sender) => {
        this.#onLeaving(request, sender);
        return {};
      },
      // A node can only announce itself: the candidate is the authenticated sender.
      notify: (_request, sender) => {
        this.#onNotify(sender);
        return {};
      },
    };
  }

  get self(): Peer {
    return this.table.self;
  }

  /** Adds the handler of another peer message type (the ring store's, for example). */
  register(type: string, handler: RequestHandler): void {
    if (Object.hasOwn(this.#handlers, type)) throw new Error(`peer message type ${type} is taken`);
    this.#handlers[type] = handler;
  }

  /** Calls `listener` whenever a new predecessor is accepted (keys then change hands). */
  onPredecessorChange(listener: (previous: Peer | undefined, current: Peer) => void): void {
    this.#predecessorListeners.add(listener);
  }

  /** Runs `task` before this node leaves (the ring store hands its keys over). */
  onLeave(task: () => Promise<void>): void {
    this.#leaveListeners.add(task);
  }

  /** Runs `task` at the end of every maintenance round. */
  onMaintenance(task: () => Promise<void>): void {
    this.#roundListeners.add(task);
  }

  /**
   * Answers a request from `sender`, an authenticated ring member. Rejects with
   * FLOWCHAIN_ERR_PEER_MESSAGE_INVALID for an unknown type, and with
   * FLOWCHAIN_ERR_PEER_UNREACHABLE once this node has left the ring.
   */
  async handle(request: PeerRequest, sender: Peer): Promise<PeerReply> {
    if (this.#gone) throw new FlowchainError('FLOWCHAIN_ERR_PEER_UNREACHABLE', 'this node has left the ring', { field: 'url' });
    const handler = typeof request?.type === 'string' && Object.hasOwn(this.#handlers, request.type) ? this.#handlers[request.type] : undefined;
    if (handler === undefined) throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', `unknown peer message type ${String(request?.type)}`, { field: 'type' });
    return handler(request, sender);
  }

  /**
   * Sends `request` to SUCCESSOR(key), found by a lookup from this node, or handles it here
   * when this node is the owner. Rejects with the owner's error code or the lookup's.
   */
  async askOwner(key: bigint, request: PeerRequest): Promise<{ readonly owner: Peer; readonly reply: PeerReply }> {
    for (let attempt = 1; ; attempt++) {
      const { owner } = await this.findSuccessor(key);
      try {
        return { owner, reply: await this.ask(owner, request) };
      } catch (err) {
        // The routing table named a node that is gone (a stale successor-list entry, say):
        // forget it and look again, a few times.
        if (!isFlowchainError(err, 'FLOWCHAIN_ERR_PEER_UNREACHABLE') || owner.id === this.self.id || attempt === 3) throw err;
        this.table.remove(owner.id);
      }
    }
  }

  /** Sends `request` to `peer`, or handles it here when `peer` is this node. */
  ask(peer: Peer, request: PeerRequest): Promise<PeerReply> {
    return peer.id === this.self.id ? this.handle(request, this.self) : this.#transport.request(peer, request);
  }

  /**
   * Groups `keys` by SUCCESSOR(key), looked up in parallel, for writes: one group per owner with
   * the positions of its keys, in their order. Keys whose lookup failed form groups of their
   * own, with the error instead of an owner. The owners are confirmed as
   * {@link findSuccessor}'s are, but a candidate's answer is used again until the next
   * maintenance round (at most one interval): a stream of write batches to the same owners
   * costs no round trip per batch. An owner also refuses a key it knows is another's
   * (FLOWCHAIN_ERR_RING_NOT_OWNER), and the writer looks again.
   */
  async ownersOf(keys: readonly bigint[]): Promise<OwnerGroup[]> {
    const lookups = await Promise.allSettled(keys.map((key) => this.#lookup(key, true, true)));
    const groups = new Map<bigint | number, OwnerGroup>();
    lookups.forEach((lookup, position) => {
      const group = lookup.status === 'fulfilled' ? groups.get(lookup.value.owner.id) : undefined;
      if (group !== undefined) (group.positions as number[]).push(position);
      else if (lookup.status === 'fulfilled') groups.set(lookup.value.owner.id, { owner: lookup.value.owner, positions: [position] });
      else groups.set(-1 - position, { error: lookup.reason, positions: [position] });
    });
    return [...groups.values()];
  }

  /**
   * Joins the ring through any member (Chord §4.4); without one, starts a new ring. Returns once
   * the successor has accepted this node as its predecessor: before that no lookup can reach
   * it, since lookups confirm an owner through predecessor pointers. A node joining the same
   * arc at the same time may be accepted first; it is then the closer successor, which
   * stabilize adopts and notifies (a few attempts; later rounds finish what these do not). A
   * successor that is gone by then (it was leaving) is looked up again. When the ring names
   * only this node (an earlier run of it, still in the ring's pointers), it waits alone to be
   * notified, as a new ring's first node does.
   *
   * Rejects with whatever the bootstrap node answered, or FLOWCHAIN_ERR_LOOKUP_FAILED when every
   * successor found was gone before it took this node in.
   */
  async join(bootstrapUrl?: string): Promise<void> {
    this.table.predecessor = undefined;
    this.table.setSuccessors([]);
    if (bootstrapUrl === undefined) return;
    for (let attempt = 0; attempt < JOIN_ATTEMPTS; attempt++) {
      if (this.table.successor.id === this.self.id) {
        const successor = await this.#successorVia(bootstrapUrl);
        if (successor.id === this.self.id) return;
        this.table.setSuccessors([successor]);
      }
      await this.stabilize();
      const successor = this.table.successor;
      if (successor.id === this.self.id) continue;
      const accepted = await this.#predecessorOf(successor).then(
        (predecessor) => predecessor?.id === this.self.id,
        (err: unknown) => {
          if (!isFlowchainError(err)) throw err;
          return false;
        },
      );
      if (accepted) return;
    }
    if (this.table.successor.id === this.self.id) throw new FlowchainError('FLOWCHAIN_ERR_LOOKUP_FAILED', `no live successor found for ${this.#space.toHex(this.self.id)}`, { field: 'bootstrap' });
  }

  /** SUCCESSOR(n) as the bootstrap node finds it, or SUCCESSOR(n + 1) when that is this node. */
  async #successorVia(bootstrapUrl: string): Promise<Peer> {
    for (const key of [this.self.id, this.#space.add(this.self.id, 1n)]) {
      const reply = await this.#transport.request({ url: bootstrapUrl }, { type: 'find-successor', key: this.#space.toHex(key) });
      const owner = fromWire(reply.owner, this.#space);
      if (owner.id !== this.self.id) return owner;
    }
    return this.self;
  }

  /**
   * Leaves the ring gracefully: hands data over (leave listeners), then tells the successor
   * who its new predecessor is and the predecessor who its new successors are, so the ring
   * closes at once instead of after failure detection. Unreachable neighbours are skipped.
   */
  async leave(): Promise<void> {
    this.stop();
    this.#left = true;
    // A round still in flight could notify the successor after the notice below.
    await this.#round?.catch(() => undefined);
    for (const task of this.#leaveListeners) await task().catch(() => undefined);
    const { predecessor, successor, successors } = { predecessor: this.table.predecessor, successor: this.table.successor, successors: this.table.successors };
    const notices: Promise<unknown>[] = [];
    if (successor.id !== this.self.id) {
      notices.push(this.#transport.request(successor, { type: 'leaving', predecessor: predecessor ? this.#wire(predecessor) : null }));
    }
    if (predecessor !== undefined && predecessor.id !== successor.id) {
      notices.push(this.#transport.request(predecessor, { type: 'leaving', successors: successors.map((p) => this.#wire(p)) }));
    }
    await Promise.allSettled(notices);
    // From here the successor answers for this node's keys.
    this.#gone = true;
  }

  /** Runs maintenance every interval until {@link stop}. */
  start(): void {
    this.#timer ??= this.#clock.every(this.#interval, () => void this.maintain());
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /**
   * One round of stabilize, check_predecessor, fix_fingers and the round listeners; overlapping
   * rounds are skipped. Never rejects: whatever a peer answers, a failing step is logged and
   * the next one runs.
   */
  async maintain(): Promise<void> {
    if (this.#left) return;
    // Pointers may change this round: candidates' answers from the last one are not used again.
    this.#confirmations.clear();
    this.#round ??= (async () => {
      try {
        const steps = [() => this.stabilize(), () => this.checkPredecessor(), () => this.fixFingers(), ...this.#roundListeners];
        for (const step of steps) {
          await step().catch((err: unknown) => this.#log?.warn({ err }, 'ring maintenance step failed'));
        }
      } finally {
        this.#round = undefined;
      }
    })();
    return this.#round;
  }

  /**
   * find_successor(key) (Chord §4.3, Fig. 5), iteratively, answering only a confirmed owner.
   *
   * A node answers for itself from its own state: (predecessor, n]. Any other answer starts as
   * a candidate, named by this node's successor list when it covers the key, or else by the
   * last of ever closer nodes asked for a `step` (each answers from its own successor list or
   * points to the closest preceding node it knows). A successor pointer or list lags a join by
   * up to a stabilization round (§4.4), so it can name a node past the true owner: Chord's
   * correctness argument holds only for the successor whose predecessor precedes the key (Zave,
   * "Reasoning about identifier spaces: how to make Chord correct", IEEE TSE 2017). So the
   * candidate c is asked for its predecessor p:
   *
   * - p precedes the key (key ∈ (p, c]): c is the owner.
   * - p lies in [key, c): p joined since the namer's list was copied; p is the next candidate,
   *   and so on back towards the key, each closer to it.
   * - c knows no live predecessor (its predecessor failed, or it has just joined): c is the
   *   owner if it is the first live successor of the node that named it, as in Fig. 5;
   *   otherwise the entry before c in that list is asked for a step, since its own successor
   *   pointer is fresher than the copy that named c.
   *
   * One confirmation per lookup in a settled ring. A node that does not answer, or answers
   * malformed or with an error, is dropped from the routing table and excluded, and the node
   * before it on the route is asked again.
   *
   * Throws FLOWCHAIN_ERR_LOOKUP_FAILED when no owner is confirmed within 64 requests.
   */
  async findSuccessor(key: bigint): Promise<Lookup> {
    return this.#lookup(key, true);
  }

  /**
   * find_successor; `confirm` false answers the first candidate (for fingers, which only
   * route); `reuse` takes a candidate's answer from this round when there is one.
   */
  async #lookup(key: bigint, confirm: boolean, reuse = false): Promise<Lookup> {
    if (this.table.owns(key)) return { owner: this.self, hops: 0, messages: 0 };
    const dead = new Set<bigint>();
    /** Nodes that pointed onwards, to back up to when the one they pointed at fails. */
    const path: Peer[] = [];
    let hops = 0;
    let messages = 0;
    const local = this.table.successorCandidate(key, dead);
    /** The node named as SUCCESSOR(key), not yet confirmed. */
    let candidate = local?.owner;
    /** When the candidate came from past the first entry of a list: the entry before it. */
    let after = local?.after.id === this.self.id ? undefined : local?.after;
    /** The node to ask for a step next (undefined: the closest preceding one this node knows). */
    let current: Peer | undefined;
    for (;;) {
      if (candidate !== undefined) {
        if (!confirm) return { owner: candidate, hops, messages };
        let predecessor: Peer | undefined;
        if (candidate.id === this.self.id) {
          predecessor = this.table.predecessor;
        } else {
          if (messages === MAX_MESSAGES) break;
          messages++;
          try {
            predecessor = await (reuse ? this.#confirmedPredecessorOf(candidate) : this.#predecessorOf(candidate));
          } catch (err) {
            if (!isFlowchainError(err)) throw err;
            dead.add(candidate.id);
            this.table.remove(candidate.id);
            // Ask the node that named it again, now excluding it.
            candidate = after = undefined;
            continue;
          }
        }
        const live = predecessor !== undefined && !dead.has(predecessor.id) ? predecessor : undefined;
        if (live !== undefined && !this.#space.betweenRightInclusive(key, live.id, candidate.id)) {
          candidate = live;
          after = undefined;
          continue;
        }
        if (live !== undefined || after === undefined) return { owner: candidate, hops, messages };
        // Ask the entry before it (this node routes from its own table, should that be itself).
        if (current !== undefined) path.push(current);
        current = after.id === this.self.id ? undefined : after;
        candidate = after = undefined;
      }
      current ??= this.table.closestPreceding(key, dead);
      if (current.id === this.self.id) {
        // No known node precedes the key: this node's first live successor covers it.
        candidate = this.#firstLiveSuccessor(dead);
        current = undefined;
        continue;
      }
      if (messages === MAX_MESSAGES) break;
      messages++;
      hops++;
      try {
        const reply = await this.#transport.request(current, { type: 'step', key: this.#space.toHex(key), exclude: [...dead].map((id) => this.#space.toHex(id)) });
        if (reply.owner !== undefined) {
          candidate = fromWire(reply.owner, this.#space);
          after = reply.after === undefined ? undefined : fromWire(reply.after, this.#space);
          // Named despite the exclusions: as good as a failed step.
          if (dead.has(candidate.id)) throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'step named an excluded node', { field: 'owner' });
        } else {
          path.push(current);
          current = fromWire(reply.next, this.#space);
        }
      } catch (err) {
        // Unreachable, a malformed reply or an error answer: route around that node.
        if (!isFlowchainError(err)) throw err;
        candidate = after = undefined;
        dead.add(current.id);
        this.table.remove(current.id);
        // Back up to the node that pointed here, or restart from our own table.
        current = path.pop();
      }
    }
    throw new FlowchainError('FLOWCHAIN_ERR_LOOKUP_FAILED', `no owner of ${this.#space.toHex(key)} confirmed within ${MAX_MESSAGES} requests`, { field: 'key' });
  }

  /** A candidate owner's predecessor as it answers it; undefined when it knows none. */
  /** The candidate's predecessor as it said this round, or asked now (a failed answer is not kept). */
  #confirmedPredecessorOf(candidate: Peer): Promise<Peer | undefined> {
    const kept = this.#confirmations.get(candidate.id);
    if (kept !== undefined && this.#clock.now() - kept.at < this.#interval) return kept.predecessor;
    const predecessor = this.#predecessorOf(candidate);
    const entry = { predecessor, at: this.#clock.now() };
    this.#confirmations.set(candidate.id, entry);
    predecessor.catch(() => this.#confirmations.get(candidate.id) === entry && this.#confirmations.delete(candidate.id));
    return predecessor;
  }

  async #predecessorOf(candidate: Peer): Promise<Peer | undefined> {
    const reply = await this.#transport.request(candidate, { type: 'neighbours' });
    return reply.predecessor === null || reply.predecessor === undefined ? undefined : fromWire(reply.predecessor, this.#space);
  }

  /**
   * stabilize (Fig. 6, with §5.2's successor list): ask the successor for its predecessor and
   * successor list, adopt a closer successor if one joined, and notify it. A dead successor is
   * replaced by the next live entry of the list.
   */
  async stabilize(): Promise<void> {
    for (let attempt = 0; attempt <= this.table.successors.length + 1; attempt++) {
      let successor = this.table.successor;
      if (successor.id === this.self.id) {
        // Alone, or every successor failed: a known predecessor is the only way back into a ring.
        const predecessor = this.table.predecessor;
        if (predecessor === undefined) return;
        this.table.setSuccessors([predecessor]);
        successor = predecessor;
      }
      try {
        const reply = await this.#transport.request(successor, { type: 'neighbours' });
        if (!Array.isArray(reply.successors)) throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'neighbours reply lacks successors', { field: 'successors' });
        const theirPredecessor = reply.predecessor === null || reply.predecessor === undefined ? undefined : fromWire(reply.predecessor, this.#space);
        const theirSuccessors = reply.successors.slice(0, 32).map((p: unknown) => fromWire(p, this.#space));
        if (theirPredecessor && this.#space.between(theirPredecessor.id, this.self.id, successor.id)) {
          this.table.setSuccessors([theirPredecessor, successor, ...theirSuccessors]);
        } else {
          this.table.setSuccessors([successor, ...theirSuccessors]);
          // The successor's predecessor precedes this node, so the successor has yet to take
          // this node in (a join, or another join into this arc that it saw first). That node
          // is the closest predecessor known here: a joining node takes its successor's
          // predecessor over, as init_finger_table does in the Chord paper's first join, so a
          // lookup that walks back through predecessors does not stop at a node that has none.
          if (theirPredecessor !== undefined && theirPredecessor.id !== this.self.id) this.#offerPredecessor(theirPredecessor);
        }
      } catch (err) {
        if (!isFlowchainError(err)) throw err;
        this.table.remove(successor.id);
        continue;
      }
      // The notified node may be a newly adopted one: if it fails, it is the one to drop.
      const notified = this.table.successor;
      try {
        await this.#notify(notified);
        return;
      } catch (err) {
        if (!isFlowchainError(err)) throw err;
        this.table.remove(notified.id);
      }
    }
  }

  /** check_predecessor (Fig. 6): forget a predecessor that does not answer. */
  async checkPredecessor(): Promise<void> {
    const predecessor = this.table.predecessor;
    if (predecessor === undefined) return;
    try {
      await this.#transport.request(predecessor, { type: 'ping' });
    } catch (err) {
      if (!isFlowchainError(err)) throw err;
      this.table.remove(predecessor.id);
    }
  }

  /**
   * fix_fingers (Fig. 6), a few lookups per round: finger i is successor(n + 2^i), and when
   * that start still falls before the previous finger found this round, that one is reused, so
   * a pass over all m fingers costs about log2 N lookups; starts this node's own state answers
   * (its keys, its successor list) cost none. A round makes at most
   * {@link FINGER_LOOKUPS_PER_ROUND} and the next round goes on where it stopped, as the
   * paper's `next` does (one finger per call there): a small ring's fingers are all refreshed
   * every round or two, and a large ring's maintenance stays a few lookups per node per round
   * instead of log2 N. Fingers only shorten routes (a finger past its start still precedes
   * farther keys, §4.4), so their lookups skip the owner's confirmation.
   */
  async fixFingers(): Promise<void> {
    /** The owner this round found last: a finger from an earlier round may name a node gone since. */
    let previous: Peer | undefined;
    for (let lookups = 0; ; ) {
      const i = this.#nextFinger;
      const start = this.#space.fingerStart(this.self.id, i);
      // This node's own state answers without a message: its own keys, and its successor list's.
      let owner = this.table.owns(start) ? this.self : this.table.successorCandidate(start)?.owner;
      if (owner === undefined && previous !== undefined && this.#space.betweenRightInclusive(start, this.self.id, previous.id)) owner = previous;
      if (owner === undefined) {
        if (lookups === FINGER_LOOKUPS_PER_ROUND) return;
        lookups++;
        try {
          owner = (await this.#lookup(start, false)).owner;
        } catch (err) {
          if (!isFlowchainError(err)) throw err;
          // Move on, as the paper's `next` does: one finger that cannot be found holds up no other.
          this.#nextFinger = (i + 1) % this.#space.bits;
          return;
        }
      }
      previous = owner;
      this.table.setFinger(i, owner);
      this.#nextFinger = (i + 1) % this.#space.bits;
      if (this.#nextFinger === 0) return;
    }
  }

  async #notify(successor: Peer): Promise<void> {
    if (successor.id === this.self.id) return;
    await this.#transport.request(successor, { type: 'notify' });
  }

  /** notify (Fig. 6): a node that thinks it might be our predecessor. */
  #onNotify(candidate: Peer): void {
    this.#offerPredecessor(candidate);
    // A lone node learns of the ring through the first node that notifies it.
    if (this.table.successors.length === 0) this.table.setSuccessors([candidate]);
  }

  /** Takes `candidate` as predecessor when none is known or it is closer (Fig. 6, notify). */
  #offerPredecessor(candidate: Peer): void {
    const predecessor = this.table.predecessor;
    if (predecessor === undefined || this.#space.between(candidate.id, predecessor.id, this.self.id)) {
      this.table.predecessor = candidate;
      if (predecessor?.id !== candidate.id) for (const listener of this.#predecessorListeners) listener(predecessor, candidate);
    }
  }

  /** A neighbour is leaving: close the gap it leaves (its claims count only for its own place). */
  #onLeaving(request: PeerRequest, sender: Peer): void {
    const wasPredecessor = this.table.predecessor?.id === sender.id;
    const wasSuccessor = this.table.successor.id === sender.id;
    this.table.remove(sender.id);
    if (wasPredecessor && request.predecessor) {
      const next = fromWire(request.predecessor, this.#space);
      if (next.id !== this.self.id) this.table.predecessor = next;
    }
    if (wasSuccessor && Array.isArray(request.successors)) {
      const theirs = request.successors.slice(0, 32).map((p) => fromWire(p, this.#space));
      this.table.setSuccessors([...theirs, ...this.table.successors]);
    }
  }

  /**
   * One routing step for another node's lookup: the candidate owner from this node's successor
   * list when it covers the key (Chord §5.2; the asker confirms it), with the entry before it
   * when that is not this node; else the closest preceding node this node knows (Fig. 5); else
   * (no live successor known) this node itself.
   */
  #onStep(request: PeerRequest): PeerReply {
    const key = this.#key(request.key);
    const exclude = new Set(Array.isArray(request.exclude) ? request.exclude.slice(0, MAX_MESSAGES).map((hex) => this.#key(hex)) : []);
    const named = this.table.successorCandidate(key, exclude);
    if (named !== undefined) return named.after.id === this.self.id ? { owner: this.#wire(named.owner) } : { owner: this.#wire(named.owner), after: this.#wire(named.after) };
    const next = this.table.closestPreceding(key, exclude);
    return next.id === this.self.id ? { owner: this.#wire(this.#firstLiveSuccessor(exclude)) } : { next: this.#wire(next) };
  }

  #firstLiveSuccessor(dead: ReadonlySet<bigint>): Peer {
    return this.table.successors.find((p) => !dead.has(p.id)) ?? this.self;
  }

  #key(value: unknown): bigint {
    return keyFromWire(value, this.#space);
  }

  #wire(peer: Peer): WirePeer {
    return toWire(peer, this.#space);
  }
}

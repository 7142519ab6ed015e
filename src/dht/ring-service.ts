/**
 * A node's membership of the ring, composed: its identity, the WebSocket peer network and the
 * Chord node, started once the servient knows the address it listens on. What the HTTP layer
 * sees of the ring is {@link RingView}.
 *
 * Throws FLOWCHAIN_ERR_PEER_UNREACHABLE from {@link RingService.start} when the node to join
 * through cannot be reached, and FLOWCHAIN_ERR_REQUEST_MALFORMED for a bad lookup key.
 */
import type { WebSocket } from 'ws';
import { FlowchainError } from '../errors.js';
import type { Clock } from '../thing/clock.js';
import { ChordNode, type RequestHandler } from './chord-node.js';
import type { NodeIdentity } from '../node-identity.js';
import { fromWire, toWire, type WirePeer } from './peer.js';
import { RING } from './ring-space.js';
import { RingStore } from './ring-store.js';
import { WsPeerNetwork, type PeerNetworkComponents } from './ws-peer-network.js';
import type { Section } from '../storage.js';
import type { PeerReply, PeerRequest } from './transport.js';

/** GET /ring. */
export interface RingDescription {
  readonly id: string;
  readonly url: string;
  readonly predecessor: WirePeer | null;
  readonly successors: readonly WirePeer[];
  /** Distinct fingers in finger order; `index` is the first finger i (start n + 2^i) that points there. */
  readonly fingers: readonly (WirePeer & { readonly index: number })[];
}

/** GET /ring/lookup/{key}. */
export interface LookupResult {
  readonly key: string;
  readonly owner: WirePeer;
  readonly hops: number;
}

/** The ring as the HTTP layer uses it. */
export interface RingView {
  describe(): RingDescription;
  lookup(keyHex: string): Promise<LookupResult>;
  /** Takes over a WebSocket opened to the peer endpoint. */
  accept(socket: WebSocket): void;
}

/** Ring settings. */
export interface RingInit {
  /** r (Chord §5.2). */
  readonly successorListSize: number;
  readonly maintenanceIntervalMs: number;
  readonly requestTimeoutMs: number;
  readonly maxPayload: number;
  /** Largest value of the ring store, at most a quarter of maxPayload. */
  readonly maxValueBytes?: number;
}

/** Converts a join address: `ws://host:port` gets the peer endpoint path. */
export function peerEndpoint(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/peer';
  return parsed.href;
}

/** This node's ring membership. */
export class RingService implements RingView {
  readonly identity: NodeIdentity;
  readonly #components: PeerNetworkComponents & { readonly clock: Clock; readonly section: Section };
  readonly #init: RingInit;
  #network: WsPeerNetwork | undefined;
  #node: ChordNode | undefined;
  #store: RingStore | undefined;
  readonly #handlers = new Map<string, RequestHandler>();

  /** `section` holds this node's share of the ring store. */
  constructor(components: PeerNetworkComponents & { readonly section: Section }, init: RingInit) {
    this.identity = components.identity;
    this.#components = components;
    this.#init = init;
  }

  /** The ring's key–value store, once started. */
  get store(): RingStore {
    if (this.#store === undefined) throw new FlowchainError('FLOWCHAIN_ERR_PEER_UNREACHABLE', 'the ring is not started yet');
    return this.#store;
  }

  /** Starts the ring at `selfUrl`, joining through `join` or founding a new ring. */
  async start(selfUrl: string, join?: string): Promise<void> {
    const network = new WsPeerNetwork(this.#components, { selfUrl, timeoutMs: this.#init.requestTimeoutMs, maxPayload: this.#init.maxPayload });
    const node = new ChordNode(
      { transport: network, space: RING, clock: this.#components.clock, ...(this.#components.log ? { log: this.#components.log } : {}) },
      { self: { id: this.identity.id, url: selfUrl }, successorListSize: this.#init.successorListSize, maintenanceIntervalMs: this.#init.maintenanceIntervalMs },
    );
    network.setHandler((request, sender) => node.handle(request, sender));
    for (const [type, handler] of this.#handlers) node.register(type, handler);
    this.#store = new RingStore({ node, transport: network, section: this.#components.section, clock: this.#components.clock, space: RING }, { maxPayload: this.#init.maxPayload, ...(this.#init.maxValueBytes ? { maxValueBytes: this.#init.maxValueBytes } : {}) });
    this.#network = network;
    this.#node = node;
    await node.join(join === undefined ? undefined : peerEndpoint(join));
    node.start();
  }

  /** Answers peer requests of `type` (another layer's protocol, the broker's say); call before start. */
  register(type: string, handler: RequestHandler): void {
    this.#handlers.set(type, handler);
  }

  /**
   * Groups 40-hex keys by their owner, SUCCESSOR(key) ({@link ChordNode.ownersOf}): each
   * group has the owner, or the lookup's error (FLOWCHAIN_ERR_PEER_UNREACHABLE,
   * FLOWCHAIN_ERR_LOOKUP_FAILED), and the positions of its keys.
   */
  async ownersOf(keysHex: readonly string[]): Promise<{ readonly owner?: WirePeer; readonly error?: unknown; readonly positions: readonly number[] }[]> {
    const groups = await this.#started().ownersOf(keysHex.map((key) => RING.fromHex(key)));
    return groups.map((group) => (group.owner === undefined ? group : { owner: toWire(group.owner, RING), positions: group.positions }));
  }

  /** Sends `request` to the ring member `peer` (handled here when it is this node); rejects with its error code. */
  ask(peer: WirePeer, request: PeerRequest): Promise<PeerReply> {
    return this.#started().ask(fromWire(peer, RING), request);
  }

  /** This node as a ring member. */
  get self(): WirePeer {
    return toWire(this.#started().self, RING);
  }

  /** Leaves the ring gracefully (keys handed over, neighbours told), then closes the sockets. */
  async stop(): Promise<void> {
    await this.#node?.leave();
    await this.#network?.close();
  }

  accept(socket: WebSocket): void {
    if (this.#network === undefined) return void socket.close(1013, 'ring not started');
    this.#network.accept(socket);
  }

  describe(): RingDescription {
    const node = this.#started();
    const table = node.table;
    const fingers: (WirePeer & { index: number })[] = [];
    table.fingers.forEach((peer, index) => {
      if (peer !== undefined && fingers.at(-1)?.id !== RING.toHex(peer.id)) fingers.push({ index, ...toWire(peer, RING) });
    });
    return {
      id: RING.toHex(node.self.id),
      url: node.self.url,
      predecessor: table.predecessor ? toWire(table.predecessor, RING) : null,
      successors: table.successors.map((p) => toWire(p, RING)),
      fingers,
    };
  }

  async lookup(keyHex: string): Promise<LookupResult> {
    const key = RING.fromHex(keyHex.toLowerCase());
    const { owner, hops } = await this.#started().findSuccessor(key);
    return { key: RING.toHex(key), owner: toWire(owner, RING), hops };
  }

  #started(): ChordNode {
    if (this.#node === undefined) throw new FlowchainError('FLOWCHAIN_ERR_PEER_UNREACHABLE', 'the ring is not started yet');
    return this.#node;
  }
}

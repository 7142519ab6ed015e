/**
 * A node's membership of the ring, composed: its identity and ring membership, the mutual-TLS
 * peer network on its own port, the Chord node and the ring's record store. What the HTTP
 * layer sees of the ring is {@link RingView}. The authority's CRL travels between members: each
 * node shows its successor the CRL it holds every few rounds, and the newer one wins on both
 * sides, so a revocation reaches the whole ring without a central server.
 *
 * Throws FLOWCHAIN_ERR_PEER_UNREACHABLE from {@link RingService.start} when the node to join
 * through cannot be reached (and FLOWCHAIN_ERR_CONFIG_INVALID when the peer port cannot be
 * bound), and FLOWCHAIN_ERR_REQUEST_MALFORMED for a bad lookup key.
 */
import type { Clock } from '../common/clock.js';
import type { RingAccess } from '../common/peer-rpc.js';
import { X509Certificate } from 'node:crypto';
import { holdingStatement, type HoldingProof, type RecordStore } from '../common/ring-records.js';
import { HEX128, HEX40 } from '../common/hex.js';
import { FlowchainError } from '../errors.js';
import type { MemberPeer, Membership } from '../membership/membership.js';
import { NodeIdentity } from '../node-identity.js';
import type { Section } from '../storage.js';
import { ChordNode, type RequestHandler } from './chord-node.js';
import { fromWire, toWire, type WirePeer } from './peer.js';
import { RING } from './ring-space.js';
import { RingStore } from './ring-store.js';
import { TlsPeerNetwork } from './tls-peer-network.js';
import type { PeerReply, PeerRequest } from './transport.js';

/** GET /ring. */
export interface RingDescription {
  readonly id: string;
  readonly url: string;
  readonly predecessor: WirePeer | null;
  readonly successors: readonly WirePeer[];
  /** Distinct fingers in finger order; `index` is the first finger i (start n + 2^i) that points there. */
  readonly fingers: readonly (WirePeer & { readonly index: number })[];
  /** This node's membership: its certificate's expiry and the number of the CRL it holds. */
  readonly membership: { readonly notAfter: string; readonly crl: string };
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
}

/** Collaborators of the ring. */
export interface RingComponents {
  readonly clock: Clock;
  readonly identity: NodeIdentity;
  readonly membership: Membership;
  /** This node's share of the ring store. */
  readonly section: Section;
  /** The wall clock certificates are checked against. */
  readonly now?: () => Date;
  readonly log?: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

/** Ring settings. */
export interface RingInit {
  /** Where the peer port listens (0 picks a free port), and the URL others dial, if not wss://host:port/. */
  readonly host: string;
  readonly port: number;
  readonly advertisedUrl?: string;
  /** r (Chord §5.2). */
  readonly successorListSize: number;
  readonly maintenanceIntervalMs: number;
  readonly requestTimeoutMs: number;
  readonly maxPayload: number;
  /** Largest record of the ring store, at most a quarter of maxPayload. */
  readonly maxValueBytes?: number;
  /** What one peer may make this node store: bytes per second and at once. */
  readonly quotaBytesPerSecond?: number;
  readonly quotaBurstBytes?: number;
}

/** Every this many maintenance rounds, a node shows its successor the CRL it holds. */
const CRL_GOSSIP_ROUNDS = 10;

/**
 * The peer URL to join through: a `wss:` URL is one already; for a member's HTTP URL (what
 * users know: `--join http://host:8080`), that member's `GET /ring` says where its peer port is.
 */
export async function peerUrlOf(join: string): Promise<string> {
  const url = new URL(join);
  if (url.protocol === 'wss:') return url.href;
  if (url.protocol === 'ws:') url.protocol = 'http:';
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', `--join: ${join} is neither a member's http(s) URL nor its wss peer URL`, { field: 'join' });
  const ring = new URL('ring', url.href.endsWith('/') ? url.href : `${url.href}/`);
  let described: unknown;
  try {
    const response = await fetch(ring, { signal: AbortSignal.timeout(10_000) });
    described = response.ok ? await response.json() : undefined;
  } catch (err) {
    throw new FlowchainError('FLOWCHAIN_ERR_PEER_UNREACHABLE', `${ring.href}: ${(err as Error).message}`, { field: 'join', cause: err });
  }
  const peer = (described as { url?: unknown } | undefined)?.url;
  if (typeof peer !== 'string' || !peer.startsWith('wss://')) throw new FlowchainError('FLOWCHAIN_ERR_PEER_UNREACHABLE', `${ring.href} does not describe a ring member`, { field: 'join' });
  return peer;
}

/** This node's ring membership. */
export class RingService implements RingView, RingAccess {
  readonly identity: NodeIdentity;
  readonly #c: RingComponents;
  readonly #init: RingInit;
  readonly #network: TlsPeerNetwork;
  readonly #node: ChordNode;
  readonly #store: RingStore;
  #started = false;
  #round = 0;
  readonly #membershipListeners = new Set<() => void>();
  /** Membership certificates other members showed in holding proofs, with what each proved and against which CRL. */
  readonly #certificates = new Map<string, { readonly peer: MemberPeer; readonly crl: bigint }>();

  constructor(components: RingComponents, init: RingInit) {
    this.identity = components.identity;
    this.#c = components;
    this.#init = init;
    this.#network = new TlsPeerNetwork(
      { clock: components.clock, identity: components.identity, membership: components.membership, ...(components.now ? { now: components.now } : {}), ...(components.log ? { log: components.log } : {}) },
      { host: init.host, port: init.port, ...(init.advertisedUrl ? { advertisedUrl: init.advertisedUrl } : {}), timeoutMs: init.requestTimeoutMs, maxPayload: init.maxPayload },
    );
    // The node's own URL is known once the listener is bound; until then it is a placeholder
    // no message carries (nothing is sent before start).
    this.#node = new ChordNode(
      { transport: this.#network, space: RING, clock: components.clock, ...(components.log ? { log: components.log } : {}) },
      { self: { id: components.membership.ringId, url: init.advertisedUrl ?? 'wss://unbound/' }, successorListSize: init.successorListSize, maintenanceIntervalMs: init.maintenanceIntervalMs },
    );
    this.#network.setHandler((request, sender) => this.#node.handle(request, sender));
    this.#store = new RingStore(
      {
        node: this.#node,
        transport: this.#network,
        section: components.section,
        clock: components.clock,
        space: RING,
        holder: { member: RING.toHex(components.membership.ringId), certificate: components.membership.certificate, sign: (bytes) => components.identity.sign(bytes) },
        ...(components.log ? { log: components.log } : {}),
      },
      { maxPayload: init.maxPayload, ...(init.maxValueBytes ? { maxValueBytes: init.maxValueBytes } : {}), ...(init.quotaBytesPerSecond ? { quotaBytesPerSecond: init.quotaBytesPerSecond } : {}), ...(init.quotaBurstBytes ? { quotaBurstBytes: init.quotaBurstBytes } : {}) },
    );
    const changed = () => {
      for (const listener of this.#membershipListeners) listener();
    };
    this.#node.onPredecessorChange(changed);
    components.membership.onCrlChange(changed);
    this.#node.register('crl', (request) => this.#onCrl(request));
    this.#node.onMaintenance(() => this.#gossipCrl());
  }

  /** The ring's record store. */
  get store(): RecordStore {
    return this.#store;
  }

  /**
   * Binds the peer port, then joins the ring through `join` (a member's http URL or its peer
   * URL) or founds a new one. Resolves with this node's peer URL.
   */
  async start(join?: string): Promise<string> {
    let url: string;
    try {
      url = await this.#network.listen();
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'the port is in use' : (err as Error).message;
      throw new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', `cannot listen for peers on ${this.#init.host}:${this.#init.port}: ${reason}`, { field: 'peer-port', cause: err });
    }
    this.#node.table.self = { id: this.#c.membership.ringId, url };
    await this.#node.join(join === undefined ? undefined : await peerUrlOf(join));
    this.#node.start();
    this.#started = true;
    return url;
  }

  /** Answers peer requests of `type` (another layer's protocol, the broker's say); call before start. */
  register(type: string, handler: RequestHandler): void {
    this.#node.register(type, handler);
  }

  /**
   * Groups 40-hex keys by their owner, SUCCESSOR(key) ({@link ChordNode.ownersOf}): each
   * group has the owner, or the lookup's error (FLOWCHAIN_ERR_PEER_UNREACHABLE,
   * FLOWCHAIN_ERR_LOOKUP_FAILED), and the positions of its keys.
   */
  async ownersOf(keysHex: readonly string[]): Promise<{ readonly owner?: WirePeer; readonly error?: unknown; readonly positions: readonly number[] }[]> {
    const groups = await this.#node.ownersOf(keysHex.map((key) => RING.fromHex(key)));
    return groups.map((group) => (group.owner === undefined ? group : { owner: toWire(group.owner, RING), positions: group.positions }));
  }

  /** Sends `request` to the ring member `peer` (handled here when it is this node); rejects with its error code. */
  ask(peer: WirePeer, request: PeerRequest): Promise<PeerReply> {
    return this.#node.ask(fromWire(peer, RING), request);
  }

  holderOf(proof: unknown): string | undefined {
    const p = proof as Partial<HoldingProof> | null;
    if (typeof p !== 'object' || p === null || typeof p.member !== 'string' || !HEX40.test(p.member) || typeof p.certificate !== 'string' || p.certificate.length > 8192) return undefined;
    if (typeof p.signature !== 'string' || !HEX128.test(p.signature) || !Array.isArray(p.records) || p.records.length > 1024) return undefined;
    if (!p.records.every((r) => Array.isArray(r) && r.length === 2 && typeof r[0] === 'string' && typeof r[1] === 'string')) return undefined;
    const key = this.#memberKey(p.certificate, p.member);
    return key !== undefined && NodeIdentity.verify(Buffer.from(p.signature, 'hex'), holdingStatement(p.member, p.records), key) ? p.member : undefined;
  }

  /**
   * The key a membership certificate certifies for `member`, if it is a valid membership now.
   * A certificate checked once is remembered with what it proved, and used again while the CRL
   * is the one it was checked against and it has not expired.
   */
  #memberKey(pem: string, member: string): Uint8Array | undefined {
    const now = this.#c.now?.() ?? new Date();
    const crl = this.#c.membership.crl.number;
    let checked = this.#certificates.get(pem);
    if (checked === undefined || checked.crl !== crl || now > checked.peer.notAfter) {
      try {
        checked = { peer: this.#c.membership.verifyPeer(new X509Certificate(pem), now), crl };
      } catch {
        this.#certificates.delete(pem);
        return undefined;
      }
      if (this.#certificates.size >= 1024) this.#certificates.delete(this.#certificates.keys().next().value as string);
      this.#certificates.set(pem, checked);
    }
    return RING.toHex(checked.peer.id) === member ? checked.peer.key : undefined;
  }

  keyOf(certificate: unknown, member: string): string | undefined {
    if (typeof certificate !== 'string' || certificate.length > 8192 || !HEX40.test(member)) return undefined;
    const key = this.#memberKey(certificate, member);
    return key === undefined ? undefined : Buffer.from(key).toString('hex');
  }

  get certificate(): string {
    return this.#c.membership.certificate;
  }

  membersBetween(owner: string, member: string): number {
    const from = RING.fromHex(owner);
    const to = RING.fromHex(member);
    return this.#node.table.members().filter((peer) => RING.between(peer.id, from, to)).length;
  }

  get knownMembers(): number {
    return this.#node.table.members().length;
  }

  get replication(): number {
    return this.#init.successorListSize;
  }

  onMembershipChange(listener: () => void): () => void {
    this.#membershipListeners.add(listener);
    return () => this.#membershipListeners.delete(listener);
  }

  /** This node as a ring member. */
  get self(): WirePeer {
    return toWire(this.#node.self, RING);
  }

  /** Leaves the ring gracefully (keys handed over, neighbours told), then closes the links. */
  async stop(): Promise<void> {
    if (this.#started) await this.#node.leave();
    await this.#network.close();
  }

  describe(): RingDescription {
    const node = this.#node;
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
      membership: { notAfter: this.#c.membership.own.notAfter.toISOString(), crl: this.#c.membership.crl.number.toString() },
    };
  }

  async lookup(keyHex: string): Promise<LookupResult> {
    const key = RING.fromHex(keyHex.toLowerCase());
    const { owner, hops } = await this.#node.findSuccessor(key);
    return { key: RING.toHex(key), owner: toWire(owner, RING), hops };
  }

  /** A member shows the CRL it holds: adopt it if newer, answer ours if ours is newer. */
  #onCrl(request: PeerRequest): PeerReply {
    if (typeof request.crl === 'string' && request.crl.length < 1_000_000) this.#c.membership.adoptCrl(request.crl);
    const offered = typeof request.number === 'string' && /^\d{1,30}$/.test(request.number) ? BigInt(request.number) : -1n;
    const ours = this.#c.membership.crl;
    return ours.number > offered ? { crl: ours.pem } : {};
  }

  async #gossipCrl(): Promise<void> {
    if (++this.#round % CRL_GOSSIP_ROUNDS !== 0) return;
    this.#c.membership.reload();
    const successor = this.#node.table.successor;
    if (successor.id === this.#node.self.id) return;
    const ours = this.#c.membership.crl;
    const reply = await this.#network.request(successor, { type: 'crl', number: ours.number.toString(), crl: ours.pem });
    if (typeof reply.crl === 'string') this.#c.membership.adoptCrl(reply.crl);
  }
}

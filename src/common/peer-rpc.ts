/**
 * The vocabulary every layer that talks to other ring members shares: a member as the wire
 * names it, the request/reply shapes of peer RPC and the ring's port. The dht layer carries
 * them; the broker and the ledger only name them. Types only.
 */
import type { RecordStore } from './ring-records.js';

/** A ring member on the wire and in /ring: its 160-bit id as 40 hex digits, and its peer URL. */
export interface WirePeer {
  readonly id: string;
  readonly url: string;
}

/** A peer request: its `type` selects the handler. */
export interface PeerRequest {
  readonly type: string;
  readonly [member: string]: unknown;
}

/** A successful reply. Failures travel as thrown FlowchainErrors with their codes. */
export type PeerReply = Readonly<Record<string, unknown>>;

/** Who sent a peer request: the member the link authenticated. */
export interface PeerSender {
  readonly id: bigint;
  readonly url: string;
}

/**
 * The ring as the layers above it use it (the broker; the dht layer's ring service implements
 * it): this member, the ring store, handlers for peer requests of one type, the owners of keys
 * and a request to one member.
 */
export interface RingAccess {
  readonly self: WirePeer;
  readonly store: RecordStore;
  register(type: string, handler: (request: PeerRequest, sender: PeerSender) => Promise<PeerReply>): void;
  /** The owner of each distinct key, with the positions in `keysHex` it owns, or the error its lookup ended in. */
  ownersOf(keysHex: readonly string[]): Promise<readonly { readonly owner?: WirePeer; readonly error?: unknown; readonly positions: readonly number[] }[]>;
  ask(peer: WirePeer, request: PeerRequest): Promise<PeerReply>;
}

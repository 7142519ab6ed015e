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
  /** Its ring id: the one its membership certificate holds. */
  readonly id: bigint;
  readonly url: string;
  /** The Ed25519 key (64 hex) its certificate holds, where a link proved one (this node handing itself a request has none). */
  readonly key?: string;
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
  /**
   * The ring id (40 hex) of the member that signed a holding proof, if its certificate is a
   * valid membership of this ring (the authority's, unexpired, not revoked) that names that id
   * and the signature verifies with the key it certifies; undefined otherwise. Never throws.
   */
  holderOf(proof: unknown): string | undefined;
  /**
   * The Ed25519 key (64 hex) a membership certificate (PEM) holds for `member` (40 hex), if it
   * is a valid membership of this ring now; undefined otherwise. Never throws.
   */
  keyOf(certificate: unknown, member: string): string | undefined;
  /** This member's own membership certificate, as PEM. */
  readonly certificate: string;
  /**
   * Where `member` stands after `owner` among the members this node knows: how many of them lie
   * strictly between the two, going round the ring (0: `member` is the owner's successor as far
   * as this node knows). Ring ids as 40 hex.
   */
  membersBetween(owner: string, member: string): number;
  /** How many members this node knows of, itself included. */
  readonly knownMembers: number;
  /** How many successors of a key's owner keep a copy of it (r). */
  readonly replication: number;
  /** Calls `listener` when the ring's membership around this node changes (a new predecessor, a newer CRL); returns the unsubscribe. */
  onMembershipChange(listener: () => void): () => void;
}

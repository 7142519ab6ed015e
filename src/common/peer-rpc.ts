/**
 * The vocabulary every layer that talks to other ring members shares: a member as the wire
 * names it, and the request/reply shapes of peer RPC. The dht layer carries them; the broker
 * and the ledger only name them. Types only.
 */

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

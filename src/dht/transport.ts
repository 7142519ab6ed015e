import type { Peer } from './peer.js';

/**
 * How Chord nodes talk: request/reply messages addressed by URL. The ring logic depends only on
 * this interface; the WebSocket transport carries it between processes, the in-memory one
 * between nodes of one simulation.
 */

/** A peer request: its `type` selects the handler. */
export interface PeerRequest {
  readonly type: string;
  readonly [member: string]: unknown;
}

/** A successful reply. Failures travel as thrown FlowchainErrors with their codes. */
export type PeerReply = Readonly<Record<string, unknown>>;

/** Answers requests addressed to one node; `sender` is the authenticated requesting node. */
export type PeerHandler = (request: PeerRequest, sender: Peer) => Promise<PeerReply>;

/** Sends requests to other nodes. */
export interface Transport {
  /**
   * Sends `request` to the node at `url` and resolves with its reply. Rejects with
   * FLOWCHAIN_ERR_PEER_UNREACHABLE when the node cannot be reached in time, or with the error
   * code the remote node answered.
   */
  request(url: string, request: PeerRequest): Promise<PeerReply>;
}

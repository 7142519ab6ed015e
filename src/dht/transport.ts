import type { PeerReply, PeerRequest } from '../common/peer-rpc.js';
import type { Peer } from './peer.js';

/**
 * How Chord nodes talk: request/reply messages addressed by URL. The ring logic depends only on
 * this interface; the WebSocket transport carries it between processes, the in-memory one
 * between nodes of one simulation.
 */

export type { PeerReply, PeerRequest } from '../common/peer-rpc.js';

/** Answers requests addressed to one node; `sender` is the authenticated requesting node. */
export type PeerHandler = (request: PeerRequest, sender: Peer) => Promise<PeerReply>;

/**
 * Where a request goes: a known peer (its id is checked against the replying node's key), or
 * only a URL, when a node joins through an address it was given.
 */
export interface PeerTarget {
  readonly url: string;
  readonly id?: bigint;
}

/** Sends requests to other nodes. */
export interface Transport {
  /**
   * Sends `request` to `target` and resolves with its reply. Rejects with
   * FLOWCHAIN_ERR_PEER_UNREACHABLE when the node cannot be reached in time,
   * FLOWCHAIN_ERR_PEER_SIGNATURE_INVALID when another node than `target.id` answers, or with the
   * error code the remote node answered.
   */
  request(target: PeerTarget, request: PeerRequest): Promise<PeerReply>;
}

/** A ring member as the DHT knows it: its identifier and where to reach it. */
import { FlowchainError } from '../errors.js';
import type { RingSpace } from './ring-space.js';
import type { WirePeer } from '../common/peer-rpc.js';

/** A node on the ring. */
export interface Peer {
  readonly id: bigint;
  readonly url: string;
}

export type { WirePeer } from '../common/peer-rpc.js';

export function toWire(peer: Peer, space: RingSpace): WirePeer {
  return { id: space.toHex(peer.id), url: peer.url };
}

/** Reads a peer from a message. Throws FLOWCHAIN_ERR_PEER_MESSAGE_INVALID when malformed. */
export function fromWire(value: unknown, space: RingSpace): Peer {
  const wire = value as Partial<WirePeer> | null;
  if (typeof wire?.id !== 'string' || typeof wire.url !== 'string' || wire.url.length > 2048) {
    throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'a peer is { id: hex, url }', { field: 'peer' });
  }
  try {
    return { id: space.fromHex(wire.id), url: wire.url };
  } catch (err) {
    throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'peer id is not a ring id', { field: 'peer.id', cause: err });
  }
}

/** Reads a ring key from a message. Throws FLOWCHAIN_ERR_PEER_MESSAGE_INVALID unless it is a hex ring id. */
export function keyFromWire(value: unknown, space: RingSpace): bigint {
  if (typeof value !== 'string') throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'key must be a hex ring id', { field: 'key' });
  try {
    return space.fromHex(value.toLowerCase());
  } catch (err) {
    throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'key must be a hex ring id', { field: 'key', cause: err });
  }
}

/**
 * An in-memory network for deterministic simulations of many nodes in one process: delivery is
 * asynchronous (a microtask) but ordered, a stopped node is unreachable at once, and requests
 * are copied as they would be by serialisation. Not for production: the WebSocket transport is.
 */
import { FlowchainError } from '../errors.js';
import type { Peer } from './peer.js';
import type { PeerHandler, PeerReply, PeerRequest, PeerTarget, Transport } from './transport.js';

/** The nodes of one simulated network, by URL. */
export class MemoryNetwork {
  readonly #handlers = new Map<string, PeerHandler>();
  /** Requests delivered so far, for message-count statistics. */
  delivered = 0;

  /** Makes `handler` reachable at `url`; returns how to take it off the network. */
  listen(url: string, handler: PeerHandler): () => void {
    this.#handlers.set(url, handler);
    return () => {
      if (this.#handlers.get(url) === handler) this.#handlers.delete(url);
    };
  }

  /** The transport a node uses: its requests reach handlers with it as the sender. */
  transportFor(sender: Peer): Transport {
    return {
      request: async (target: PeerTarget, request: PeerRequest): Promise<PeerReply> => {
        await Promise.resolve();
        const handler = this.#handlers.get(target.url);
        if (handler === undefined) throw new FlowchainError('FLOWCHAIN_ERR_PEER_UNREACHABLE', `no node at ${target.url}`, { field: 'url' });
        this.delivered++;
        return structuredClone(await handler(structuredClone(request), sender));
      },
    };
  }
}

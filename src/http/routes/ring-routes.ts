/**
 * The ring over HTTP: this node's routing state (GET /ring), a real lookup from this node
 * (GET /ring/lookup/{40-hex key}), and the peer endpoint (GET /peer, WebSocket sub-protocol
 * flowchain-peer.v1) where other nodes connect.
 */
import type { FastifyInstance } from 'fastify';
import type { RingView } from '../../dht/ring-service.js';
import { PEER_SUBPROTOCOL } from '../../dht/ws-peer-network.js';
import { upgradeRequired } from '../problem.js';

/** Registers /ring and /ring/lookup/:key. */
export function ringRoutes(app: FastifyInstance, ring: RingView): void {
  app.get('/ring', async () => ring.describe());

  app.get<{ Params: { key: string } }>('/ring/lookup/:key', async (request) => ring.lookup(request.params.key));
}

/** Registers the peer endpoint /peer; @fastify/websocket must be registered in `app`. */
export function peerRoute(app: FastifyInstance, ring: RingView): void {
  app.route({
    method: 'GET',
    url: '/peer',
    handler: upgradeRequired(PEER_SUBPROTOCOL),
    wsHandler: (socket) => ring.accept(socket),
  });
}

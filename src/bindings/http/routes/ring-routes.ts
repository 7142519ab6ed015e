/**
 * The ring over HTTP: this node's routing state (GET /ring, which also tells a joining node
 * where this node's peer port is) and a real lookup from this node (GET /ring/lookup/{40-hex
 * key}). Ring members talk to each other on the peer port, over mutual TLS (dht/).
 */
import type { FastifyInstance } from 'fastify';
import type { RingView } from '../../../dht/ring-service.js';

/** Registers /ring and /ring/lookup/:key. */
export function ringRoutes(app: FastifyInstance, ring: RingView): void {
  app.get('/ring', async () => ring.describe());

  app.get<{ Params: { key: string } }>('/ring/lookup/:key', async (request) => ring.lookup(request.params.key));
}

/**
 * The WebSocket endpoint, GET /ws with sub-protocol `flowchain.v1`. Credentials are checked at
 * the upgrade: a wrong token is refused with 401 before the socket opens; no token gives a
 * read-and-observe session.
 */
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../http-context.js';
import { Fanout } from './fanout.js';
import { WsSession } from './ws-session.js';
import { BearerAuth } from '../auth.js';
import { upgradeRequired } from '../problem.js';
import { WS_SUBPROTOCOL } from '../../td/td-builder.js';

/** Registers GET /ws; @fastify/websocket must already be registered. */
export function wsRoute(app: FastifyInstance, ctx: HttpContext, limits: { readonly bufferLimit: number; readonly frameLimit: number }): void {
  const fanout = new Fanout();
  const credentialsOf = (headers: { authorization?: string }, query: unknown) =>
    ctx.auth?.check(headers.authorization, (query as { access_token?: unknown }).access_token) ?? 'none';

  app.route({
    method: 'GET',
    url: '/ws',
    // A wrong token is refused before the upgrade; no token gives a read-only session.
    onRequest: async (request, reply) => BearerAuth.reject(reply, credentialsOf(request.headers, request.query), true),
    handler: upgradeRequired(WS_SUBPROTOCOL),
    wsHandler: (socket, request) => {
      new WsSession(socket, { registry: ctx.registry, fanout, replay: ctx.replay, log: request.log }, {
        authRequired: ctx.auth !== undefined,
        credentials: credentialsOf(request.headers, request.query),
        ...limits,
      });
    },
  });
}

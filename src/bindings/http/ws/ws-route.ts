/**
 * The WebSocket endpoint, GET /ws with sub-protocol `flowchain.v1`. Credentials (those the TDs
 * name: a bearer token in the header or the access_token parameter, or Basic in the header)
 * are checked at the upgrade: wrong ones are refused with 401 before the socket opens; none
 * gives a read-and-observe session.
 */
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../http-context.js';
import { Fanout } from './fanout.js';
import { WsSession } from './ws-session.js';
import { upgradeRequired } from '../problem.js';
import { routePath, ROUTES, WS_SUBPROTOCOL } from '../route-table.js';

/** Registers GET /ws; @fastify/websocket must already be registered. */
export function wsRoute(app: FastifyInstance, ctx: HttpContext, limits: { readonly bufferLimit: number; readonly frameLimit: number }): void {
  const fanout = new Fanout();
  const verdictOf = (headers: { authorization?: string }, query: unknown) =>
    ctx.auth?.verdict(headers.authorization, (query as { access_token?: unknown }).access_token) ?? { credentials: 'none' as const };

  app.route({
    method: 'GET',
    url: routePath(ROUTES.ws),
    // Wrong credentials are refused before the upgrade; none give a read-only session.
    onRequest: async (request, reply) => ctx.auth?.reject(reply, verdictOf(request.headers, request.query), true),
    handler: upgradeRequired(WS_SUBPROTOCOL),
    wsHandler: (socket, request) => {
      new WsSession(socket, { registry: ctx.registry, fanout, replay: ctx.replay, log: request.log }, {
        authRequired: ctx.auth !== undefined,
        credentials: verdictOf(request.headers, request.query).credentials,
        ...limits,
      });
    },
  });
}

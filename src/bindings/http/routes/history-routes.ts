/**
 * The history of a Thing's property values and event occurrences over HTTP:
 * `GET things/{thing}/properties/{name}/history` and `GET things/{thing}/events/{name}/history`,
 * with the parameters of history/history-query.ts. The answer is a JSON array, newest first,
 * of entries (`value` or `data`, `timestamp`, and `txId` where the value was recorded) or, with
 * `every`, of buckets; when the range holds more, `Link: <…>; rel="next"` (RFC 8288) names the
 * next page, the same query with its cursor.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FlowchainError } from '../../../errors.js';
import { parseHistoryQuery, pickAggregates } from '../../../history/history-query.js';
import type { HistoryKind } from '../../../history/thing-history.js';
import type { Bucket } from '../../../history/time-series.js';
import type { AffordanceParams, HistoryView, HttpContext } from '../http-context.js';
import { routePath, ROUTES } from '../route-table.js';

/** Registers the property and event history routes. */
export function historyRoutes(app: FastifyInstance, ctx: HttpContext, history: HistoryView): void {
  const answer = async (kind: HistoryKind, request: FastifyRequest<{ Params: AffordanceParams; Querystring: Record<string, unknown> }>, reply: { header(name: string, value: string): unknown }) => {
    const thing = ctx.registry.get(request.params.thing);
    if (!thing.keepsHistory) throw new FlowchainError('FLOWCHAIN_ERR_HISTORY_NOT_KEPT', `the node keeps no history of ${thing.slug} (its own ledger traffic is in its chain)`, { field: 'thing' });
    // Same rules as reading or subscribing: the affordance exists (and a property is not write-only).
    if (kind === 'properties') thing.readable(request.params.name);
    else thing.event(request.params.name);
    const { query, aggregates } = parseHistoryQuery(request.query);
    const page = await history.query(kind, thing.id, request.params.name, query);
    if (page.next !== undefined) {
      const next = new URL(request.url, 'http://base');
      next.searchParams.set('cursor', page.next);
      reply.header('link', `<${next.pathname}${next.search}>; rel="next"`);
    }
    return query.every === undefined ? page.items : (page.items as Bucket[]).map((bucket) => pickAggregates(bucket, aggregates));
  };
  app.get<{ Params: AffordanceParams; Querystring: Record<string, unknown> }>(routePath(ROUTES.propertyHistory), (request, reply) => answer('properties', request, reply));
  app.get<{ Params: AffordanceParams; Querystring: Record<string, unknown> }>(routePath(ROUTES.eventHistory), (request, reply) => answer('events', request, reply));
}

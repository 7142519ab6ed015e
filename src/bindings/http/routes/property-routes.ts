/**
 * Property operations over HTTP (TD 1.1 §8.3.1 default methods): read, write, read all, read
 * multiple, write multiple, observe as long-poll and SSE, and observe all as SSE.
 */
import type { FastifyInstance } from 'fastify';
import { isThenable } from '../../../common/thenable.js';
import { FlowchainError } from '../../../errors.js';
import type { PropertyChange } from '../../../thing/exposed-thing.js';
import { addVary, sendJson, sendWriteResult, serveStream, untilDestroyed, type AffordanceParams, type HttpContext } from '../http-context.js';
import { topicsOf } from '../replay-log.js';
import { acceptsEventStream } from '../streams.js';
import { routePath, ROUTES } from '../route-table.js';

/**
 * Registers the property routes under /things/:thing/properties. `GET …/properties` with
 * `Accept: text/event-stream` is observeallproperties (the HTTP SSE Profile's form at the same
 * URL as readallproperties); on a Thing with no observable property it fails with
 * FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED.
 */
export function propertyRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const guard = ctx.auth ? { onRequest: ctx.auth.guard() } : {};

  // Answered at once when the read handler answers at once: this is the busiest route.
  app.get<{ Params: AffordanceParams }>(routePath(ROUTES.property), (request, reply) => {
    const value = ctx.registry.get(request.params.thing).readPropertyNow(request.params.name);
    if (!isThenable(value)) return sendJson(reply, value);
    return value.then((answered) => sendJson(reply, answered));
  });

  // A write is answered from what is known before it is applied (the base of its receipt
  // links), so nothing that can fail comes between applying it and answering 204.
  app.put<{ Params: AffordanceParams }>(routePath(ROUTES.property), guard, async (request, reply) => {
    const base = ctx.descriptions.baseFor(request);
    const receipts = await ctx.registry.get(request.params.thing).writeProperty(request.params.name, request.body);
    return sendWriteResult(reply, receipts, base);
  });

  app.get<{ Params: { thing: string } }>(routePath(ROUTES.properties), async (request, reply) => {
    const thing = ctx.registry.get(request.params.thing);
    // One URL, two representations: caches must tell them apart.
    addVary(reply, 'accept');
    if (!acceptsEventStream(request.headers.accept)) return thing.readAllProperties();
    const topics = topicsOf(thing, 'property');
    if (topics.length === 0) throw new FlowchainError('FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED', `${thing.slug} has no observable property`, { field: 'accept' });
    return serveStream(ctx, request, reply, thing, topics);
  });

  app.post<{ Params: { thing: string } }>(routePath(ROUTES.properties), async (request) => {
    const thing = ctx.registry.get(request.params.thing);
    const names = request.body;
    if (!Array.isArray(names) || !names.every((name) => typeof name === 'string')) {
      throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'readmultipleproperties takes a JSON array of property names', { field: '/' });
    }
    return thing.readMultipleProperties(names);
  });

  app.put<{ Params: { thing: string } }>(routePath(ROUTES.properties), guard, async (request, reply) => {
    const base = ctx.descriptions.baseFor(request);
    const thing = ctx.registry.get(request.params.thing);
    const values = request.body;
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'writemultipleproperties takes a JSON object of property values', { field: '/' });
    }
    const receipts = await thing.writeMultipleProperties(values as Record<string, unknown>);
    return sendWriteResult(reply, receipts, base);
  });

  app.get<{ Params: AffordanceParams }>(routePath(ROUTES.propertyLongPoll), async (request, reply) => {
    const { thing: ref, name } = request.params;
    const thing = ctx.registry.get(ref);
    const subscribe = (deliver: (change: PropertyChange) => void, end: () => void) => untilDestroyed(thing, thing.observeProperty(name, deliver), end);
    if (request.method === 'HEAD') return ctx.streams.head(reply, 'longpoll', subscribe);
    // No change within the window answers the current value: harmless for an observer, and
    // every answer is a value of the property's schema.
    const change = await ctx.streams.longPoll(reply, subscribe, ctx.longPollTimeoutMs, () => undefined);
    return sendJson(reply, change === undefined ? await thing.readProperty(name) : change.value);
  });

  app.get<{ Params: AffordanceParams }>(routePath(ROUTES.propertySse), async (request, reply) => {
    const { thing: ref, name } = request.params;
    return serveStream(ctx, request, reply, ctx.registry.get(ref), [{ kind: 'property', name }]);
  });
}

/** Action invocation (POST) and event subscription (long-poll and SSE) over HTTP. */
import type { FastifyInstance } from 'fastify';
import { FlowchainError } from '../../errors.js';
import type { ThingEvent } from '../../thing/exposed-thing.js';
import { sendJson, serveStream, untilDestroyed, type AffordanceParams, type HttpContext } from '../http-context.js';
import { topicsOf } from '../replay-log.js';

/**
 * Registers /things/:thing/actions/:name, /things/:thing/events/:name/{longpoll,sse} and
 * /things/:thing/events (subscribeallevents, SSE; FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND on a Thing
 * without events). A GET
 * or HEAD on an action (a client probing a form's URL) fails with 405
 * FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED and `Allow: POST` (RFC 9110 §15.5.6).
 */
export function interactionRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const guard = ctx.auth ? { onRequest: ctx.auth.guard() } : {};

  app.post<{ Params: AffordanceParams }>('/things/:thing/actions/:name', guard, async (request, reply) => {
    const output = await ctx.registry.get(request.params.thing).invokeAction(request.params.name, request.body);
    return output === undefined ? reply.code(204).send() : sendJson(reply, output);
  });

  app.get<{ Params: AffordanceParams }>('/things/:thing/actions/:name', async (request) => {
    const { thing: ref, name } = request.params;
    ctx.registry.get(ref).action(name);
    throw new FlowchainError('FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED', `action ${name} is invoked with POST`, { field: name });
  });

  app.get<{ Params: AffordanceParams }>('/things/:thing/events/:name/longpoll', async (request, reply) => {
    const { thing: ref, name } = request.params;
    const thing = ctx.registry.get(ref);
    const subscribe = (deliver: (e: ThingEvent) => void, end: () => void) => untilDestroyed(thing, thing.subscribeEvent(name, deliver), end);
    if (request.method === 'HEAD') return ctx.streams.head(reply, 'longpoll', subscribe);
    const event = await ctx.streams.longPoll(reply, subscribe, ctx.longPollTimeoutMs, () => undefined);
    // A Thing destroyed meanwhile ends the poll: 404, as a new request would get.
    ctx.registry.get(ref);
    // No event within the window: 204, and the consumer polls again.
    return event === undefined ? reply.code(204).send() : sendJson(reply, event.data);
  });

  app.get<{ Params: AffordanceParams }>('/things/:thing/events/:name/sse', async (request, reply) => {
    const { thing: ref, name } = request.params;
    return serveStream(ctx, request, reply, ctx.registry.get(ref), [{ kind: 'event', name }]);
  });

  app.get<{ Params: { thing: string } }>('/things/:thing/events', async (request, reply) => {
    const thing = ctx.registry.get(request.params.thing);
    const topics = topicsOf(thing, 'event');
    if (topics.length === 0) throw new FlowchainError('FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', `${thing.slug} has no events`, { field: 'events' });
    return serveStream(ctx, request, reply, thing, topics);
  });
}

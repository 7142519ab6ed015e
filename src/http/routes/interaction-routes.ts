/** Action invocation (POST) and event subscription (long-poll and SSE) over HTTP. */
import type { FastifyInstance } from 'fastify';
import type { ThingEvent } from '../../thing/exposed-thing.js';
import { sendJson, type AffordanceParams, type HttpContext } from '../http-context.js';

/** Registers /things/:thing/actions/:name and /things/:thing/events/:name/{longpoll,sse}. */
export function interactionRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const guard = ctx.auth ? { onRequest: ctx.auth.guard() } : {};

  app.post<{ Params: AffordanceParams }>('/things/:thing/actions/:name', guard, async (request, reply) => {
    const output = await ctx.registry.get(request.params.thing).invokeAction(request.params.name, request.body);
    return output === undefined ? reply.code(204).send() : sendJson(reply, output);
  });

  app.get<{ Params: AffordanceParams }>('/things/:thing/events/:name/longpoll', async (request, reply) => {
    const { thing: ref, name } = request.params;
    const thing = ctx.registry.get(ref);
    const event = await ctx.streams.longPoll(reply, (deliver: (e: ThingEvent) => void) => thing.subscribeEvent(name, deliver), ctx.longPollTimeoutMs, () => undefined);
    // No event within the window: 204, and the consumer polls again.
    return event === undefined ? reply.code(204).send() : sendJson(reply, event.data);
  });

  app.get<{ Params: AffordanceParams }>('/things/:thing/events/:name/sse', async (request, reply) => {
    const { thing: ref, name } = request.params;
    const thing = ctx.registry.get(ref);
    ctx.streams.sse(reply, name, (deliver: (data: unknown) => void) => thing.subscribeEvent(name, (event) => deliver(event.data)));
  });
}

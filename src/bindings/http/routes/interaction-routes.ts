/** Action invocation (POST; asynchronous actions queried and cancelled) and event subscription (long-poll and SSE) over HTTP. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FlowchainError } from '../../../errors.js';
import { isFinished, type ActionStatus } from '../../../thing/action-store.js';
import type { ExposedThing, ThingEvent } from '../../../thing/exposed-thing.js';
import { addVary, sendJson, serveStream, untilDestroyed, type AffordanceParams, type HttpContext } from '../http-context.js';
import { topicsOf } from '../replay-log.js';
import { acceptsEventStream } from '../streams.js';
import { href, routePath, ROUTES } from '../route-table.js';

/** Route parameters naming one invocation of an action. */
interface Invocation extends AffordanceParams {
  readonly id: string;
}

/**
 * Registers /things/:thing/actions/:name, the invocations of asynchronous actions
 * (/things/:thing/actions/:name/:id, /things/:thing/actions), /things/:thing/events/:name/
 * {longpoll,sse} and /things/:thing/events (subscribeallevents, SSE;
 * FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND on a Thing without events).
 *
 * A synchronous action answers its output (200, or 204 without one). An asynchronous one
 * (`"synchronous": false`) answers 201 with the new invocation's ActionStatus and its URL in
 * `Location` (WoT Profile, HTTP Basic Profile, "Asynchronous Action Response"); a GET of that
 * URL is queryaction (with `Accept: text/event-stream`, a stream of its statuses until it
 * finishes), a DELETE cancelaction (204; 409 FLOWCHAIN_ERR_ACTION_FINISHED once it finished;
 * 404 FLOWCHAIN_ERR_ACTION_NOT_FOUND for an id the Thing does not know), and a GET of the
 * Thing's actions URL queryallactions. A GET or HEAD on a synchronous action (a client probing a
 * form's URL) fails with 405 FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED and `Allow: POST`
 * (RFC 9110 §15.5.6); on an asynchronous one it lists its invocations.
 */
export function interactionRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const guard = ctx.auth ? { onRequest: ctx.auth.guard() } : {};
  /** An invocation as the HTTP binding shows it: its ActionStatus with its URL. */
  const shown = (request: FastifyRequest, thing: ExposedThing, status: ActionStatus) => ({
    ...status,
    href: `${ctx.descriptions.baseFor(request)}${href(ROUTES.invocation, { thing: thing.slug, name: status.action, id: status.id })}`,
  });

  app.post<{ Params: AffordanceParams }>(routePath(ROUTES.action), guard, async (request, reply) => {
    const thing = ctx.registry.get(request.params.thing);
    if (thing.action(request.params.name).synchronous === false) {
      const status = shown(request, thing, await thing.startAction(request.params.name, request.body));
      return reply.code(201).header('location', status.href).send(status);
    }
    const output = await thing.invokeAction(request.params.name, request.body);
    return output === undefined ? reply.code(204).send() : sendJson(reply, output);
  });

  app.get<{ Params: AffordanceParams }>(routePath(ROUTES.action), async (request) => {
    const { thing: ref, name } = request.params;
    const thing = ctx.registry.get(ref);
    if (thing.action(name).synchronous === false) return (thing.queryAllActions()[name] ?? []).map((status) => shown(request, thing, status));
    throw new FlowchainError('FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED', `action ${name} is invoked with POST`, { field: name });
  });

  app.get<{ Params: { thing: string } }>(routePath(ROUTES.actions), async (request) => {
    const thing = ctx.registry.get(request.params.thing);
    const all = thing.queryAllActions();
    return Object.fromEntries(Object.entries(all).map(([name, statuses]) => [name, statuses.map((status) => shown(request, thing, status))]));
  });

  app.get<{ Params: Invocation }>(routePath(ROUTES.invocation), async (request, reply) => {
    const { thing: ref, name, id } = request.params;
    const thing = ctx.registry.get(ref);
    const status = thing.queryAction(name, id);
    addVary(reply, 'accept');
    if (!acceptsEventStream(request.headers.accept)) return shown(request, thing, status);
    const follow = (deliver: (status: ActionStatus) => void, end: () => void) => {
      if (isFinished(status)) {
        queueMicrotask(end);
        return () => undefined;
      }
      return untilDestroyed(thing, thing.observeAction(name, id, (next) => {
        deliver(shown(request, thing, next));
        if (isFinished(next)) end();
      }), end);
    };
    if (request.method === 'HEAD') return ctx.streams.head(reply, 'sse', follow);
    ctx.streams.statusStream(reply, follow, [shown(request, thing, status)]);
  });

  app.delete<{ Params: Invocation }>(routePath(ROUTES.invocation), guard, async (request, reply) => {
    const { thing: ref, name, id } = request.params;
    await ctx.registry.get(ref).cancelAction(name, id);
    return reply.code(204).send();
  });

  app.get<{ Params: AffordanceParams }>(routePath(ROUTES.eventLongPoll), async (request, reply) => {
    const { thing: ref, name } = request.params;
    const thing = ctx.registry.get(ref);
    const subscribe = (deliver: (e: ThingEvent) => void, end: () => void) => untilDestroyed(thing, thing.subscribeEvent(name, deliver), end);
    if (request.method === 'HEAD') return ctx.streams.head(reply, 'longpoll', subscribe);
    // An event poll has a window only when the consumer asks for one (RFC 7240 `Prefer:
    // wait`): a consumer that knows none takes every 2xx answer for an event, so it gets
    // nothing but events (or an error).
    const wait = preferredWait(request.headers.prefer);
    const window = wait === undefined ? undefined : Math.min(wait * 1000, ctx.longPollTimeoutMs);
    const event = await ctx.streams.longPoll(reply, subscribe, window, () => undefined);
    // A Thing destroyed meanwhile ends the poll: 404, as a new request would get.
    ctx.registry.get(ref);
    if (event !== undefined) return sendJson(reply, event.data);
    // No event within the window: 204, and the consumer polls again.
    if (window !== undefined) reply.header('preference-applied', `wait=${Math.ceil(window / 1000)}`);
    return reply.code(204).send();
  });

  app.get<{ Params: AffordanceParams }>(routePath(ROUTES.eventSse), async (request, reply) => {
    const { thing: ref, name } = request.params;
    return serveStream(ctx, request, reply, ctx.registry.get(ref), [{ kind: 'event', name }]);
  });

  app.get<{ Params: { thing: string } }>(routePath(ROUTES.events), async (request, reply) => {
    const thing = ctx.registry.get(request.params.thing);
    const topics = topicsOf(thing, 'event');
    if (topics.length === 0) throw new FlowchainError('FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', `${thing.slug} has no events`, { field: 'events' });
    return serveStream(ctx, request, reply, thing, topics);
  });
}

/** The seconds of an RFC 7240 `Prefer: wait=N` header, if any. */
function preferredWait(prefer: string | string[] | undefined): number | undefined {
  const value = Array.isArray(prefer) ? prefer.join(',') : prefer;
  const match = /(?:^|[,;\s])wait\s*=\s*"?(\d{1,7})"?/i.exec(value ?? '');
  return match === null ? undefined : Number(match[1]);
}

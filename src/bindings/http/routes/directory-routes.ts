/**
 * Discovery: the Thing Description Directory API (W3C WoT Discovery §7.3.2) over this node's
 * hosted Things and the TDs registered here (and, through the ring, at every node), the node's
 * own TD at /.well-known/wot (WoT Discovery §6.2) and the health probe.
 *
 * `/things/{id}` names a Thing by its URL-encoded TD id or, for a Thing this node hosts, by
 * its slug (the segment of its interaction URLs). A TD id is an absolute URI and so has a
 * colon; a slug never has one, so the two never meet.
 *
 * Writes (PUT, POST, PATCH, DELETE) need the node's credentials when auth is on; their bodies
 * are refused past the body limit (413) and in a media type other than the operation's (415).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { compile, JSONPathError } from 'json-p3';
import { FlowchainError } from '../../../errors.js';
import type { DirectoryChange } from '../../../directory/td-directory.js';
import type { ThingDescription } from '../../../td/thing-description.js';
import type { ExposedThing } from '../../../thing/exposed-thing.js';
import { acceptJson, type HttpContext } from '../http-context.js';
import type { Notification } from '../replay-log.js';
import { routePath, ROUTES } from '../route-table.js';

const TD_TYPE = 'application/td+json';
const LISTING_TYPE = 'application/ld+json';
const MERGE_PATCH_TYPE = 'application/merge-patch+json';

/** The stream of directory notifications in the node's replay log. */
export const DIRECTORY_STREAM = 'directory';

/** A hosted Thing that joined or left the node, as the directory's stream carries it. */
export interface HostedChange {
  readonly type: 'thing_created' | 'thing_deleted';
  readonly id: string;
  readonly thing: ExposedThing;
}

/** The notification types of WoT Discovery §7.3.2.3, by URL segment. */
const EVENT_TYPES = ['thing_created', 'thing_updated', 'thing_deleted'] as const;

type ThingParams = { Params: { thing: string } };
type ListQuery = { Querystring: { offset?: unknown; limit?: unknown; scope?: unknown } };

/** Registers the read side: GET /things, GET|HEAD /things/:thing, GET /things/:thing/validation, GET /search/jsonpath, GET /events[/:type], GET /.well-known/wot and GET /health. */
export function directoryRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const started = ctx.clock.now();

  // WoT Discovery §7.3.2.1.5: the listing, a JSON array, paged with offset and limit; a page
  // that is not the last links the next one.
  app.get<ListQuery>(routePath(ROUTES.things), async (request, reply) => {
    const offset = count(request.query.offset, 'offset', 0) ?? 0;
    const limit = count(request.query.limit, 'limit', 1);
    const texts = (await listing(ctx, request, scopeOf(request.query.scope))).map((listed) => listed.text);
    const end = limit === undefined ? texts.length : Math.min(texts.length, offset + limit);
    const scope = request.query.scope === undefined ? '' : `&scope=${encodeURIComponent(String(request.query.scope))}`;
    if (limit !== undefined && end < texts.length) reply.header('link', `</things?offset=${end}&limit=${limit}${scope}>; rel="next"`);
    return reply.type(LISTING_TYPE).send(`[${texts.slice(offset, end).join(',')}]`);
  });

  app.get<ThingParams>(routePath(ROUTES.thing), async (request, reply) => {
    const ref = request.params.thing;
    const thing = hosted(ctx, ref);
    if (thing !== undefined) return reply.type(TD_TYPE).send(ctx.descriptions.thing(thing, ctx.descriptions.baseFor(request)));
    // A TD id is an absolute URI: a ref without a colon is a slug, and only this node's.
    const td = ref.includes(':') ? await ctx.tdd?.find(ref) : undefined;
    if (td === undefined) throw new FlowchainError('FLOWCHAIN_ERR_THING_NOT_FOUND', `no Thing ${ref} on this node or in the ring`, { field: 'thing' });
    return reply.type(TD_TYPE).send(JSON.stringify(td));
  });

  // Whether the TD as served to this client validates against the W3C TD 1.1 JSON Schema.
  const validator = ctx.validator;
  if (validator) {
    app.get<ThingParams>(routePath(ROUTES.thingValidation), async (request) => {
      const thing = ctx.registry.get(request.params.thing);
      const fault = validator.explain(ctx.descriptions.describe(thing, ctx.descriptions.baseFor(request)));
      return { valid: fault === undefined, schema: 'W3C WoT TD 1.1 JSON Schema', ...fault };
    });
  }

  // WoT Discovery §7.3.2.4 (JSONPath, RFC 9535): the values the query selects from the listing.
  app.get<{ Querystring: { query?: unknown; scope?: unknown } }>(routePath(ROUTES.searchJsonPath), async (request, reply) => {
    const text = request.query.query;
    if (typeof text !== 'string' || text === '') throw new FlowchainError('FLOWCHAIN_ERR_DIRECTORY_QUERY_INVALID', 'give one JSONPath expression as the query parameter', { field: 'query' });
    let query;
    try {
      query = compile(text);
    } catch (err) {
      if (!(err instanceof JSONPathError)) throw err;
      throw new FlowchainError('FLOWCHAIN_ERR_DIRECTORY_QUERY_INVALID', `not a JSONPath expression: ${err.message}`, { field: 'query', cause: err });
    }
    const tds = (await listing(ctx, request, scopeOf(request.query.scope))).map((listed) => listed.td ?? (JSON.parse(listed.text) as ThingDescription));
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(query.query(tds as never).values()));
  });

  // WoT Discovery §7.3.2.3: notifications over SSE, resumable with Last-Event-ID.
  const events = async (request: FastifyRequest<{ Params: { type?: string }; Querystring: { diff?: unknown } }>, reply: FastifyReply): Promise<void> => {
    const type = request.params.type;
    if (type !== undefined && !(EVENT_TYPES as readonly string[]).includes(type)) throw new FlowchainError('FLOWCHAIN_ERR_ROUTE_NOT_FOUND', `no event type ${type}: there are ${EVENT_TYPES.join(', ')}`);
    const diff = request.query.diff;
    if (diff !== undefined && diff !== 'true' && diff !== 'false') throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'diff is true or false', { field: 'diff' });
    const wanted = (n: Notification): boolean => type === undefined || n.name === type;
    const base = ctx.descriptions.baseFor(request);
    const shaped = (n: Notification): Notification => ({ ...n, data: eventData(ctx, n.data as DirectoryChange | HostedChange, diff === 'true', base) });
    const follow = (deliver: (n: Notification) => void) => ctx.replay.followStream(DIRECTORY_STREAM, (n) => wanted(n) && deliver(shaped(n)));
    if (request.method === 'HEAD') return ctx.streams.head(reply, 'sse', follow);
    const after = ctx.replay.resumePoint(request.headers['last-event-id']);
    const missed = after === undefined ? [] : ctx.replay.replayStream(DIRECTORY_STREAM, after).filter(wanted).map(shaped);
    ctx.streams.sse(reply, follow, missed);
  };
  app.get(routePath(ROUTES.directoryEvents), events);
  app.get(routePath(ROUTES.directoryEvent), events);

  app.get(routePath(ROUTES.wellKnown), async (request, reply) => reply.type(TD_TYPE).send(ctx.descriptions.node(ctx.descriptions.baseFor(request))));

  app.get('/health', async () => ({
    status: 'ok',
    things: ctx.registry.list().length,
    uptimeSeconds: Math.round((ctx.clock.now() - started) / 1000),
  }));
}

/**
 * Registers the write side of the directory (WoT Discovery §7.3.2.1): PUT, PATCH and DELETE
 * /things/:thing and POST /things. Call it in a context of its own: it adds the media types
 * of TDs and merge patches, which no other route takes.
 */
export function directoryWriteRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const tdd = ctx.tdd;
  if (tdd === undefined) return;
  acceptJson(app, [TD_TYPE, MERGE_PATCH_TYPE]);
  const guard = ctx.auth ? { onRequest: ctx.auth.guard() } : {};

  app.put<ThingParams>(routePath(ROUTES.thing), guard, async (request, reply) => {
    mediaType(request, [TD_TYPE, 'application/json']);
    const created = await tdd.put(request.params.thing, request.body);
    if (created) reply.header('location', location(ctx, request, request.params.thing));
    return reply.code(created ? 201 : 204).send();
  });

  app.post(routePath(ROUTES.things), guard, async (request, reply) => {
    mediaType(request, [TD_TYPE, 'application/json']);
    const id = await tdd.create(request.body);
    return reply.code(201).header('location', location(ctx, request, id)).send();
  });

  app.patch<ThingParams>(routePath(ROUTES.thing), guard, async (request, reply) => {
    mediaType(request, [MERGE_PATCH_TYPE]);
    await tdd.patch(request.params.thing, request.body);
    return reply.code(204).send();
  });

  app.delete<ThingParams>(routePath(ROUTES.thing), guard, async (request, reply) => {
    await tdd.remove(request.params.thing);
    return reply.code(204).send();
  });
}

/**
 * The TDs of the listing, as JSON texts and (but for the hosted Things', rendered per base as
 * text) objects: this node's hosted Things, the TDs registered here, then (scope `ring`)
 * those the ring's directory, held in memory, has from every other node.
 */
async function listing(ctx: HttpContext, request: FastifyRequest, scope: 'local' | 'ring'): Promise<{ readonly text: string; readonly td?: ThingDescription }[]> {
  const hosted = ctx.descriptions.texts(ctx.descriptions.baseFor(request)).map((text) => ({ text }));
  const tdd = ctx.tdd;
  if (tdd === undefined) return hosted;
  return [...hosted, ...tdd.listed(), ...(scope === 'ring' ? await tdd.others() : [])];
}

/** The `scope` query parameter: `ring` (the default, every node's Things) or `local` (this node's). */
function scopeOf(value: unknown): 'local' | 'ring' {
  if (value === undefined || value === 'ring') return 'ring';
  if (value === 'local') return 'local';
  throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'scope is local or ring', { field: 'scope' });
}

/** The Thing this node hosts under slug or id `ref`, if any. */
function hosted(ctx: HttpContext, ref: string): ExposedThing | undefined {
  return ctx.registry.has(ref) ? ctx.registry.get(ref) : undefined;
}

/** What a notification sends (WoT Discovery §7.3.2.3): the TD's id; with diff, the whole new TD or the changes. */
function eventData(ctx: HttpContext, change: DirectoryChange | HostedChange, diff: boolean, base: string): unknown {
  if (!diff || change.type === 'thing_deleted') return { id: change.id };
  if ('thing' in change) return ctx.descriptions.describe(change.thing, base);
  if (change.type === 'thing_created') return change.td;
  return { ...change.diff, id: change.id };
}

/** The URL of a registered TD. */
function location(ctx: HttpContext, request: FastifyRequest, id: string): string {
  return `${ctx.descriptions.baseFor(request)}things/${encodeURIComponent(id)}`;
}

/** FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED unless the body came in one of `types` (parameters aside). */
function mediaType(request: FastifyRequest, types: readonly string[]): void {
  const given = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (given === undefined || !types.includes(given)) throw new FlowchainError('FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED', `send the body as ${types.join(' or ')}`, { field: 'content-type' });
}

/** A non-negative integer query parameter of at least `min`, or undefined when absent; FLOWCHAIN_ERR_REQUEST_MALFORMED otherwise. */
function count(value: unknown, field: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min)) throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', `${field} is an integer of at least ${min}`, { field });
  return n;
}

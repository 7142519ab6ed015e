/** What every route module of the HTTP layer is handed by the app builder. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JournalReceipt } from '../../thing/change-journal.js';
import type { ExposedThing, Unsubscribe } from '../../thing/exposed-thing.js';
import type { Clock } from '../../common/clock.js';
import type { ThingRegistry } from '../../thing/thing-registry.js';
import type { HttpAuth } from './auth.js';
import type { Descriptions } from './descriptions.js';
import type { Notification, ReplayLog, Topic } from './replay-log.js';
import type { StreamTracker } from './streams.js';
import type { TdValidator } from '../../td/td-validator.js';
import type { TdDirectory } from '../../directory/td-directory.js';
import type { HistoryKind, HistoryPage, HistoryQuery } from '../../history/thing-history.js';
import { href, RECEIPT_REL, ROUTES } from './route-table.js';

/** Shared collaborators of the routes. */
export interface HttpContext {
  readonly registry: ThingRegistry;
  readonly descriptions: Descriptions;
  /** Present when writes and actions require credentials (bearer, Basic, or either). */
  readonly auth: HttpAuth | undefined;
  readonly streams: StreamTracker;
  /** Every Thing's recent notifications, with the ids SSE and the WebSocket protocol share. */
  readonly replay: ReplayLog;
  readonly clock: Clock;
  readonly longPollTimeoutMs: number;
  /** Receipts, when the node records its changes. */
  readonly ledger: LedgerView | undefined;
  /** Checks served TDs against the TD 1.1 JSON Schema, when given. */
  readonly validator: TdValidator | undefined;
  /** The TDs registered at this node and the ring's entries; without it the directory is read-only and local. */
  readonly tdd: TdDirectory | undefined;
}

/** The broker as the HTTP layer uses it. */
export interface LedgerView {
  /** A transaction's receipt by id or H_DATA; FLOWCHAIN_ERR_TX_NOT_FOUND when unknown. */
  receipt(id: string): Promise<object>;
}

/** The node's history of its Things' values and events (history/thing-history.ts). */
export interface HistoryView {
  query(kind: HistoryKind, thing: string, name: string, query: HistoryQuery): Promise<HistoryPage>;
}

/** The node's own chain, as the HTTP layer browses it. */
export interface ChainView {
  /** Height, head, pending count, difficulty, last anchor. */
  summary(): { readonly height: number };
  /** Blocks from height `from`, oldest first, at most `limit`. */
  blocks(from: number, limit: number): Promise<readonly { readonly txIds: readonly string[] }[]>;
  /** A block by height or hash; FLOWCHAIN_ERR_BLOCK_NOT_FOUND when there is none. */
  block(ref: string): Promise<object>;
  anchors(): readonly object[];
}


/**
 * Answers a write (always 204: the value is applied and stored) with what became of its
 * transactions: `Flowchain-Tx-Status` is `stored` once every owner stored them, `queued`
 * while any still waits in the outbox and `refused` if an owner rejected one for good, `Flowchain-Tx-Id` lists the transaction ids known, and
 * a `Link` per transaction points at its receipt (by id, or by H_DATA while queued). Once
 * stored, `Flowchain-Tx-Copies` says how many members proved they hold the transaction (the
 * fewest among the write's transactions) and `Flowchain-Tx-Quorum` how many were required
 * (the configured quorum, or the ring's size where the ring is smaller).
 */
export function sendWriteResult(reply: FastifyReply, receipts: readonly JournalReceipt[], base: string): FastifyReply {
  const ids = receipts.flatMap((r) => (r.txId === undefined ? [] : [r.txId]));
  if (ids.length > 0) reply.header('flowchain-tx-id', ids.join(', '));
  if (receipts.length > 0) {
    reply.header('link', receipts.map((r) => `<${base}${href(ROUTES.receipt, { id: r.txId ?? r.key })}>; rel="${RECEIPT_REL}"; ${linkTitle(r.property)}`).join(', '));
  }
  const worst = (['refused', 'queued', 'stored'] as const).find((status) => receipts.some((r) => r.status === status));
  if (worst !== undefined) reply.header('flowchain-tx-status', worst);
  const stored = receipts.filter((r) => r.copies !== undefined && r.required !== undefined);
  if (worst === 'stored' && stored.length > 0) {
    reply.header('flowchain-tx-copies', String(Math.min(...stored.map((r) => r.copies!))));
    reply.header('flowchain-tx-quorum', String(Math.max(...stored.map((r) => r.required!))));
  }
  return reply.code(204).send();
}

/**
 * The title parameter of a Link (RFC 8288 §3.4.1): printable ASCII as a quoted string,
 * anything else as `title*` in RFC 8187 encoding, since a header value cannot carry it and the
 * write it describes has already been applied.
 */
function linkTitle(property: string): string {
  if (/^[\x20-\x7e]*$/.test(property)) return `title="${property.replace(/["\\]/g, '\\$&')}"`;
  return `title*=UTF-8''${encodeURIComponent(property).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/** Route parameters naming a Thing and one of its affordances. */
export interface AffordanceParams {
  readonly thing: string;
  readonly name: string;
}

/**
 * Takes the JSON bodies of `types` in `app`'s context: fastify's own JSON parser (errors as
 * problems, prototype poisoning refused), and an empty body as no input.
 */
export function acceptJson(app: FastifyInstance, types: string | string[]): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser(types, { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    return parseJson(request, body as string, done);
  });
}

/**
 * Adds `field` to the answer's Vary (RFC 9110 §12.5.5) without dropping what is there: CORS
 * sets `origin` before the route, and a route whose answer depends on Accept adds `accept`.
 */
export function addVary(reply: FastifyReply, field: string): void {
  const current = reply.getHeader('vary');
  reply.header('vary', current === undefined ? field : `${String(current)}, ${field}`);
}

/**
 * Sends an interaction value as application/json. Needed because fastify sends a bare string
 * as text/plain, and a string property's value must arrive as a JSON string.
 */
export function sendJson(reply: FastifyReply, value: unknown): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(value ?? null));
}

/** A subscription on `thing` that also calls `end` if the Thing is destroyed; the unsubscribe ends both. */
export function untilDestroyed(thing: ExposedThing, subscription: Unsubscribe, end: () => void): Unsubscribe {
  const ended = thing.onDestroy(end);
  return () => {
    ended();
    subscription();
  };
}

/**
 * Serves an SSE stream of `topics` on `thing` (a HEAD gets its headers at once): it resumes
 * after the request's Last-Event-ID when that is an id the node issued, and otherwise starts
 * live with the current values. It ends when the Thing is destroyed. Throws, before anything is
 * sent, what the Thing's reads and subscriptions throw: FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND,
 * FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY, FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED, a read handler's.
 */
export async function serveStream(ctx: HttpContext, request: FastifyRequest, reply: FastifyReply, thing: ExposedThing, topics: readonly Topic[]): Promise<void> {
  const follow = (deliver: (notification: Notification) => void, end: () => void): Unsubscribe => untilDestroyed(thing, ctx.replay.follow(thing, topics, deliver), end);
  if (request.method === 'HEAD') return ctx.streams.head(reply, 'sse', follow);
  // The current values come from read handlers, which take their time: a change while they
  // run is taken as the current value, so the stream, which opens and follows in one turn
  // after them, misses nothing.
  const properties = topics.filter((topic) => topic.kind === 'property').map((topic) => topic.name);
  const changed = new Map<string, unknown>();
  // Passive: the consumer starts watching once the stream follows, not twice.
  const watching = ctx.replay.follow(thing, topics.filter((topic) => topic.kind === 'property'), (n) => changed.set(n.name, n.data), { passive: true });
  let current: Map<string, unknown>;
  try {
    current = new Map(await Promise.all(properties.map(async (name): Promise<[string, unknown]> => [name, await thing.readProperty(name)])));
  } finally {
    watching();
  }
  for (const [name, value] of changed) current.set(name, value);
  ctx.streams.sse(reply, follow, ctx.replay.opening(thing, topics, request.headers['last-event-id'], (name) => current.get(name)));
}

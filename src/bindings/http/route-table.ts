/**
 * The HTTP binding's one route table: every URL the node serves a Thing's interactions (and
 * the resources its TDs link to) under, written once. The fastify routes are registered from
 * {@link routePath}, and the forms and links of every served TD are written with {@link href},
 * so the two cannot drift. The binding's other shared names live here too: the WebSocket
 * sub-protocol and the receipt link relation.
 *
 * URL layout (relative to the TD's `base`; clients never need it, only the forms):
 *   things/{thing}/properties                    GET all, POST read multiple, PUT write multiple;
 *                                                GET with Accept: text/event-stream observes all (SSE)
 *   things/{thing}/properties/{name}             GET read, PUT write
 *   things/{thing}/properties/{name}/longpoll    observe, long-poll
 *   things/{thing}/properties/{name}/sse         observe, Server-Sent Events
 *   things/{thing}/properties/{name}/history     past values (a version-history link)
 *   things/{thing}/actions/{name}                POST invoke; of an asynchronous action, GET lists its invocations
 *   things/{thing}/actions/{name}/{id}           an invocation's ActionStatus: GET query, DELETE cancel
 *   things/{thing}/actions                       GET every invocation (queryallactions)
 *   things/{thing}/events/{name}/longpoll|sse    subscribe
 *   things/{thing}/events/{name}/history         past occurrences (a version-history link)
 *   things/{thing}/events                        subscribe to all (SSE)
 *   ws                                           the WebSocket protocol (docs/websocket-protocol.md)
 *   ledger/tx/{id}                               a write's transaction receipt
 * and the directory's: things, things/{id}, search/jsonpath, events, events/{type}, .well-known/wot.
 */

/** The WebSocket sub-protocol name announced in forms and in Sec-WebSocket-Protocol. */
export const WS_SUBPROTOCOL = 'flowchain.v1';

/** The link relation of a write's receipt (an extension relation, RFC 8288 §2.1.2). */
export const RECEIPT_REL = 'https://w3id.org/flowchain#receipt';

/** Every route, as a path relative to the base whose `{variables}` are one segment each. */
export const ROUTES = {
  things: 'things',
  thing: 'things/{thing}',
  thingValidation: 'things/{thing}/validation',
  properties: 'things/{thing}/properties',
  property: 'things/{thing}/properties/{name}',
  propertyLongPoll: 'things/{thing}/properties/{name}/longpoll',
  propertySse: 'things/{thing}/properties/{name}/sse',
  propertyHistory: 'things/{thing}/properties/{name}/history',
  actions: 'things/{thing}/actions',
  action: 'things/{thing}/actions/{name}',
  invocation: 'things/{thing}/actions/{name}/{id}',
  events: 'things/{thing}/events',
  eventLongPoll: 'things/{thing}/events/{name}/longpoll',
  eventSse: 'things/{thing}/events/{name}/sse',
  eventHistory: 'things/{thing}/events/{name}/history',
  ws: 'ws',
  receipt: 'ledger/tx/{id}',
  searchJsonPath: 'search/jsonpath',
  directoryEvents: 'events',
  directoryEvent: 'events/{type}',
  wellKnown: '.well-known/wot',
} as const;

/** A route of {@link ROUTES}. */
export type Route = (typeof ROUTES)[keyof typeof ROUTES];

/** The fastify route of `route`: absolute, with `:variable` parameters. */
export function routePath(route: Route): string {
  return `/${route.replace(/\{(\w+)\}/g, ':$1')}`;
}

/** `route` with its variables filled in, each URL-encoded as one path segment (relative to the base). */
export function href(route: Route, values: Readonly<Record<string, string>>): string {
  return route.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name]!));
}

/** The receipt URL of a transaction (by id, or by H_DATA while queued) under a node's HTTP base. */
export function receiptUrl(base: string | URL, ref: string): string {
  return new URL(href(ROUTES.receipt, { id: ref }), base).href;
}

/** The transaction id a receipt URL names, if it names one by id (64 hex digits). */
export function receiptTxId(url: string): string | undefined {
  return /ledger\/tx\/([0-9a-f]{64})$/.exec(url)?.[1];
}

/** The WebSocket URL of the endpoint under an HTTP base (`http:` → `ws:`, `https:` → `wss:`). */
export function webSocketUrl(base: string, path: string = ROUTES.ws): string {
  const url = new URL(path, base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

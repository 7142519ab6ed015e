/**
 * The HTTP binding's client side: four client bindings, one per way its forms are followed,
 * so that a consumer's preference (ConsumeOptions `bindings`) can rank them:
 *
 * - `http`: plain HTTP exchanges (reads, writes, invocations, asynchronous actions through
 *   their status URL);
 * - `sse`: observations and subscriptions as Server-Sent Events (the HTTP SSE Profile);
 * - `longpoll`: observations and subscriptions as long-polls;
 * - `ws`: everything, over one `flowchain.v1` WebSocket per endpoint and consumed Thing.
 *
 * A write to a Flowchain node answers what became of its transactions (`Flowchain-Tx-*`
 * headers and receipt links over HTTP, a `transactions` member over the WebSocket): both are
 * read into a WriteResult. Rejections as exchange.ts documents.
 */
import { FlowchainError } from '../../../errors.js';
import type { Form } from '../../../td/thing-description.js';
import { actionStatus, answered, type ClientBinding, type ClientContext, type RemoteActionStatus, type ResolvedForm, type WriteResult } from '../../../thing/protocol-binding.js';
import { RECEIPT_REL, receiptTxId, receiptUrl, WS_SUBPROTOCOL } from '../route-table.js';
import { followLongPoll, followSse, httpExchange, WsConnection, type HttpAnswer, type Stream } from './exchange.js';

/** RFC 9110 §9.3.1, §9.3.2: content in a GET or HEAD request has no defined meaning (and fetch refuses it). */
const BODYLESS = new Set(['GET', 'HEAD']);

const isHttp = (url: URL): boolean => url.protocol === 'http:' || url.protocol === 'https:';
const isSse = (form: Form): boolean => form.subprotocol === 'sse' || form.contentType?.startsWith('text/event-stream') === true;

/** One HTTP exchange over `form`; `body` goes out only where the form carries one (not GET or HEAD, whose input went into URI variables). */
function exchange(ctx: ClientContext, form: ResolvedForm, body?: unknown): Promise<HttpAnswer> {
  const sent = form.sendsBody ? body : undefined;
  const headers = { ...ctx.headers(form), accept: 'application/json', ...(sent === undefined ? {} : { 'content-type': form.contentType }) };
  return httpExchange(form.url, { method: form.method, headers, ...(sent === undefined ? {} : { body: JSON.stringify(sent) }), timeoutMs: ctx.timeoutMs });
}

/** A stream the consumer follows, once the server took it. */
async function streaming(stream: Stream): Promise<Stream> {
  await stream.ready;
  return stream;
}

/** Plain HTTP forms: no subprotocol, http: or https:. */
export const httpClient: ClientBinding = {
  name: 'http',
  accepts: (form, url) => isHttp(url) && !isSse(form) && form.subprotocol === undefined,
  sendsBody: (method) => !BODYLESS.has(method.toUpperCase()),
  readProperty: async (ctx, form) => (await exchange(ctx, form)).body,
  writeProperty: async (ctx, form, _name, value) => httpWriteResult(await exchange(ctx, form, value)),
  readMultipleProperties: async (ctx, form, names) => (await exchange(ctx, form, names)).body as Record<string, unknown>,
  writeMultipleProperties: async (ctx, form, values) => httpWriteResult(await exchange(ctx, form, values)),
  invokeAction: async (ctx, form, _name, input) => (await exchange(ctx, form, input)).body,
  // WoT Profile, "Asynchronous Action Response": the invocation's status URL is the Location.
  startAction: async (ctx, form, _name, input) => {
    const answer = await exchange(ctx, form, input);
    const status = actionStatus(answer.body, form.url);
    const location = answer.headers.get('location');
    if (location === null) throw new FlowchainError('FLOWCHAIN_ERR_REMOTE_FAILED', `${form.url.href}: an asynchronous action answered no Location`, { field: 'location' });
    const href = new URL(location, form.url);
    const at = (method: string): ResolvedForm => ({ ...form, url: href, method, sendsBody: false });
    return {
      status,
      query: async () => actionStatus((await answered(exchange(ctx, at('GET')))).body, href),
      cancel: async () => void (await exchange(ctx, at('DELETE'))),
    };
  },
};

/** SSE forms (the `sse` subprotocol, or a text/event-stream content type). */
export const sseClient: ClientBinding = {
  name: 'sse',
  accepts: (form, url) => isHttp(url) && isSse(form),
  sendsBody: (method) => !BODYLESS.has(method.toUpperCase()),
  observeProperty: (ctx, form, _name, onValue, onError) => streaming(followSse(form.url, ctx.headers(form), onValue, onError)),
  subscribeEvent: (ctx, form, _name, onValue, onError) => streaming(followSse(form.url, ctx.headers(form), onValue, onError)),
};

/** A poll is held for as long as the consumer's timeout allows, and a minute more. */
const LONG_POLL_EXTRA_MS = 60_000;

/** Long-poll forms (the `longpoll` subprotocol). */
export const longPollClient: ClientBinding = {
  name: 'longpoll',
  accepts: (form, url) => isHttp(url) && !isSse(form) && form.subprotocol === 'longpoll',
  sendsBody: (method) => !BODYLESS.has(method.toUpperCase()),
  observeProperty: (ctx, form, _name, onValue, onError) => streaming(followLongPoll(form.url, ctx.headers(form), ctx.timeoutMs + LONG_POLL_EXTRA_MS, onValue, onError)),
  subscribeEvent: (ctx, form, _name, onValue, onError) => streaming(followLongPoll(form.url, ctx.headers(form), ctx.timeoutMs + LONG_POLL_EXTRA_MS, onValue, onError)),
};

/** The `flowchain.v1` WebSocket of a form, one per endpoint for each consumed Thing. */
function socketOf(ctx: ClientContext, form: ResolvedForm): WsConnection {
  return ctx.keep(`ws ${form.url.href}`, () => new WsConnection(form.url, ctx.headers(form), ctx.timeoutMs));
}

const thingIdOf = (ctx: ClientContext): string => ctx.td.id ?? ctx.td.title;

function wsRequest(ctx: ClientContext, form: ResolvedForm, request: Record<string, unknown>) {
  return socketOf(ctx, form).request({ thingID: thingIdOf(ctx), ...request });
}

/** Follows a property's changes or an event's notifications over the WebSocket. */
async function wsFollow(ctx: ClientContext, form: ResolvedForm, kind: 'property' | 'event', name: string, onValue: (value: unknown) => void) {
  const socket = socketOf(ctx, form);
  const thingID = thingIdOf(ctx);
  const off = socket.onNotification((message) => {
    if (message.thingID !== thingID || message.name !== name) return;
    if (kind === 'property' && message.type === 'propertyChange') onValue(message.value);
    if (kind === 'event' && message.type === 'event') onValue(message.data);
  });
  try {
    await socket.request({ thingID, op: kind === 'property' ? 'observeproperty' : 'subscribeevent', name });
  } catch (err) {
    off();
    throw err;
  }
  return {
    stop: () => {
      off();
      void socket.request({ thingID, op: kind === 'property' ? 'unobserveproperty' : 'unsubscribeevent', name }).catch(() => undefined);
    },
  };
}

/** Forms of the `flowchain.v1` WebSocket (ws: or wss:). */
export const wsClient: ClientBinding = {
  name: 'ws',
  accepts: (form, url) => (url.protocol === 'ws:' || url.protocol === 'wss:') && form.subprotocol === WS_SUBPROTOCOL,
  // A WebSocket message always carries the input.
  sendsBody: () => true,
  readProperty: async (ctx, form, name) => (await wsRequest(ctx, form, { op: 'readproperty', name })).value,
  writeProperty: async (ctx, form, name, value) => wsWriteResult(await wsRequest(ctx, form, { op: 'writeproperty', name, value }), httpBase(ctx, form)),
  readMultipleProperties: async (ctx, form, names) => (await wsRequest(ctx, form, { op: 'readmultipleproperties', names })).value as Record<string, unknown>,
  writeMultipleProperties: async (ctx, form, values) => wsWriteResult(await wsRequest(ctx, form, { op: 'writemultipleproperties', values }), httpBase(ctx, form)),
  invokeAction: async (ctx, form, name, input) => (await wsRequest(ctx, form, { op: 'invokeaction', name, ...(input === undefined ? {} : { input }) })).value,
  startAction: async (ctx, form, name, input) => {
    const status: RemoteActionStatus = actionStatus((await wsRequest(ctx, form, { op: 'invokeaction', name, ...(input === undefined ? {} : { input }) })).value, form.url);
    const actionID = status.id;
    return {
      status,
      query: async () => actionStatus((await answered(wsRequest(ctx, form, { op: 'queryaction', name, actionID }))).value, form.url),
      cancel: async () => void (await wsRequest(ctx, form, { op: 'cancelaction', name, actionID })),
    };
  },
  observeProperty: (ctx, form, name, onValue) => wsFollow(ctx, form, 'property', name, onValue),
  subscribeEvent: (ctx, form, name, onValue) => wsFollow(ctx, form, 'event', name, onValue),
};

/** The HTTP binding's client bindings, in the default order of preference. */
export const HTTP_CLIENT_BINDINGS: readonly ClientBinding[] = [httpClient, sseClient, longPollClient, wsClient];

/** The HTTP base of the node behind a form: the TD's base, or the form's origin. */
function httpBase(ctx: ClientContext, form: ResolvedForm): URL {
  if (typeof ctx.td.base === 'string') return new URL(ctx.td.base);
  return new URL(`${form.url.protocol === 'wss:' ? 'https:' : 'http:'}//${form.url.host}/`);
}

/** What a Flowchain node's answer to an HTTP write says of its transactions. */
function httpWriteResult(answer: HttpAnswer): WriteResult {
  const ids = (answer.headers.get('flowchain-tx-id') ?? '').split(',').map((id) => id.trim()).filter((id) => id !== '');
  const links = (answer.headers.get('link') ?? '').split(/,(?=\s*<)/).flatMap((link) => {
    const match = /<([^>]+)>\s*;(.*)$/.exec(link.trim());
    if (match === null || !match[2]!.includes(`rel="${RECEIPT_REL}"`)) return [];
    const title = /title\*?=(?:"([^"]*)"|UTF-8''([^;\s]+))/.exec(match[2]!);
    return [{ receipt: match[1]!, property: title?.[1] ?? decodeURIComponent(title?.[2] ?? '') }];
  });
  return {
    status: answer.headers.get('flowchain-tx-status') ?? undefined,
    transactions: links.map((link) => {
      const id = receiptTxId(link.receipt);
      return id !== undefined && ids.includes(id) ? { ...link, txId: id } : link;
    }),
  };
}

/** What a `flowchain.v1` write result says of its transactions; receipts are on the node's HTTP side (`base`). */
function wsWriteResult(message: { readonly transactions?: readonly unknown[] }, base: URL): WriteResult {
  const receipts = (message.transactions ?? []) as { key: string; property: string; txId?: string; status: string }[];
  const worst = (['refused', 'queued', 'stored'] as const).find((status) => receipts.some((r) => r.status === status));
  return {
    status: worst,
    transactions: receipts.map((r) => ({ property: r.property, receipt: receiptUrl(base, r.txId ?? r.key), ...(r.txId === undefined ? {} : { txId: r.txId }) })),
  };
}

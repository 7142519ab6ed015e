/**
 * HTTP streaming for observe and subscribe: Server-Sent Events (WHATWG HTML §9.2) and
 * long-poll. Every open stream is tracked so the server can end them on shutdown, and a
 * stream whose client stops reading is ended rather than buffered without bound. SSE messages
 * carry the ids of the node's {@link ReplayLog}-numbered notifications, which a consumer
 * resumes from with Last-Event-ID (the routes compute what it missed). A HEAD on a
 * stream's URL is answered at once with the headers its GET would carry (RFC 9110 §9.3.2):
 * clients probe long-poll URLs with a HEAD and a short timeout before they poll.
 */
import type { FastifyReply } from 'fastify';
import type { Clock, Timer } from '../../common/clock.js';
import { FlowchainError } from '../../errors.js';
import type { Unsubscribe } from '../../thing/exposed-thing.js';
import { formatNotificationId, type Notification, type ReplayLog } from './replay-log.js';

/** A comment line every so often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
/** Clients reconnect after this long (the SSE `retry` field). */
const RETRY_MS = 2_000;

/** The header fields of an SSE response. */
const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const;

/** The header fields a long-poll answers with (its body is the JSON value it waited for). */
const LONG_POLL_HEADERS = { 'content-type': 'application/json; charset=utf-8' } as const;

/**
 * The Vary and CORS headers set before the stream took over the response (hijacked responses
 * skip fastify's headers), so a browser on another allowed origin can read the stream.
 */
function varyHeader(reply: FastifyReply): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if ((name === 'vary' || name.startsWith('access-control-')) && value !== undefined) kept[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return kept;
}

/** Whether an Accept header asks for an event stream (RFC 9110 §12.5.1; a q of 0 refuses it). */
export function acceptsEventStream(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((range) => {
    const [type, ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    return type === 'text/event-stream' && !parameters.some((p) => /^q=0(\.0{0,3})?$/.test(p));
  });
}

/** Which kind of stream a URL serves, for {@link StreamTracker.head}. */
export type StreamKind = 'sse' | 'longpoll';

/**
 * Subscribes a delivery callback; returns how to unsubscribe. `end` ends the stream from the
 * source's side (its Thing was destroyed).
 */
export type Subscribe<T> = (deliver: (item: T) => void, end: () => void) => Unsubscribe;

/** Open SSE streams and pending long-polls of one server. */
export class StreamTracker {
  readonly #open = new Set<() => void>();
  #closing = false;
  readonly #clock: Clock;
  readonly #bufferLimit: number;

  constructor(clock: Clock, bufferLimit: number) {
    this.#clock = clock;
    this.#bufferLimit = bufferLimit;
  }

  /** How many streams and polls are open. */
  get size(): number {
    return this.#open.size;
  }

  /** Ends every open stream (server shutdown). */
  closeAll(): void {
    this.#closing = true;
    for (const close of [...this.#open]) close();
  }

  /**
   * Answers with an SSE stream: `initial` notifications first, then every one `follow`
   * delivers, each as one message whose `id` is the notification's (resumable with
   * Last-Event-ID), `event` the affordance's name and `data` the JSON value (WoT Profile, HTTP
   * SSE Profile), until the client goes away. A failing `follow` throws before anything is
   * sent, so the error still becomes a normal problem response.
   */
  sse(reply: FastifyReply, follow: Subscribe<Notification>, initial: readonly Notification[] = []): void {
    this.#eventStream(reply, follow, initial, (n) => `id: ${formatNotificationId(n.id)}\nevent: ${n.name}\ndata: ${JSON.stringify(n.data ?? null)}\n\n`);
  }

  /**
   * Answers with an SSE stream of one action invocation's statuses: `initial` first, then each
   * new one as an `event: status` message, until `follow` ends it (the invocation finished) or
   * the client goes away. Not resumable: a status carries all there is to know.
   */
  statusStream<T>(reply: FastifyReply, follow: Subscribe<T>, initial: readonly T[]): void {
    this.#eventStream(reply, follow, initial, (status) => `event: status\ndata: ${JSON.stringify(status)}\n\n`);
  }

  #eventStream<T>(reply: FastifyReply, follow: Subscribe<T>, initial: readonly T[], frame: (item: T) => string): void {
    const res = reply.raw;
    let heartbeat: Timer | undefined;
    const close = (): void => {
      if (!this.#open.delete(close)) return;
      heartbeat?.cancel();
      unsubscribe();
      res.end();
    };
    const write = (item: T): void => {
      // A client that stopped reading is cut off instead of growing our memory.
      if (res.writableLength > this.#bufferLimit) return close();
      res.write(frame(item));
    };
    const unsubscribe = follow(write, () => close());
    reply.hijack();
    res.writeHead(200, { ...SSE_HEADERS, ...varyHeader(reply) });
    this.#open.add(close);
    // The response's 'close' (not the request's, which fires once the body is read) marks the
    // client going away.
    res.once('close', close);
    res.write(`retry: ${RETRY_MS}\n\n`);
    for (const item of initial) write(item);
    heartbeat = this.#clock.every(HEARTBEAT_MS, () => res.write(': heartbeat\n\n'));
  }

  /**
   * Answers a HEAD on a stream's URL: `subscribe` is opened and closed again at once, so a
   * request the GET would refuse (an unknown or unobservable affordance) fails the same way,
   * with the error `subscribe` throws; otherwise the headers the GET would carry, without a
   * body. No Content-Length: the GET's length is not known before it answers.
   */
  head<T>(reply: FastifyReply, kind: StreamKind, subscribe: Subscribe<T>): void {
    subscribe(
      () => undefined,
      () => undefined,
    )();
    reply.hijack();
    reply.raw.writeHead(200, { ...(kind === 'sse' ? SSE_HEADERS : LONG_POLL_HEADERS), ...varyHeader(reply) });
    reply.raw.end();
  }

  /**
   * Waits for the next delivered item (long-poll). After `timeoutMs` without one (none: no
   * window) it resolves with `onTimeout()`; if the client leaves first it resolves with
   * undefined; if the server shuts down first it rejects with FLOWCHAIN_ERR_SHUTTING_DOWN (a
   * consumer must not take that for an answer). A failing `subscribe` throws at once.
   */
  longPoll<T>(reply: FastifyReply, subscribe: Subscribe<T>, timeoutMs: number | undefined, onTimeout: () => T | undefined): Promise<T | undefined> {
    let resolve!: (item: T | undefined) => void;
    let reject!: (err: unknown) => void;
    const result = new Promise<T | undefined>((ok, fail) => ((resolve = ok), (reject = fail)));
    const finish = (item: T | undefined): void => {
      if (!this.#open.delete(cancel)) return;
      timer?.cancel();
      unsubscribe();
      if (item === undefined && this.#closing) reject(new FlowchainError('FLOWCHAIN_ERR_SHUTTING_DOWN', 'the node stopped during the long-poll'));
      else resolve(item);
    };
    const cancel = (): void => finish(undefined);
    const unsubscribe = subscribe(finish, () => cancel());
    this.#open.add(cancel);
    reply.raw.once('close', cancel);
    const timer = timeoutMs === undefined ? undefined : this.#clock.after(timeoutMs, () => finish(onTimeout()));
    return result;
  }
}

/**
 * The consumer's protocol bindings: one HTTP exchange as a form describes it (with its answer
 * read as JSON, a problem+json error turned back into the remote node's code), Server-Sent
 * Event streams (resumed after a drop with `Last-Event-ID`, WHATWG HTML §9.2), long-poll loops,
 * and one `flowchain.v1` WebSocket per Thing carrying requests and notifications.
 *
 * Rejects with the remote node's code (a problem+json answer), FLOWCHAIN_ERR_REMOTE_FAILED
 * (any other failed answer), FLOWCHAIN_ERR_AUTH_REQUIRED / _INVALID (401), and, when no answer
 * came, with one of two codes that say whether the request went out:
 * FLOWCHAIN_ERR_REMOTE_UNREACHABLE when it certainly did not (the connection was refused, the
 * name did not resolve, the TLS handshake failed: a caller may try another form), and
 * FLOWCHAIN_ERR_OUTCOME_UNKNOWN when it may have (no answer in time, the connection dropped:
 * the Thing may have carried it out, so an operation that is not idempotent must not be sent
 * again).
 */
import { WebSocket } from 'ws';
import { errorFromBody, FlowchainError } from '../../../errors.js';
import { WS_SUBPROTOCOL } from '../route-table.js';

/** An HTTP answer: its status, its JSON body (undefined when empty) and headers. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

const remoteFailed = (url: URL | string, why: string, cause?: unknown) => new FlowchainError('FLOWCHAIN_ERR_REMOTE_FAILED', `${String(url)}: ${why}`, { field: 'url', cause });
const unreachable = (url: URL | string, why: string, cause?: unknown) => new FlowchainError('FLOWCHAIN_ERR_REMOTE_UNREACHABLE', `${String(url)}: ${why}`, { field: 'url', cause });
const unanswered = (url: URL | string, why: string, cause?: unknown) => new FlowchainError('FLOWCHAIN_ERR_OUTCOME_UNKNOWN', `${String(url)}: ${why}`, { field: 'url', cause });

/**
 * System error codes of a connection that failed before a byte of the request was written:
 * refused or unroutable (connect(2)), a name that did not resolve (getaddrinfo(3)), undici's
 * connect timeout (it fires before the request is written).
 */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Whether a failed fetch certainly sent nothing: its cause is a connection that never opened,
 * or a TLS handshake that failed (certificate checks, protocol errors: OpenSSL's codes), which
 * comes before the request (RFC 8446 §2). A reset or a closed socket may come after the
 * request went out, so it does not count; nor does a timeout, which fetch does not say the
 * stage of.
 */
function sentNothing(err: unknown): boolean {
  const cause = (err as { cause?: unknown }).cause as { code?: unknown; errors?: unknown } | undefined;
  if (cause === undefined || cause === null) return false;
  // Happy eyeballs (RFC 8305) tries each address: an AggregateError whose members all failed to connect.
  if (Array.isArray(cause.errors) && cause.errors.length > 0) return cause.errors.every((member) => sentNothing({ cause: member }));
  const code = typeof cause.code === 'string' ? cause.code : '';
  return NOT_CONNECTED.has(code) || /^ERR_TLS_|^ERR_SSL_|CERT|^UNABLE_TO_/.test(code);
}

/** Performs one request; a non-2xx answer rejects with the remote code. */
export async function httpExchange(url: URL, init: { readonly method: string; readonly headers: Record<string, string>; readonly body?: string; readonly timeoutMs: number; readonly signal?: AbortSignal }): Promise<HttpAnswer> {
  let response: Response;
  const signal = init.signal === undefined ? AbortSignal.timeout(init.timeoutMs) : AbortSignal.any([init.signal, AbortSignal.timeout(init.timeoutMs)]);
  try {
    response = await fetch(url, { method: init.method, headers: init.headers, ...(init.body === undefined ? {} : { body: init.body }), signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    if ((err as Error).name === 'TimeoutError') throw unanswered(url, `${init.method}: no answer within ${init.timeoutMs} ms, and the request may have been received`, err);
    if (sentNothing(err)) throw unreachable(url, `no connection (${describeCause(err)})`, err);
    // fetch rejects a request it cannot make (a header value it refuses, say) with a TypeError of its own, before any I/O.
    if ((err as Error).message !== 'fetch failed') throw new FlowchainError('FLOWCHAIN_ERR_INTERNAL', `${url.href}: the request cannot be made (${(err as Error).message})`, { cause: err });
    throw unanswered(url, `${init.method} sent, but the connection failed before an answer (${describeCause(err)})`, err);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw remoteFailed(url, `answered ${response.status}, but its body was cut off (${(err as Error).name === 'TimeoutError' ? `not complete within ${init.timeoutMs} ms` : describeCause(err)})`, err);
  }
  let body: unknown;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = response.ok ? text : undefined;
    }
  }
  if (!response.ok) {
    // A problem+json with a catalogue code (a Flowchain node) keeps its code; anything else is named by its status.
    if (typeof (body as { code?: unknown } | undefined)?.code === 'string') throw errorFromBody(body, url.href);
    if (response.status === 401) throw new FlowchainError('FLOWCHAIN_ERR_AUTH_REQUIRED', `${url.href}: 401 (${response.headers.get('www-authenticate') ?? 'no challenge'})`);
    throw remoteFailed(url, `answered ${response.status}${typeof body === 'object' ? ` ${JSON.stringify(body).slice(0, 200)}` : ''}`);
  }
  return { status: response.status, body, headers: response.headers };
}

/** What failed underneath a fetch: its cause's code and message. */
function describeCause(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const message = typeof cause?.message === 'string' && cause.message !== '' ? cause.message : (err as Error).message;
  return code === undefined || message.includes(code) ? message : `${code}: ${message}`;
}

/** A stream of values the consumer is following; `stop()` ends it. */
export interface Stream {
  /** Settles once the stream is in place: resolved when the server took it, rejected (and stopped) when its first attempt failed. */
  readonly ready: Promise<void>;
  stop(): void;
}

/**
 * Follows an SSE stream: each event's data (JSON) goes to `onValue`; a dropped stream is
 * opened again after its `retry` (or 1 s), sending the last event id seen so the server can
 * replay what was missed. `onError` hears of failures it retries past.
 */
export function followSse(url: URL, headers: Record<string, string>, onValue: (value: unknown) => void, onError: (err: unknown) => void): Stream {
  const controller = new AbortController();
  let lastEventId: string | undefined;
  let retryMs = 1_000;
  let settle: ((err?: unknown) => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => (settle = (err) => (err === undefined ? resolve() : reject(err))));
  const run = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch(url, { headers: { ...headers, accept: 'text/event-stream', ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) }, signal: controller.signal }).catch((err: unknown) => {
          throw controller.signal.aborted ? err : unreachable(url, (err as Error).message, err);
        });
        if (!response.ok || response.body === null) {
          const text = await response.text().catch(() => '');
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          throw typeof (body as { code?: unknown } | undefined)?.code === 'string' ? errorFromBody(body, url.href) : remoteFailed(url, `answered ${response.status}`);
        }
        settle?.();
        settle = undefined;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replaceAll('\r\n', '\n');
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
              else if (line.startsWith('id:')) lastEventId = line.slice(3).trim();
              else if (line.startsWith('retry:') && /^\d+$/.test(line.slice(6).trim())) retryMs = Number(line.slice(6).trim());
            }
            if (data.length > 0) onValue(JSON.parse(data.join('\n')));
          }
        }
      } catch (err) {
        if (controller.signal.aborted) return;
        if (settle !== undefined) {
          // The first attempt failed: whoever asked for the stream hears why, and it ends.
          controller.abort();
          return settle(err);
        }
        onError(err);
      }
      await new Promise((resolve) => setTimeout(resolve, retryMs).unref());
    }
  };
  void run();
  return { ready, stop: () => controller.abort() };
}

/**
 * Follows a long-poll form: GET after GET, each answer with a body a new value (204: nothing
 * happened in the window the poll asked for with `Prefer: wait`), a failed poll retried after a second. A poll cannot tell when the
 * server took it, so it is `ready` at once.
 */
export function followLongPoll(url: URL, headers: Record<string, string>, timeoutMs: number, onValue: (value: unknown) => void, onError: (err: unknown) => void): Stream {
  const controller = new AbortController();
  // RFC 7240: the longest the server may hold a poll before answering 204, within this side's timeout.
  headers = { ...headers, prefer: `wait=${Math.max(1, Math.floor(timeoutMs / 1000) - 5)}` };
  const run = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      try {
        const answer = await httpExchange(url, { method: 'GET', headers, timeoutMs, signal: controller.signal });
        if (answer.status !== 204 && answer.body !== undefined) onValue(answer.body);
      } catch (err) {
        if (controller.signal.aborted) return;
        onError(err);
        await new Promise((resolve) => setTimeout(resolve, 1_000).unref());
      }
    }
  };
  void run();
  return { ready: Promise.resolve(), stop: () => controller.abort() };
}

/** A message of the `flowchain.v1` protocol from the node. */
export interface WsMessage {
  readonly type: 'result' | 'error' | 'propertyChange' | 'event';
  readonly id?: string | number | null;
  readonly value?: unknown;
  readonly data?: unknown;
  readonly thingID?: string;
  readonly name?: string;
  readonly transactions?: readonly unknown[];
  readonly error?: unknown;
}

/** One `flowchain.v1` WebSocket to a node, opened on first use. */
export class WsConnection {
  readonly #url: URL;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  #socket: Promise<WebSocket> | undefined;
  #next = 1;
  readonly #waiting = new Map<number, { resolve: (message: WsMessage) => void; reject: (err: unknown) => void; timer: NodeJS.Timeout; op: string }>();
  readonly #listeners = new Set<(message: WsMessage) => void>();

  constructor(url: URL, headers: Record<string, string>, timeoutMs: number) {
    this.#url = url;
    this.#headers = headers;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Sends a request and resolves with its result; an error message rejects with its code. A
   * socket that cannot be opened (or is closing) rejects with FLOWCHAIN_ERR_REMOTE_UNREACHABLE,
   * nothing sent; no answer in time, or a socket that closes before the answer, with
   * FLOWCHAIN_ERR_OUTCOME_UNKNOWN: the request went out.
   */
  async request(message: Record<string, unknown>): Promise<WsMessage> {
    const socket = await this.#open();
    // A socket the server is closing takes no more messages (ws drops them): nothing goes out.
    if (socket.readyState !== WebSocket.OPEN) throw unreachable(this.#url, 'the WebSocket is closing');
    const id = this.#next++;
    const op = typeof message.op === 'string' ? message.op : 'the request';
    return new Promise<WsMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(unanswered(this.#url, `${op} sent, but no answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#waiting.set(id, { resolve, reject, timer, op });
      socket.send(JSON.stringify({ ...message, id }));
    });
  }

  /** Calls `listener` for every notification (propertyChange, event); returns the unsubscribe. */
  onNotification(listener: (message: WsMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    void this.#socket?.then((socket) => socket.close(1000), () => undefined);
    this.#socket = undefined;
  }

  #open(): Promise<WebSocket> {
    this.#socket ??= new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(this.#url, WS_SUBPROTOCOL, { headers: this.#headers, handshakeTimeout: this.#timeoutMs });
      socket.once('open', () => resolve(socket));
      socket.once('error', (err) => reject(unreachable(this.#url, err.message, err)));
      socket.once('unexpected-response', (_request, response) => reject(new FlowchainError(response.statusCode === 401 ? 'FLOWCHAIN_ERR_AUTH_INVALID' : 'FLOWCHAIN_ERR_REMOTE_FAILED', `${this.#url.href}: the upgrade was answered ${response.statusCode}`)));
      socket.on('message', (data) => this.#onMessage(data.toString()));
      socket.once('close', () => {
        this.#socket = undefined;
        for (const [id, waiting] of this.#waiting) {
          clearTimeout(waiting.timer);
          waiting.reject(unanswered(this.#url, `${waiting.op} sent, but the WebSocket closed before an answer`));
          this.#waiting.delete(id);
        }
      });
    });
    this.#socket.catch(() => (this.#socket = undefined));
    return this.#socket;
  }

  #onMessage(text: string): void {
    let message: WsMessage;
    try {
      message = JSON.parse(text) as WsMessage;
    } catch {
      return;
    }
    if (message.type === 'result' || message.type === 'error') {
      const waiting = typeof message.id === 'number' ? this.#waiting.get(message.id) : undefined;
      if (waiting === undefined) return;
      this.#waiting.delete(message.id as number);
      clearTimeout(waiting.timer);
      if (message.type === 'error') waiting.reject(errorFromBody(message.error, this.#url.href));
      else waiting.resolve(message);
      return;
    }
    for (const listener of this.#listeners) listener(message);
  }
}

/**
 * The consumer's protocol bindings: one HTTP exchange as a form describes it (with its answer
 * read as JSON, a problem+json error turned back into the remote node's code), Server-Sent
 * Event streams (resumed after a drop with `Last-Event-ID`, WHATWG HTML §9.2), long-poll loops,
 * and one `flowchain.v1` WebSocket per Thing carrying requests and notifications.
 *
 * Rejects with the remote node's code (a problem+json answer), FLOWCHAIN_ERR_REMOTE_FAILED
 * (any other failed answer), FLOWCHAIN_ERR_REMOTE_UNREACHABLE (no connection, or no answer in
 * time), FLOWCHAIN_ERR_AUTH_REQUIRED / _INVALID (401).
 */
import { WebSocket } from 'ws';
import { errorFromBody, FlowchainError } from '../errors.js';
import { WS_SUBPROTOCOL } from './forms.js';

/** An HTTP answer: its status, its JSON body (undefined when empty) and headers. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

const remoteFailed = (url: URL | string, why: string, cause?: unknown) => new FlowchainError('FLOWCHAIN_ERR_REMOTE_FAILED', `${String(url)}: ${why}`, { field: 'url', cause });
const unreachable = (url: URL | string, why: string, cause?: unknown) => new FlowchainError('FLOWCHAIN_ERR_REMOTE_UNREACHABLE', `${String(url)}: ${why}`, { field: 'url', cause });

/** Performs one request; a non-2xx answer rejects with the remote code. */
export async function httpExchange(url: URL, init: { readonly method: string; readonly headers: Record<string, string>; readonly body?: string; readonly timeoutMs: number; readonly signal?: AbortSignal }): Promise<HttpAnswer> {
  let response: Response;
  try {
    const signal = init.signal === undefined ? AbortSignal.timeout(init.timeoutMs) : AbortSignal.any([init.signal, AbortSignal.timeout(init.timeoutMs)]);
    response = await fetch(url, { method: init.method, headers: init.headers, ...(init.body === undefined ? {} : { body: init.body }), signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw unreachable(url, (err as Error).name === 'TimeoutError' ? `no answer within ${init.timeoutMs} ms` : (err as Error).message, err);
  }
  const text = await response.text();
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
interface WsMessage {
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
  readonly #waiting = new Map<number, { resolve: (message: WsMessage) => void; reject: (err: unknown) => void; timer: NodeJS.Timeout }>();
  readonly #listeners = new Set<(message: WsMessage) => void>();

  constructor(url: URL, headers: Record<string, string>, timeoutMs: number) {
    this.#url = url;
    this.#headers = headers;
    this.#timeoutMs = timeoutMs;
  }

  /** Sends a request and resolves with its result; an error message rejects with its code. */
  async request(message: Record<string, unknown>): Promise<WsMessage> {
    const socket = await this.#open();
    const id = this.#next++;
    return new Promise<WsMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(unreachable(this.#url, `no answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#waiting.set(id, { resolve, reject, timer });
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
          waiting.reject(remoteFailed(this.#url, 'the WebSocket closed'));
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

/**
 * The dashboard's WebSocket to the node, speaking the `flowchain.v1` protocol the TDs' forms
 * name: requests carry ids and resolve with their result or error; observations and
 * subscriptions are remembered and made again after every reconnect. A dropped socket is
 * reopened with backoff (1 s doubling to 15 s), and the state is reported for the indicator.
 */
import { ProblemError, type Problem } from './api.js';
import { WS_SUBPROTOCOL } from './td.js';

export type ConnectionState = 'connecting' | 'open' | 'closed';

/** A pushed message: a property change or an event of an observed Thing. */
export interface Notification {
  readonly type: 'propertyChange' | 'event';
  readonly thingID: string;
  readonly name: string;
  readonly value?: unknown;
  readonly data?: unknown;
  readonly timestamp: string;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

type Subscription = { readonly op: 'observeproperty' | 'subscribeevent'; readonly thingID: string; readonly name: string };

const MIN_DELAY_MS = 1000;
const MAX_DELAY_MS = 15_000;

export class LiveConnection {
  readonly #url: () => string;
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #pending = new Map<number, Pending>();
  readonly #stateListeners = new Set<(state: ConnectionState, retryInMs?: number) => void>();
  readonly #listeners = new Set<(message: Notification) => void>();
  #socket: WebSocket | undefined;
  #nextId = 1;
  #delayMs = MIN_DELAY_MS;
  #timer: number | undefined;

  /** `url` is read at every (re)connect, so a new access token takes effect on the next one. */
  constructor(url: () => string) {
    this.#url = url;
  }

  /** Listens to state changes (`retryInMs` set while a reconnect is scheduled). */
  onState(listener: (state: ConnectionState, retryInMs?: number) => void): void {
    this.#stateListeners.add(listener);
  }

  /** Listens to property changes and events. */
  onNotification(listener: (message: Notification) => void): void {
    this.#listeners.add(listener);
  }

  connect(): void {
    window.clearTimeout(this.#timer);
    this.#setState('connecting');
    const socket = new WebSocket(this.#url(), WS_SUBPROTOCOL);
    this.#socket = socket;
    socket.addEventListener('open', () => {
      this.#delayMs = MIN_DELAY_MS;
      this.#setState('open');
      for (const subscription of this.#subscriptions.values()) this.#send(subscription).catch(() => undefined);
    });
    socket.addEventListener('message', (event) => this.#receive(String(event.data)));
    socket.addEventListener('close', () => {
      if (this.#socket !== socket) return;
      for (const pending of this.#pending.values()) pending.reject(new ProblemError({ title: 'The connection to the node dropped', detail: 'try again once it is back' }));
      this.#pending.clear();
      this.#scheduleReconnect();
    });
  }

  /** Closes the socket and opens a new one at once (after the access token changed). */
  reconnect(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close();
    this.connect();
  }

  /** Observes a property or subscribes to an event, now and after every reconnect. */
  subscribe(op: Subscription['op'], thingID: string, name: string): void {
    const subscription = { op, thingID, name };
    const key = `${op} ${thingID} ${name}`;
    if (this.#subscriptions.has(key)) return;
    this.#subscriptions.set(key, subscription);
    if (this.#socket?.readyState === WebSocket.OPEN) this.#send(subscription).catch(() => undefined);
  }

  #send(request: Record<string, unknown>): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket?.send(JSON.stringify({ ...request, id }));
    });
  }

  #receive(text: string): void {
    let message: { type?: string; id?: number; value?: unknown; error?: Problem };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    if (message.type === 'propertyChange' || message.type === 'event') {
      for (const listener of this.#listeners) listener(message as Notification);
      return;
    }
    const pending = typeof message.id === 'number' ? this.#pending.get(message.id) : undefined;
    if (pending === undefined) return;
    this.#pending.delete(message.id!);
    if (message.type === 'error') pending.reject(new ProblemError(message.error ?? {}));
    else pending.resolve(message.value);
  }

  #scheduleReconnect(): void {
    const delay = this.#delayMs;
    this.#delayMs = Math.min(MAX_DELAY_MS, delay * 2);
    this.#setState('closed', delay);
    this.#timer = window.setTimeout(() => this.connect(), delay);
  }

  #setState(state: ConnectionState, retryInMs?: number): void {
    for (const listener of this.#stateListeners) listener(state, retryInMs);
  }
}

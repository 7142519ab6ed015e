/**
 * The dashboard's WebSocket to the node, speaking the `flowchain.v1` protocol the TDs' forms
 * name. Observations and subscriptions are remembered and made again after every reconnect,
 * resumed: each carries `since`, the newest notification id the page saw, so the node first
 * replays what happened while the page was away (docs/websocket-protocol.md) and no change or
 * event is lost to a dropped connection. An observation's reply carries the property's current
 * value, which is passed on like a change (marked `current`), so the page never needs a
 * separate read that could race a push. A dropped socket is reopened with backoff (1 s
 * doubling to 15 s, with jitter; the backoff resets once a socket has stayed open for 5 s),
 * and the state is reported for the indicator.
 */
import { describeProblem, type Problem } from './api.js';
import { WS_SUBPROTOCOL } from './td.js';

export type ConnectionState = 'connecting' | 'open' | 'closed';

/** A property's value (a change, or its `current` value when observing began) or an event. */
export interface Notification {
  readonly type: 'propertyChange' | 'event';
  readonly thingID: string;
  readonly name: string;
  readonly value?: unknown;
  readonly data?: unknown;
  /** RFC 3339; the time of reception for `current` values. */
  readonly timestamp: string;
  readonly current?: true;
  /** The node's id of a change or event (absent for `current` values). */
  readonly notificationId?: string;
}

type Subscription = { readonly op: 'observeproperty' | 'subscribeevent'; readonly thingID: string; readonly name: string };

const MIN_DELAY_MS = 1000;
const MAX_DELAY_MS = 15_000;
const STABLE_MS = 5000;

export class LiveConnection {
  readonly #url: () => string;
  readonly #subscriptions: Subscription[] = [];
  /** Requests sent on the current socket and not answered yet, by id. */
  readonly #sent = new Map<number, Subscription>();
  readonly #stateListeners = new Set<(state: ConnectionState, retryInMs?: number) => void>();
  readonly #listeners = new Set<(message: Notification) => void>();
  readonly #problemListeners = new Set<(message: string) => void>();
  #socket: WebSocket | undefined;
  /** The newest notification id (or reply position) seen: where a reconnect resumes. */
  #seen: string | undefined;
  #nextId = 1;
  #delayMs = MIN_DELAY_MS;
  #retryTimer: number | undefined;
  #stableTimer: number | undefined;

  /** `url` is read at every (re)connect, so a new access token takes effect on the next one. */
  constructor(url: () => string) {
    this.#url = url;
  }

  /** Listens to state changes (`retryInMs` set while a reconnect is scheduled). */
  onState(listener: (state: ConnectionState, retryInMs?: number) => void): void {
    this.#stateListeners.add(listener);
  }

  /** Listens to property values and events. */
  onNotification(listener: (message: Notification) => void): void {
    this.#listeners.add(listener);
  }

  /** Listens to refused observations and subscriptions, as sentences. */
  onProblem(listener: (message: string) => void): void {
    this.#problemListeners.add(listener);
  }

  connect(): void {
    window.clearTimeout(this.#retryTimer);
    this.#setState('connecting');
    const socket = new WebSocket(this.#url(), WS_SUBPROTOCOL);
    this.#socket = socket;
    socket.addEventListener('open', () => {
      this.#setState('open');
      this.#stableTimer = window.setTimeout(() => (this.#delayMs = MIN_DELAY_MS), STABLE_MS);
      for (const subscription of this.#subscriptions) this.#send(subscription);
    });
    socket.addEventListener('message', (event) => this.#receive(String(event.data)));
    socket.addEventListener('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#scheduleReconnect();
    });
  }

  /** Closes the socket and opens a new one at once (after the access token changed). */
  reconnect(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close();
    window.clearTimeout(this.#stableTimer);
    this.#sent.clear();
    this.#delayMs = MIN_DELAY_MS;
    this.connect();
  }

  /** Observes a property or subscribes to an event, now and after every reconnect. */
  subscribe(op: Subscription['op'], thingID: string, name: string): void {
    if (this.#subscriptions.some((s) => s.op === op && s.thingID === thingID && s.name === name)) return;
    const subscription = { op, thingID, name };
    this.#subscriptions.push(subscription);
    if (this.#socket?.readyState === WebSocket.OPEN) this.#send(subscription);
  }

  /** Forgets every observation and subscription of a Thing that left the node. */
  forget(thingID: string): void {
    for (let i = this.#subscriptions.length - 1; i >= 0; i--) if (this.#subscriptions[i]!.thingID === thingID) this.#subscriptions.splice(i, 1);
  }

  #send(subscription: Subscription): void {
    const id = this.#nextId++;
    this.#sent.set(id, subscription);
    this.#socket?.send(JSON.stringify({ ...subscription, id, ...(this.#seen === undefined ? {} : { since: this.#seen }) }));
  }

  /** Ids are RFC 3339 times of one fixed shape, so the later one is the larger string. */
  #saw(id: unknown): void {
    if (typeof id === 'string' && (this.#seen === undefined || id > this.#seen)) this.#seen = id;
  }

  #receive(text: string): void {
    let message: { type?: string; id?: number; value?: unknown; error?: Problem; position?: unknown; notificationId?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    if (message.type === 'propertyChange' || message.type === 'event') {
      this.#saw(message.notificationId);
      this.#notify(message as unknown as Notification);
      return;
    }
    const subscription = typeof message.id === 'number' ? this.#sent.get(message.id) : undefined;
    if (subscription === undefined) return;
    this.#sent.delete(message.id!);
    this.#saw(message.position);
    if (message.type === 'error') {
      for (const listener of this.#problemListeners) listener(`${subscription.name}: ${describeProblem(message.error ?? {})}`);
    } else if (subscription.op === 'observeproperty' && 'value' in message) {
      const { thingID, name } = subscription;
      this.#notify({ type: 'propertyChange', thingID, name, value: message.value, timestamp: new Date().toISOString(), current: true });
    }
  }

  #notify(message: Notification): void {
    for (const listener of this.#listeners) listener(message);
  }

  #scheduleReconnect(): void {
    window.clearTimeout(this.#stableTimer);
    this.#sent.clear();
    const delay = Math.round(this.#delayMs * (0.8 + Math.random() * 0.4));
    this.#delayMs = Math.min(MAX_DELAY_MS, this.#delayMs * 2);
    this.#setState('closed', delay);
    this.#retryTimer = window.setTimeout(() => this.connect(), delay);
  }

  #setState(state: ConnectionState, retryInMs?: number): void {
    for (const listener of this.#stateListeners) listener(state, retryInMs);
  }
}

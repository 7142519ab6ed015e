/**
 * One WebSocket connection speaking `flowchain.v1`: runs requests against the Things, follows
 * observed properties and subscribed events through the shared {@link Fanout} (numbered by the
 * node's {@link ReplayLog}, so an observation made with `since` first replays what the client
 * missed), and protects the node from a consumer that stops reading (bounded send buffer,
 * then close code 4008).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import { describeError, FlowchainError, isFlowchainError } from '../../../errors.js';
import { isFinished } from '../../../thing/action-store.js';
import type { JournalReceipt } from '../../../thing/change-journal.js';
import type { ExposedThing } from '../../../thing/exposed-thing.js';
import type { ThingRegistry } from '../../../thing/thing-registry.js';
import { HttpAuth, type Credentials } from '../auth.js';
import { formatNotificationId, type Notification, type ReplayLog } from '../replay-log.js';
import type { Fanout, Receiver } from './fanout.js';
import { decodeFrame, isProtected, requestIdOf, toRequest, type WsRequest, type WsServerMessage } from './ws-protocol.js';

/** Close code for a consumer whose unsent data passed the limit (private-use range, RFC 6455 §7.4.2). */
export const CLOSE_SLOW_CONSUMER = 4008;
/** RFC 6455 §7.4.1 policy violation: used for a client that floods requests. */
const CLOSE_POLICY = 1008;
/** RFC 6455 §7.4.1: a message too big to process. */
const CLOSE_TOO_BIG = 1009;
/** Requests one socket may have waiting for an answer. */
const MAX_WAITING_REQUESTS = 256;

/** What a session needs from the server. */
export interface WsSessionComponents {
  readonly registry: ThingRegistry;
  readonly fanout: Fanout;
  readonly replay: ReplayLog;
  readonly log: FastifyBaseLogger;
}

/** Per-connection settings. */
export interface WsSessionInit {
  /** Whether writes and actions require credentials on this server. */
  readonly authRequired: boolean;
  /** What the client presented at the upgrade. */
  readonly credentials: Credentials;
  /** Bytes the socket may have queued before the consumer counts as stalled. */
  readonly bufferLimit: number;
  /** Largest message accepted, in bytes (the server's own limit may be higher, for peers). */
  readonly frameLimit: number;
}

/** Serves one socket. */
export class WsSession implements Receiver {
  readonly #socket: WebSocket;
  readonly #components: WsSessionComponents;
  readonly #init: WsSessionInit;
  readonly #topics = new Set<string>();
  /** Observations of the asynchronous invocations this socket started. */
  readonly #actions = new Set<() => void>();
  #closed = false;
  #queue: Promise<void> = Promise.resolve();
  /** Requests received and not yet answered. */
  #waiting = 0;

  constructor(socket: WebSocket, components: WsSessionComponents, init: WsSessionInit) {
    this.#socket = socket;
    this.#components = components;
    this.#init = init;
    // Requests of one socket run in arrival order, so a read sent after a write sees it. A
    // client that sends faster than it is served is cut off rather than queued without bound.
    socket.on('message', (data, isBinary) => {
      if ((data as Buffer).length > init.frameLimit) {
        this.#dispose();
        socket.close(CLOSE_TOO_BIG, 'FLOWCHAIN_ERR_REQUEST_TOO_LARGE');
        return;
      }
      if (++this.#waiting > MAX_WAITING_REQUESTS) {
        this.#dispose();
        socket.close(CLOSE_POLICY, 'FLOWCHAIN_ERR_WS_TOO_MANY_REQUESTS');
        return;
      }
      this.#queue = this.#queue.then(() => this.#onMessage(data.toString(), isBinary)).finally(() => this.#waiting--);
    });
    socket.on('close', () => this.#dispose());
    socket.on('error', (err) => components.log.debug({ err }, 'websocket error'));
  }

  /** Sends an encoded notification unless the consumer has fallen too far behind. */
  deliver(frame: Buffer): void {
    if (this.#closed) return;
    if (this.#socket.bufferedAmount > this.#init.bufferLimit) {
      this.#components.log.warn({ buffered: this.#socket.bufferedAmount }, 'closing a websocket consumer that stopped reading');
      this.#dispose();
      this.#socket.close(CLOSE_SLOW_CONSUMER, 'FLOWCHAIN_ERR_WS_SLOW_CONSUMER');
      return;
    }
    this.#socket.send(frame, { binary: false });
  }

  #send(message: WsServerMessage): void {
    this.deliver(Buffer.from(JSON.stringify(message)));
  }

  async #onMessage(text: string, isBinary: boolean): Promise<void> {
    if (this.#closed) return;
    let id: string | number | null = null;
    try {
      if (isBinary) throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'send JSON text frames, not binary', { field: '/' });
      const message = decodeFrame(text);
      id = requestIdOf(message);
      const request = toRequest(message);
      const value = await this.#execute(request);
      if (value instanceof Written) this.#send({ type: 'result', id: request.id, ...(value.receipts.length > 0 ? { transactions: value.receipts } : {}) });
      else if (value instanceof Following) this.#send({ type: 'result', id: request.id, ...(value.kind === 'property' ? { value: value.value } : {}), position: value.position });
      else this.#send(value === undefined ? { type: 'result', id: request.id } : { type: 'result', id: request.id, value });
    } catch (err) {
      if (!isFlowchainError(err)) this.#components.log.error({ err }, 'websocket request failed');
      this.#send({ type: 'error', id, error: describeError(err) });
    }
  }

  async #execute(request: WsRequest): Promise<unknown> {
    if (this.#init.authRequired && isProtected(request.op)) HttpAuth.assert(this.#init.credentials);
    const thing = this.#components.registry.get(request.thingID);
    const name = request.name as string;
    switch (request.op) {
      case 'readproperty':
        return thing.readProperty(name);
      case 'writeproperty':
        return new Written(await thing.writeProperty(name, request.value));
      case 'readallproperties':
        return thing.readAllProperties();
      case 'readmultipleproperties':
        return thing.readMultipleProperties(request.names ?? []);
      case 'writemultipleproperties':
        return new Written(await thing.writeMultipleProperties(request.values ?? {}));
      case 'invokeaction': {
        if (thing.action(name).synchronous !== false) return thing.invokeAction(name, request.input);
        const status = await thing.startAction(name, request.input);
        this.#followAction(thing, name, status.id);
        return status;
      }
      case 'queryaction':
        return thing.queryAction(name, request.actionID!);
      case 'cancelaction':
        return void (await thing.cancelAction(name, request.actionID!));
      case 'observeproperty': {
        // Followed first, then read: a change while the read handler runs is sent, never lost.
        const key = topicKey(thing, 'property', name);
        const followedBefore = this.#topics.has(key);
        const position = this.#follow(thing, 'property', name, request.since);
        try {
          return new Following('property', await thing.readProperty(name), position);
        } catch (err) {
          // A failed observation leaves nothing behind.
          if (!followedBefore) this.#unfollow(key);
          throw err;
        }
      }
      case 'subscribeevent':
        thing.event(name);
        return new Following('event', undefined, this.#follow(thing, 'event', name, request.since));
      case 'unobserveproperty':
      case 'unsubscribeevent':
        return void this.#unfollow(topicKey(thing, request.op === 'unobserveproperty' ? 'property' : 'event', name));
    }
  }

  /**
   * Follows one topic: what the client missed since `since` first (when it is an id the node
   * issued), then every new notification. Returns the node's position, the id the client has
   * now seen everything up to. Replay and follow happen in one turn, so nothing falls between.
   */
  #follow(thing: ExposedThing, kind: 'property' | 'event', name: string, since: unknown): string {
    const { replay, fanout } = this.#components;
    const key = topicKey(thing, kind, name);
    const topics = [{ kind, name }] as const;
    // A request that waited behind others may run after the socket closed.
    if (!this.#closed && !this.#topics.has(key)) {
      const after = replay.resumePoint(since);
      // Subscribe first: an observation the Thing refuses fails before anything is replayed.
      fanout.add(key, this, (broadcast) => replay.follow(thing, topics, (n) => broadcast(notificationMessage(thing, n))));
      this.#topics.add(key);
      if (after !== undefined) for (const n of replay.replay(thing, topics, after)) this.#send(notificationMessage(thing, n));
    }
    return formatNotificationId(replay.position);
  }

  /** Sends the new statuses of an invocation this socket started, until it finishes or the socket closes. */
  #followAction(thing: ExposedThing, name: string, id: string): void {
    if (this.#closed) return;
    const stop = thing.observeAction(name, id, (status) => {
      this.#send({ type: 'actionStatus', thingID: thing.id, name, status });
      if (isFinished(status)) this.#actions.delete(stop);
    });
    this.#actions.add(stop);
  }

  #unfollow(key: string): void {
    this.#components.fanout.remove(key, this);
    this.#topics.delete(key);
  }

  #dispose(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const key of this.#topics) this.#components.fanout.remove(key, this);
    this.#topics.clear();
    for (const stop of this.#actions) stop();
    this.#actions.clear();
  }
}

/** The message a notification becomes on the socket. */
function notificationMessage(thing: ExposedThing, n: Notification): WsServerMessage {
  const common = { thingID: thing.id, name: n.name, timestamp: new Date(n.timestamp).toISOString(), notificationId: formatNotificationId(n.id) };
  return n.kind === 'property' ? { type: 'propertyChange', ...common, value: n.data } : { type: 'event', ...common, data: n.data };
}

function topicKey(thing: ExposedThing, kind: 'property' | 'event', name: string): string {
  return `${thing.slug}\u0000${kind}\u0000${name}`;
}

/** What a write answers: the transactions it became, not a value. */
class Written {
  constructor(readonly receipts: readonly JournalReceipt[]) {}
}

/** What an observation or subscription answers: the current value (of a property) and the position it follows from. */
class Following {
  constructor(
    readonly kind: 'property' | 'event',
    readonly value: unknown,
    readonly position: string,
  ) {}
}

/**
 * Peer RPC over WebSocket, sub-protocol `flowchain-peer.v1`, on an endpoint of the servient's
 * own HTTP server separate from the dashboard protocol. One socket per peer pair carries
 * requests both ways: an inbound socket is reused for requests to the node that opened it.
 * Every frame is a signed {@link Envelope}; a request's nonce is its id, and the reply names
 * it in `re`. A frame that fails authentication is answered with a signed error reply and
 * changes nothing.
 *
 * Rejects requests with FLOWCHAIN_ERR_PEER_UNREACHABLE (cannot connect, closed, timed out) or
 * with the code the remote node answered.
 */
import { WebSocket, type RawData } from 'ws';
import { describeError, errorFromBody, FlowchainError, isFlowchainError, type ErrorBody } from '../errors.js';
import type { Clock, Timer } from '../thing/clock.js';
import type { NodeIdentity } from '../node-identity.js';
import type { Peer } from './peer.js';
import { open, ReplayGuard, seal, type Sender } from './peer-envelope.js';
import type { PeerHandler, PeerReply, PeerRequest, PeerTarget, Transport } from './transport.js';

export const PEER_SUBPROTOCOL = 'flowchain-peer.v1';

/** Collaborators of the peer network. */
export interface PeerNetworkComponents {
  readonly clock: Clock;
  readonly identity: NodeIdentity;
  /** Cryptographically random bytes, for nonces. */
  readonly randomBytes: (length: number) => Uint8Array;
  readonly log?: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

/** Settings of the peer network. */
export interface PeerNetworkInit {
  /** This node's peer URL, as others reach it (ws://host:port/peer). */
  readonly selfUrl: string;
  readonly timeoutMs?: number;
  /** Largest accepted frame; the server side sets the same limit on its endpoint. */
  readonly maxPayload?: number;
}

/**
 * Requests a node may send without knowing the recipient's id (joining through a bare
 * address). They only read, so a captured one replayed to another node changes nothing.
 */
const UNADDRESSED = new Set(['find-successor', 'ping']);

interface Pending {
  readonly url: string;
  /** The node that must sign the reply, when known. */
  readonly expected: bigint | undefined;
  /** The socket the request went out on: only a reply on it can settle the request. */
  readonly socket: WebSocket;
  readonly resolve: (reply: PeerReply) => void;
  readonly reject: (err: unknown) => void;
  readonly timer: Timer;
}

const unreachable = (url: string, why: string) => new FlowchainError('FLOWCHAIN_ERR_PEER_UNREACHABLE', `${url}: ${why}`, { field: 'url' });

/** This node's side of every peer connection. */
export class WsPeerNetwork implements Transport {
  readonly #clock: Clock;
  readonly #sender: Sender;
  readonly #randomBytes: (length: number) => Uint8Array;
  readonly #log: PeerNetworkComponents['log'];
  readonly #timeoutMs: number;
  readonly #maxPayload: number;
  readonly #guard = new ReplayGuard();
  /**
   * Open (or opening) sockets: `url:<url>` for sockets this node dialled, `id:<hex>` for any
   * socket whose far end proved that id. A URL another node merely claims never becomes a link.
   */
  readonly #links = new Map<string, Promise<WebSocket>>();
  readonly #sockets = new Set<WebSocket>();
  /** Frames received per socket, to tell a silent link from a slow one. */
  readonly #framesIn = new WeakMap<WebSocket, number>();
  readonly #pending = new Map<string, Pending>();
  #handler: PeerHandler | undefined;
  #closed = false;

  constructor(components: PeerNetworkComponents, init: PeerNetworkInit) {
    this.#clock = components.clock;
    this.#sender = { identity: components.identity, url: init.selfUrl };
    this.#randomBytes = components.randomBytes;
    this.#log = components.log;
    this.#timeoutMs = init.timeoutMs ?? 5_000;
    this.#maxPayload = init.maxPayload ?? 64 * 1024;
  }

  /** Who answers incoming requests (the Chord node). */
  setHandler(handler: PeerHandler): void {
    this.#handler = handler;
  }

  /** Adopts a socket another node opened to our peer endpoint. */
  accept(socket: WebSocket): void {
    if (this.#closed) return void socket.close(1001, 'shutting down');
    this.#attach(socket, undefined);
  }

  async request(target: PeerTarget, request: PeerRequest): Promise<PeerReply> {
    const { url, id: expected } = target;
    if (this.#closed) throw unreachable(url, 'this node is shutting down');
    const socket = await this.#linkTo(url, expected);
    const nonce = this.#randomBytes(16);
    const envelope = seal(this.#sender, expected ?? null, { kind: 'request', request }, this.#clock.now(), nonce);
    return new Promise<PeerReply>((resolve, reject) => {
      const heard = this.#framesIn.get(socket) ?? 0;
      const timer = this.#clock.after(this.#timeoutMs, () => {
        this.#pending.delete(envelope.nonce);
        reject(unreachable(url, `no reply within ${this.#timeoutMs} ms`));
        // A link that carried nothing at all meanwhile is presumed dead (a peer that vanished
        // without closing TCP, or one that restarted while we held its old socket): cut it,
        // so the next request dials afresh instead of waiting on it again. A link that is
        // merely slow keeps carrying other frames and is kept.
        const silent = (this.#framesIn.get(socket) ?? 0) === heard;
        this.#log?.debug({ peer: url, type: request.type, cut: silent }, 'peer request timed out');
        if (silent) socket.terminate();
      });
      this.#pending.set(envelope.nonce, { url, expected, socket, resolve, reject, timer });
      socket.send(JSON.stringify(envelope));
    });
  }

  /** Closes every socket and fails every pending request. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const [nonce, pending] of this.#pending) {
      pending.timer.cancel();
      pending.reject(unreachable(pending.url, 'this node is shutting down'));
      this.#pending.delete(nonce);
    }
    const closing = [...this.#sockets].map((socket) => new Promise<void>((resolve) => {
      if (socket.readyState === WebSocket.CLOSED) return resolve();
      socket.once('close', () => resolve());
      socket.close(1001, 'shutting down');
      // A peer that does not answer the close handshake is cut off.
      this.#clock.after(1_000, () => socket.terminate());
    }));
    await Promise.all(closing);
  }

  /** An open socket to the node: one that proved `expected` as its id, or one dialled to `url`. */
  async #linkTo(url: string, expected: bigint | undefined): Promise<WebSocket> {
    const key = `id:${expected?.toString(16)}`;
    const linked = expected === undefined ? undefined : this.#links.get(key);
    const socket = linked === undefined ? undefined : await linked;
    if (socket?.readyState === WebSocket.OPEN) return socket;
    // A link that closed meanwhile (its cleanup runs on close; this catches the rest).
    if (socket !== undefined && this.#links.get(key) === linked) this.#links.delete(key);
    return this.#connect(url);
  }

  #connect(url: string): Promise<WebSocket> {
    const existing = this.#links.get(`url:${url}`);
    if (existing) return existing;
    const opening = new Promise<WebSocket>((resolve, reject) => {
      let socket: WebSocket;
      try {
        socket = new WebSocket(url, PEER_SUBPROTOCOL, { maxPayload: this.#maxPayload, handshakeTimeout: this.#timeoutMs });
      } catch (err) {
        return reject(unreachable(url, (err as Error).message));
      }
      socket.once('open', () => resolve(socket));
      socket.once('error', (err) => reject(unreachable(url, err.message)));
      this.#attach(socket, `url:${url}`);
    });
    this.#links.set(`url:${url}`, opening);
    opening.catch(() => this.#links.delete(`url:${url}`));
    return opening;
  }

  /** Wires a socket: frames in, cleanup on close. `dialled` is the link key of sockets we opened. */
  #attach(socket: WebSocket, dialled: string | undefined): void {
    this.#sockets.add(socket);
    const keys = new Set<string>(dialled === undefined ? [] : [dialled]);
    socket.on('message', (data: RawData, isBinary: boolean) => {
      this.#framesIn.set(socket, (this.#framesIn.get(socket) ?? 0) + 1);
      void this.#onFrame(socket, data, isBinary)
        .catch((err: unknown) => {
          this.#log?.warn({ err }, 'peer frame failed');
          return undefined;
        })
        .then((sender) => {
          // The far end proved its id: requests to that id may use this socket.
          // Only while it is open: a frame handled after its socket closed (a peer that
          // restarted, say) must not leave a link to a closed socket behind.
          const key = sender === undefined ? undefined : `id:${sender.id.toString(16)}`;
          if (key !== undefined && socket.readyState === WebSocket.OPEN && !this.#links.has(key)) {
            keys.add(key);
            this.#links.set(key, Promise.resolve(socket));
          }
        });
    });
    socket.on('error', (err) => this.#log?.debug({ err }, 'peer socket error'));
    socket.once('close', () => {
      this.#sockets.delete(socket);
      for (const key of keys) {
        void this.#links.get(key)?.then((linked) => {
          if (linked === socket) this.#links.delete(key);
        }, () => undefined);
      }
      for (const [nonce, pending] of this.#pending) {
        if (pending.socket !== socket) continue;
        pending.timer.cancel();
        pending.reject(unreachable(pending.url, 'connection closed'));
        this.#pending.delete(nonce);
      }
    });
  }

  /** Handles one frame; returns the authenticated sender, if any. */
  async #onFrame(socket: WebSocket, data: RawData, isBinary: boolean): Promise<Peer | undefined> {
    let raw: unknown;
    let authenticated: { sender: Peer; body: Readonly<Record<string, unknown>> };
    try {
      if (isBinary) throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'peer frames are JSON text', { field: '/' });
      try {
        raw = JSON.parse(data.toString());
      } catch {
        throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'frame is not JSON', { field: '/' });
      }
      authenticated = open(raw, { self: this.#sender.identity.id, clock: this.#clock, guard: this.#guard });
    } catch (err) {
      this.#log?.warn({ code: (err as FlowchainError).code }, 'rejected a peer frame');
      // Never answer a rejected reply: two nodes that cannot authenticate each other (clocks
      // apart, say) would otherwise bounce error replies forever.
      const body = (raw as { body?: { kind?: unknown; re?: unknown } } | undefined)?.body;
      if (body?.kind === 'reply' || body?.re !== undefined) return undefined;
      const nonce = (raw as { nonce?: unknown } | undefined)?.nonce;
      this.#reply(socket, null, typeof nonce === 'string' ? nonce : null, { error: describeError(err) });
      return undefined;
    }
    const { sender, body } = authenticated;
    const { nonce, to } = raw as { nonce: string; to: string | null };
    if (body.kind === 'reply') this.#settle(socket, sender, body);
    else if (body.kind === 'request') await this.#serve(socket, sender, nonce, body.request, to !== null);
    else this.#reply(socket, sender.id, nonce, { error: describeError(new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'kind must be request or reply', { field: 'body.kind' })) });
    return sender;
  }

  async #serve(socket: WebSocket, sender: Peer, nonce: string, request: unknown, addressed: boolean): Promise<void> {
    try {
      if (this.#handler === undefined) throw unreachable(this.#sender.url, 'not ready');
      if (typeof request !== 'object' || request === null) throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'request must be an object', { field: 'body.request' });
      // Only reads may be unaddressed: anything that changes state must name this node.
      if (!addressed && !UNADDRESSED.has(String((request as PeerRequest).type))) {
        throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'this request must be addressed to the recipient (to)', { field: 'to' });
      }
      const reply = await this.#handler(request as PeerRequest, sender);
      this.#reply(socket, sender.id, nonce, { reply });
    } catch (err) {
      if (!isFlowchainError(err)) this.#log?.warn({ err }, 'peer request failed');
      this.#reply(socket, sender.id, nonce, { error: describeError(err) });
    }
  }

  #settle(socket: WebSocket, sender: Peer, body: Readonly<Record<string, unknown>>): void {
    const re = body.re;
    const pending = typeof re === 'string' ? this.#pending.get(re) : undefined;
    // Late, unknown, or arriving on another connection than the request left on: ignored.
    if (pending === undefined || pending.socket !== socket) return;
    this.#pending.delete(re as string);
    pending.timer.cancel();
    if (pending.expected !== undefined && sender.id !== pending.expected) {
      pending.reject(new FlowchainError('FLOWCHAIN_ERR_PEER_SIGNATURE_INVALID', `${pending.url}: answered by another node than the one asked`, { field: 'from.id' }));
      return;
    }
    const { error, reply } = body as { error?: unknown; reply?: unknown };
    if (error !== undefined) {
      pending.reject(errorFromBody(error, pending.url));
    } else if (typeof reply === 'object' && reply !== null && !Array.isArray(reply)) {
      pending.resolve(reply as PeerReply);
    } else {
      pending.reject(new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', `${pending.url}: a reply is an object`, { field: 'reply' }));
    }
  }

  #reply(socket: WebSocket, to: bigint | null, re: string | null, outcome: { reply?: PeerReply; error?: ErrorBody }): void {
    if (socket.readyState !== WebSocket.OPEN) return;
    const envelope = seal(this.#sender, to, { kind: 'reply', re, ...outcome }, this.#clock.now(), this.#randomBytes(16));
    socket.send(JSON.stringify(envelope));
  }
}

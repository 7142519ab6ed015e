/**
 * Peer RPC between ring members over WebSocket on mutual TLS 1.3 (`wss:`, sub-protocol
 * `flowchain-peer.v2`), on a port of its own, apart from the consumers' HTTP port. Each link
 * is authenticated once, by the TLS handshake: both ends prove their Ed25519 peer key and show
 * a membership certificate of the ring's authority (src/membership), so a node without one
 * cannot open a link at all. TLS then gives the link integrity, confidentiality and replay
 * protection, so frames carry no signatures, nonces or timestamps: the sender of a frame is
 * whoever holds the other end of the link, its ring id the one its certificate holds, for the key it proved.
 *
 * One socket per peer pair carries requests both ways. Frames are JSON text:
 *
 *   {"hello": {"url": "wss://…"}}                  first frame from the dialling side: where it listens
 *   {"id": 7, "request": {"type": "…", …}}         a request
 *   {"re": 7, "reply": {…}} | {"re": 7, "error": {"code": …}}
 *
 * Bounds on what an admitted member (one that may lie) can hold of this node:
 *
 * - Membership: a link lives no longer than its peer's certificate. A timer on the injected
 *   clock closes it (4003, FLOWCHAIN_ERR_PEER_NOT_MEMBER) as the certificate's `notAfter`
 *   passes (by the `now` component), as a newer CRL that revokes it does at once; every link
 *   is also checked again every `revalidateMs`.
 * - Links per member: at most `maxLinksPerPeer` (default 4) open links per ring id, those this
 *   node dialled and those still closing included. An upgrade beyond that is refused before the
 *   WebSocket is accepted, with 429 problem+json FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED. This node's
 *   own dials are never refused by its own bound (a reconnect while the old socket closes must
 *   work), so the bound is at least 2.
 * - Handshake: the TLS handshake must finish within `handshakeTimeoutMs` (default 5 s) of the
 *   connection, and the upgrade request must then arrive within `handshakeTimeoutMs` (408
 *   problem+json FLOWCHAIN_ERR_REQUEST_TIMEOUT), instead of Node's 120 s and 60 s.
 * - Idleness: a link that carries no frame either way for `idleTimeoutMs` (default 5 min) and
 *   has no request waiting in either direction is closed (1000); it is looked at every quarter
 *   of that time, so it is closed within 1.25 × `idleTimeoutMs` of its last frame. Frames only
 *   bump counters: there is no timer per frame.
 * - A link this node closes, for any of these reasons, serves no frame after that and is cut
 *   (TCP) if the peer does not finish the close handshake within a second.
 * - At most 512 of a link's requests may wait for this node's answer; frames are at most
 *   `maxPayload` bytes (1009 beyond).
 *
 * Rejects requests with FLOWCHAIN_ERR_PEER_UNREACHABLE (cannot connect, closed, timed out),
 * FLOWCHAIN_ERR_PEER_SIGNATURE_INVALID (another node than the one asked answered), or the
 * code the remote node answered (FLOWCHAIN_ERR_PEER_NOT_MEMBER and
 * FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED when its listener refused the link). The constructor
 * throws FLOWCHAIN_ERR_CONFIG_INVALID for a bound that is not a whole number in range.
 */
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { describeError, errorFromBody, FlowchainError, isFlowchainError, type ErrorBody } from '../errors.js';
import type { Membership, MemberPeer } from '../membership/membership.js';
import type { NodeIdentity } from '../node-identity.js';
import type { Clock, Timer } from '../common/clock.js';
import type { PeerSender } from '../common/peer-rpc.js';
import type { PeerHandler, PeerReply, PeerRequest, PeerTarget, Transport } from './transport.js';

export const PEER_SUBPROTOCOL = 'flowchain-peer.v2';

/** Close codes of a peer link (RFC 6455 §7.4: 4000-4999 are private). */
export const CLOSE = { notMember: 4003, protocol: 1008, tooBig: 1009, shutdown: 1001, idle: 1000 } as const;

/** Collaborators of the peer network. */
export interface PeerNetworkComponents {
  readonly clock: Clock;
  readonly identity: NodeIdentity;
  readonly membership: Membership;
  /** The wall clock certificates are checked against (TLS itself uses the system's). */
  readonly now?: () => Date;
  readonly log?: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

/** Where the network listens and how it behaves. */
export interface PeerNetworkInit {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The URL others dial (wss://host:port/); by default built from the host and the bound port. */
  readonly advertisedUrl?: string;
  readonly timeoutMs?: number;
  /** Largest accepted frame, both ways. */
  readonly maxPayload?: number;
  /**
   * How often every link's certificate is checked again against the CRL and the wall clock;
   * a backstop, as each link is also closed by a timer at its certificate's expiry.
   */
  readonly revalidateMs?: number;
  /**
   * Most links open at once per member (ring id), incoming and dialled, closing ones included;
   * an upgrade beyond it is refused with 429 FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED. Default 4; at
   * least 2, so that a reconnect while the old socket is still closing gets in.
   */
  readonly maxLinksPerPeer?: number;
  /**
   * Time a connection to the listener has for its TLS handshake, and then again for its
   * upgrade request, before it is dropped. Default 5 000 ms.
   */
  readonly handshakeTimeoutMs?: number;
  /**
   * A link that carries no frame either way for this long, with no request waiting in either
   * direction, is closed (1000). Default 300 000 ms (5 minutes).
   */
  readonly idleTimeoutMs?: number;
}

/** node:tls's codes for a server certificate that is not a valid membership (OpenSSL verify errors). */
const TLS_REFUSALS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_REVOKED',
  'UNABLE_TO_GET_CRL',
  'CRL_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

/**
 * Sends a frame; the frames a link sends in one tick leave in one TLS write (the socket is
 * corked until the microtasks of this tick are done), instead of a record and a system call
 * each: under load a node sends many small frames to the same peer at once.
 */
function transmit(link: Link, text: string): void {
  link.framesOut++;
  if (!link.corked) {
    link.corked = true;
    link.tls.cork();
    setImmediate(() => {
      link.corked = false;
      link.tls.uncork();
    });
  }
  link.socket.send(text);
}

/**
 * Writes a problem+json refusal on a raw socket (an upgrade that is not let in, a request that
 * did not arrive in time) and closes it: destroyed once the answer is written, so that a peer
 * that never closes its side holds nothing.
 */
function refuse(socket: Duplex, err: unknown): void {
  const body = describeError(err);
  const json = JSON.stringify({ type: 'about:blank', ...body, instance: '/' });
  socket.end(`HTTP/1.1 ${body.status} ${body.title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(json)}\r\nconnection: close\r\n\r\n${json}`, () => socket.destroy());
}

/** How a request that broke off before its upgrade is answered (node:http's `clientError` codes). */
function clientErrorOf(code: string | undefined): FlowchainError {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new FlowchainError('FLOWCHAIN_ERR_REQUEST_TIMEOUT', 'the upgrade request did not arrive in time');
  if (code === 'HPE_HEADER_OVERFLOW') return new FlowchainError('FLOWCHAIN_ERR_HEADERS_TOO_LARGE', 'request header fields too large');
  return new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'malformed HTTP request');
}

/** setTimeout's longest delay (2^31 - 1 ms, about 24.8 days); a longer wait is re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** How long a link this node closes has to finish the close handshake before it is cut. */
const CLOSE_GRACE_MS = 1_000;

/** A whole number in [min, MAX_TIMER_MS], or FLOWCHAIN_ERR_CONFIG_INVALID naming the option. */
function bounded(value: number, name: string, min: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > MAX_TIMER_MS) {
    throw new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', `${name} must be a whole number from ${min} to ${MAX_TIMER_MS}`, { field: name });
  }
  return value;
}

/** Requests one link may have waiting for this node's answer before it is cut. */
const MAX_WAITING = 512;

/** One authenticated socket. */
interface Link {
  readonly socket: WebSocket;
  readonly peer: MemberPeer;
  /** What the far end presented at the handshake, checked again when memberships change. */
  readonly certificate: X509Certificate;
  /** The TLS socket under the WebSocket, corked while frames of one tick are gathered. */
  readonly tls: TLSSocket;
  corked: boolean;
  /** Where the peer listens: the URL we dialled, or what its hello said. */
  url: string | undefined;
  waiting: number;
  /** This node's requests on this link still waiting for their reply. */
  awaiting: number;
  framesIn: number;
  framesOut: number;
  /** `framesIn + framesOut` at the last idleness check, and since when (clock ms) it has not moved. */
  seen: number;
  quietSince: number;
  /** Closes the link at its certificate's expiry. */
  expiry: Timer | undefined;
  /** Cuts the link if the close handshake this node started does not finish. */
  grace: Timer | undefined;
}

interface Pending {
  readonly url: string;
  readonly link: Link;
  readonly resolve: (reply: PeerReply) => void;
  readonly reject: (err: unknown) => void;
  readonly timer: Timer;
}

const unreachable = (url: string, why: string) => new FlowchainError('FLOWCHAIN_ERR_PEER_UNREACHABLE', `${url}: ${why}`, { field: 'url' });
const invalid = (detail: string, field = '/') => new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', detail, { field });

/** This node's side of every peer link. */
export class TlsPeerNetwork implements Transport {
  readonly #c: PeerNetworkComponents;
  readonly #init: PeerNetworkInit;
  readonly #timeoutMs: number;
  readonly #maxPayload: number;
  readonly #maxLinksPerPeer: number;
  readonly #handshakeTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #now: () => Date;
  readonly #key: string;
  /** The open link to each peer id, whichever side opened it. */
  readonly #linked = new Map<bigint, Link>();
  /** Sockets being dialled, by URL, so concurrent requests share one. */
  readonly #dialling = new Map<string, Promise<Link>>();
  readonly #open = new Set<Link>();
  /** How many of #open each member holds. */
  readonly #linksOf = new Map<bigint, number>();
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #server: Server | undefined;
  #wss: WebSocketServer | undefined;
  #url: string | undefined;
  #handler: PeerHandler | undefined;
  #closed = false;
  #revalidate: Timer | undefined;
  #idleCheck: Timer | undefined;
  #unsubscribe: (() => void) | undefined;

  /** Throws FLOWCHAIN_ERR_CONFIG_INVALID for a bound out of range. */
  constructor(components: PeerNetworkComponents, init: PeerNetworkInit) {
    this.#c = components;
    this.#init = init;
    this.#timeoutMs = init.timeoutMs ?? 5_000;
    this.#maxPayload = init.maxPayload ?? 256 * 1024;
    this.#maxLinksPerPeer = bounded(init.maxLinksPerPeer ?? 4, 'maxLinksPerPeer', 2);
    this.#handshakeTimeoutMs = bounded(init.handshakeTimeoutMs ?? 5_000, 'handshakeTimeoutMs', 1);
    this.#idleTimeoutMs = bounded(init.idleTimeoutMs ?? 300_000, 'idleTimeoutMs', 4);
    this.#now = components.now ?? (() => new Date());
    this.#key = components.identity.privateKeyPem();
  }

  /** This node's peer URL, once listening. */
  get url(): string {
    if (this.#url === undefined) throw unreachable('peer network', 'not listening yet');
    return this.#url;
  }

  /** Who answers incoming requests (the Chord node). */
  setHandler(handler: PeerHandler): void {
    this.#handler = handler;
  }

  /** Starts the TLS listener; resolves with the URL other members dial. */
  async listen(): Promise<string> {
    // The handshake completes for anyone who proves a key, so that a process that is not a
    // member is told so with a code (403 problem+json) instead of a bare TLS alert; nothing
    // it sends is read beyond its upgrade request.
    const server = createServer({
      ...this.#c.membership.tlsOptions(this.#key),
      rejectUnauthorized: false,
      // Node would hold a socket that never finishes TLS for 120 s, and one that never sends
      // its request for 60 s (looked at every 30 s): a member could pile them up.
      handshakeTimeout: this.#handshakeTimeoutMs,
      headersTimeout: this.#handshakeTimeoutMs,
      requestTimeout: this.#handshakeTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, this.#handshakeTimeoutMs),
    });
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.#maxPayload, handleProtocols: (offered) => (offered.has(PEER_SUBPROTOCOL) ? PEER_SUBPROTOCOL : false) });
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const tls = request.socket as TLSSocket;
      try {
        if (!tls.authorized) throw new FlowchainError('FLOWCHAIN_ERR_PEER_NOT_MEMBER', `no membership of this ring: ${String(tls.authorizationError ?? 'no certificate')}`, { field: 'certificate' });
        const peer = this.#c.membership.verifyPeer(tls.getPeerX509Certificate(), this.#now());
        if ((this.#linksOf.get(peer.id) ?? 0) >= this.#maxLinksPerPeer) {
          throw new FlowchainError('FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED', `a member may hold ${this.#maxLinksPerPeer} links to this node at once`, { field: 'certificate' });
        }
      } catch (err) {
        return void refuse(socket, err);
      }
      // With no verifyClient, ws accepts (or aborts) synchronously: the link is counted before
      // the next upgrade is looked at, so parallel upgrades cannot all pass the check above.
      wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws, tls));
    });
    // Plain requests: a member's browser is told to upgrade, anyone else that it is no member.
    server.on('request', (request: IncomingMessage, response) => {
      const member = (request.socket as TLSSocket).authorized;
      const error = member
        ? new FlowchainError('FLOWCHAIN_ERR_UPGRADE_REQUIRED', `open a WebSocket with sub-protocol ${PEER_SUBPROTOCOL}`)
        : new FlowchainError('FLOWCHAIN_ERR_PEER_NOT_MEMBER', 'no membership of this ring', { field: 'certificate' });
      const body = describeError(error);
      response.writeHead(body.status, { 'content-type': 'application/problem+json', connection: 'close', ...(member ? { upgrade: 'websocket' } : {}) });
      response.end(JSON.stringify({ type: 'about:blank', ...body, instance: '/' }));
    });
    server.on('tlsClientError', (err) => this.#c.log?.debug({ err: err.message }, 'peer TLS handshake refused'));
    // A request that did not arrive in time (or is not HTTP) is answered with a code, as any
    // refusal. node:https reports TLS failures here too (a handshake timeout, say): there is no
    // channel to answer on, so those sockets are only dropped, as node:https would.
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      const http = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code?.startsWith('HPE_') === true;
      if (!http || !socket.writable) return void socket.destroy();
      refuse(socket, clientErrorOf(err.code));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#init.port, this.#init.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    this.#wss = wss;
    const port = (server.address() as { port: number }).port;
    const shown = this.#init.host === '0.0.0.0' || this.#init.host === '::' ? '127.0.0.1' : this.#init.host.includes(':') ? `[${this.#init.host}]` : this.#init.host;
    this.#url = this.#init.advertisedUrl ?? `wss://${shown}:${port}/`;
    this.#unsubscribe = this.#c.membership.onCrlChange(() => this.#refresh());
    this.#revalidate = this.#c.clock.every(this.#init.revalidateMs ?? 60_000, () => this.#checkLinks());
    this.#idleCheck = this.#c.clock.every(Math.floor(this.#idleTimeoutMs / 4), () => this.#closeIdle());
    return this.#url;
  }

  async request(target: PeerTarget, request: PeerRequest): Promise<PeerReply> {
    const { url, id: expected } = target;
    if (this.#closed) throw unreachable(url, 'this node is shutting down');
    const link = await this.#linkTo(url, expected);
    if (expected !== undefined && link.peer.id !== expected) {
      throw new FlowchainError('FLOWCHAIN_ERR_PEER_SIGNATURE_INVALID', `${url}: answered by another node than the one asked`, { field: 'id' });
    }
    const id = this.#nextId++;
    return new Promise<PeerReply>((resolve, reject) => {
      const heard = link.framesIn;
      const timer = this.#c.clock.after(this.#timeoutMs, () => {
        this.#forget(id, link);
        reject(unreachable(url, `no reply within ${this.#timeoutMs} ms`));
        // A link that carried nothing at all meanwhile is presumed dead (a peer that vanished
        // without closing TCP, or one that restarted while we held its old socket): cut it, so
        // the next request dials afresh. A link that is merely slow carries other frames.
        const silent = link.framesIn === heard;
        this.#c.log?.debug({ peer: url, type: request.type, cut: silent }, 'peer request timed out');
        if (silent) link.socket.terminate();
      });
      this.#pending.set(id, { url, link, resolve, reject, timer });
      link.awaiting++;
      transmit(link, JSON.stringify({ id, request }));
    });
  }

  /** Closes every link and the listener, and fails every pending request. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#revalidate?.cancel();
    this.#idleCheck?.cancel();
    this.#unsubscribe?.();
    for (const [id, pending] of this.#pending) {
      this.#forget(id, pending.link, pending);
      pending.reject(unreachable(pending.url, 'this node is shutting down'));
    }
    const closing = [...this.#open].map(({ socket }) => new Promise<void>((resolve) => {
      if (socket.readyState === WebSocket.CLOSED) return resolve();
      socket.once('close', () => resolve());
      socket.close(CLOSE.shutdown, 'shutting down');
      // A peer that does not answer the close handshake is cut off.
      this.#c.clock.after(CLOSE_GRACE_MS, () => socket.terminate());
    }));
    await Promise.all(closing);
    this.#wss?.close();
    await new Promise<void>((resolve) => (this.#server === undefined ? resolve() : this.#server.close(() => resolve())));
  }

  /** A link to the node: the open one to `expected`, or a new one dialled to `url`. */
  #linkTo(url: string, expected: bigint | undefined): Promise<Link> {
    const linked = expected === undefined ? undefined : this.#linked.get(expected);
    if (linked?.socket.readyState === WebSocket.OPEN) return Promise.resolve(linked);
    return this.#dial(url);
  }

  #dial(url: string): Promise<Link> {
    const existing = this.#dialling.get(url);
    if (existing) return existing;
    const opening = new Promise<Link>((resolve, reject) => {
      let socket: WebSocket;
      try {
        socket = new WebSocket(url, PEER_SUBPROTOCOL, {
          ...this.#c.membership.tlsOptions(this.#key),
          // Members are named by their key, not a host name: the certificate chain and the id
          // the key hashes to are what is checked.
          // (ws's typing says boolean; node:tls treats any truthy return as a failure.)
          checkServerIdentity: (() => undefined) as unknown as () => boolean,
          maxPayload: this.#maxPayload,
          handshakeTimeout: this.#timeoutMs,
        });
      } catch (err) {
        return reject(unreachable(url, (err as Error).message));
      }
      let link: Link | undefined;
      socket.once('upgrade', (response: IncomingMessage) => {
        try {
          link = this.#attach(socket, response.socket as TLSSocket, url);
        } catch (err) {
          socket.terminate();
          reject(err);
        }
      });
      socket.once('open', () => {
        if (link === undefined) return;
        socket.send(JSON.stringify({ hello: { url: this.#url } }));
        resolve(link);
      });
      // The listener said why it refused (403 problem+json: this node is no member there).
      socket.once('unexpected-response', (_request, response: IncomingMessage) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          reject(body === undefined ? unreachable(url, `answered ${response.statusCode}`) : errorFromBody(body, url));
          socket.terminate();
        });
      });
      socket.once('error', (err) => reject(TLS_REFUSALS.has((err as NodeJS.ErrnoException).code ?? '') ? new FlowchainError('FLOWCHAIN_ERR_PEER_NOT_MEMBER', `${url}: its certificate is not a membership of this ring (${(err as NodeJS.ErrnoException).code})`, { field: 'certificate' }) : unreachable(url, err.message)));
      socket.once('close', () => reject(unreachable(url, 'connection closed during the handshake')));
    });
    this.#dialling.set(url, opening);
    const done = () => this.#dialling.delete(url);
    opening.then(done, done);
    return opening;
  }

  /** Takes over a socket another member opened to our listener. */
  #accept(socket: WebSocket, tls: TLSSocket): void {
    if (this.#closed) return void socket.close(CLOSE.shutdown, 'shutting down');
    try {
      this.#attach(socket, tls, undefined);
    } catch (err) {
      socket.close(CLOSE.notMember, describeError(err).code);
    }
  }

  /** Checks the peer's certificate and wires its socket: frames in, cleanup on close. */
  #attach(socket: WebSocket, tls: TLSSocket, dialled: string | undefined): Link {
    const certificate = tls.getPeerX509Certificate();
    const peer = this.#c.membership.verifyPeer(certificate, this.#now());
    const link: Link = {
      socket, tls, peer, certificate: certificate!, url: dialled, corked: false,
      waiting: 0, awaiting: 0, framesIn: 0, framesOut: 0, seen: 0, quietSince: this.#c.clock.now(), expiry: undefined, grace: undefined,
    };
    this.#open.add(link);
    // Dialled links count too, but are never refused here: the bound is the listener's.
    this.#linksOf.set(peer.id, (this.#linksOf.get(peer.id) ?? 0) + 1);
    // Requests to that id may use this socket, unless another open one already serves it.
    if (this.#linked.get(peer.id)?.socket.readyState !== WebSocket.OPEN) this.#linked.set(peer.id, link);
    socket.on('message', (data: RawData, isBinary: boolean) => {
      // Once this node (or the peer) started closing, nothing more is served or settled.
      if (socket.readyState !== WebSocket.OPEN) return;
      link.framesIn++;
      this.#onFrame(link, data, isBinary);
    });
    socket.on('error', (err) => this.#c.log?.debug({ err: err.message }, 'peer socket error'));
    this.#watchExpiry(link);
    socket.once('close', () => {
      link.expiry?.cancel();
      link.grace?.cancel();
      this.#open.delete(link);
      const left = (this.#linksOf.get(peer.id) ?? 1) - 1;
      if (left > 0) this.#linksOf.set(peer.id, left);
      else this.#linksOf.delete(peer.id);
      if (this.#linked.get(peer.id) === link) {
        this.#linked.delete(peer.id);
        const other = [...this.#open].find((l) => l.peer.id === peer.id && l.socket.readyState === WebSocket.OPEN);
        if (other !== undefined) this.#linked.set(peer.id, other);
      }
      for (const [id, pending] of this.#pending) {
        if (pending.link !== link) continue;
        this.#forget(id, link, pending);
        pending.reject(unreachable(pending.url, 'connection closed'));
      }
    });
    return link;
  }

  /** Drops a pending request: its timer, its entry and its count on the link. */
  #forget(id: number, link: Link, pending = this.#pending.get(id)): void {
    if (pending === undefined || !this.#pending.delete(id)) return;
    pending.timer.cancel();
    link.awaiting--;
  }

  /**
   * Closes the link when its certificate expires: the first millisecond past `notAfter` (which
   * RFC 5280 §4.1.2.5 counts as valid, as {@link Membership.verifyPeer} does), by the `now`
   * component's wall clock. Waits in steps setTimeout can hold (about 24.8 days each); the timer
   * is cancelled when the link closes.
   */
  #watchExpiry(link: Link): void {
    const left = link.peer.notAfter.getTime() - this.#now().getTime() + 1;
    link.expiry = this.#c.clock.after(Math.max(0, Math.min(left, MAX_TIMER_MS)), () => {
      if (this.#now().getTime() <= link.peer.notAfter.getTime()) return this.#watchExpiry(link);
      this.#c.log?.warn({ peer: link.peer.id.toString(16) }, 'closing a link whose peer\'s membership expired');
      this.#cut(link, CLOSE.notMember, 'FLOWCHAIN_ERR_PEER_NOT_MEMBER');
    });
  }

  /** Closes a link this node no longer keeps, and cuts it if the peer does not answer the close. */
  #cut(link: Link, code: number, reason: string): void {
    if (link.socket.readyState !== WebSocket.OPEN) return;
    link.socket.close(code, reason);
    link.grace = this.#c.clock.after(CLOSE_GRACE_MS, () => link.socket.terminate());
  }

  /** Closes the links that carried no frame for the idle time and have nothing waiting either way. */
  #closeIdle(): void {
    const now = this.#c.clock.now();
    for (const link of this.#open) {
      const activity = link.framesIn + link.framesOut;
      if (activity !== link.seen || link.waiting > 0 || link.awaiting > 0) {
        link.seen = activity;
        link.quietSince = now;
      } else if (now - link.quietSince >= this.#idleTimeoutMs) {
        this.#c.log?.debug({ peer: link.peer.id.toString(16) }, 'closing an idle peer link');
        this.#cut(link, CLOSE.idle, 'idle');
      }
    }
  }

  #onFrame(link: Link, data: RawData, isBinary: boolean): void {
    let frame: Record<string, unknown>;
    try {
      if (isBinary) throw invalid('peer frames are JSON text');
      const parsed = JSON.parse(data.toString()) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('a frame is a JSON object');
      frame = parsed as Record<string, unknown>;
    } catch (err) {
      return this.#fail(link, isFlowchainError(err) ? err : invalid('frame is not JSON'));
    }
    if ('hello' in frame) return this.#onHello(link, frame.hello);
    if ('re' in frame) return this.#settle(link, frame);
    if (!('request' in frame)) return this.#fail(link, invalid('a frame is a hello, a request or a reply'));
    const id = frame.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) return this.#fail(link, invalid('a request has an integer id', 'id'));
    if (++link.waiting > MAX_WAITING) {
      link.waiting--;
      return this.#cut(link, CLOSE.protocol, 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID');
    }
    void this.#serve(link, id, frame.request).finally(() => link.waiting--);
  }

  /** The dialling side says once where it listens; its id is the key it proved, never a claim. */
  #onHello(link: Link, hello: unknown): void {
    const url = (hello as { url?: unknown } | null)?.url;
    if (link.url !== undefined || typeof url !== 'string' || url.length > 2048 || !/^wss:\/\//.test(url)) {
      return this.#cut(link, CLOSE.protocol, 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID');
    }
    link.url = url;
  }

  async #serve(link: Link, id: number, request: unknown): Promise<void> {
    try {
      if (this.#handler === undefined) throw unreachable(this.url, 'not ready');
      if (link.url === undefined) throw invalid('say hello (where you listen) before the first request', 'hello');
      if (typeof request !== 'object' || request === null || Array.isArray(request)) throw invalid('request must be an object', 'request');
      // The member's certified ring id and the key its certificate holds (what it signs with).
      const sender: PeerSender = { id: link.peer.id, url: link.url, key: Buffer.from(link.peer.key).toString('hex') };
      const reply = await this.#handler(request as PeerRequest, sender);
      this.#send(link, { re: id, reply });
    } catch (err) {
      if (!isFlowchainError(err)) this.#c.log?.warn({ err }, 'peer request failed');
      this.#send(link, { re: id, error: describeError(err) });
    }
  }

  #settle(link: Link, frame: Record<string, unknown>): void {
    const re = frame.re;
    const pending = typeof re === 'number' ? this.#pending.get(re) : undefined;
    // Late, unknown, or arriving on another link than the request left on: ignored.
    if (pending === undefined || pending.link !== link) return;
    this.#forget(re as number, link, pending);
    const { error, reply } = frame as { error?: unknown; reply?: unknown };
    if (error !== undefined) pending.reject(errorFromBody(error, pending.url));
    else if (typeof reply === 'object' && reply !== null && !Array.isArray(reply)) pending.resolve(reply as PeerReply);
    else pending.reject(invalid(`${pending.url}: a reply is an object`, 'reply'));
  }

  /** Answers a frame that is not a request with an error (never a reply to a reply). */
  #fail(link: Link, err: FlowchainError): void {
    this.#c.log?.warn({ code: err.code, peer: link.peer.id.toString(16) }, 'rejected a peer frame');
    this.#send(link, { re: null, error: describeError(err) });
  }

  #send(link: Link, frame: { re: number | null; reply?: PeerReply; error?: ErrorBody }): void {
    if (link.socket.readyState === WebSocket.OPEN) transmit(link, JSON.stringify(frame));
  }

  /** A newer CRL: new handshakes check it, and links it revokes are closed. */
  #refresh(): void {
    this.#server?.setSecureContext(this.#c.membership.tlsOptions(this.#key));
    this.#checkLinks();
  }

  /** Closes every link whose peer's membership no longer holds. */
  #checkLinks(): void {
    for (const link of this.#open) {
      try {
        this.#c.membership.verifyPeer(link.certificate, this.#now());
      } catch (err) {
        if (link.socket.readyState !== WebSocket.OPEN) continue;
        this.#c.log?.warn({ peer: link.peer.id.toString(16), code: describeError(err).code }, 'closing a link whose peer is no longer a member');
        this.#cut(link, CLOSE.notMember, 'FLOWCHAIN_ERR_PEER_NOT_MEMBER');
      }
    }
  }
}


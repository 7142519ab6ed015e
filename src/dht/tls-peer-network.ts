/**
 * Peer RPC between ring members over WebSocket on mutual TLS 1.3 (`wss:`, sub-protocol
 * `flowchain-peer.v2`), on a port of its own, apart from the consumers' HTTP port. Each link
 * is authenticated once, by the TLS handshake: both ends prove their Ed25519 peer key and show
 * a membership certificate of the ring's authority (src/membership), so a node without one
 * cannot open a link at all. TLS then gives the link integrity, confidentiality and replay
 * protection, so frames carry no signatures, nonces or timestamps: the sender of a frame is
 * whoever holds the other end of the link, its ring id being SHA-1 of the key it proved.
 *
 * One socket per peer pair carries requests both ways. Frames are JSON text:
 *
 *   {"hello": {"url": "wss://…"}}                  first frame from the dialling side: where it listens
 *   {"id": 7, "request": {"type": "…", …}}         a request
 *   {"re": 7, "reply": {…}} | {"re": 7, "error": {"code": …}}
 *
 * Rejects requests with FLOWCHAIN_ERR_PEER_UNREACHABLE (cannot connect, closed, timed out),
 * FLOWCHAIN_ERR_PEER_SIGNATURE_INVALID (another node than the one asked answered), or the
 * code the remote node answered. A link whose peer's membership lapses (expiry, a newer CRL)
 * is closed with 4003.
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
import type { Peer } from './peer.js';
import type { PeerHandler, PeerReply, PeerRequest, PeerTarget, Transport } from './transport.js';

export const PEER_SUBPROTOCOL = 'flowchain-peer.v2';

/** Close codes of a peer link (RFC 6455 §7.4: 4000-4999 are private). */
export const CLOSE = { notMember: 4003, protocol: 1008, tooBig: 1009, shutdown: 1001 } as const;

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
  /** How often every link's certificate is checked again (expiry). */
  readonly revalidateMs?: number;
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

/** Writes a problem+json refusal on a raw socket (an upgrade that is not let in) and closes it. */
function refuse(socket: Duplex, err: unknown): void {
  const body = describeError(err);
  const json = JSON.stringify({ type: 'about:blank', ...body, instance: '/' });
  socket.end(`HTTP/1.1 ${body.status} ${body.title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(json)}\r\nconnection: close\r\n\r\n${json}`);
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
  framesIn: number;
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
  readonly #now: () => Date;
  readonly #key: string;
  /** The open link to each peer id, whichever side opened it. */
  readonly #linked = new Map<bigint, Link>();
  /** Sockets being dialled, by URL, so concurrent requests share one. */
  readonly #dialling = new Map<string, Promise<Link>>();
  readonly #open = new Set<Link>();
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #server: Server | undefined;
  #wss: WebSocketServer | undefined;
  #url: string | undefined;
  #handler: PeerHandler | undefined;
  #closed = false;
  #revalidate: Timer | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(components: PeerNetworkComponents, init: PeerNetworkInit) {
    this.#c = components;
    this.#init = init;
    this.#timeoutMs = init.timeoutMs ?? 5_000;
    this.#maxPayload = init.maxPayload ?? 256 * 1024;
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
    const server = createServer({ ...this.#c.membership.tlsOptions(this.#key), rejectUnauthorized: false });
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.#maxPayload, handleProtocols: (offered) => (offered.has(PEER_SUBPROTOCOL) ? PEER_SUBPROTOCOL : false) });
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const tls = request.socket as TLSSocket;
      try {
        if (!tls.authorized) throw new FlowchainError('FLOWCHAIN_ERR_PEER_NOT_MEMBER', `no membership of this ring: ${String(tls.authorizationError ?? 'no certificate')}`, { field: 'certificate' });
        this.#c.membership.verifyPeer(tls.getPeerX509Certificate(), this.#now());
      } catch (err) {
        return void refuse(socket, err);
      }
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
        this.#pending.delete(id);
        reject(unreachable(url, `no reply within ${this.#timeoutMs} ms`));
        // A link that carried nothing at all meanwhile is presumed dead (a peer that vanished
        // without closing TCP, or one that restarted while we held its old socket): cut it, so
        // the next request dials afresh. A link that is merely slow carries other frames.
        const silent = link.framesIn === heard;
        this.#c.log?.debug({ peer: url, type: request.type, cut: silent }, 'peer request timed out');
        if (silent) link.socket.terminate();
      });
      this.#pending.set(id, { url, link, resolve, reject, timer });
      transmit(link, JSON.stringify({ id, request }));
    });
  }

  /** Closes every link and the listener, and fails every pending request. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#revalidate?.cancel();
    this.#unsubscribe?.();
    for (const [id, pending] of this.#pending) {
      pending.timer.cancel();
      pending.reject(unreachable(pending.url, 'this node is shutting down'));
      this.#pending.delete(id);
    }
    const closing = [...this.#open].map(({ socket }) => new Promise<void>((resolve) => {
      if (socket.readyState === WebSocket.CLOSED) return resolve();
      socket.once('close', () => resolve());
      socket.close(CLOSE.shutdown, 'shutting down');
      // A peer that does not answer the close handshake is cut off.
      this.#c.clock.after(1_000, () => socket.terminate());
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
    const link: Link = { socket, tls, peer, certificate: certificate!, url: dialled, waiting: 0, framesIn: 0, corked: false };
    this.#open.add(link);
    // Requests to that id may use this socket, unless another open one already serves it.
    if (this.#linked.get(peer.id)?.socket.readyState !== WebSocket.OPEN) this.#linked.set(peer.id, link);
    socket.on('message', (data: RawData, isBinary: boolean) => {
      link.framesIn++;
      this.#onFrame(link, data, isBinary);
    });
    socket.on('error', (err) => this.#c.log?.debug({ err: err.message }, 'peer socket error'));
    socket.once('close', () => {
      this.#open.delete(link);
      if (this.#linked.get(peer.id) === link) {
        this.#linked.delete(peer.id);
        const other = [...this.#open].find((l) => l.peer.id === peer.id && l.socket.readyState === WebSocket.OPEN);
        if (other !== undefined) this.#linked.set(peer.id, other);
      }
      for (const [id, pending] of this.#pending) {
        if (pending.link !== link) continue;
        pending.timer.cancel();
        pending.reject(unreachable(pending.url, 'connection closed'));
        this.#pending.delete(id);
      }
    });
    return link;
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
      link.socket.close(CLOSE.protocol, 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID');
      return;
    }
    void this.#serve(link, id, frame.request).finally(() => link.waiting--);
  }

  /** The dialling side says once where it listens; its id is the key it proved, never a claim. */
  #onHello(link: Link, hello: unknown): void {
    const url = (hello as { url?: unknown } | null)?.url;
    if (link.url !== undefined || typeof url !== 'string' || url.length > 2048 || !/^wss:\/\//.test(url)) {
      link.socket.close(CLOSE.protocol, 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID');
      return;
    }
    link.url = url;
  }

  async #serve(link: Link, id: number, request: unknown): Promise<void> {
    try {
      if (this.#handler === undefined) throw unreachable(this.url, 'not ready');
      if (link.url === undefined) throw invalid('say hello (where you listen) before the first request', 'hello');
      if (typeof request !== 'object' || request === null || Array.isArray(request)) throw invalid('request must be an object', 'request');
      const sender: Peer = { id: link.peer.id, url: link.url };
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
    this.#pending.delete(re as number);
    pending.timer.cancel();
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
        this.#c.log?.warn({ peer: link.peer.id.toString(16), code: describeError(err).code }, 'closing a link whose peer is no longer a member');
        link.socket.close(CLOSE.notMember, 'FLOWCHAIN_ERR_PEER_NOT_MEMBER');
      }
    }
  }
}


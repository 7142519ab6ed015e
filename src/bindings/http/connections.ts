/**
 * Connection hygiene of the HTTP server. Node's own timeouts bound how long a client may take
 * to send a request (its headers, then the whole request) and how long an idle keep-alive
 * connection stays open; a cap bounds how many connections are open at all. And everything
 * Node would otherwise answer itself, with an empty or HTML body or not at all, is answered as
 * problem+json: parse errors and timeouts (`clientError`), CONNECT, an Expect other than
 * 100-continue, and upgrade requests that no WebSocket route takes.
 *
 * Node applies the headers and request timeouts only while a request is being received
 * (`http.Server` checkConnections: a connection leaves the check once its request is
 * complete) and the keep-alive timeout only between requests, so a response that streams for
 * hours (SSE, a long-poll) and an upgraded WebSocket are never cut by them.
 *
 * Answers FLOWCHAIN_ERR_REQUEST_MALFORMED, FLOWCHAIN_ERR_HEADERS_TOO_LARGE,
 * FLOWCHAIN_ERR_REQUEST_TIMEOUT, FLOWCHAIN_ERR_REQUEST_TOO_LARGE, FLOWCHAIN_ERR_ROUTE_NOT_FOUND
 * (CONNECT) and FLOWCHAIN_ERR_EXPECTATION_FAILED on the socket; {@link settleUpgrade} throws
 * FLOWCHAIN_ERR_REQUEST_MALFORMED.
 */
import type { IncomingMessage, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer, TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FlowchainError } from '../../errors.js';
import { clientErrorOf, rawProblemResponse, writeProblem, pathOf } from './problem.js';

/** Timeouts and the connection cap; every duration in milliseconds. */
export interface ConnectionLimits {
  /** The request line and headers must arrive within this long of the connection opening or the previous response (a connection that sends nothing is closed after it). */
  readonly headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this long. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long (Node adds its own 1 s margin on top). */
  readonly keepAliveTimeoutMs: number;
  /** Connections beyond this many are refused at once (closed before anything is read). */
  readonly maxConnections: number;
}

/** How long a socket that got a closing answer stays open for the client to read it (a lingering close, RFC 9112 §9.6). */
const LINGER_MS = 1_000;

/** A certificate and key the port serves HTTPS with (PEM). */
export interface TlsOptions {
  readonly cert: string;
  readonly key: string;
}

/**
 * fastify's server options for `limits`: Node's timeouts, how often Node checks them, and the
 * Host rule left to the app (which answers a missing Host as problem+json instead of Node's
 * empty 400). With `tls`, the same options go to an HTTPS server (fastify hands its `https`
 * object to https.createServer, which takes the http.Server options too).
 */
export function serverOptions(limits: ConnectionLimits, tls?: TlsOptions) {
  const http: ServerOptions = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the two request timeouts every 30 s by default, which would let a
    // connection that sends nothing live up to 30 s past its timeout.
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
    requireHostHeader: false,
  };
  return {
    // Over TLS, the handshake comes before the request line: it must be done within the same
    // headers timeout, so a connection that never completes one is closed as one that sends nothing.
    ...(tls === undefined ? { http } : { https: { ...http, handshakeTimeout: limits.headersTimeoutMs, cert: tls.cert, key: tls.key } }),
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // fastify calls it with itself as `this`.
    clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
      answerClientError(err, socket, this.log);
    },
  };
}

/** Sockets already answered: llhttp reports every later chunk on them as another error. */
const answered = new WeakSet<Duplex>();

/**
 * Node's `clientError`: the bytes on `socket` are not a request it can parse, or a request did
 * not arrive in time. Unless a response is already under way, the client gets a complete
 * problem+json response and the connection closes.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex, log: FastifyBaseLogger): void {
  if (answered.has(socket)) return;
  answered.add(socket);
  // A reset connection has nobody left to answer, and one whose TLS handshake failed or timed
  // out (plain HTTP on the HTTPS port, a client refusing the certificate) cannot read an answer.
  if (err.code === 'ECONNRESET' || !socket.writable || isTlsFailure(err.code)) {
    if (isTlsFailure(err.code)) log.debug({ err: { code: err.code, message: err.message } }, 'TLS handshake failed');
    socket.destroy();
    return;
  }
  const problem = clientErrorOf(err);
  log.debug({ err: { code: err.code, message: err.message } }, 'client error');
  // A response already started (a timeout while it is written) cannot be followed by another.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  closeWith(socket, rawProblemResponse(problem));
}

/** node:tls's errors of a handshake that failed or did not finish (OpenSSL's ERR_SSL_*, and the handshake timeout). */
function isTlsFailure(code: string | undefined): boolean {
  return code !== undefined && (code.startsWith('ERR_SSL_') || code === 'ERR_TLS_HANDSHAKE_TIMEOUT');
}

/** Ends `socket` after `data`, and destroys it if the client does not close its side soon. */
function closeWith(socket: Duplex, data?: string): void {
  if (socket.destroyed) return;
  // http.Server allows half-open sockets, so a client that never closes would keep this one.
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.end(data);
}

/**
 * Applies the connection cap and answers what Node would leave unanswered. Call once, on the
 * app's own server, before it listens.
 */
export function guardServer(app: FastifyInstance, limits: ConnectionLimits): void {
  const server = app.server;
  server.maxConnections = limits.maxConnections;
  let dropped = 0;
  server.on('drop', () => {
    // Logged at 1, 2, 4, 8 ... so a flood of refused connections does not flood the log too.
    dropped++;
    if ((dropped & (dropped - 1)) === 0) app.log.warn({ dropped, maxConnections: limits.maxConnections }, 'connection cap reached: refusing connections');
  });
  // Node's close waits for every connection, and treats one that has not sent a byte yet (a
  // browser's preconnection; over TLS, one still in its handshake) as busy, while it stops
  // the timeouts that would close it: it would hold a shutdown until the client gives up. So
  // at shutdown such connections are dropped; one that began a request is answered (503 if it
  // is a new one). A raw socket and the TLS socket on it share their remote address and port.
  const connections = new Map<string, Socket>();
  const keyOf = (socket: Socket): string => `${socket.remoteAddress}|${socket.remotePort}`;
  const tls = server instanceof TlsServer;
  server.on('connection', (socket: Socket) => {
    const key = keyOf(socket);
    connections.set(key, socket);
    socket.once('close', () => connections.delete(key));
  });
  if (tls) server.on('secureConnection', (socket: TLSSocket) => connections.has(keyOf(socket)) && connections.set(keyOf(socket), socket));
  app.addHook('preClose', async () => {
    for (const socket of connections.values()) {
      const handshaking = tls && !(socket instanceof TLSSocket);
      if (handshaking || socket.bytesRead === 0) socket.destroy();
    }
  });
  // Without a listener Node closes a CONNECT without a word; this node is no proxy.
  server.on('connect', (_request: IncomingMessage, socket: Duplex) => {
    answered.add(socket);
    closeWith(socket, rawProblemResponse(new FlowchainError('FLOWCHAIN_ERR_ROUTE_NOT_FOUND', 'this node is not a proxy: CONNECT is not supported')));
  });
  // Without a listener Node answers 417 with an empty body.
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    response.shouldKeepAlive = false;
    writeProblem(response, new FlowchainError('FLOWCHAIN_ERR_EXPECTATION_FAILED', 'only Expect: 100-continue is supported', { field: 'expect' }), pathOf(request.url));
  });
}

/** ws's handshake refusals, by the header they name (RFC 6455 §4.2.1). */
const HANDSHAKE_FIELD = /\b(Upgrade|Sec-WebSocket-[A-Za-z]+)\b/;

/**
 * Answers the WebSocket handshakes `ws` refuses (a missing key, an unknown version, a bad
 * extension offer) as problem+json instead of ws's text/html; a wrong version also says which
 * versions are spoken (RFC 6455 §4.4).
 */
export function answerHandshakeErrors(server: { on(event: 'wsClientError', listener: (err: Error, socket: Duplex) => void): unknown }): void {
  server.on('wsClientError', (err, socket) => {
    answered.add(socket);
    const field = HANDSHAKE_FIELD.exec(err.message)?.[1]?.toLowerCase();
    const problem = new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', `WebSocket handshake refused: ${err.message}`, field === undefined ? {} : { field });
    closeWith(socket, rawProblemResponse(problem, undefined, field === 'sec-websocket-version' ? { 'sec-websocket-version': '13, 8' } : {}));
  });
}

/**
 * An onRequest step for requests that came as an HTTP upgrade. Node hands such a socket over
 * whole (no parser, no timeouts), so unless a WebSocket route takes it, it is answered and
 * closed. A body cannot be read from it: such a request is refused with
 * FLOWCHAIN_ERR_REQUEST_MALFORMED (field `upgrade`).
 */
export function settleUpgrade(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw;
  // Node marks the requests it emitted as 'upgrade' (undocumented in the types, set by its parser).
  if ((raw as { upgrade?: boolean }).upgrade !== true) return;
  const socket = raw.socket;
  reply.header('connection', 'close');
  reply.raw.once('finish', () => closeWith(socket));
  const hasBody = raw.headers['transfer-encoding'] !== undefined || (raw.headers['content-length'] !== undefined && raw.headers['content-length'] !== '0');
  if (hasBody) throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'a request with Upgrade cannot carry a body; send it without Upgrade', { field: 'upgrade' });
}

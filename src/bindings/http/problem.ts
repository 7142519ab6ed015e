/**
 * The one place HTTP errors are made: every failure becomes RFC 9457 problem+json carrying the
 * catalogue's stable `code` (and `field` when one input is at fault), whether a route threw it,
 * fastify refused the request before routing it, or Node's parser refused the bytes before
 * there was a request at all.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { describeError, FlowchainError, type ErrorBody, type ErrorCode } from '../../errors.js';

/** RFC 9457 §3: the problem details object, with Flowchain's `code` and `field` extensions. */
export interface Problem extends ErrorBody {
  readonly type: string;
  /** The request path; absent when the request line itself could not be read. */
  readonly instance?: string;
}

/** The media type of every error body (RFC 9457 §3). */
export const PROBLEM_TYPE = 'application/problem+json';

/** fastify's own error codes, translated into the catalogue. */
const FASTIFY_CODES: Readonly<Record<string, () => FlowchainError>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new FlowchainError('FLOWCHAIN_ERR_REQUEST_TOO_LARGE', 'request body exceeds the configured limit'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new FlowchainError('FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED', 'send the body as application/json', { field: 'content-type' }),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'content-length does not match the body'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'body is not valid JSON'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'body is empty'),
  // Framework errors (fastify's `frameworkErrors` option): the path could not be routed.
  FST_ERR_BAD_URL: () => new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'the path is not valid percent-encoded UTF-8', { field: 'path' }),
  FST_ERR_MAX_PARAM_LENGTH: () => new FlowchainError('FLOWCHAIN_ERR_URI_TOO_LONG', 'a path segment is longer than the router accepts', { field: 'path' }),
};

/**
 * Errors that carry only an HTTP status (plugins such as @fastify/static use http-errors),
 * by status. Their messages are not passed on: the catalogue's title says what happened.
 */
const BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'FLOWCHAIN_ERR_REQUEST_MALFORMED',
  404: 'FLOWCHAIN_ERR_ROUTE_NOT_FOUND',
  408: 'FLOWCHAIN_ERR_REQUEST_TIMEOUT',
  412: 'FLOWCHAIN_ERR_PRECONDITION_FAILED',
  413: 'FLOWCHAIN_ERR_REQUEST_TOO_LARGE',
  414: 'FLOWCHAIN_ERR_URI_TOO_LONG',
  415: 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED',
  416: 'FLOWCHAIN_ERR_RANGE_NOT_SATISFIABLE',
  417: 'FLOWCHAIN_ERR_EXPECTATION_FAILED',
  431: 'FLOWCHAIN_ERR_HEADERS_TOO_LARGE',
};

/**
 * Node's client errors (the `clientError` event: llhttp's HPE_* parse errors and the server's
 * own timeouts), translated. Anything not listed is a malformed request.
 */
const CLIENT_CODES: Readonly<Record<string, () => FlowchainError>> = {
  HPE_HEADER_OVERFLOW: () => new FlowchainError('FLOWCHAIN_ERR_HEADERS_TOO_LARGE', 'the request line and headers exceed the size the server accepts'),
  // Both the headers timeout and the request timeout (Node's checkConnections).
  ERR_HTTP_REQUEST_TIMEOUT: () => new FlowchainError('FLOWCHAIN_ERR_REQUEST_TIMEOUT', 'the request was not received in time'),
  HPE_CHUNK_EXTENSIONS_OVERFLOW: () => new FlowchainError('FLOWCHAIN_ERR_REQUEST_TOO_LARGE', 'chunk extensions exceed the size the server accepts'),
};

/** Turns anything thrown in a request into a {@link FlowchainError}; undefined when it is not the client's doing. */
export function toFlowchainError(err: unknown): FlowchainError | undefined {
  if (err instanceof FlowchainError) return err;
  const fastifyCode = (err as FastifyError | undefined)?.code;
  const translate = fastifyCode === undefined ? undefined : FASTIFY_CODES[fastifyCode];
  if (translate) return translate();
  // JSON syntax errors from the body parser arrive as SyntaxError with status 400.
  if (err instanceof SyntaxError) return new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'body is not valid JSON', { cause: err });
  const status = (err as FastifyError | undefined)?.statusCode ?? (err as { status?: unknown } | undefined)?.status;
  const code = typeof status === 'number' ? BY_STATUS[status] : undefined;
  if (code !== undefined) return new FlowchainError(code, `request refused: ${STATUS_CODES[status as number] ?? status}`, { cause: err });
  return undefined;
}

/** The catalogue error for a `clientError` Node reported on a raw socket. */
export function clientErrorOf(err: { readonly code?: string }): FlowchainError {
  const translate = err.code === undefined ? undefined : CLIENT_CODES[err.code];
  return translate?.() ?? new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'the request is not valid HTTP/1.1', { cause: err });
}

/** The problem object for `err`; `instance` is the request path, or absent. Unexpected errors become FLOWCHAIN_ERR_INTERNAL. */
export function problemOf(err: unknown, instance?: string): Problem {
  const body = describeError(toFlowchainError(err) ?? err);
  return instance === undefined ? { type: 'about:blank', ...body } : { type: 'about:blank', ...body, instance };
}

/** The path of a request target: a query string may carry an access_token and is never echoed. */
export function pathOf(url: string | undefined): string {
  return url?.split('?')[0] || '/';
}

/** Seconds a client is asked to wait after FLOWCHAIN_ERR_BUSY: deliveries drain the outbox in about that. */
export const BUSY_RETRY_AFTER_S = 1;

/** Sends `err` as problem+json. Unexpected errors are logged and reported without internals. */
export function sendProblem(reply: FastifyReply, request: FastifyRequest, err: unknown): FastifyReply {
  const problem = problemOf(err, pathOf(request.url));
  if (problem.status >= 500) request.log.error({ err }, 'request failed');
  if (problem.status === 405 && !reply.hasHeader('allow')) reply.header('allow', allowed(request, problem.code));
  // RFC 9110 §10.2.3: the journal is full for now, not for good; say when to come back.
  if (problem.code === 'FLOWCHAIN_ERR_BUSY') reply.header('retry-after', String(BUSY_RETRY_AFTER_S));
  return reply.code(problem.status).type(PROBLEM_TYPE).send(problem);
}

/**
 * A complete HTTP/1.1 response carrying `err` as problem+json, for a socket that has no
 * response object (a parse error, a timeout, a refused upgrade); the connection closes after it
 * (RFC 9112 §9.6). `headers` adds fields; names and values must be plain tokens.
 */
export function rawProblemResponse(err: FlowchainError, instance?: string, headers: Readonly<Record<string, string>> = {}): string {
  const body = JSON.stringify(problemOf(err, instance));
  const fields = { 'content-type': PROBLEM_TYPE, 'content-length': String(Buffer.byteLength(body)), connection: 'close', ...headers };
  const head = Object.entries(fields).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n${head}\r\n${body}`;
}

/** Answers a bare Node response (one fastify never sees, such as a refused Expect) with `err` as problem+json. */
export function writeProblem(res: ServerResponse, err: FlowchainError, instance: string): void {
  const body = JSON.stringify(problemOf(err, instance));
  res.writeHead(err.status, { 'content-type': PROBLEM_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** RFC 9110 §15.5.6: a 405 lists what the resource does allow. */
function allowed(request: FastifyRequest, code: ErrorBody['code']): string {
  // Read or write multiple: the collection allows every method even if one member does not.
  if (request.routeOptions.url === '/things/:thing/properties') return 'GET, HEAD, POST, PUT';
  if (request.routeOptions.url === '/things/:thing/actions/:name') return 'POST';
  if (code === 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY') return 'GET, HEAD';
  if (code === 'FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY') return 'PUT';
  return '';
}

/** The methods a 405 may name as allowed. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** Installs the error and not-found handlers on `app`. */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => sendProblem(reply, request, err));
  app.setNotFoundHandler((request, reply) => {
    const path = pathOf(request.url);
    // RFC 9110 §15.5.6: a resource that exists answers a method it lacks with 405 and what it allows.
    const methods = METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
    // A route of this method that found nothing (a static file that is not there) is a 404 too.
    if (methods.length === 0 || methods.includes(request.method as (typeof METHODS)[number])) return sendProblem(reply, request, new FlowchainError('FLOWCHAIN_ERR_ROUTE_NOT_FOUND', `no resource at ${request.method} ${path}`));
    reply.header('allow', methods.join(', '));
    return sendProblem(reply, request, new FlowchainError('FLOWCHAIN_ERR_METHOD_NOT_ALLOWED', `${path} does not take ${request.method}: it allows ${methods.join(', ')}`, { field: 'method' }));
  });
}

/**
 * fastify's `frameworkErrors` option: what fastify refuses before routing (a path that is not
 * valid percent-encoding, a path segment over the router's limit) becomes problem+json too.
 */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendProblem(reply, request, err);
}

/**
 * The plain-HTTP handler of a WebSocket-only endpoint: 426 with `Upgrade: websocket`
 * (RFC 9110 §15.5.22), naming the sub-protocol to ask for.
 */
export function upgradeRequired(subprotocol: string) {
  return async (_request: FastifyRequest, reply: FastifyReply): Promise<never> => {
    reply.header('upgrade', 'websocket');
    throw new FlowchainError('FLOWCHAIN_ERR_UPGRADE_REQUIRED', `open a WebSocket with sub-protocol ${subprotocol}`);
  };
}

/**
 * The one place HTTP errors are made: every failure becomes RFC 9457 problem+json carrying the
 * catalogue's stable `code` (and `field` when one input is at fault).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { describeError, FlowchainError, type ErrorBody } from '../errors.js';

/** RFC 9457 §3: the problem details object, with Flowchain's `code` and `field` extensions. */
export interface Problem extends ErrorBody {
  readonly type: string;
  readonly instance: string;
}

/** fastify's own error codes, translated into the catalogue. */
const FASTIFY_CODES: Readonly<Record<string, () => FlowchainError>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new FlowchainError('FLOWCHAIN_ERR_REQUEST_TOO_LARGE', 'request body exceeds the configured limit'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new FlowchainError('FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED', 'send the body as application/json', { field: 'content-type' }),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'content-length does not match the body'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'body is not valid JSON'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'body is empty'),
};

/** Turns anything thrown in a request into a {@link FlowchainError}. */
export function toFlowchainError(err: unknown): FlowchainError | undefined {
  if (err instanceof FlowchainError) return err;
  const fastifyCode = (err as FastifyError | undefined)?.code;
  const translate = fastifyCode === undefined ? undefined : FASTIFY_CODES[fastifyCode];
  if (translate) return translate();
  // JSON syntax errors from the body parser arrive as SyntaxError with status 400.
  if (err instanceof SyntaxError || (err as FastifyError | undefined)?.statusCode === 400) {
    return new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'body is not valid JSON', { cause: err });
  }
  return undefined;
}

/** Sends `err` as problem+json. Unexpected errors are logged and reported without internals. */
export function sendProblem(reply: FastifyReply, request: FastifyRequest, err: unknown): FastifyReply {
  const known = toFlowchainError(err);
  const body = describeError(known ?? err);
  if (known === undefined || body.status >= 500) request.log.error({ err }, 'request failed');
  // The path only: a query string may carry an access_token.
  const problem: Problem = { type: 'about:blank', ...body, instance: request.url.split('?')[0] ?? '/' };
  if (body.status === 405) reply.header('allow', allowed(request, body.code));
  return reply.code(body.status).type('application/problem+json').send(problem);
}

/** RFC 9110 §15.5.6: a 405 lists what the resource does allow. */
function allowed(request: FastifyRequest, code: ErrorBody['code']): string {
  // Read or write multiple: the collection allows every method even if one member does not.
  if (request.routeOptions.url === '/things/:thing/properties') return 'GET, HEAD, POST, PUT';
  if (code === 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY') return 'GET, HEAD';
  if (code === 'FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY') return 'PUT';
  return '';
}

/** Installs the error and not-found handlers on `app`. */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => sendProblem(reply, request, err));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, request, new FlowchainError('FLOWCHAIN_ERR_ROUTE_NOT_FOUND', `no resource at ${request.method} ${request.url.split('?')[0]}`)),
  );
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

/**
 * CORS (WHATWG Fetch §3.2, "CORS protocol"): which browser origins may read this node's
 * answers and call its forms. An allowed origin gets `Access-Control-Allow-Origin` on every
 * answer (problems and streams included) and its preflights are answered with the methods and
 * request headers the forms use; any other origin gets no CORS header, so the browser keeps
 * the answer from the page. No credentials mode: the token and Basic credentials are request
 * headers the page sets itself, never cookies.
 *
 * Run on every request before its route, so it is kept to a few header writes; the ring's
 * member origins are only looked up for a request that names an Origin this node was not
 * configured with.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/** What the forms of a Thing and of the directory use. */
const METHODS = 'GET, HEAD, PUT, POST, PATCH, DELETE';
const ALLOWED_HEADERS = 'authorization, content-type, accept, last-event-id, if-none-match';
/** Response headers a page may read besides the CORS-safelisted ones. */
const EXPOSED_HEADERS = 'location, link, etag, retry-after, www-authenticate, flowchain-tx-id, flowchain-tx-status, flowchain-tx-copies, flowchain-tx-quorum';
/** How long a browser may keep a preflight's answer, in seconds. */
const MAX_AGE_S = '600';

/** Who may call. */
export interface CorsOrigins {
  /** Origins allowed as configured; `*` allows any. */
  readonly configured: readonly string[];
  /** Further origins (the ring's members), looked up when a request names an unconfigured one. */
  readonly more?: () => Promise<ReadonlySet<string>>;
}

/** The CORS policy of one node. */
export class Cors {
  readonly #any: boolean;
  readonly #configured: ReadonlySet<string>;
  readonly #more: (() => Promise<ReadonlySet<string>>) | undefined;

  constructor(origins: CorsOrigins) {
    this.#configured = new Set(origins.configured);
    this.#any = this.#configured.has('*');
    this.#more = origins.more;
  }

  /**
   * Sets the CORS headers `request` earns on `reply`; resolves (or returns, when no lookup is
   * needed) once they are set. Answers vary by Origin unless every origin is allowed, so
   * `Vary: Origin` is on every answer then, with an Origin or without.
   */
  decorate(request: FastifyRequest, reply: FastifyReply): void | Promise<void> {
    const origin = request.headers.origin;
    if (!this.#any) reply.header('vary', 'origin');
    if (origin === undefined) return;
    if (this.#any || this.#configured.has(origin)) return this.#allow(request, reply, this.#any ? '*' : origin);
    if (this.#more === undefined) return;
    return this.#more().then(
      (more) => (more.has(origin) ? this.#allow(request, reply, origin) : undefined),
      () => undefined,
    );
  }

  #allow(request: FastifyRequest, reply: FastifyReply, allowOrigin: string): void {
    reply.header('access-control-allow-origin', allowOrigin);
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      reply.header('access-control-allow-methods', METHODS);
      reply.header('access-control-allow-headers', ALLOWED_HEADERS);
      reply.header('access-control-max-age', MAX_AGE_S);
    } else {
      reply.header('access-control-expose-headers', EXPOSED_HEADERS);
    }
  }
}

/** The answer to an OPTIONS request (a preflight, decorated by {@link Cors.decorate} before it): 204. */
export function answerPreflight(_request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(204).send();
}

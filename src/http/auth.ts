/**
 * Bearer-token protection of writes and actions (RFC 6750). Reads and streams stay open; the
 * TDs say so per form. The token never appears in logs.
 *
 * Throws FLOWCHAIN_ERR_AUTH_REQUIRED and FLOWCHAIN_ERR_AUTH_INVALID.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FlowchainError } from '../errors.js';

/** What a request's credentials amount to. */
export type Credentials = 'none' | 'valid' | 'invalid';

const REALM = 'flowchain';

/** Checks presented tokens against the configured one in constant time. */
export class BearerAuth {
  readonly #digest: Buffer;

  constructor(token: string) {
    this.#digest = digest(token);
  }

  /**
   * Classifies an `Authorization` header value and/or an RFC 6750 §2.3 `access_token` query
   * value. Anything but one string (a repeated parameter arrives as an array) is invalid.
   */
  check(authorization: string | undefined, accessToken?: unknown): Credentials {
    const token = bearerToken(authorization) ?? accessToken;
    if (token === undefined) return 'none';
    if (typeof token !== 'string') return 'invalid';
    return timingSafeEqual(digest(token), this.#digest) ? 'valid' : 'invalid';
  }

  /** Throws the matching FLOWCHAIN_ERR_AUTH_* error unless the credentials are valid. */
  static assert(credentials: Credentials): void {
    if (credentials === 'none') throw new FlowchainError('FLOWCHAIN_ERR_AUTH_REQUIRED', 'this operation needs a bearer token');
    if (credentials === 'invalid') throw new FlowchainError('FLOWCHAIN_ERR_AUTH_INVALID', 'the bearer token was not accepted');
  }

  /**
   * Rejects a request whose credentials are not acceptable, with the RFC 6750 §3
   * WWW-Authenticate challenge. `allowNone` lets requests without any token through.
   */
  static reject(reply: FastifyReply, credentials: Credentials, allowNone = false): void {
    if (credentials === 'valid' || (allowNone && credentials === 'none')) return;
    reply.header('www-authenticate', credentials === 'none' ? `Bearer realm="${REALM}"` : `Bearer realm="${REALM}", error="invalid_token"`);
    BearerAuth.assert(credentials);
  }

  /** A fastify onRequest hook that lets only requests with the valid token through. */
  guard() {
    return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => BearerAuth.reject(reply, this.check(request.headers.authorization));
  }
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

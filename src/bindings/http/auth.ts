/**
 * Protection of writes and actions: a bearer token (RFC 6750), HTTP Basic credentials
 * (RFC 7617), or either of the two when both are configured (the TDs then name a combo scheme
 * with oneOf, TD 1.1 §5.3.3.2, as the WoT Profile asks of a Thing that accepts several). Reads
 * and streams stay open; the TDs say so per form. Everything presented is compared in
 * constant time, and never appears in logs.
 *
 * Throws FLOWCHAIN_ERR_AUTH_REQUIRED and FLOWCHAIN_ERR_AUTH_INVALID.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BasicCredential } from '../../config.js';
import { FlowchainError } from '../../errors.js';

/** What a request's credentials amount to. */
export type Credentials = 'none' | 'valid' | 'invalid';

/** The schemes a node may accept. */
export type AuthScheme = 'bearer' | 'basic';

/** What a request presented, and in which scheme. */
export interface Verdict {
  readonly credentials: Credentials;
  /** The scheme the request used, when it used one this node accepts. */
  readonly scheme?: AuthScheme;
}

/** What the node accepts; at least one of the two. */
export interface AuthOptions {
  readonly bearerToken?: string;
  readonly basic?: readonly BasicCredential[];
}

const REALM = 'flowchain';

/** Checks presented credentials against the configured ones in constant time. */
export class HttpAuth {
  readonly #bearer: Buffer | undefined;
  /** Digests of `user:password`, so a presented pair is compared whole, against every entry. */
  readonly #basic: readonly Buffer[];

  constructor(options: AuthOptions) {
    this.#bearer = options.bearerToken === undefined ? undefined : digest(options.bearerToken);
    this.#basic = (options.basic ?? []).map(({ user, password }) => digest(`${user}:${password}`));
  }

  /** The schemes this node accepts, bearer first. */
  get schemes(): AuthScheme[] {
    return [...(this.#bearer ? (['bearer'] as const) : []), ...(this.#basic.length > 0 ? (['basic'] as const) : [])];
  }

  /**
   * Classifies an `Authorization` header value and/or an RFC 6750 §2.3 `access_token` query
   * value (the header wins). A scheme the node does not accept presents nothing ('none'); a
   * malformed value of one it accepts, or anything but one access_token string (a repeated
   * parameter arrives as an array), is 'invalid'.
   */
  check(authorization: string | undefined, accessToken?: unknown): Credentials {
    return this.verdict(authorization, accessToken).credentials;
  }

  /** As {@link check}, naming the scheme used. */
  verdict(authorization: string | undefined, accessToken?: unknown): Verdict {
    const token = bearerToken(authorization);
    if (token !== undefined && this.#bearer) return { scheme: 'bearer', credentials: this.#checkBearer(token) };
    const basic = /^Basic(?:\s+(.*))?$/is.exec(authorization ?? '');
    if (basic !== null && this.#basic.length > 0) return { scheme: 'basic', credentials: this.#checkBasic(basic[1]) };
    if (accessToken !== undefined && this.#bearer) return { scheme: 'bearer', credentials: this.#checkBearer(accessToken) };
    return { credentials: 'none' };
  }

  /** Throws the matching FLOWCHAIN_ERR_AUTH_* error unless the credentials are valid. */
  static assert(credentials: Credentials): void {
    if (credentials === 'none') throw new FlowchainError('FLOWCHAIN_ERR_AUTH_REQUIRED', 'this operation needs credentials (see the TD\'s securityDefinitions)');
    if (credentials === 'invalid') throw new FlowchainError('FLOWCHAIN_ERR_AUTH_INVALID', 'the credentials were not accepted');
  }

  /**
   * Rejects a request whose credentials are not acceptable, with a WWW-Authenticate challenge
   * for every scheme the node accepts (RFC 9110 §11.6.1; RFC 6750 §3 adds error="invalid_token"
   * to a rejected bearer token; RFC 7617 §2.1 names the charset). `allowNone` lets requests
   * without any credentials through.
   */
  reject(reply: FastifyReply, verdict: Verdict, allowNone = false): void {
    if (verdict.credentials === 'valid' || (allowNone && verdict.credentials === 'none')) return;
    const challenges = this.schemes.map((scheme) =>
      scheme === 'bearer'
        ? `Bearer realm="${REALM}"${verdict.credentials === 'invalid' && verdict.scheme === 'bearer' ? ', error="invalid_token"' : ''}`
        : `Basic realm="${REALM}", charset="UTF-8"`,
    );
    reply.header('www-authenticate', challenges.length === 1 ? challenges[0] : challenges);
    HttpAuth.assert(verdict.credentials);
  }

  /** A fastify onRequest hook that lets only requests with valid credentials through. */
  guard() {
    return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => this.reject(reply, this.verdict(request.headers.authorization));
  }

  #checkBearer(token: unknown): Credentials {
    if (typeof token !== 'string') return 'invalid';
    return timingSafeEqual(digest(token), this.#bearer!) ? 'valid' : 'invalid';
  }

  /** RFC 7617 §2: base64 of user-id ":" password, in UTF-8 (the charset the challenge names). */
  #checkBasic(encoded: string | undefined): Credentials {
    const pair = decodeBasic(encoded?.trim() ?? '');
    if (pair === undefined) return 'invalid';
    const presented = digest(pair);
    // Every entry is compared, so the time taken does not tell which user exists.
    let match = false;
    for (const known of this.#basic) match = timingSafeEqual(presented, known) || match;
    return match ? 'valid' : 'invalid';
  }
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** `user:password` from the base64 of a Basic header, or undefined when it is not that. */
function decodeBasic(encoded: string): string | undefined {
  if (encoded.length === 0 || encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined;
  const bytes = Buffer.from(encoded, 'base64');
  // Only canonical base64 (no stray bits in the padding) is one encoding of one pair.
  if (bytes.toString('base64') !== encoded) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  return text.includes(':') ? text : undefined;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** What every route module of the HTTP layer is handed by the app builder. */
import type { FastifyReply } from 'fastify';
import type { Clock } from '../thing/clock.js';
import type { ThingRegistry } from '../thing/thing-registry.js';
import type { BearerAuth } from './auth.js';
import type { Descriptions } from './descriptions.js';
import type { StreamTracker } from './streams.js';

/** Shared collaborators of the routes. */
export interface HttpContext {
  readonly registry: ThingRegistry;
  readonly descriptions: Descriptions;
  /** Present when writes and actions require a bearer token. */
  readonly auth: BearerAuth | undefined;
  readonly streams: StreamTracker;
  readonly clock: Clock;
  readonly longPollTimeoutMs: number;
}

/** Route parameters naming a Thing and one of its affordances. */
export interface AffordanceParams {
  readonly thing: string;
  readonly name: string;
}

/**
 * Sends an interaction value as application/json. Needed because fastify sends a bare string
 * as text/plain, and a string property's value must arrive as a JSON string.
 */
export function sendJson(reply: FastifyReply, value: unknown): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(value ?? null));
}

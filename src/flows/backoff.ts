/**
 * How long the Flowchain nodes wait before trying an unreachable node again: exponential
 * backoff with full jitter ("Exponential Backoff and Jitter", AWS Architecture Blog, 2015), so
 * that the nodes of many flows do not retry in step.
 *
 * Pure: the randomness is a parameter. Throws nothing.
 */
import type { Random } from '../common/random.js';

/** Bounds of a backoff. */
export interface BackoffPolicy {
  /** Delay before the first retry, at most (ms). */
  readonly baseMs: number;
  /** Largest delay (ms). */
  readonly maxMs: number;
}

/** The default: up to 500 ms first, doubling to at most 15 s. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 15_000 };

/** The delay before retry number `attempt` (0 for the first): uniform in [cap/2, cap], cap = min(max, base × 2^attempt). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: Random): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + (random.next() * cap) / 2);
}

/**
 * What every Flowchain node of one Node-RED runtime shares: the clock and randomness (injected,
 * so that tests drive backoff and receipt polling deterministically), the retry and polling
 * bounds, and the config nodes' servers by node.
 *
 * Throws nothing.
 */
import { systemClock, type Clock } from '../common/clock.js';
import type { Random } from '../common/random.js';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';

/** Collaborators and bounds a caller of registerFlowchainNodes may replace. */
export interface FlowsComponents {
  readonly clock: Clock;
  readonly random: Random;
  /** Delays between tries of an unreachable node. */
  readonly backoff: BackoffPolicy;
  /** How many times a message is tried while its node is unreachable (the first try included). */
  readonly attempts: number;
  /** How long a write waits for its receipts to be mined, at most (ms). */
  readonly receiptLimitMs: number;
  /** Delays between fetches of a receipt that is not mined yet. */
  readonly receiptPoll: BackoffPolicy;
  /** How long a directory listing is reused (ms). */
  readonly listingTtlMs: number;
  /** How long one exchange with a node may take (ms); undefined: the consumer's default (15 s). */
  readonly timeoutMs: number | undefined;
}

/** The defaults: the system clock and Math.random (jitter needs no cryptographic randomness). */
export const DEFAULT_FLOWS_COMPONENTS: FlowsComponents = {
  clock: systemClock,
  random: { next: () => Math.random() },
  backoff: DEFAULT_BACKOFF,
  attempts: 6,
  receiptLimitMs: 60_000,
  receiptPoll: { baseMs: 250, maxMs: 5_000 },
  listingTtlMs: 5_000,
  timeoutMs: undefined,
};

/** A pause on the injected clock that `signal` cuts short (rejecting with `signal.reason`). */
export function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      timer.cancel();
      reject(signal.reason);
    };
    const timer = clock.after(ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

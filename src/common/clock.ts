/**
 * Time as a collaborator: drivers and streams take a {@link Clock} so tests can inject a manual
 * one and run deterministically without sleeping.
 */

/** A scheduled callback that can be cancelled. */
export interface Timer {
  cancel(): void;
}

/** Wall-clock time and timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` every `ms` milliseconds until cancelled. */
  every(ms: number, fn: () => void): Timer;
  /** Calls `fn` once after `ms` milliseconds unless cancelled. */
  after(ms: number, fn: () => void): Timer;
}

/** The real clock, backed by Date.now and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, fn) {
    const handle = setInterval(fn, ms);
    return { cancel: () => clearInterval(handle) };
  },
  after(ms, fn) {
    const handle = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(handle) };
  },
};

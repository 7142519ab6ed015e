/** A clock that moves only when a test says so: timers fire in time order inside advance(). */
import type { Clock, Timer } from '../../src/common/clock.js';

interface Scheduled {
  at: number;
  readonly every: number | undefined;
  readonly fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  #now: number;
  readonly #timers: Scheduled[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  every(ms: number, fn: () => void): Timer {
    return this.#schedule(ms, ms, fn);
  }

  after(ms: number, fn: () => void): Timer {
    return this.#schedule(ms, undefined, fn);
  }

  /** Number of timers still pending. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#now = due.at;
      if (due.every === undefined) due.cancelled = true;
      else due.at += due.every;
      due.fn();
    }
    this.#now = end;
  }

  #schedule(ms: number, every: number | undefined, fn: () => void): Timer {
    const timer: Scheduled = { at: this.#now + ms, every, fn, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }
}

/**
 * A clock that only moves when the benchmark says so (implements the Clock interface of
 * src/thing/clock.ts). Timers fire in time order inside advance(). Written for the bench so the
 * harness adds as little work as possible per tick: a linear scan, no sorting, no allocation.
 */
export class ManualClock {
  #now;
  /** @type {{ at: number, every: number | undefined, fn: () => void, cancelled: boolean }[]} */
  #timers = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now() {
    return this.#now;
  }

  every(ms, fn) {
    return this.#schedule(ms, ms, fn);
  }

  after(ms, fn) {
    return this.#schedule(ms, undefined, fn);
  }

  /** Moves time forward by `ms`, firing every timer that falls due, earliest first. */
  advance(ms) {
    const end = this.#now + ms;
    // Each periodic timer can fire at most ms/every times; bound the loop anyway.
    for (let guard = 0; guard < 1_000_000; guard++) {
      let due;
      for (const t of this.#timers) {
        if (!t.cancelled && t.at <= end && (due === undefined || t.at < due.at)) due = t;
      }
      if (due === undefined) break;
      this.#now = due.at;
      if (due.every === undefined) due.cancelled = true;
      else due.at += due.every;
      due.fn();
    }
    this.#now = end;
    if (this.#timers.length > 64) this.#timers = this.#timers.filter((t) => !t.cancelled);
  }

  #schedule(ms, every, fn) {
    const timer = { at: this.#now + ms, every, fn, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }
}

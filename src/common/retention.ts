/**
 * Retention: what keeps a node's disk bounded. Each {@link RetentionTask} names how long its
 * data is kept and prunes what is older; {@link Retention} runs every task once at start and
 * then every `intervalMs` (10 minutes by default) on the injected clock, one pass at a time.
 * The composition root lists the tasks: the ledger's (`VirtualChain.prune`, `--retain-ledger`)
 * and the history's (`ThingHistory.prune`, `--retain-history`).
 *
 * Throws nothing: a task that fails is logged and tried again at the next pass.
 */
import type { Clock, Timer } from './clock.js';

/** One kind of data kept for a while. */
export interface RetentionTask {
  /** What the logs call it (`ledger`, `history`). */
  readonly name: string;
  /** How long its data is kept, in milliseconds; Infinity keeps everything (the task never runs). */
  readonly retainMs: number;
  /** Drops what is older than `before` (milliseconds since the epoch). */
  prune(before: number): Promise<unknown>;
}

/** Collaborators of {@link Retention}. */
export interface RetentionComponents {
  readonly clock: Clock;
  readonly log?: { warn(object: object, message: string): void };
}

/** Retention settings. */
export interface RetentionInit {
  readonly tasks: readonly RetentionTask[];
  /** Time between passes; default {@link RETENTION_INTERVAL_MS}. */
  readonly intervalMs?: number;
}

/** How often retention runs by default: pruning is cheap, but nothing needs it more often. */
export const RETENTION_INTERVAL_MS = 10 * 60_000;

/** Runs the retention tasks periodically. */
export class Retention {
  readonly #c: RetentionComponents;
  readonly #tasks: readonly RetentionTask[];
  readonly #intervalMs: number;
  #timer: Timer | undefined;
  #pass: Promise<void> | undefined;

  constructor(components: RetentionComponents, init: RetentionInit) {
    this.#c = components;
    this.#tasks = init.tasks.filter((task) => Number.isFinite(task.retainMs));
    this.#intervalMs = init.intervalMs ?? RETENTION_INTERVAL_MS;
  }

  /** Runs a pass now and then every interval. */
  start(): void {
    if (this.#timer !== undefined || this.#tasks.length === 0) return;
    this.#timer = this.#c.clock.every(this.#intervalMs, () => void this.run());
    void this.run();
  }

  /** Stops the timer and waits for a pass under way. */
  async stop(): Promise<void> {
    this.#timer?.cancel();
    this.#timer = undefined;
    await this.#pass;
  }

  /** One pass over every task (joins the pass under way, if any). */
  run(): Promise<void> {
    this.#pass ??= (async () => {
      for (const task of this.#tasks) {
        try {
          await task.prune(this.#c.clock.now() - task.retainMs);
        } catch (err) {
          this.#c.log?.warn({ err, task: task.name }, 'pruning old data failed; the next retention pass tries again');
        }
      }
    })().finally(() => (this.#pass = undefined));
    return this.#pass;
  }
}

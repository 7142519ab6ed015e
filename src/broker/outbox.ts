/**
 * A durable, ordered outbox. An item is stored in LevelDB before enqueue() resolves and stays
 * there until it is delivered, so nothing accepted is lost to a crash or restart. Delivery is
 * in enqueue order, in batches: the oldest waiting items (up to the batch size) go out
 * together, and the next batch starts only when that one is settled. Items of a batch that
 * failed stay at the head and are retried, with newer items behind them, after a growing
 * back-off (on the injected clock); an item the receiver refuses for good is moved to a
 * dead-letter section and reported, never silently dropped. The outbox is bounded: past
 * `maxPending` waiting items it admits nothing more until deliveries make room.
 *
 * Throws FLOWCHAIN_ERR_BUSY from {@link Outbox.admit}, FLOWCHAIN_ERR_STORE_FAILED from enqueue.
 */
import { FlowchainError } from '../errors.js';
import type { PreparedWrite, Section } from '../storage.js';
import type { Clock, Timer } from '../common/clock.js';

/** What the outbox needs. */
export interface OutboxComponents {
  /** Pending items. */
  readonly section: Section;
  /** Items refused for good, kept for inspection. */
  readonly deadLetters: Section;
  readonly clock: Clock;
}

/** What a delivery reports: one entry per item, in order (undefined where delivered, the error where not). */
export interface Delivery {
  readonly failures: readonly unknown[];
  /** What the deliverer wants written with the removal of the delivered items, in the same batch. */
  readonly alongside?: PreparedWrite;
}

/** Delivers a batch of items. Throwing fails the whole batch. */
export type Deliver<T> = (items: readonly T[]) => Promise<Delivery>;

/** Decides whether a delivery error is permanent (the item goes to the dead letters). */
export type IsPermanent = (err: unknown) => boolean;

/** Back-off between retries of the head item, in milliseconds (the last one repeats). */
export const DEFAULT_BACKOFF_MS: readonly number[] = [500, 1_000, 2_000, 5_000, 10_000, 30_000];

/** Most items in one delivery. */
export const DEFAULT_BATCH_SIZE = 64;

/** Most items waiting, by default. */
export const DEFAULT_MAX_PENDING = 20_000;

/** Sequence numbers are zero-padded so LevelDB's key order is enqueue order. */
const key = (sequence: number): string => sequence.toString().padStart(16, '0');

interface Entry<T> {
  readonly sequence: number;
  readonly item: T;
  /** Settles, once the write is done, with whether the item reached the disk. */
  readonly stored: Promise<boolean>;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** The outbox of one node. */
export class Outbox<T> {
  readonly #section: Section;
  readonly #deadLetters: Section;
  readonly #clock: Clock;
  readonly #backoff: readonly number[];
  readonly #batchSize: number;
  /** Waiting items in enqueue order. */
  readonly #queue: Entry<T>[] = [];
  readonly #waiters = new Map<number, Waiter>();
  #next = 0;
  #deliver: Deliver<T> | undefined;
  #isPermanent: IsPermanent = () => false;
  #running = false;
  #timer: Timer | undefined;
  #attempts = 0;
  #draining: Promise<void> | undefined;
  readonly #listeners = new Set<(pending: number) => void>();
  readonly #maxPending: number;

  constructor(components: OutboxComponents, init: { readonly backoffMs?: readonly number[]; readonly batchSize?: number; readonly maxPending?: number } = {}) {
    this.#section = components.section;
    this.#deadLetters = components.deadLetters;
    this.#clock = components.clock;
    this.#backoff = init.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.#batchSize = init.batchSize ?? DEFAULT_BATCH_SIZE;
    this.#maxPending = init.maxPending ?? DEFAULT_MAX_PENDING;
  }

  /** Loads what a previous run left pending; call once before use. */
  async open(): Promise<void> {
    for await (const [stored, item] of this.#section.entries()) {
      const sequence = Number(stored);
      this.#queue.push({ sequence, item: item as T, stored: Promise.resolve(true) });
      this.#next = sequence + 1;
    }
  }

  /** Items waiting for delivery. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Calls `listener` with the number of waiting items whenever it changes; returns the unsubscribe. */
  onChange(listener: (pending: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Throws FLOWCHAIN_ERR_BUSY unless `count` more items fit now (ask before anything is applied). */
  admit(count: number): void {
    if (count > 0 && this.#queue.length + count > this.#maxPending) {
      throw new FlowchainError('FLOWCHAIN_ERR_BUSY', `${this.#queue.length} transactions are waiting for their owners (at most ${this.#maxPending}): try again shortly`);
    }
  }

  /** The first waiting item that satisfies `predicate`. */
  find(predicate: (item: T) => boolean): T | undefined {
    return this.#queue.find((entry) => predicate(entry.item))?.item;
  }

  /**
   * Stores `items` durably, in one atomic write together with `alongside` (what the items
   * record: the property values, say); resolves with their sequence numbers once on disk.
   * Concurrent enqueues keep their call order: the items take their place in the queue and in
   * the write before this returns its promise, and delivery waits until they are stored.
   */
  async enqueue(items: readonly T[], alongside: readonly PreparedWrite[] = []): Promise<number[]> {
    const entries = items.map((item) => ({ sequence: this.#next++, item }));
    const stored = this.#section.batch(entries.map(({ sequence, item }) => ({ type: 'put', key: key(sequence), value: item })), alongside);
    // An item that never reached the disk is dropped by the delivery loop, unsent; its caller
    // hears why from the rejection.
    const onDisk = stored.then(() => true, () => false);
    for (const entry of entries) this.#queue.push({ ...entry, stored: onDisk });
    await stored;
    this.#changed();
    this.#kick();
    return entries.map((entry) => entry.sequence);
  }

  /**
   * Resolves when the item `sequence` has been delivered; rejects if it was refused for good.
   * Ask right after enqueue(): an item that already left the queue counts as delivered.
   */
  delivered(sequence: number): Promise<void> {
    if (!this.#queue.some((entry) => entry.sequence === sequence)) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.set(sequence, { resolve, reject }));
  }

  /** Starts delivering with `deliver`, in order, until {@link stop}. */
  start(deliver: Deliver<T>, isPermanent: IsPermanent = () => false): void {
    this.#deliver = deliver;
    this.#isPermanent = isPermanent;
    this.#running = true;
    this.#kick();
  }

  /** Stops delivering (pending items stay stored) and waits for a delivery in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = undefined;
    await this.#draining;
  }

  /** Retries the head now instead of waiting out its back-off (the ring changed, say). */
  retryNow(): void {
    if (this.#timer === undefined) return;
    this.#timer.cancel();
    this.#timer = undefined;
    this.#kick();
  }

  #kick(): void {
    if (!this.#running || this.#draining !== undefined || this.#timer !== undefined || this.#queue.length === 0) return;
    // A failed database write leaves the items where they are: try again later.
    this.#draining = this.#drain().catch(() => this.#retryLater()).finally(() => {
      this.#draining = undefined;
      // Items enqueued while the last delivery finished.
      if (this.#timer === undefined) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#running && this.#queue.length > 0) {
      const taken = this.#queue.slice(0, this.#batchSize);
      // An item that never reached the disk is dropped unsent (its enqueue rejected).
      const stored = await Promise.all(taken.map((entry) => entry.stored));
      const batch = taken.filter((_, i) => stored[i]);
      let delivery: Delivery;
      try {
        delivery = batch.length === 0 ? { failures: [] } : await (this.#deliver as Deliver<T>)(batch.map((entry) => entry.item));
      } catch (err) {
        delivery = { failures: batch.map(() => err) };
      }
      const { failures, alongside } = delivery;
      const outcomes = batch.map((entry, i) => ({ entry, error: failures[i], fate: failures[i] === undefined ? 'done' : this.#isPermanent(failures[i]) ? 'refused' : 'retry' }));
      const refused = outcomes.filter((o) => o.fate === 'refused');
      const retry = outcomes.filter((o) => o.fate === 'retry').map((o) => o.entry);
      if (refused.length > 0) {
        await this.#deadLetters.batch(refused.map(({ entry, error }) => ({ type: 'put', key: key(entry.sequence), value: { item: entry.item, error: String((error as Error)?.message ?? error) } })));
      }
      const gone = outcomes.filter((o) => o.fate !== 'retry');
      if (gone.length > 0 || alongside !== undefined) await this.#section.batch(gone.map(({ entry }) => ({ type: 'del', key: key(entry.sequence) })), alongside ? [alongside] : []);
      this.#queue.splice(0, taken.length, ...retry);
      this.#changed();
      for (const { entry, error, fate } of gone) {
        const waiter = this.#waiters.get(entry.sequence);
        this.#waiters.delete(entry.sequence);
        if (fate === 'done') waiter?.resolve();
        else waiter?.reject(error);
      }
      if (retry.length > 0) return this.#retryLater();
      this.#attempts = 0;
    }
  }

  #changed(): void {
    for (const listener of this.#listeners) listener(this.#queue.length);
  }

  /** Tries the head again after the next back-off step. */
  #retryLater(): void {
    if (!this.#running) return;
    const wait = this.#backoff[Math.min(this.#attempts++, this.#backoff.length - 1)]!;
    this.#timer = this.#clock.after(wait, () => {
      this.#timer = undefined;
      this.#kick();
    });
  }
}

/**
 * Solves the block puzzle (see block.ts) on a worker thread, so mining never blocks the
 * node's event loop. Each try hashes only the header's last block and the first hash
 * (nonce-search.ts). The worker tries nonces in slices of {@link SLICE} hashes and yields
 * between slices, so a new job or a cancellation is picked up within one slice; `close()`
 * stops it at once. Its CPU is bounded by a duty cycle: after each slice the worker rests
 * until its busy time is at most `share` of the time since the job began, so a device never
 * spends more than that share of one core on proof of work, however much data flows.
 */
import { Worker } from 'node:worker_threads';
import { encodeHeader, targetOf, type BlockHeader } from './block.js';
import { nonceSearch } from './nonce-search.js';

/** Hashes per slice of worker time (a few milliseconds). */
const SLICE = 4096;

/**
 * The worker, as CommonJS source: a worker started from a file would need the compiled
 * JavaScript beside this module, which the TypeScript test runner does not have.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const nonceSearch = ${nonceSearch.toString()};
let current = 0;
parentPort.on('message', (job) => {
  current = job.id;
  if (job.header === undefined) return;
  const search = nonceSearch(job.header, Buffer.from(job.target, 'hex'));
  const start = BigInt(job.start);
  let hi = Number(start >> 32n);
  let lo = Number(start & 0xffffffffn);
  let hashes = 0;
  let busy = 0;
  const began = performance.now();
  const slice = () => {
    if (current !== job.id) return;
    const from = performance.now();
    for (let i = 0; i < ${SLICE}; i++) {
      hashes++;
      if (search.solves(hi, lo)) {
        const nonce = (BigInt(hi) << 32n) | BigInt(lo);
        return parentPort.postMessage({ id: job.id, nonce: nonce.toString(), hashes, busyMs: busy + performance.now() - from });
      }
      lo = (lo + 1) >>> 0;
      if (lo === 0) hi = (hi + 1) >>> 0;
    }
    busy += performance.now() - from;
    // Rest until the busy time is at most the share of the time since the job began.
    const rest = busy / job.share - (performance.now() - began);
    if (rest > 1) setTimeout(slice, rest);
    else setImmediate(slice);
  };
  slice();
});
`;

/** What a finished job reports. */
export interface Solution {
  readonly miningNonce: string;
  /** Hashes tried. */
  readonly hashes: number;
  /** CPU time the worker spent on it, in milliseconds. */
  readonly busyMs: number;
}

/** Miner settings. */
export interface MinerInit {
  /** The share of one core mining may use, from 0.01 to 1 (default 0.1). */
  readonly share?: number;
}

/** One mining worker, one job at a time. */
export class Miner {
  readonly #share: number;
  #worker: Worker | undefined;
  /** CPU time spent on solved jobs since this miner was made, in milliseconds. */
  busyMs = 0;
  #job = 0;
  #waiting: { readonly id: number; readonly resolve: (solution: Solution | undefined) => void } | undefined;

  /**
   * Finds a mining nonce for `header` (its own nonce is ignored), trying from `start` (a u64:
   * random, so two attempts at one header do not repeat work). Resolves with undefined when
   * cancelled by {@link close} or by a newer job.
   */
  constructor(init: MinerInit = {}) {
    const share = init.share ?? 0.1;
    if (!(share >= 0.01 && share <= 1)) throw new RangeError('the mining share is from 0.01 to 1');
    this.#share = share;
  }

  /** The share of one core mining may use. */
  get share(): number {
    return this.#share;
  }

  mine(header: BlockHeader, start: bigint): Promise<Solution | undefined> {
    const worker = this.#start();
    this.#waiting?.resolve(undefined);
    const id = ++this.#job;
    const target = targetOf(header.difficulty, header.stake).toString(16).padStart(64, '0');
    const bytes = encodeHeader({ ...header, miningNonce: '0' });
    // A job in progress keeps the process alive; an idle worker does not.
    worker.ref();
    return new Promise<Solution | undefined>((resolve) => {
      this.#waiting = { id, resolve };
      worker.postMessage({ id, header: bytes, target, start: start.toString(), share: this.#share });
    }).finally(() => {
      if (this.#waiting === undefined) this.#worker?.unref();
    });
  }

  /** Stops the worker; a job in progress resolves with undefined. */
  async close(): Promise<void> {
    this.#waiting?.resolve(undefined);
    this.#waiting = undefined;
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', (found: { id: number; nonce: string; hashes: number; busyMs: number }) => {
      if (this.#waiting?.id !== found.id) return;
      const { resolve } = this.#waiting;
      this.#waiting = undefined;
      this.busyMs += found.busyMs;
      resolve({ miningNonce: found.nonce, hashes: found.hashes, busyMs: found.busyMs });
    });
    // A worker that dies takes its job with it; the next job starts a new one.
    worker.on('error', () => {
      this.#worker = undefined;
      this.#waiting?.resolve(undefined);
      this.#waiting = undefined;
    });
    worker.unref();
    this.#worker = worker;
    return worker;
  }
}

/**
 * Solves the block puzzle (see block.ts) on a worker thread, so mining never blocks the
 * node's event loop. The worker tries nonces in slices of {@link SLICE} hashes and yields
 * between slices, so a new job or a cancellation is picked up within one slice; `close()`
 * stops it at once.
 */
import { Worker } from 'node:worker_threads';
import { encodeHeader, NONCE_OFFSET, targetOf, type BlockHeader } from './block.js';

/** Hashes per slice of worker time (a few milliseconds). */
const SLICE = 4096;

/**
 * The worker, as CommonJS source: a worker started from a file would need the compiled
 * JavaScript beside this module, which the TypeScript test runner does not have.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
let current = 0;
parentPort.on('message', (job) => {
  current = job.id;
  if (job.header === undefined) return;
  const bytes = Buffer.from(job.header);
  const target = Buffer.from(job.target, 'hex');
  let nonce = BigInt(job.start);
  let hashes = 0;
  const slice = () => {
    if (current !== job.id) return;
    for (let i = 0; i < ${SLICE}; i++) {
      bytes.writeBigUInt64BE(nonce, ${NONCE_OFFSET});
      const hash = createHash('sha256').update(createHash('sha256').update(bytes).digest()).digest();
      hashes++;
      if (hash.compare(target) <= 0) return parentPort.postMessage({ id: job.id, nonce: nonce.toString(), hashes });
      nonce = (nonce + 1n) & 0xffffffffffffffffn;
    }
    setImmediate(slice);
  };
  slice();
});
`;

/** What a finished job reports. */
export interface Solution {
  readonly miningNonce: string;
  /** Hashes tried. */
  readonly hashes: number;
}

/** One mining worker, one job at a time. */
export class Miner {
  #worker: Worker | undefined;
  #job = 0;
  #waiting: { readonly id: number; readonly resolve: (solution: Solution | undefined) => void } | undefined;

  /**
   * Finds a mining nonce for `header` (its own nonce is ignored), trying from `start` (a u64:
   * random, so two attempts at one header do not repeat work). Resolves with undefined when
   * cancelled by {@link close} or by a newer job.
   */
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
      worker.postMessage({ id, header: bytes, target, start: start.toString() });
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
    worker.on('message', (found: { id: number; nonce: string; hashes: number }) => {
      if (this.#waiting?.id !== found.id) return;
      const { resolve } = this.#waiting;
      this.#waiting = undefined;
      resolve({ miningNonce: found.nonce, hashes: found.hashes });
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

/**
 * The ledger until mining lands: one open virtual block that collects every transaction this
 * node owns, in memory. It gives the broker a real H_BLOCK (number 0, opening time, random
 * nonce) but never seals, so transactions stay `pending`.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { LedgerSink, OpenBlock, TransactionRecord } from '../broker/ledger-sink.js';

/** Most transactions kept; the oldest are dropped first (they are on the ring regardless). */
const KEPT = 10_000;

/** An in-memory ledger sink. */
export class MemoryLedger implements LedgerSink {
  readonly #block: OpenBlock;
  readonly #submitted: TransactionRecord[] = [];

  /** Opens block 0 at `now` with a nonce of 16 bytes from `randomBytes`. */
  constructor(now: number, randomBytes: (length: number) => Uint8Array) {
    this.#block = { number: 0, openedAt: now, nonce: bytesToHex(randomBytes(16)) };
  }

  currentBlock(): OpenBlock {
    return this.#block;
  }

  async submit(records: readonly TransactionRecord[]): Promise<void> {
    this.#submitted.push(...records);
    if (this.#submitted.length > KEPT) this.#submitted.splice(0, this.#submitted.length - KEPT);
  }

  /** What was submitted, oldest first. */
  get submitted(): readonly TransactionRecord[] {
    return this.#submitted;
  }
}

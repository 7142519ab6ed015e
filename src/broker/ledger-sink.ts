/**
 * What the broker stores for each transaction at its owner, and the port through which it
 * hands transactions to the ledger (the ledger layer implements it).
 */
import type { WirePeer } from '../dht/peer.js';
import type { DataTransaction } from './data-transaction.js';

/** The virtual block the owner is filling: what H_BLOCK is computed from. */
export interface OpenBlock {
  readonly number: number;
  /** Milliseconds since the epoch, when the block was opened. */
  readonly openedAt: number;
  /** Random hex fixed when the block was opened. */
  readonly nonce: string;
}

/** Where a transaction stands: with its owner (`pending`), then sealed and anchored by the ledger. */
export type TransactionStatus = 'pending' | 'mined' | 'anchored';

/** A transaction as its owner stores it on the ring, under its H_DATA. */
export interface TransactionRecord {
  readonly txId: string;
  readonly hBlock: string;
  readonly block: OpenBlock;
  readonly owner: WirePeer;
  /** Owner's clock, milliseconds since the epoch. */
  readonly storedAt: number;
  readonly status: TransactionStatus;
  readonly tx: DataTransaction;
}

/** The ledger as the broker sees it. */
export interface LedgerSink {
  /** The block new transactions go into. */
  currentBlock(): OpenBlock;
  /** Takes transactions their owner (this node) has just stored and replicated, in order. */
  submit(records: readonly TransactionRecord[]): Promise<void>;
}

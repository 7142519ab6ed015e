/**
 * What the broker stores for each transaction at its owner, and the {@link LedgerPlugin}
 * interface through which it hands transactions to a ledger (src/ledger implements the
 * default one; the README shows a minimal plugin of your own).
 */
import type { WirePeer } from '../common/peer-rpc.js';
import type { DataTransaction } from './data-transaction.js';

/** The virtual block a transaction went into: what H_BLOCK is computed from. */
export interface OpenBlock {
  readonly number: number;
  /** Milliseconds since the epoch, when the block was opened. */
  readonly openedAt: number;
  /** 16 random bytes as hex, fixed when the block was opened. */
  readonly nonce: string;
}

/** Where a transaction stands: with its owner (`pending`), then sealed and anchored by the ledger. */
export type TransactionStatus = 'pending' | 'mined' | 'anchored';

/**
 * The member that filed a transaction: its ring id and peer URL, and the Ed25519 key (64 hex)
 * its ledger signs blocks with (records filed before ring ids were certified have none: their
 * ring id was the key's SHA-1).
 */
export interface RecordOwner extends WirePeer {
  readonly key?: string;
}

/** A transaction as its owner stores it on the ring, under its H_DATA. */
export interface TransactionRecord {
  readonly txId: string;
  readonly hBlock: string;
  readonly block: OpenBlock;
  readonly owner: RecordOwner;
  /** Owner's clock, milliseconds since the epoch. */
  readonly storedAt: number;
  readonly status: TransactionStatus;
  readonly tx: DataTransaction;
}

/**
 * What a ledger adds to a transaction's receipt once it has more to say than `pending`: its
 * status and whatever proves it (the default ledger: the block header, the Merkle path and the
 * anchor). Plain JSON; the broker passes it on without looking inside.
 */
export interface LedgerProof {
  readonly status: TransactionStatus;
  /**
   * The Ed25519 key (64 hex) that signed the block the proof names: the owner's, which other
   * members check against its membership certificate before they serve the proof.
   */
  readonly signer?: string;
  readonly [member: string]: unknown;
}

/** A summary of a new block or anchor, as the ledger Thing's events carry it. */
export type LedgerEvent = { readonly kind: 'block' | 'anchor'; readonly [member: string]: unknown };

/** What {@link LedgerPlugin.verify} found: how much it checked, and the first fault. */
export interface VerifyReport {
  readonly blocks: number;
  readonly transactions: number;
  /** The first bad block (or -1 for a fault outside any block) and what is wrong with it. */
  readonly fault?: { readonly height: number; readonly reason: string };
}

/**
 * A ledger, as the broker uses it. The broker calls {@link admit} on the owner of a
 * transaction (this node) once its checks pass, then stores the returned records on the ring
 * and acknowledges their ids.
 */
export interface LedgerPlugin {
  /**
   * Files transactions into the block being filled and keeps them durably, in order; one
   * record per transaction. A transaction the ledger already holds (same H_DATA: a retry)
   * keeps its first record, so its id never changes.
   */
  admit(txs: readonly DataTransaction[], owner: RecordOwner, now: number): Promise<TransactionRecord[]>;
  /** Transactions admitted and not yet in a mined block: the broker refuses new ones above a bound. */
  backlog(): number;
  /**
   * What the ledger can prove about one of its transactions; undefined while only pending or
   * unknown. `height` is the block its record names: a ledger that prunes old transactions
   * throws FLOWCHAIN_ERR_TX_PRUNED for one it no longer holds.
   */
  proof(txId: string, height?: number): Promise<LedgerProof | undefined>;
  /**
   * Drops what the ledger keeps of transactions older than `before` (milliseconds since the
   * epoch), as far as it safely can; optional (a ledger without it keeps everything). The
   * node calls it periodically with `--retain-ledger`.
   */
  prune?(before: number): Promise<unknown>;
  /** Re-checks everything the ledger stored; reports the first fault, if any. */
  verify(): Promise<VerifyReport>;
  /** Calls `listener` for each new block and anchor; returns the unsubscribe. */
  onEvent(listener: (event: LedgerEvent) => void): () => void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

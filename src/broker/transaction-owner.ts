/**
 * The owner's side of a data transaction (the Flowchain papers' broker server): a node that
 * receives a transaction for a key it owns checks it, files it into the virtual block it is
 * filling (H_BLOCK, then H_txID), stores it on the ring under H_DATA (replicated to its
 * successors), indexes it under its transaction id, hands it to the ledger and acknowledges.
 * Submitting the same transaction again (a retry after a lost acknowledgement) answers the
 * same acknowledgement and stores nothing new.
 *
 * Throws FLOWCHAIN_ERR_TX_MALFORMED, FLOWCHAIN_ERR_TX_HASH_MISMATCH,
 * FLOWCHAIN_ERR_TX_SIGNATURE_INVALID, FLOWCHAIN_ERR_RING_NOT_OWNER and the ring store's errors.
 */
import type { WirePeer } from '../dht/peer.js';
import { FlowchainError } from '../errors.js';
import type { Clock } from '../thing/clock.js';
import { blockHash, transactionId, verifyTransaction } from './data-transaction.js';
import type { LedgerSink, TransactionRecord, TransactionStatus } from './ledger-sink.js';

/** The peer request type that carries a transaction to its owner. */
export const SUBMIT_TRANSACTION = 'tx-submit';

/** What the owner answers. */
export interface Acknowledgement {
  readonly txId: string;
  readonly hData: string;
  readonly hBlock: string;
  readonly owner: WirePeer;
  /** Successors that confirmed their copy. */
  readonly replicas: number;
  readonly status: TransactionStatus;
}

/** Where a transaction's id points: its H_DATA, the key its record is stored under. */
export interface TransactionIndex {
  readonly txId: string;
  readonly hData: string;
}

/** The ring store, as far as transactions need it. */
export interface TransactionStore {
  get(keyHex: string): Promise<{ readonly value: unknown } | undefined>;
  put(keyHex: string, value: unknown): Promise<unknown>;
  getOwned(keyHex: string): Promise<{ readonly value: unknown } | undefined>;
  putOwned(keyHex: string, value: unknown): Promise<{ readonly replicas: number }>;
  owns(keyHex: string): boolean;
}

/** The ring key of a transaction id's index entry: its first 160 bits. */
export const indexKey = (txId: string): string => txId.slice(0, 40);

/** Receives transactions for the keys this node owns. */
export class TransactionOwner {
  readonly #store: () => TransactionStore;
  readonly #ledger: LedgerSink;
  readonly #clock: Clock;
  readonly #self: () => WirePeer;
  readonly #inFlight = new Map<string, Promise<Acknowledgement>>();

  /** `store` is asked for on each submission: the ring creates it when it starts. */
  constructor(components: { readonly store: () => TransactionStore; readonly ledger: LedgerSink; readonly clock: Clock; readonly self: () => WirePeer }) {
    this.#store = components.store;
    this.#ledger = components.ledger;
    this.#clock = components.clock;
    this.#self = components.self;
  }

  /** Checks, stores, indexes and acknowledges one transaction (a peer request's `tx`). */
  async submit(raw: unknown): Promise<Acknowledgement> {
    const tx = verifyTransaction(raw);
    if (!this.#store().owns(tx.hData)) throw new FlowchainError('FLOWCHAIN_ERR_RING_NOT_OWNER', `${tx.hData} belongs to another node`, { field: 'hData' });
    // One submission per key at a time, so a retry racing the original stores nothing twice.
    const running = this.#inFlight.get(tx.hData);
    if (running !== undefined) return running;
    const work = this.#file(tx).finally(() => this.#inFlight.delete(tx.hData));
    this.#inFlight.set(tx.hData, work);
    return work;
  }

  async #file(tx: ReturnType<typeof verifyTransaction>): Promise<Acknowledgement> {
    const existing = (await this.#store().getOwned(tx.hData))?.value as TransactionRecord | undefined;
    let record: TransactionRecord;
    let replicas: number;
    if (existing !== undefined) {
      record = existing;
      replicas = 0;
    } else {
      const block = this.#ledger.currentBlock();
      const hBlock = blockHash(block.number, block.openedAt, block.nonce);
      record = { txId: transactionId(hBlock, tx.hData), hBlock, block, owner: this.#self(), storedAt: this.#clock.now(), status: 'pending', tx };
      ({ replicas } = await this.#store().putOwned(tx.hData, record));
    }
    // Written on every submission: a retry repairs an index put that failed the first time.
    const index: TransactionIndex = { txId: record.txId, hData: tx.hData };
    await this.#store().put(indexKey(record.txId), index);
    if (existing === undefined) await this.#ledger.submit(record);
    return { txId: record.txId, hData: tx.hData, hBlock: record.hBlock, owner: record.owner, replicas, status: record.status };
  }
}

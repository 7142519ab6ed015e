/**
 * The owner's side of a data transaction (the Flowchain papers' broker server): a node that
 * receives a transaction for a key it owns checks it, has its ledger file it into the virtual
 * block it is filling (H_BLOCK, then H_txID), stores it on the ring under H_DATA (replicated to
 * its successors), indexes it under its transaction id and acknowledges.
 * Submitting the same transaction again (a retry after a lost acknowledgement) answers the
 * same acknowledgement and stores nothing new. Transactions travel in submissions of up to
 * {@link MAX_SUBMISSION}, which the owner stores, replicates and indexes together.
 *
 * Answers, per transaction, FLOWCHAIN_ERR_TX_MALFORMED, FLOWCHAIN_ERR_TX_HASH_MISMATCH,
 * FLOWCHAIN_ERR_TX_SIGNATURE_INVALID, FLOWCHAIN_ERR_RING_NOT_OWNER and the ring store's errors.
 */
import type { WirePeer } from '../dht/peer.js';
import { describeError, FlowchainError, type ErrorBody } from '../errors.js';
import type { Clock } from '../thing/clock.js';
import { verifyTransaction, type DataTransaction } from './data-transaction.js';
import type { LedgerPlugin, TransactionRecord, TransactionStatus } from './ledger-sink.js';

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

/** What the owner answers for each transaction of a submission, in order. */
export type SubmitResult = { readonly ack: Acknowledgement; readonly error?: undefined } | { readonly error: ErrorBody; readonly ack?: undefined };

/** The ring store, as far as transactions need it. */
export interface TransactionStore {
  get(keyHex: string): Promise<{ readonly value: unknown } | undefined>;
  putMany(entries: readonly (readonly [string, unknown])[]): Promise<unknown[]>;
  putOwned(entries: readonly (readonly [string, unknown])[], ifAbsent: true): Promise<{ readonly existing: readonly ({ readonly value: unknown } | undefined)[]; readonly replicas: number }>;
  owns(keyHex: string): boolean;
}

/** Most transactions in one submission. */
export const MAX_SUBMISSION = 64;

/** The ring key of a transaction id's index entry: its first 160 bits. */
export const indexKey = (txId: string): string => txId.slice(0, 40);

/** Receives transactions for the keys this node owns. */
export class TransactionOwner {
  readonly #store: () => TransactionStore;
  readonly #ledger: LedgerPlugin;
  readonly #clock: Clock;
  readonly #self: () => WirePeer;
  /** Transactions being filed, by H_DATA, so a retry racing the original stores nothing twice. */
  readonly #inFlight = new Map<string, Promise<SubmitResult>>();

  /** `store` is asked for on each submission: the ring creates it when it starts. */
  constructor(components: { readonly store: () => TransactionStore; readonly ledger: LedgerPlugin; readonly clock: Clock; readonly self: () => WirePeer }) {
    this.#store = components.store;
    this.#ledger = components.ledger;
    this.#clock = components.clock;
    this.#self = components.self;
  }

  /**
   * Checks, stores, indexes and acknowledges a submission (a peer request's `txs`): one result
   * per transaction, in order. A transaction that fails its checks gets its error and stops
   * none of the others; the valid ones are stored in one write and replicated together.
   * Without `checkSignatures` (transactions this node signed itself) the rest is still checked.
   */
  async submit(raws: unknown, checkSignatures = true): Promise<SubmitResult[]> {
    if (!Array.isArray(raws) || raws.length === 0 || raws.length > MAX_SUBMISSION) {
      throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', `txs is an array of 1 to ${MAX_SUBMISSION} transactions`, { field: 'txs' });
    }
    const fresh: DataTransaction[] = [];
    let file!: (work: Promise<Map<string, SubmitResult>>) => void;
    const filed = new Promise<Map<string, SubmitResult>>((resolve) => (file = resolve));
    const results = raws.map((raw): Promise<SubmitResult> => {
      let tx: DataTransaction;
      try {
        tx = verifyTransaction(raw, checkSignatures);
        if (!this.#store().owns(tx.hData)) throw new FlowchainError('FLOWCHAIN_ERR_RING_NOT_OWNER', `${tx.hData} belongs to another node`, { field: 'hData' });
      } catch (err) {
        return Promise.resolve({ error: describeError(err) });
      }
      const running = this.#inFlight.get(tx.hData);
      if (running !== undefined) return running;
      const result = filed.then((byKey) => byKey.get(tx.hData)!);
      this.#inFlight.set(tx.hData, result);
      fresh.push(tx);
      return result;
    });
    file(this.#file(fresh).finally(() => fresh.forEach((tx) => this.#inFlight.delete(tx.hData))));
    return Promise.all(results);
  }

  /** Files new transactions, answers stored ones again; never rejects (failures are results). */
  async #file(txs: readonly DataTransaction[]): Promise<Map<string, SubmitResult>> {
    const results = new Map<string, SubmitResult>();
    if (txs.length === 0) return results;
    try {
      // The ledger first: it keeps the first record of each H_DATA, so a retry gets its id.
      const filed = await this.#ledger.admit(txs, this.#self(), this.#clock.now());
      const { existing, replicas } = await this.#store().putOwned(
        filed.map((record) => [record.tx.hData, record]),
        true,
      );
      // A record already on the ring (filed by a previous owner of the key) is the one that counts.
      const records = filed.map((record, i) => (existing[i]?.value as TransactionRecord | undefined) ?? record);
      // Written on every submission: a retry repairs an index put that failed the first time.
      const indexed = await this.#store().putMany(records.map((record): [string, TransactionIndex] => [indexKey(record.txId), { txId: record.txId, hData: record.tx.hData }]));
      records.forEach((record, i) => {
        const ack = { txId: record.txId, hData: record.tx.hData, hBlock: record.hBlock, owner: record.owner, replicas: existing[i] === undefined ? replicas : 0, status: record.status };
        results.set(record.tx.hData, indexed[i] === undefined ? { ack } : { error: describeError(indexed[i]) });
      });
    } catch (err) {
      for (const tx of txs) results.set(tx.hData, { error: describeError(err) });
    }
    return results;
  }
}

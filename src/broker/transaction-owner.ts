/**
 * The owner's side of a data transaction (the Flowchain papers' broker server): a node that
 * receives a transaction for a key it owns checks it, has its ledger file it into the virtual
 * block it is filling (H_BLOCK, then H_txID), stores the record on the ring under H_DATA
 * (replicated to its successors) and its index under the transaction id, and acknowledges.
 *
 * What a transaction must prove before anything of it is kept:
 *   - its shape, H_DATA, the sender's id and signature (data-transaction.ts);
 *   - that the member submitting it is its sender (peer links are authenticated);
 *   - that this node owns H_DATA;
 *   - that its sender hosts the Thing it is about, as the ring's directory says, and that its
 *     value satisfies that Thing's data schema (a consumer may not have written a read-only
 *     property);
 *   - that the sender is within its rate, and the ledger has room.
 *
 * Submitting the same transaction again (a retry after a lost acknowledgement) answers the
 * first acknowledgement and stores nothing new. Transactions travel in submissions of up to
 * {@link MAX_SUBMISSION}, which the owner stores, replicates and indexes together.
 *
 * Answers, per transaction, FLOWCHAIN_ERR_TX_MALFORMED, FLOWCHAIN_ERR_TX_HASH_MISMATCH,
 * FLOWCHAIN_ERR_TX_SIGNATURE_INVALID, FLOWCHAIN_ERR_TX_UNAUTHORIZED, FLOWCHAIN_ERR_VALUE_INVALID,
 * FLOWCHAIN_ERR_TX_HOST_UNKNOWN, FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED, FLOWCHAIN_ERR_BUSY,
 * FLOWCHAIN_ERR_RING_NOT_OWNER and the ring store's errors.
 */
import type { Clock } from '../common/clock.js';
import type { PeerSender, WirePeer } from '../common/peer-rpc.js';
import type { RecordStore } from '../common/ring-records.js';
import { describeError, FlowchainError, type ErrorBody } from '../errors.js';
import type { ThingDescription } from '../td/thing-description.js';
import { checkValue } from '../thing/data-schema.js';
import { verifyTransaction, type DataTransaction } from './data-transaction.js';
import type { LedgerPlugin, TransactionRecord, TransactionStatus } from './ledger-sink.js';
import { indexKey, TRANSACTION_INDEX, TRANSACTION_RECORDS, type RingTransactionRecord, type TransactionIndex } from './transaction-records.js';

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

/** What the owner answers for each transaction of a submission, in order. */
export type SubmitResult = { readonly ack: Acknowledgement; readonly error?: undefined } | { readonly error: ErrorBody; readonly ack?: undefined };

/** Who hosts a Thing, as the ring's directory says (the directory implements it). */
export interface ThingHosts {
  /** The host's ring id and the Thing's TD (null once withdrawn); undefined when the ring has no entry. `fresh` reads past any cache. */
  hostOf(thingId: string, fresh?: boolean): Promise<{ readonly hostId: string; readonly td: ThingDescription | null } | undefined>;
}

/** Most transactions in one submission. */
export const MAX_SUBMISSION = 64;

/** Owner settings. */
export interface TransactionOwnerInit {
  /** Transactions one sender may have filed per second, sustained, and at once. */
  readonly senderRate?: number;
  readonly senderBurst?: number;
  /** The ledger's backlog (admitted, not yet mined) above which submissions are told to wait. */
  readonly maxBacklog?: number;
}

const hex40 = (id: bigint): string => id.toString(16).padStart(40, '0');

/** Receives transactions for the keys this node owns. */
export class TransactionOwner {
  readonly #store: () => RecordStore;
  readonly #ledger: LedgerPlugin;
  readonly #hosts: ThingHosts;
  readonly #clock: Clock;
  readonly #self: () => WirePeer;
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxBacklog: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  /** Transactions being filed, by H_DATA, so a retry racing the original stores nothing twice. */
  readonly #inFlight = new Map<string, Promise<SubmitResult>>();

  /** `store` is asked for on each submission: the ring creates it when it starts. */
  constructor(components: { readonly store: () => RecordStore; readonly ledger: LedgerPlugin; readonly hosts: ThingHosts; readonly clock: Clock; readonly self: () => WirePeer }, init: TransactionOwnerInit = {}) {
    this.#store = components.store;
    this.#ledger = components.ledger;
    this.#hosts = components.hosts;
    this.#clock = components.clock;
    this.#self = components.self;
    this.#rate = init.senderRate ?? 20_000;
    this.#burst = init.senderBurst ?? 100_000;
    this.#maxBacklog = init.maxBacklog ?? 65_536;
  }

  /** The ring record kinds this side writes; register them with the ring's store. */
  static readonly RECORD_KINDS = [TRANSACTION_RECORDS, TRANSACTION_INDEX];

  /**
   * Checks, stores, indexes and acknowledges a submission (a peer request's `txs`) from
   * `sender`: one result per transaction, in order. A transaction that fails its checks gets
   * its error and stops none of the others; the valid ones are stored in one write and
   * replicated together. For transactions this node signed itself (`sender` is this node) the
   * signatures are not checked again; everything else is.
   */
  async submit(raws: unknown, sender: PeerSender, selfSigned = false): Promise<SubmitResult[]> {
    if (!Array.isArray(raws) || raws.length === 0 || raws.length > MAX_SUBMISSION) {
      throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', `txs is an array of 1 to ${MAX_SUBMISSION} transactions`, { field: 'txs' });
    }
    if (this.#ledger.backlog() > this.#maxBacklog) {
      const busy = describeError(new FlowchainError('FLOWCHAIN_ERR_BUSY', `this node's ledger holds more than ${this.#maxBacklog} transactions not yet mined: try again shortly`));
      return raws.map(() => ({ error: busy }));
    }
    const checked = await Promise.all(raws.map((raw) => this.#check(raw, sender, selfSigned).then((tx): { tx: DataTransaction; error?: undefined } => ({ tx }), (err: unknown) => ({ error: describeError(err) }))));
    const fresh: DataTransaction[] = [];
    let file!: (work: Promise<Map<string, SubmitResult>>) => void;
    const filed = new Promise<Map<string, SubmitResult>>((resolve) => (file = resolve));
    const results = checked.map((c): Promise<SubmitResult> => {
      if (c.error !== undefined) return Promise.resolve({ error: c.error });
      const tx = c.tx;
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

  /** Everything a transaction must prove before it is filed (see the module's comment). */
  async #check(raw: unknown, sender: PeerSender, selfSigned: boolean): Promise<DataTransaction> {
    const tx = verifyTransaction(raw, !selfSigned);
    if (tx.sender.id !== hex40(sender.id)) throw new FlowchainError('FLOWCHAIN_ERR_TX_UNAUTHORIZED', 'only a transaction\'s own sender may submit it', { field: 'sender.id' });
    if (!this.#store().owns(tx.hData)) throw new FlowchainError('FLOWCHAIN_ERR_RING_NOT_OWNER', `${tx.hData} belongs to another node`, { field: 'hData' });
    const { thing, property, value, origin } = tx.data;
    let host = await this.#hosts.hostOf(thing);
    // A cached entry may predate a new TD or host: read it afresh before refusing for good.
    if (host === undefined || host.hostId !== tx.sender.id || host.td === null) host = await this.#hosts.hostOf(thing, true);
    if (host === undefined) throw new FlowchainError('FLOWCHAIN_ERR_TX_HOST_UNKNOWN', `the ring's directory has no entry for ${thing} yet`, { field: 'data.thing' });
    if (host.hostId !== tx.sender.id) throw new FlowchainError('FLOWCHAIN_ERR_TX_UNAUTHORIZED', `${thing} is hosted by another node than the sender`, { field: 'data.thing' });
    if (host.td === null) throw new FlowchainError('FLOWCHAIN_ERR_TX_UNAUTHORIZED', `${thing} was withdrawn by its host`, { field: 'data.thing' });
    const affordance = host.td.properties?.[property];
    if (affordance === undefined || !Object.hasOwn(host.td.properties ?? {}, property)) throw new FlowchainError('FLOWCHAIN_ERR_VALUE_INVALID', `${thing} has no property ${property}`, { field: 'data.property' });
    if (origin === 'consumer' && affordance.readOnly === true) throw new FlowchainError('FLOWCHAIN_ERR_TX_UNAUTHORIZED', `${property} is read-only: no consumer wrote it`, { field: 'data.origin' });
    checkValue(affordance, value, property, origin === 'consumer' ? 'input' : 'output');
    this.#take(tx.sender.id);
    return tx;
  }

  /** One transaction from the sender's bucket, or FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED. */
  #take(senderId: string): void {
    const now = this.#clock.now();
    const bucket = this.#buckets.get(senderId) ?? { tokens: this.#burst, at: now };
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
    bucket.at = now;
    this.#buckets.set(senderId, bucket);
    if (bucket.tokens < 1) throw new FlowchainError('FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED', `a sender may have ${this.#rate} transactions per second filed here`, { field: 'sender.id' });
    bucket.tokens -= 1;
  }

  /** Files new transactions, answers stored ones again; never rejects (failures are results). */
  async #file(txs: readonly DataTransaction[]): Promise<Map<string, SubmitResult>> {
    const results = new Map<string, SubmitResult>();
    if (txs.length === 0) return results;
    try {
      // The ledger first: it keeps the first record of each H_DATA, so a retry gets its id.
      const filed = await this.#ledger.admit(txs, this.#self(), this.#clock.now());
      // The record and its index go out together: an index entry proves its own binding, so
      // one left behind by a failed write points at nothing and misleads nobody.
      const index = (record: TransactionRecord): [string, TransactionIndex] => [indexKey(record.txId), { kind: 'tx-index', txId: record.txId, hData: record.tx.hData, hBlock: record.hBlock }];
      const [{ existing, replicas }, indexed] = await Promise.all([
        this.#store().putOwned(filed.map((record) => [record.tx.hData, { kind: 'tx', ...record } satisfies RingTransactionRecord])),
        this.#store().putMany(filed.map(index)),
      ]);
      // A record already on the ring (filed by a previous owner of the key) is the one that
      // counts; its index is written again, so a retry repairs one that failed the first time.
      const records = filed.map((record, i) => (existing[i] as TransactionRecord | undefined) ?? record);
      const older = records.filter((record, i) => record !== filed[i]);
      const reindexed = older.length > 0 ? await this.#store().putMany(older.map(index)) : [];
      const olderErrors = new Map(older.map((record, j) => [record.tx.hData, reindexed[j]]));
      records.forEach((record, i) => {
        const indexError = record === filed[i] ? indexed[i] : olderErrors.get(record.tx.hData);
        const ack = { txId: record.txId, hData: record.tx.hData, hBlock: record.hBlock, owner: record.owner, replicas: existing[i] === undefined ? replicas : 0, status: record.status };
        results.set(record.tx.hData, indexError === undefined ? { ack } : { error: describeError(indexError) });
      });
    } catch (err) {
      for (const tx of txs) results.set(tx.hData, { error: describeError(err) });
    }
    return results;
  }
}

/**
 * The owner's side of a data transaction (the Flowchain papers' broker server): a node that
 * receives a transaction for a key it owns checks it, has its ledger file it into the virtual
 * block it is filling (H_BLOCK, then H_txID), stores the record on the ring under H_DATA
 * (replicated to its successors) and its index under the transaction id, and acknowledges.
 *
 * What a transaction must prove before anything of it is kept:
 *   - its shape, H_DATA, the sender's id and signature (data-transaction.ts);
 *   - that its timestamp is in the window around this node's clock ({@link TIMESTAMP_WINDOW});
 *   - that the member submitting it is its sender (peer links are authenticated: the key the
 *     member's certificate holds is the key that signed the transaction);
 *   - that this node owns H_DATA;
 *   - that its sender hosts the Thing it is about, as the ring's directory says, and that its
 *     value satisfies that Thing's data schema (a consumer may not have written a read-only
 *     property);
 *   - that the sender is within its rate, and the ledger has room.
 *
 * A transaction record another member offers this node (replication, a hand-over, a read
 * repair) passes the same rules ({@link TransactionOwner.recordKinds}): the member that filed
 * it may have lied about them. The record and its index expire twice the ledger's retention
 * after their block opened (transaction-records.ts), so a block opened in this node's future
 * is refused too: it would keep them longer.
 *
 * Submitting the same transaction again (a retry after a lost acknowledgement) answers the
 * first acknowledgement and stores nothing new. Transactions travel in submissions of up to
 * {@link MAX_SUBMISSION}, which the owner stores, replicates and indexes together.
 *
 * Answers, per transaction, FLOWCHAIN_ERR_TX_MALFORMED, FLOWCHAIN_ERR_TX_HASH_MISMATCH,
 * FLOWCHAIN_ERR_TX_SIGNATURE_INVALID, FLOWCHAIN_ERR_TX_CLOCK_SKEW, FLOWCHAIN_ERR_TX_UNAUTHORIZED,
 * FLOWCHAIN_ERR_VALUE_INVALID, FLOWCHAIN_ERR_TX_HOST_UNKNOWN, FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED, FLOWCHAIN_ERR_BUSY,
 * FLOWCHAIN_ERR_RING_NOT_OWNER and the ring store's errors.
 */
import type { Clock } from '../common/clock.js';
import type { PeerSender } from '../common/peer-rpc.js';
import type { HoldingProof, RecordKind, RecordStore } from '../common/ring-records.js';
import { describeError, FlowchainError, type ErrorBody } from '../errors.js';
import type { ThingDescription } from '../td/thing-description.js';
import { checkValue } from '../thing/data-schema.js';
import { verifyTransaction, type DataTransaction } from './data-transaction.js';
import type { LedgerPlugin, OpenBlock, RecordOwner, TransactionRecord, TransactionStatus } from './ledger-sink.js';
import { indexKey, transactionIndex, transactionRecords, type RingTransactionRecord, type TransactionIndex } from './transaction-records.js';

/** The peer request type that carries a transaction to its owner. */
export const SUBMIT_TRANSACTION = 'tx-submit';

/** What the owner answers. */
export interface Acknowledgement {
  readonly txId: string;
  readonly hData: string;
  readonly hBlock: string;
  readonly owner: RecordOwner;
  /** The block H_BLOCK is the hash of: when it opened dates the ring's records of the transaction. */
  readonly block?: OpenBlock;
  /** Successors that confirmed their copy. */
  readonly replicas: number;
  readonly status: TransactionStatus;
}

/** What the owner answers for each transaction of a submission, in order. */
export type SubmitResult = { readonly ack: Acknowledgement; readonly error?: undefined } | { readonly error: ErrorBody; readonly ack?: undefined };

/**
 * What the owner answers a submission: a result per transaction, and the holding proofs its
 * successors signed for the records (the sender counts the copies itself).
 */
export interface SubmitReply {
  readonly results: SubmitResult[];
  readonly proofs: HoldingProof[];
}

/** One filing of transactions: each one's result, and the successors' proofs. */
interface Filing {
  readonly results: Map<string, SubmitResult>;
  readonly proofs: HoldingProof[];
}

/** Who hosts a Thing, as the ring's directory says (the directory implements it). */
export interface ThingHosts {
  /** The host's ring id and the Thing's TD (null once withdrawn); undefined when the ring has no entry. `fresh` reads past any cache. */
  hostOf(thingId: string, fresh?: boolean): Promise<{ readonly hostId: string; readonly td: ThingDescription | null } | undefined>;
}

/**
 * How far a transaction's timestamp may be from the clock of the node that files it: 5 minutes
 * ahead (clock skew between devices), 7 days behind (a sender's outbox delivers what it queued
 * during an outage of up to a week). Records other members offer are held to the same window
 * around the time their owner filed them, which may itself be at most 5 minutes ahead.
 */
export const TIMESTAMP_WINDOW = { aheadMs: 5 * 60_000, behindMs: 7 * 86_400_000 } as const;

/** Throws FLOWCHAIN_ERR_TX_CLOCK_SKEW if `timestamp` is past the window's end after `now`, or (with `behind`) before its start. */
function checkTimestamp(timestamp: number, now: number, field: string, behind = true): void {
  if (timestamp > now + TIMESTAMP_WINDOW.aheadMs || (behind && timestamp < now - TIMESTAMP_WINDOW.behindMs)) {
    throw new FlowchainError('FLOWCHAIN_ERR_TX_CLOCK_SKEW', `${field} ${new Date(timestamp).toISOString()} is more than 5 minutes ahead of${behind ? ', or 7 days behind,' : ''} ${new Date(now).toISOString()}`, { field });
  }
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
  /**
   * How long the node's ledger keeps transactions (ms; `--retain-ledger`; default Infinity):
   * the ring's records of a transaction expire twice that after its block opened.
   */
  readonly retainLedger?: number;
}

/** Receives transactions for the keys this node owns. */
export class TransactionOwner {
  readonly #store: () => RecordStore;
  readonly #ledger: LedgerPlugin;
  readonly #hosts: ThingHosts;
  readonly #clock: Clock;
  readonly #self: () => RecordOwner;
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxBacklog: number;
  readonly #retainLedger: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  /** Transactions being filed, by H_DATA, so a retry racing the original stores nothing twice. */
  readonly #inFlight = new Map<string, Promise<Filing>>();

  /** `store` is asked for on each submission: the ring creates it when it starts. */
  constructor(components: { readonly store: () => RecordStore; readonly ledger: LedgerPlugin; readonly hosts: ThingHosts; readonly clock: Clock; readonly self: () => RecordOwner }, init: TransactionOwnerInit = {}) {
    this.#store = components.store;
    this.#ledger = components.ledger;
    this.#hosts = components.hosts;
    this.#clock = components.clock;
    this.#self = components.self;
    this.#rate = init.senderRate ?? 20_000;
    this.#burst = init.senderBurst ?? 100_000;
    this.#maxBacklog = init.maxBacklog ?? 65_536;
    this.#retainLedger = init.retainLedger ?? Infinity;
  }

  /**
   * The ring record kinds this side writes, to register with the ring's store: a transaction
   * record offered by another member is admitted only if its transaction passes what a
   * submission must pass (apart from the owner's own state: rate, backlog, ownership).
   */
  recordKinds(): RecordKind[] {
    const admit = async (_key: string, record: RingTransactionRecord): Promise<void> => {
      // A record may be of any age; it cannot have been filed in this node's future.
      checkTimestamp(record.storedAt, this.#clock.now(), 'storedAt', false);
      checkTimestamp(record.tx.timestamp, record.storedAt, 'tx.timestamp');
      // Its block opened before it was filed: a later opening would make it outlive its time.
      checkTimestamp(record.block.openedAt, this.#clock.now(), 'block.openedAt', false);
      await this.#authorize(record.tx, false);
    };
    return [{ ...transactionRecords(this.#retainLedger), admit }, transactionIndex(this.#retainLedger)];
  }

  /**
   * Checks, stores, indexes and acknowledges a submission (a peer request's `txs`) from
   * `sender`: one result per transaction, in order, and the successors' holding proofs. A
   * transaction that fails its checks gets its error and stops none of the others; the valid
   * ones are stored in one write and replicated together. For transactions this node signed itself (`sender` is this node) the
   * signatures are not checked again; everything else is.
   */
  async submit(raws: unknown, sender: PeerSender, selfSigned = false): Promise<SubmitReply> {
    if (!Array.isArray(raws) || raws.length === 0 || raws.length > MAX_SUBMISSION) {
      throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', `txs is an array of 1 to ${MAX_SUBMISSION} transactions`, { field: 'txs' });
    }
    if (this.#ledger.backlog() > this.#maxBacklog) {
      const busy = describeError(new FlowchainError('FLOWCHAIN_ERR_BUSY', `this node's ledger holds more than ${this.#maxBacklog} transactions not yet mined: try again shortly`));
      return { results: raws.map(() => ({ error: busy })), proofs: [] };
    }
    const checked = await Promise.all(raws.map((raw) => this.#check(raw, sender, selfSigned).then((tx): { tx: DataTransaction; error?: undefined } => ({ tx }), (err: unknown) => ({ error: describeError(err) }))));
    const fresh: DataTransaction[] = [];
    let file!: (work: Promise<Filing>) => void;
    const filed = new Promise<Filing>((resolve) => (file = resolve));
    const filings = new Set<Promise<Filing>>();
    const results = checked.map((c): Promise<SubmitResult> => {
      if (c.error !== undefined) return Promise.resolve({ error: c.error });
      const tx = c.tx;
      let filing = this.#inFlight.get(tx.hData);
      if (filing === undefined) {
        filing = filed;
        this.#inFlight.set(tx.hData, filed);
        fresh.push(tx);
      }
      filings.add(filing);
      return filing.then((done) => done.results.get(tx.hData)!);
    });
    file(this.#file(fresh).finally(() => fresh.forEach((tx) => this.#inFlight.delete(tx.hData))));
    const [answered, done] = await Promise.all([Promise.all(results), Promise.all(filings)]);
    return { results: answered, proofs: done.flatMap((filing) => filing.proofs) };
  }

  /** Everything a transaction must prove before it is filed (see the module's comment). */
  async #check(raw: unknown, sender: PeerSender, selfSigned: boolean): Promise<DataTransaction> {
    const tx = verifyTransaction(raw, !selfSigned);
    // The key the member's certificate holds (its link proved it) signed the transaction.
    if (sender.key !== tx.sender.key) throw new FlowchainError('FLOWCHAIN_ERR_TX_UNAUTHORIZED', 'only a transaction\'s own sender may submit it', { field: 'sender.id' });
    checkTimestamp(tx.timestamp, this.#clock.now(), 'timestamp');
    if (!this.#store().owns(tx.hData)) throw new FlowchainError('FLOWCHAIN_ERR_RING_NOT_OWNER', `${tx.hData} belongs to another node`, { field: 'hData' });
    await this.#authorize(tx, true);
    this.#take(tx.sender.id);
    return tx;
  }

  /**
   * That the transaction's sender hosts its Thing as the ring's directory says, that the Thing
   * has the property, that a consumer did not write a read-only one, and that the value fits
   * its schema. For a transaction being filed (`filing`) the Thing must be live; a record filed
   * earlier may be about a Thing the directory no longer lists (its host went away, its entry
   * lapsed) or one its host withdrew since: then only the host's identity can be checked, where
   * the directory still names it.
   */
  async #authorize(tx: DataTransaction, filing: boolean): Promise<void> {
    const { thing, property, value, origin } = tx.data;
    let host = await this.#hosts.hostOf(thing);
    // A cached entry may predate a new TD or host: read it afresh before refusing for good.
    if (host === undefined || host.hostId !== tx.sender.id || host.td === null) host = await this.#hosts.hostOf(thing, true);
    if (host === undefined && !filing) return;
    if (host === undefined) throw new FlowchainError('FLOWCHAIN_ERR_TX_HOST_UNKNOWN', `the ring's directory has no entry for ${thing} yet`, { field: 'data.thing' });
    if (host.hostId !== tx.sender.id) throw new FlowchainError('FLOWCHAIN_ERR_TX_UNAUTHORIZED', `${thing} is hosted by another node than the sender`, { field: 'data.thing' });
    if (host.td === null && !filing) return;
    if (host.td === null) throw new FlowchainError('FLOWCHAIN_ERR_TX_UNAUTHORIZED', `${thing} was withdrawn by its host`, { field: 'data.thing' });
    const affordance = host.td.properties?.[property];
    if (affordance === undefined || !Object.hasOwn(host.td.properties ?? {}, property)) throw new FlowchainError('FLOWCHAIN_ERR_VALUE_INVALID', `${thing} has no property ${property}`, { field: 'data.property' });
    if (origin === 'consumer' && affordance.readOnly === true) throw new FlowchainError('FLOWCHAIN_ERR_TX_UNAUTHORIZED', `${property} is read-only: no consumer wrote it`, { field: 'data.origin' });
    checkValue(affordance, value, property, origin === 'consumer' ? 'input' : 'output');
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
  async #file(txs: readonly DataTransaction[]): Promise<Filing> {
    const results = new Map<string, SubmitResult>();
    const proofs: HoldingProof[] = [];
    if (txs.length === 0) return { results, proofs };
    try {
      // The ledger first: it keeps the first record of each H_DATA, so a retry gets its id.
      const filed = await this.#ledger.admit(txs, this.#self(), this.#clock.now());
      // The record and its index go out together: an index entry proves its own binding, so
      // one left behind by a failed write points at nothing and misleads nobody. Its block
      // dates it: it expires with the record.
      const index = (record: TransactionRecord): [string, TransactionIndex] => [indexKey(record.txId), { kind: 'tx-index', txId: record.txId, hData: record.tx.hData, hBlock: record.hBlock, block: record.block }];
      const [{ existing, replicas, proofs: held }, indexed] = await Promise.all([
        this.#store().putOwned(filed.map((record) => [record.tx.hData, { kind: 'tx', ...record } satisfies RingTransactionRecord])),
        this.#store().putMany(filed.map(index)),
      ]);
      // A record already on the ring (filed by a previous owner of the key) is the one that
      // counts; its index is written again, so a retry repairs one that failed the first time.
      proofs.push(...held);
      const records = filed.map((record, i) => (existing[i] as TransactionRecord | undefined) ?? record);
      const older = records.filter((record, i) => record !== filed[i]);
      const reindexed = older.length > 0 ? await this.#store().putMany(older.map(index)) : [];
      const olderErrors = new Map(older.map((record, j) => [record.tx.hData, reindexed[j]]));
      records.forEach((record, i) => {
        const indexError = record === filed[i] ? indexed[i] : olderErrors.get(record.tx.hData);
        const ack = { txId: record.txId, hData: record.tx.hData, hBlock: record.hBlock, owner: record.owner, block: record.block, replicas: existing[i] === undefined ? replicas : 0, status: record.status };
        results.set(record.tx.hData, indexError === undefined ? { ack } : { error: describeError(indexError) });
      });
    } catch (err) {
      for (const tx of txs) results.set(tx.hData, { error: describeError(err) });
    }
    return { results, proofs };
  }
}

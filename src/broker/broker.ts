/**
 * The broker layer of one node (Flowchain's broker-server layer). Every accepted property
 * change becomes a signed data transaction that is stored in the durable outbox first, then
 * sent, strictly in order, to SUCCESSOR(H_DATA) on the ring, whose {@link TransactionOwner}
 * stores, replicates and acknowledges it. A transaction counts as stored only when the owner
 * and enough of its successors to make `ackQuorum` members have it, each successor by a
 * holding proof it signed with its certified key, checked here: no single member can answer
 * for the others. A writer can wait for that (the default `owner` ack) or not (`local`);
 * either way the outbox retries until the quorum holds it, across restarts. It audits its own
 * recent transactions, every `auditIntervalMs` and whenever the ring's membership around it
 * changes: one the ring no longer holds (owner and replicas all say "not found") goes back
 * into the outbox and is delivered again. The broker also answers receipts and property
 * histories, and reports every
 * transaction's progress to status listeners.
 *
 * Throws FLOWCHAIN_ERR_TX_NOT_FOUND, FLOWCHAIN_ERR_TX_PRUNED (the owner's ledger pruned it) and
 * FLOWCHAIN_ERR_REQUEST_MALFORMED from receipt lookups.
 */
import type { Clock, Timer } from '../common/clock.js';
import { HEX40, HEX64 } from '../common/hex.js';
import type { PeerReply, PeerRequest, PeerSender, RingAccess, WirePeer } from '../common/peer-rpc.js';
import type { HoldingProof, RecordStore } from '../common/ring-records.js';
import { chunks } from '../common/chunks.js';
import { describeError, errorFromBody, FlowchainError, isFlowchainError } from '../errors.js';
import type { NodeIdentity } from '../node-identity.js';
import type { PreparedWrite } from '../storage.js';
import type { ChangeJournal, JournalReceipt, RecordedChange, RecordedChanges } from '../thing/change-journal.js';
import { prepareTransaction, signBatch, transactionId, type DataTransaction, type UnsignedTransaction } from './data-transaction.js';
import type { History } from './history.js';
import type { LedgerPlugin, LedgerProof, TransactionRecord } from './ledger-sink.js';
import type { Delivery, Outbox } from './outbox.js';
import { MAX_SUBMISSION, SUBMIT_TRANSACTION, TIMESTAMP_WINDOW, TransactionOwner, type Acknowledgement, type SubmitResult, type ThingHosts, type TransactionOwnerInit } from './transaction-owner.js';
import { indexKey, openedAtOf, ringRecordsExpireAt, type RingTransactionRecord, type TransactionIndex } from './transaction-records.js';

/** When a write is answered: once its owner stored it, or once it is in the local outbox. */
export type AckMode = 'owner' | 'local';

/** Where a transaction stands once stored: how many members proved they hold it. */
export interface StoredCopies {
  /** The owner and the successors whose holding proofs verified. */
  readonly copies: number;
  /** How many were required: the ack quorum, or fewer on a ring with fewer members. */
  readonly required: number;
}

/** A step in a transaction's life, as status listeners see it. */
export interface TransactionUpdate {
  readonly hData: string;
  readonly thing: string;
  readonly property: string;
  /** `queued` in this node's outbox, `stored` at its owner, `refused` by it for good. */
  readonly status: 'queued' | 'stored' | 'refused';
  readonly txId?: string;
  readonly owner?: WirePeer;
  readonly error?: string;
}

/**
 * A receipt: the stored transaction record with what its owner's ledger proves about it
 * (once mined: the block, the Merkle path, the anchor), or the queued transaction when it has
 * not reached its owner yet.
 */
export type Receipt = (TransactionRecord & Partial<LedgerProof> & { readonly hData: string; readonly owner: TransactionRecord['owner'] & { readonly certificate?: string } }) | { readonly hData: string; readonly status: 'queued'; readonly tx: UnsignedTransaction };

/** The peer request type that asks an owner what its ledger proves about a transaction. */
export const TRANSACTION_PROOF = 'tx-proof';

/** Collaborators of the broker. */
export interface BrokerComponents {
  readonly ring: RingAccess;
  readonly identity: NodeIdentity;
  readonly clock: Clock;
  readonly randomBytes: (length: number) => Uint8Array;
  /** Transactions waiting for their owners, not yet signed: each delivery signs what it sends as one batch (an outbox of an older version may hold signed ones; they are signed again). */
  readonly outbox: Outbox<UnsignedTransaction>;
  readonly history: History;
  readonly ledger: LedgerPlugin;
  /** Who hosts each Thing (the ring's directory): owners check it before they file a transaction. */
  readonly hosts: ThingHosts;
  readonly log?: { warn(object: object, message: string): void };
}

/** Broker settings. */
export interface BrokerInit {
  readonly ack: AckMode;
  /** How long a write waits for its owner before it is answered as queued. */
  readonly ackTimeoutMs: number;
  /** Members (the owner included) that must prove they hold a transaction; default 2. */
  readonly ackQuorum?: number;
  /** How often this node checks that the ring still holds its recent transactions; default a minute. */
  readonly auditIntervalMs?: number;
  /** Largest submission to an owner, as JSON bytes (well inside the peer frame limit). */
  readonly maxSubmissionBytes: number;
  /** What this node takes as an owner (rates, ledger backlog). */
  readonly owner?: TransactionOwnerInit;
}

/** How many of its most recent stored transactions a node audits. */
export const AUDITED = 256;

/** Errors no retry can cure: the transaction goes to the dead letters. */
const PERMANENT = new Set([
  'FLOWCHAIN_ERR_TX_MALFORMED',
  'FLOWCHAIN_ERR_TX_HASH_MISMATCH',
  'FLOWCHAIN_ERR_TX_CLOCK_SKEW',
  'FLOWCHAIN_ERR_TX_SIGNATURE_INVALID',
  'FLOWCHAIN_ERR_TX_UNAUTHORIZED',
  'FLOWCHAIN_ERR_VALUE_INVALID',
  'FLOWCHAIN_ERR_RING_VALUE_TOO_LARGE',
  'FLOWCHAIN_ERR_RING_RECORD_INVALID',
]);
const isPermanent = (err: unknown): err is FlowchainError => isFlowchainError(err) && PERMANENT.has(err.code);

/** The broker of one node. */
export class Broker implements ChangeJournal {
  readonly #c: BrokerComponents;
  readonly #init: BrokerInit;
  readonly #owner: TransactionOwner;
  readonly #listeners = new Set<(update: TransactionUpdate) => void>();
  /** Acknowledgements that a waiting writer will pick up, by H_DATA. */
  readonly #acks = new Map<string, (Acknowledgement & StoredCopies) | undefined>();
  /** This node's most recent stored transactions, by H_DATA: what the audit checks (until the ring's records of them expire, when their owner said). */
  readonly #recent = new Map<string, { readonly tx: DataTransaction; readonly txId: string; readonly expiresAt: number | undefined }>();
  #auditing: { readonly timer: Timer; readonly unsubscribe: () => void } | undefined;
  #audit: Promise<number> | undefined;
  #running = false;

  constructor(components: BrokerComponents, init: BrokerInit) {
    this.#c = components;
    this.#init = init;
    const ownKey = Buffer.from(components.identity.publicKey).toString('hex');
    // Records name this node by its ring id and by the key its ledger signs blocks with.
    this.#owner = new TransactionOwner({ store: () => components.ring.store, ledger: components.ledger, hosts: components.hosts, clock: components.clock, self: () => ({ ...components.ring.self, key: ownKey }) }, init.owner);
    for (const kind of this.#owner.recordKinds()) components.ring.store.register(kind);
    // A node does not check its own signatures on what it hands itself in-process (no link
    // proved its key then: it is this node's own).
    components.ring.register(SUBMIT_TRANSACTION, async (request, sender) => {
      const self = hex40(sender.id) === components.ring.self.id;
      return { ...(await this.#owner.submit(request.txs, self ? { ...sender, key: ownKey } : sender, self)) };
    });
    components.ring.register(TRANSACTION_PROOF, async (request) => {
      if (typeof request.txId !== 'string' || !HEX64.test(request.txId)) throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'txId is 64 hex digits', { field: 'txId' });
      // The block the asker's record names, if it says: lets a pruned transaction be told from an unknown one.
      const height = Number.isSafeInteger(request.height) && (request.height as number) >= 0 ? (request.height as number) : undefined;
      // With this member's certificate: the asker checks the block's signer against it.
      return { proof: (await components.ledger.proof(request.txId, height)) ?? null, certificate: components.ring.certificate };
    });
  }

  /** Starts delivering the outbox (what a previous run left first); call once the ring runs. */
  start(): void {
    this.#running = true;
    this.#c.outbox.start(
      (tx) => this.#deliver(tx),
      isPermanent,
    );
    const audit = () => void this.audit().catch((err: unknown) => this.#c.log?.warn({ err }, 'auditing this node\'s recent transactions failed; the next audit tries again'));
    this.#auditing ??= { timer: this.#c.clock.every(this.#init.auditIntervalMs ?? 60_000, audit), unsubscribe: this.#c.ring.onMembershipChange(audit) };
  }

  /** Stops delivering; queued transactions stay in the outbox for the next start. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#auditing?.timer.cancel();
    this.#auditing?.unsubscribe();
    this.#auditing = undefined;
    await this.#audit?.catch(() => undefined);
    await this.#c.outbox.stop();
  }

  /**
   * Checks that the ring still holds each of this node's recent stored transactions (the last
   * {@link AUDITED} of them): its record under H_DATA and the index entry under its id, asking
   * owners and replicas. Each that lost either is queued again for delivery (its owner then
   * keeps the record it holds, or files it anew, and writes the index again). One whose ring
   * records have reached their expiry (twice the ledger's retention after its block opened, as
   * this node's retention reckons it; transaction-records.ts) is dropped from the audit instead:
   * the ring forgets it by design. Resolves with how many were; one audit runs at a time.
   */
  audit(): Promise<number> {
    this.#audit ??= this.#auditOnce().finally(() => (this.#audit = undefined));
    return this.#audit;
  }

  async #auditOnce(): Promise<number> {
    const lost: DataTransaction[] = [];
    for (const { tx, txId, expiresAt } of [...this.#recent.values()]) {
      if (!this.#running) break;
      // Its records expire by design (twice the ledger's retention): not lost, not delivered
      // again. Counted from as far ahead as the owner's clock may be.
      if (expiresAt !== undefined && expiresAt - TIMESTAMP_WINDOW.aheadMs <= this.#c.clock.now()) {
        this.#recent.delete(tx.hData);
        continue;
      }
      // A read that fails (no route just now) proves nothing: the next audit asks again.
      const held: unknown[] = await Promise.all([this.#c.ring.store.get(tx.hData), this.#c.ring.store.get(indexKey(txId))]).catch(() => [tx, tx]);
      if (held.includes(undefined) && this.#c.outbox.find((queued) => queued.hData === tx.hData) === undefined) lost.push(tx);
    }
    if (lost.length === 0 || !this.#running) return 0;
    this.#c.log?.warn({ lost: lost.map((tx) => tx.hData) }, `the ring no longer holds ${lost.length} of this node's stored transactions; delivering them again`);
    for (const tx of lost) this.#recent.delete(tx.hData);
    await this.#c.outbox.enqueue(lost);
    return lost.length;
  }

  /** Transactions waiting in the outbox. */
  get pending(): number {
    return this.#c.outbox.pending;
  }

  /** Calls `listener` with the outbox size whenever it changes; returns the unsubscribe. */
  onPending(listener: (pending: number) => void): () => void {
    return this.#c.outbox.onChange(listener);
  }

  /** Calls `listener` on every step of every transaction this node sends; returns the unsubscribe. */
  onUpdate(listener: (update: TransactionUpdate) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Throws FLOWCHAIN_ERR_BUSY when the outbox has no room for `count` more transactions. */
  admit(count: number): void {
    this.#c.outbox.admit(count);
  }

  /**
   * Makes each change a transaction and writes the transactions to the outbox and the history
   * in one atomic batch with `alongside` (see {@link ChangeJournal}); with `wait`, the caller
   * can then wait for their owners. They are signed when delivered, each delivery's together.
   */
  async record(changes: readonly RecordedChange[], options: { readonly wait: boolean; readonly alongside?: PreparedWrite }): Promise<RecordedChanges> {
    const txs = changes.map((change) => prepareTransaction(change, this.#c.identity, this.#c.clock.now(), this.#c.randomBytes(16)));
    // Before start (or after stop) nothing is delivered, so nothing is worth waiting for.
    const waiting = options.wait && this.#init.ack === 'owner' && this.#running;
    if (waiting) for (const tx of txs) this.#acks.set(tx.hData, undefined);
    // Everything up to here is synchronous: the write takes its place in the order of calls.
    const enqueued = this.#c.outbox.enqueue(txs, [this.#c.history.prepare(txs), ...(options.alongside ? [options.alongside] : [])]);
    let sequences: number[];
    try {
      sequences = await enqueued;
    } catch (err) {
      for (const tx of txs) this.#acks.delete(tx.hData);
      throw err;
    }
    for (const tx of txs) this.#emit({ hData: tx.hData, thing: tx.data.thing, property: tx.data.property, status: 'queued' });
    return {
      acknowledged: async () => {
        const outcomes = waiting ? await this.#within(Promise.allSettled(sequences.map((s) => this.#c.outbox.delivered(s))), this.#init.ackTimeoutMs) : undefined;
        return txs.map((tx, i): JournalReceipt => {
          const ack = this.#acks.get(tx.hData);
          this.#acks.delete(tx.hData);
          const receipt = { key: tx.hData, property: tx.data.property };
          if (ack !== undefined) return { ...receipt, txId: ack.txId, status: 'stored', copies: ack.copies, required: ack.required };
          return { ...receipt, status: outcomes?.[i]?.status === 'rejected' ? 'refused' : 'queued' };
        });
      },
    };
  }

  /**
   * The receipt of a transaction, by its id (64 hex) or its H_DATA (40 hex), from any node:
   * from this node's outbox while it waits there, otherwise from the ring.
   */
  async receipt(id: string): Promise<Receipt> {
    const ref = id.toLowerCase();
    if (!HEX40.test(ref) && !HEX64.test(ref)) throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'a transaction is named by its id (64 hex digits) or its H_DATA (40 hex digits)', { field: 'txId' });
    // What this node still holds has not reached its owner (and needs no ring to answer).
    const queued = HEX40.test(ref) ? this.#c.outbox.find((tx) => tx.hData === ref) : undefined;
    if (queued !== undefined) return { hData: ref, status: 'queued', tx: queued };
    let hData = ref;
    if (HEX64.test(ref)) {
      const index = (await this.#c.ring.store.get(indexKey(ref))) as TransactionIndex | undefined;
      if (index?.txId !== ref) throw notFound(ref);
      hData = index.hData;
    }
    // The ring store checked the record (signature, H_DATA, H_txID) before handing it over.
    const stored = (await this.#c.ring.store.get(hData)) as RingTransactionRecord | undefined;
    if (stored === undefined || (HEX64.test(ref) && stored.txId !== ref)) throw notFound(ref);
    const { kind: _kind, ...record } = stored;
    // The proof adds to the record (and says the status); it never replaces what the record says.
    // A mined receipt carries its owner's membership certificate: offline, it can be checked against the ring's authority.
    const proven = await this.#proofOf(record);
    if (proven === undefined) return { ...record, hData };
    return { ...proven.proof, ...record, owner: { ...record.owner, certificate: proven.certificate }, hData, status: proven.proof.status };
  }

  /**
   * What the record's owner proves about it, asked of the owner; nothing if it cannot be
   * reached, or if the block it names is not signed by the key the owner's membership
   * certificate holds (checked against the ring's authority and CRL), which is also the key
   * the record names.
   */
  async #proofOf(record: TransactionRecord): Promise<{ readonly proof: LedgerProof; readonly certificate: string } | undefined> {
    if (record.owner.id === this.#c.ring.self.id) {
      const proof = await this.#c.ledger.proof(record.txId, record.block.number);
      return proof === undefined ? undefined : { proof, certificate: this.#c.ring.certificate };
    }
    const reply = await this.#c.ring.ask(record.owner, { type: TRANSACTION_PROOF, txId: record.txId, height: record.block.number }).catch((err: unknown) => {
      // Pruned by its owner: answered as such (410), not as pending. Like a silent owner, an
      // owner saying so proves nothing either way; it only cannot make a receipt look mined.
      if (isFlowchainError(err, 'FLOWCHAIN_ERR_TX_PRUNED')) throw err;
      this.#c.log?.warn({ err, owner: record.owner.url }, 'the owner of a transaction did not answer for its proof; its receipt says pending');
      return undefined;
    });
    const proof = reply?.proof as LedgerProof | null | undefined;
    if (typeof proof !== 'object' || proof === null) return undefined;
    const key = this.#c.ring.keyOf(reply?.certificate, record.owner.id);
    if (key === undefined || proof.signer !== key || (record.owner.key !== undefined && record.owner.key !== key)) {
      this.#c.log?.warn({ owner: record.owner.url, txId: record.txId }, 'the owner\'s proof names a block its certified key did not sign; its receipt says pending');
      return undefined;
    }
    return { proof, certificate: reply!.certificate as string };
  }

  /**
   * Delivers a batch from the outbox: its transactions are signed together (one signature, a
   * path each), grouped by owner, and each owner gets them in submissions, in order. Alone, a
   * transaction is a batch of one; batches grow while a delivery is in flight (group commit).
   * Resolves with each one's error (undefined where stored) and the history's ids of the
   * stored ones, to be written with the outbox's removal of them.
   */
  async #deliver(queued: readonly UnsignedTransaction[]): Promise<Delivery> {
    const txs = signBatch(queued, this.#c.identity);
    const failures: unknown[] = txs.map(() => undefined);
    const acked: [DataTransaction, Acknowledgement & StoredCopies][] = [];
    const required = Math.min(this.#init.ackQuorum ?? 2, this.#c.ring.knownMembers);
    const groups = await this.#c.ring.ownersOf(txs.map((tx) => tx.hData));
    await Promise.all(
      groups.map(async ({ owner, error, positions }) => {
        for (const submission of chunks(positions, MAX_SUBMISSION, this.#init.maxSubmissionBytes, (i) => txs[i])) {
          try {
            if (owner === undefined) throw error;
            const reply = await this.#c.ring.ask(owner, { type: SUBMIT_TRANSACTION, txs: submission.map((i) => txs[i]) });
            const results = checkResults(reply, submission.length);
            const holders = this.#holders(reply.proofs, owner);
            submission.forEach((i, j) => {
              try {
                const ack = checkAcknowledgement(txs[i]!, results[j]!, owner.url);
                const copies = 1 + (holders.get(`${ack.hData}:${ack.txId}`)?.size ?? 0);
                if (copies < required) {
                  throw new FlowchainError('FLOWCHAIN_ERR_TX_UNDER_REPLICATED', `${copies} of the ${required} members a transaction needs proved they hold it; it stays queued`, { field: 'proofs' });
                }
                acked.push([txs[i]!, { ...ack, copies, required }]);
              } catch (err) {
                failures[i] = err;
              }
            });
          } catch (err) {
            for (const i of submission) failures[i] = err;
          }
        }
      }),
    );
    // Written with the outbox's removal of these transactions, in one batch.
    const settled = acked.length > 0 ? await this.#c.history.settle(acked.map(([tx, ack]) => [tx, ack.txId])) : undefined;
    for (const [tx, ack] of acked) {
      if (this.#acks.has(tx.hData)) this.#acks.set(tx.hData, ack);
      this.#recent.delete(tx.hData);
      const openedAt = ack.block === undefined ? undefined : openedAtOf(ack.block, ack.hBlock);
      this.#recent.set(tx.hData, { tx, txId: ack.txId, expiresAt: openedAt === undefined ? undefined : ringRecordsExpireAt(openedAt, this.#init.owner?.retainLedger ?? Infinity) });
      if (this.#recent.size > AUDITED) this.#recent.delete(this.#recent.keys().next().value as string);
      this.#emit({ hData: tx.hData, thing: tx.data.thing, property: tx.data.property, status: 'stored', txId: ack.txId, owner: ack.owner });
    }
    const retried = failures.filter((err) => err !== undefined && !isPermanent(err));
    if (retried.length > 0) {
      const codes: Record<string, number> = {};
      for (const { code } of retried.map(describeError)) codes[code] = (codes[code] ?? 0) + 1;
      this.#c.log?.warn({ codes }, `${retried.length} of ${txs.length} transactions not delivered yet; the outbox retries them`);
    }
    txs.forEach((tx, i) => {
      const err = failures[i];
      if (!isPermanent(err)) return;
      this.#c.log?.warn({ err, hData: tx.hData }, 'transaction refused by its owner; kept in the dead letters');
      this.#emit({ hData: tx.hData, thing: tx.data.thing, property: tx.data.property, status: 'refused', error: err.code });
    });
    return settled === undefined ? { failures } : { failures, alongside: settled };
  }

  /**
   * Which members other than `owner` proved they hold which records ("H_DATA:txId" to ring
   * ids): only proofs whose certificate and signature verify, from members that can be among
   * the owner's r successors as far as this node knows (fewer than r known members between).
   */
  #holders(proofs: unknown, owner: WirePeer): Map<string, Set<string>> {
    const holders = new Map<string, Set<string>>();
    if (!Array.isArray(proofs)) return holders;
    for (const proof of proofs.slice(0, 4 * MAX_SUBMISSION)) {
      const member = this.#c.ring.holderOf(proof);
      if (member === undefined || member === owner.id || this.#c.ring.membersBetween(owner.id, member) >= this.#c.ring.replication) continue;
      for (const [key, fingerprint] of (proof as HoldingProof).records) {
        const id = `${key}:${fingerprint}`;
        holders.set(id, (holders.get(id) ?? new Set()).add(member));
      }
    }
    return holders;
  }

  #emit(update: TransactionUpdate): void {
    for (const listener of this.#listeners) listener(update);
  }

  /** Resolves with `work`'s result, or with undefined once `ms` pass. */
  #within<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
    let timer: { cancel(): void } | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = this.#c.clock.after(ms, () => resolve(undefined))));
    return Promise.race([work, timeout]).finally(() => timer?.cancel());
  }
}

/** A submission's reply: one result per transaction sent. */
function checkResults(reply: PeerReply, count: number): SubmitResult[] {
  const results = reply.results;
  if (!Array.isArray(results) || results.length !== count || !results.every((r) => typeof r === 'object' && r !== null)) {
    throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', `the owner answers one result per transaction (${count})`, { field: 'results' });
  }
  return results as SubmitResult[];
}

/** One transaction's result, checked: an error, or an id that is H_txID of the H_BLOCK it names. */
function checkAcknowledgement(tx: DataTransaction, result: SubmitResult, ownerUrl: string): Acknowledgement {
  if (result.error !== undefined) throw errorFromBody(result.error, ownerUrl);
  const ack = result.ack as Partial<Acknowledgement> | undefined;
  if (typeof ack?.hBlock !== 'string' || !HEX64.test(ack.hBlock) || ack.txId !== transactionId(ack.hBlock, tx.hData) || ack.hData !== tx.hData) {
    throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'the owner acknowledged with a transaction id that is not H_txID of the transaction', { field: 'txId' });
  }
  return ack as Acknowledgement;
}

const hex40 = (id: bigint): string => id.toString(16).padStart(40, '0');

function notFound(ref: string): FlowchainError {
  return new FlowchainError('FLOWCHAIN_ERR_TX_NOT_FOUND', `no transaction ${ref} on the ring or in this node's outbox`, { field: 'txId' });
}

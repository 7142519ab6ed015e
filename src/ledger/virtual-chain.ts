/**
 * The default ledger plugin: this node's private chain of virtual blocks (the Flowchain
 * papers' hybrid blockchain). Transactions the node owns are admitted into the open block;
 * the block is sealed when it holds `maxBlockTx` transactions or `blockIntervalMs` after it
 * opened (never empty), mined on a worker thread (block.ts states the puzzle), signed, and
 * kept in LevelDB with its transactions' places. Every `anchorEveryBlocks` blocks or
 * `anchorIntervalMs`, the blocks since the last anchor are anchored through the anchor plugin.
 * On start the stored chain is verified and a block sealed before a crash is mined again.
 * {@link VirtualChain.prune} drops the transactions of old blocks (once anchored, with an
 * anchor plugin) and keeps the blocks, so the chain and the receipts already handed out still
 * verify.
 *
 * Throws FLOWCHAIN_ERR_LEDGER_CORRUPT from {@link start}, FLOWCHAIN_ERR_BLOCK_NOT_FOUND from
 * block lookups, FLOWCHAIN_ERR_TX_PRUNED from {@link VirtualChain.proof} of a pruned transaction.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { blockHash, transactionId, verifyTransaction, type DataTransaction } from '../broker/data-transaction.js';
import type { LedgerEvent, LedgerPlugin, LedgerProof, OpenBlock, RecordOwner, TransactionRecord, VerifyReport } from '../broker/ledger-sink.js';
import { HEX64 } from '../common/hex.js';
import { FlowchainError } from '../errors.js';
import { NodeIdentity } from '../node-identity.js';
import type { Clock, Timer } from '../common/clock.js';
import { checkBlock, checkLink, GENESIS_PREVIOUS, HEADER_VERSION, headerHash, nextDifficulty, type Block, type BlockHeader } from './block.js';
import type { Anchor, ChainStore } from './chain-store.js';
import type { Anchorer } from './anchoring.js';
import { MerkleTree, merkleRoot } from '../common/merkle.js';
import type { Miner } from './miner.js';

/** Collaborators of the chain. */
export interface VirtualChainComponents {
  readonly store: ChainStore;
  readonly identity: NodeIdentity;
  readonly clock: Clock;
  readonly randomBytes: (length: number) => Uint8Array;
  readonly miner: Miner;
  /** Absent: the `none` anchor plugin (receipts say they are not anchored). */
  readonly anchorer?: Anchorer;
  readonly log?: { warn(object: object, message: string): void; info(object: object, message: string): void };
}

/** Chain settings. */
export interface VirtualChainInit {
  readonly blockIntervalMs: number;
  readonly maxBlockTx: number;
  /** The work per block: expected hashes at stake 1 (see {@link nextDifficulty}). */
  readonly difficulty: number;
  readonly stake: number;
  readonly anchorEveryBlocks: number;
  readonly anchorIntervalMs: number;
}

/** The chain at a glance, for `GET /ledger`. */
export interface ChainSummary {
  readonly minerId: string;
  /** Height of the newest block; -1 before the first. */
  readonly height: number;
  readonly head: string | null;
  readonly pending: number;
  readonly difficulty: number;
  readonly stake: number;
  readonly blockIntervalMs: number;
  readonly anchoring: string;
  readonly lastAnchor: Anchor | null;
  /** Blocks below this height were pruned: they keep their headers and transaction ids, not their transactions. */
  readonly prunedBelow: number;
  /** The share of one core the miner may use, and the CPU time it spent since the node started. */
  readonly mining: { readonly share: number; readonly cpuMs: number };
}

/** What one {@link VirtualChain.prune} did. */
export interface PruneReport {
  readonly blocks: number;
  readonly transactions: number;
  /** The lowest height whose transactions are kept, after this run. */
  readonly prunedBelow: number;
}

/** A block as the chain's views show it: with `pruned` once its transactions are gone. */
export type ShownBlock = Block & { readonly pruned?: true };

/** Blocks pruned in one write. */
const PRUNE_RUN = 256;
/** How many blocks (and anchors) are kept with their trees for receipts (a block of 4,096 transactions and its tree are about 600 KiB). */
const KEPT = 8;

const hex40 = (id: bigint): string => id.toString(16).padStart(40, '0');

/** The value `cache` keeps for `key`, made by `make` if it has none; the last {@link KEPT} used are kept. */
async function recent<K, V>(cache: Map<K, V>, key: K, make: () => Promise<V>): Promise<V> {
  let value = cache.get(key);
  if (value === undefined) value = await make();
  else cache.delete(key);
  cache.set(key, value);
  if (cache.size > KEPT) cache.delete(cache.keys().next().value!);
  return value;
}

/** This node's chain. */
export class VirtualChain implements LedgerPlugin {
  readonly #c: VirtualChainComponents;
  readonly #init: VirtualChainInit;
  readonly #listeners = new Set<(event: LedgerEvent) => void>();
  readonly #minerId: string;
  #open!: OpenBlock;
  /** Records admitted into the open block, in order. */
  #filling: TransactionRecord[] = [];
  /** Sealed blocks' records waiting to be mined (after a restart there may be several). */
  #sealed: TransactionRecord[][] = [];
  #tip: Block | undefined;
  #difficulty = 1;
  #anchors: Anchor[] = [];
  /**
   * The blocks whose receipts were read last, checked, with their transaction trees, by
   * height; and the trees of the anchors they were read under, by range. A block's
   * receipts are mostly read together (a writer's, a dashboard's), and reading and checking a
   * block costs two hashes per transaction. Mined blocks and anchors never change (pruning
   * keeps a block's transaction ids).
   */
  readonly #proven = new Map<number, { readonly block: Block; readonly tree: MerkleTree }>();
  readonly #anchorTrees = new Map<string, MerkleTree>();
  /** Heights below this lost their transactions to {@link prune}. */
  #prunedBelow = 0;
  #pruning: Promise<unknown> = Promise.resolve();
  /** Set by {@link stop}: a long prune ends after the run it is writing. */
  #stopping = false;
  /** Admissions and sealing take turns, so a record is never admitted into a block being sealed. */
  #turn: Promise<unknown> = Promise.resolve();
  #mining: Promise<void> | undefined;
  #anchoring: Promise<void> | undefined;
  #sealTimer: Timer | undefined;
  #anchorTimer: Timer | undefined;
  #running = false;

  constructor(components: VirtualChainComponents, init: VirtualChainInit) {
    this.#c = components;
    this.#init = init;
    this.#minerId = hex40(components.identity.id);
  }

  /** Reopens and verifies the stored chain, then resumes sealing, mining and anchoring. */
  async start(): Promise<void> {
    const { report, tip } = await verifyChain(this.#c.store, false);
    this.#tip = tip;
    if (report.fault !== undefined) {
      throw new FlowchainError('FLOWCHAIN_ERR_LEDGER_CORRUPT', `block ${report.fault.height}: ${report.fault.reason} (run flowchain verify for the whole chain)`, { field: 'ledger' });
    }
    this.#anchors = await this.#c.store.anchors();
    this.#prunedBelow = await this.#c.store.prunedBelow();
    this.#difficulty = (await this.#c.store.difficulty()) ?? this.#init.difficulty;
    this.#open = (await this.#c.store.openBlock()) ?? this.#newBlock((this.#tip?.header.height ?? -1) + 1);
    // What was admitted before a restart: the open block's records fill it again; records of
    // blocks sealed but not mined are sealed again, oldest first.
    const byBlock = new Map<number, TransactionRecord[]>();
    for (const record of await this.#c.store.pending()) byBlock.set(record.block.number, [...(byBlock.get(record.block.number) ?? []), record]);
    this.#filling = byBlock.get(this.#open.number) ?? [];
    byBlock.delete(this.#open.number);
    this.#sealed = [...byBlock.entries()].sort(([a], [b]) => a - b).map(([, records]) => records);
    this.#running = true;
    this.#stopping = false;
    this.#anchorTimer = this.#c.clock.every(this.#init.anchorIntervalMs, () => this.#anchorSoon());
    this.#schedule();
  }

  /** Stops mining (a block being mined is mined again on the next start) and anchoring. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopping = true;
    this.#sealTimer?.cancel();
    this.#anchorTimer?.cancel();
    await this.#c.miner.close();
    await this.#mining;
    await this.#anchoring;
    await this.#pruning;
    await this.#c.anchorer?.close();
    await this.#turn;
  }

  admit(txs: readonly DataTransaction[], owner: RecordOwner, now: number): Promise<TransactionRecord[]> {
    return this.#take(async () => {
      const known = await this.#c.store.records(txs.map((tx) => tx.hData));
      // Worked out on copies, and kept only once stored.
      let open = this.#open;
      let filling = [...this.#filling];
      const sealed: TransactionRecord[][] = [];
      const fresh = new Map<string, TransactionRecord>();
      const records = txs.map((tx, i) => {
        const existing = known[i] ?? fresh.get(tx.hData);
        if (existing !== undefined) return existing;
        // An empty open block takes the time of its first transaction: its opening dates the
        // ring's records of its transactions (they expire twice --retain-ledger after it, see
        // broker/transaction-records.ts), which must not count the time the node sat idle.
        if (filling.length === 0 && open.openedAt < now) open = this.#newBlock(open.number);
        if (filling.length >= this.#init.maxBlockTx) {
          // A full block is sealed at once; the rest go into the next one.
          sealed.push(filling);
          filling = [];
          open = this.#newBlock(open.number + 1);
        }
        const hBlock = blockHash(open.number, open.openedAt, open.nonce);
        const record: TransactionRecord = { txId: transactionId(hBlock, tx.hData), hBlock, block: open, owner, storedAt: now, status: 'pending', tx };
        fresh.set(tx.hData, record);
        filling.push(record);
        return record;
      });
      if (fresh.size > 0) {
        await this.#c.store.admit([...fresh.values()], open);
        this.#open = open;
        this.#filling = filling;
        this.#sealed.push(...sealed);
        if (sealed.length > 0 || this.#sealTimer === undefined) queueMicrotask(() => this.#schedule());
      }
      return records;
    });
  }

  backlog(): number {
    return this.#filling.length + this.#sealed.reduce((n, records) => n + records.length, 0);
  }

  /**
   * What proves `txId` is in this chain. `height`, the block its record names, lets a pruned
   * transaction be told from an unknown one: FLOWCHAIN_ERR_TX_PRUNED when that block was pruned
   * and its ids (which its Merkle root still binds) hold `txId`.
   */
  async proof(txId: string, height?: number): Promise<LedgerProof | undefined> {
    const [placement] = await this.#c.store.placements([txId]);
    if (placement === undefined) {
      if (height !== undefined && Number.isSafeInteger(height) && height >= 0 && height < this.#prunedBelow && (await this.#read(height)).txIds.includes(txId)) {
        throw new FlowchainError('FLOWCHAIN_ERR_TX_PRUNED', `transaction ${txId} was in block ${height}, whose transactions were pruned (the block's header stays: GET /ledger/blocks/${height})`, { field: 'txId' });
      }
      return undefined;
    }
    const { block, tree } = await recent(this.#proven, placement.height, async () => {
      const read = await this.#read(placement.height);
      return { block: read, tree: new MerkleTree(read.txIds) };
    });
    const anchor = this.#anchors.find((a) => a.fromHeight <= placement.height && placement.height <= a.toHeight);
    let anchored: object | null = null;
    if (anchor !== undefined) {
      const anchorTree = await recent(this.#anchorTrees, `${anchor.fromHeight}-${anchor.toHeight}`, async () => {
        const tree = new MerkleTree((await this.#c.store.blocks(anchor.fromHeight, anchor.toHeight - anchor.fromHeight + 1)).map((b) => b.hash));
        // Kept only as the anchor recorded it: a block missing or changed since is not proven from.
        if (tree.count !== anchor.toHeight - anchor.fromHeight + 1 || tree.root !== anchor.root) throw new FlowchainError('FLOWCHAIN_ERR_LEDGER_CORRUPT', `the blocks ${anchor.fromHeight} to ${anchor.toHeight} no longer have the Merkle root their anchor recorded`, { field: 'block' });
        return tree;
      });
      anchored = { ...anchor, proof: anchorTree.proof(placement.height - anchor.fromHeight) };
    }
    return {
      status: anchor === undefined ? 'mined' : 'anchored',
      signer: block.header.minerKey,
      minedIn: { header: block.header, hash: block.hash, signature: block.signature },
      proof: tree.proof(placement.index),
      anchoring: this.#c.anchorer?.kind ?? 'none',
      anchor: anchored,
    };
  }

  onEvent(listener: (event: LedgerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Re-checks every stored block and transaction, signatures included. */
  async verify(): Promise<VerifyReport> {
    return (await verifyChain(this.#c.store, true)).report;
  }

  summary(): ChainSummary {
    return {
      minerId: this.#minerId,
      height: this.#tip?.header.height ?? -1,
      head: this.#tip?.hash ?? null,
      pending: this.backlog(),
      difficulty: this.#difficulty,
      stake: this.#init.stake,
      blockIntervalMs: this.#init.blockIntervalMs,
      anchoring: this.#c.anchorer?.kind ?? 'none',
      lastAnchor: this.#anchors.at(-1) ?? null,
      prunedBelow: this.#prunedBelow,
      mining: { share: this.#c.miner.share, cpuMs: Math.round(this.#c.miner.busyMs) },
    };
  }

  /** Blocks from height `from`, oldest first; a pruned one says so. */
  async blocks(from: number, limit: number): Promise<ShownBlock[]> {
    return (await this.#c.store.blocks(from, limit)).map((block) => this.#shown(block));
  }

  /** A block by height or hash; a pruned one says so (its header and ids stay). */
  async block(ref: string): Promise<ShownBlock> {
    const height = /^\d{1,15}$/.test(ref) ? Number(ref) : HEX64.test(ref) ? await this.#c.store.heightOf(ref) : undefined;
    if (height === undefined) throw new FlowchainError('FLOWCHAIN_ERR_BLOCK_NOT_FOUND', `no block ${ref} in this node's chain`, { field: 'block' });
    return this.#shown(await this.#read(height));
  }

  #shown(block: Block): ShownBlock {
    return block.header.height < this.#prunedBelow ? { ...block, pruned: true } : block;
  }

  /**
   * Drops the transactions (records and places) of the blocks sealed before `before`, oldest
   * first, stopping at the first block that is not due: sealed later, or, with an anchor
   * plugin, not anchored yet. The blocks stay, headers, Merkle roots and transaction ids, and so
   * do the anchors: {@link verify} still checks every block and its link, and a receipt handed
   * out earlier still verifies offline (it carries its own proofs). Runs one at a time, in
   * writes of up to 256 blocks; {@link stop} ends it after the write under way.
   *
   * A transaction the owner is offered again after its record was pruned is filed anew (the
   * ring keeps the first record, whose id is the one acknowledged); owners refuse transactions
   * more than 7 days old, so with a retention of at least that it cannot happen.
   */
  prune(before: number): Promise<PruneReport> {
    const run = this.#pruning.then(() => this.#prune(before));
    this.#pruning = run.catch(() => undefined);
    return run;
  }

  async #prune(before: number): Promise<PruneReport> {
    let blocks = 0;
    let transactions = 0;
    while (!this.#stopping) {
      // Without an anchor plugin, age alone decides; with one, only anchored blocks go.
      const anchoredTo = this.#c.anchorer === undefined ? Number.POSITIVE_INFINITY : (this.#anchors.at(-1)?.toHeight ?? -1);
      const candidates = await this.#c.store.blocks(this.#prunedBelow, PRUNE_RUN);
      const due: Block[] = [];
      for (const block of candidates) {
        if (block.header.height !== this.#prunedBelow + due.length || block.header.sealedAt >= before || block.header.height > anchoredTo) break;
        due.push(block);
      }
      if (due.length === 0) break;
      const run = await Promise.all(
        due.map(async (block) => ({ block, hData: (await this.#c.store.placements(block.txIds)).flatMap((p) => (p === undefined ? [] : [p.hData])) })),
      );
      await this.#c.store.prune(run);
      this.#prunedBelow += due.length;
      blocks += due.length;
      transactions += run.reduce((n, { block }) => n + block.txIds.length, 0);
      if (due.length < candidates.length || candidates.length < PRUNE_RUN) break;
    }
    if (blocks > 0) this.#c.log?.info({ blocks, transactions, prunedBelow: this.#prunedBelow }, 'old blocks pruned: their headers stay');
    return { blocks, transactions, prunedBelow: this.#prunedBelow };
  }

  /** A stored block, checked as it is read (its header, signature and Merkle root). */
  async #read(height: number): Promise<Block> {
    const block = await this.#c.store.block(height);
    if (block === undefined) throw new FlowchainError('FLOWCHAIN_ERR_BLOCK_NOT_FOUND', `no block ${height} in this node's chain`, { field: 'block' });
    const fault = checkBlock(block, NodeIdentity.verify);
    if (fault !== undefined) throw new FlowchainError('FLOWCHAIN_ERR_LEDGER_CORRUPT', `block ${height}: ${fault}`, { field: 'block' });
    return block;
  }

  anchors(): readonly Anchor[] {
    return this.#anchors;
  }

  /** Runs `task` when the previous admission or sealing is done. */
  #take<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(task, task);
    this.#turn = run.catch(() => undefined);
    return run;
  }

  #newBlock(number: number): OpenBlock {
    return { number, openedAt: this.#c.clock.now(), nonce: bytesToHex(this.#c.randomBytes(16)) };
  }

  /** Mines what is sealed, seals the open block when it is due, or waits until it is. */
  #schedule(): void {
    if (!this.#running || this.#mining !== undefined) return;
    this.#sealTimer?.cancel();
    this.#sealTimer = undefined;
    const due = this.#open.openedAt + this.#init.blockIntervalMs - this.#c.clock.now();
    if (this.#sealed.length === 0 && (this.#filling.length === 0 || (this.#filling.length < this.#init.maxBlockTx && due > 0))) {
      if (this.#filling.length > 0) this.#sealTimer = this.#c.clock.after(due, () => this.#schedule());
      return;
    }
    this.#mining = this.#mineNext().then(
      () => {
        this.#mining = undefined;
        this.#schedule();
      },
      (err: unknown) => {
        // A failure (the disk, say) is retried after an interval, not in a tight loop.
        this.#c.log?.warn({ err }, 'mining a block failed; trying again after the block interval');
        this.#mining = undefined;
        this.#sealTimer = this.#c.clock.after(this.#init.blockIntervalMs, () => this.#schedule());
      },
    );
  }

  async #mineNext(): Promise<void> {
    if (this.#sealed.length === 0) {
      await this.#take(async () => {
        // An admission may have sealed the block meanwhile (it filled up).
        if (this.#sealed.length > 0 || this.#filling.length === 0) return;
        const next = this.#newBlock(this.#open.number + 1);
        await this.#c.store.admit([], next);
        this.#sealed.push(this.#filling);
        this.#filling = [];
        this.#open = next;
      });
    }
    const records = this.#sealed[0];
    if (records === undefined) return;
    const first = records[0]!.block;
    const txIds = records.map((r) => r.txId);
    const header: BlockHeader = {
      version: HEADER_VERSION,
      height: first.number,
      previousHash: this.#tip?.hash ?? GENESIS_PREVIOUS,
      openedAt: first.openedAt,
      openingNonce: first.nonce,
      sealedAt: Math.max(this.#c.clock.now(), first.openedAt, this.#tip?.header.sealedAt ?? 0),
      merkleRoot: merkleRoot(txIds),
      txCount: records.length,
      difficulty: this.#difficulty,
      stake: this.#init.stake,
      minerId: this.#minerId,
      minerKey: bytesToHex(this.#c.identity.publicKey),
      miningNonce: '0',
    };
    const start = new DataView(this.#c.randomBytes(8).buffer).getBigUint64(0);
    const solution = await this.#c.miner.mine(header, start);
    if (solution === undefined) return;
    const mined = { ...header, miningNonce: solution.miningNonce };
    const hash = headerHash(mined);
    const block: Block = { header: mined, hash, signature: bytesToHex(this.#c.identity.sign(hexToBytes(hash))), txIds };
    const difficulty = nextDifficulty(mined.difficulty, this.#init.difficulty);
    await this.#c.store.addBlock(block, records.map((r) => r.tx.hData), difficulty);
    this.#sealed.shift();
    this.#tip = block;
    this.#difficulty = difficulty;
    this.#emit({ kind: 'block', height: mined.height, hash, txCount: mined.txCount, difficulty: mined.difficulty, sealedAt: mined.sealedAt, hashes: solution.hashes });
    const unanchored = mined.height - (this.#anchors.at(-1)?.toHeight ?? -1);
    if (this.#c.anchorer !== undefined && unanchored >= this.#init.anchorEveryBlocks) this.#anchorSoon();
  }

  /** Anchors the blocks since the last anchor, unless anchoring already runs or nothing is new. */
  #anchorSoon(): void {
    const anchorer = this.#c.anchorer;
    const tip = this.#tip;
    const fromHeight = (this.#anchors.at(-1)?.toHeight ?? -1) + 1;
    if (anchorer === undefined || tip === undefined || tip.header.height < fromHeight || this.#anchoring !== undefined || !this.#running) return;
    this.#anchoring = (async () => {
      const hashes = (await this.#c.store.blocks(fromHeight, tip.header.height - fromHeight + 1)).map((b) => b.hash);
      const claim = { minerId: this.#minerId, fromHeight, toHeight: tip.header.height, root: merkleRoot(hashes) };
      const ref = await anchorer.anchor(claim);
      const anchor: Anchor = { ...claim, anchoredAt: this.#c.clock.now(), ref };
      await this.#c.store.addAnchor(this.#anchors.length, anchor);
      this.#anchors.push(anchor);
      this.#c.log?.info({ fromHeight, toHeight: claim.toHeight, ref }, 'blocks anchored');
      this.#emit({ kind: 'anchor', ...anchor });
    })()
      .catch((err: unknown) => this.#c.log?.warn({ err }, 'anchoring failed; trying again at the next anchor time'))
      .finally(() => (this.#anchoring = undefined));
  }

  #emit(event: LedgerEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

/**
 * Walks the stored chain: each block on its own (header, signature, and the Merkle root of its
 * transaction ids) and linked to the one before, and each of its transactions' records (H_DATA,
 * the id bound to this block, with `signatures` the sender's signature too), except in pruned
 * blocks, which have none left: those verify by their header, ids and link alone. Also
 * returns the last sound block.
 */
export async function verifyChain(store: ChainStore, signatures: boolean): Promise<{ readonly report: VerifyReport; readonly tip: Block | undefined }> {
  let previous: Block | undefined;
  let blocks = 0;
  let transactions = 0;
  const report = (height: number, reason: string) => ({ report: { blocks, transactions, fault: { height, reason } }, tip: previous });
  const prunedBelow = await store.prunedBelow();
  for await (const block of store.allBlocks()) {
    const height = block.header?.height ?? blocks;
    const fault = checkBlock(block, NodeIdentity.verify) ?? checkLink(block.header, previous);
    if (fault !== undefined) return report(height, fault);
    if (height < prunedBelow) {
      previous = block;
      blocks++;
      continue;
    }
    const hBlock = blockHash(block.header.height, block.header.openedAt, block.header.openingNonce);
    const placements = await store.placements(block.txIds);
    const records = await store.records(placements.map((p) => p?.hData ?? ''));
    for (const [index, txId] of block.txIds.entries()) {
      const placement = placements[index];
      const record = records[index];
      if (placement?.height !== height || placement.index !== index || record === undefined) return report(height, `transaction ${index} (${txId}) is not stored with its place`);
      try {
        verifyTransaction(record.tx, signatures);
      } catch (err) {
        return report(height, `transaction ${index} (${txId}): ${(err as Error).message}`);
      }
      if (record.txId !== txId || transactionId(hBlock, record.tx.hData) !== txId) return report(height, `transaction ${index} (${txId}) is not H_txID of its H_DATA in this block`);
      transactions++;
    }
    previous = block;
    blocks++;
  }
  return { report: { blocks, transactions }, tip: previous };
}

/**
 * The ledger's part of the node's LevelDB: one section, so that sealing a block (the block,
 * its index entries, the end of its transactions' pending state) is one atomic batch.
 *
 *   m/open          the open block (number, openedAt, nonce)
 *   m/difficulty    the difficulty of the next block
 *   m/pruned        the lowest height whose transactions are kept: blocks below it were pruned
 *   r/<H_DATA>      a transaction record, as admitted (never rewritten; deleted when pruned)
 *   p/<H_DATA>      present while the record waits for its block to be mined
 *   x/<txId>        { hData, height, index }: where a mined transaction sits (deleted when pruned)
 *   b/<height>      a mined block (16 hex digits of height, so keys sort by height); kept for
 *                   good, its transaction ids with it, so a pruned block still verifies whole
 *   h/<hash>        height of the block with that hash
 *   a/<seq>         an anchor (8 hex digits of sequence)
 */
import type { OpenBlock, TransactionRecord } from '../broker/ledger-sink.js';
import type { BatchOperation, Section } from '../storage.js';
import type { Block } from './block.js';

/** Where a mined transaction sits. */
export interface Placement {
  readonly hData: string;
  readonly height: number;
  readonly index: number;
}

/** An anchor of blocks `fromHeight`..`toHeight` onto a public chain. */
export interface Anchor {
  readonly minerId: string;
  readonly fromHeight: number;
  readonly toHeight: number;
  /** Merkle root of those blocks' hashes, in height order. */
  readonly root: string;
  /** Milliseconds since the epoch. */
  readonly anchoredAt: number;
  /** The anchor plugin's reference: for `ethereum`, chainId, txHash, blockNumber, from, data. */
  readonly ref: Readonly<Record<string, unknown>> & { readonly kind: string };
}

const height16 = (height: number): string => height.toString(16).padStart(16, '0');

/** Reads and writes of the ledger's keys. */
export class ChainStore {
  readonly #section: Section;

  constructor(section: Section) {
    this.#section = section;
  }

  async openBlock(): Promise<OpenBlock | undefined> {
    return (await this.#section.get('m/open')) as OpenBlock | undefined;
  }

  /** The lowest height whose transactions are still kept (0 before any pruning). */
  async prunedBelow(): Promise<number> {
    return ((await this.#section.get('m/pruned')) as number | undefined) ?? 0;
  }

  async difficulty(): Promise<number | undefined> {
    return (await this.#section.get('m/difficulty')) as number | undefined;
  }

  /** Records by H_DATA (undefined where absent). */
  async records(hData: readonly string[]): Promise<(TransactionRecord | undefined)[]> {
    return (await this.#section.getMany(hData.map((h) => `r/${h}`))) as (TransactionRecord | undefined)[];
  }

  /** Every record still waiting for its block, in no particular order. */
  async pending(): Promise<TransactionRecord[]> {
    const keys: string[] = [];
    for await (const key of this.#section.keys('p/')) keys.push(key.slice(2));
    return (await this.records(keys)).filter((r): r is TransactionRecord => r !== undefined);
  }

  async placements(txIds: readonly string[]): Promise<(Placement | undefined)[]> {
    return (await this.#section.getMany(txIds.map((id) => `x/${id}`))) as (Placement | undefined)[];
  }

  async block(height: number): Promise<Block | undefined> {
    return (await this.#section.get(`b/${height16(height)}`)) as Block | undefined;
  }

  async heightOf(hash: string): Promise<number | undefined> {
    return (await this.#section.get(`h/${hash}`)) as number | undefined;
  }

  /** Blocks from height `from`, in order, as many as `limit`. */
  async blocks(from: number, limit: number): Promise<Block[]> {
    const heights = Array.from({ length: limit }, (_, i) => `b/${height16(from + i)}`);
    return ((await this.#section.getMany(heights)) as (Block | undefined)[]).filter((b): b is Block => b !== undefined);
  }

  /** Every block, in height order. */
  async *allBlocks(): AsyncIterable<Block> {
    for await (const [, block] of this.#section.entries('b/')) yield block as Block;
  }

  async anchors(): Promise<Anchor[]> {
    const anchors: Anchor[] = [];
    for await (const [, anchor] of this.#section.entries('a/')) anchors.push(anchor as Anchor);
    return anchors;
  }

  /** Keeps admitted records (and the block they opened, if new) in one write. */
  async admit(records: readonly TransactionRecord[], open: OpenBlock): Promise<void> {
    const ops: BatchOperation[] = [{ type: 'put', key: 'm/open', value: open }];
    for (const record of records) {
      ops.push({ type: 'put', key: `r/${record.tx.hData}`, value: record }, { type: 'put', key: `p/${record.tx.hData}`, value: 1 });
    }
    await this.#section.batch(ops);
  }

  /** Keeps a mined block: the block, its indexes, its transactions no longer pending, the next difficulty. */
  async addBlock(block: Block, hData: readonly string[], nextDifficulty: number): Promise<void> {
    const ops: BatchOperation[] = [
      { type: 'put', key: `b/${height16(block.header.height)}`, value: block },
      { type: 'put', key: `h/${block.hash}`, value: block.header.height },
      { type: 'put', key: 'm/difficulty', value: nextDifficulty },
    ];
    block.txIds.forEach((txId, index) => {
      ops.push({ type: 'put', key: `x/${txId}`, value: { hData: hData[index]!, height: block.header.height, index } satisfies Placement }, { type: 'del', key: `p/${hData[index]!}` });
    });
    await this.#section.batch(ops);
  }

  /**
   * Drops the transactions of `blocks` (consecutive, from the current pruned height up): their
   * records and places, in one write with the new pruned height, so a crash leaves either all
   * of a run pruned or none of it. The blocks themselves stay.
   */
  async prune(blocks: readonly { readonly block: Block; readonly hData: readonly string[] }[]): Promise<void> {
    const last = blocks.at(-1);
    if (last === undefined) return;
    const ops: BatchOperation[] = [{ type: 'put', key: 'm/pruned', value: last.block.header.height + 1 }];
    for (const { block, hData } of blocks) {
      for (const txId of block.txIds) ops.push({ type: 'del', key: `x/${txId}` });
      for (const h of hData) ops.push({ type: 'del', key: `r/${h}` });
    }
    await this.#section.batch(ops);
  }

  async addAnchor(sequence: number, anchor: Anchor): Promise<void> {
    await this.#section.put(`a/${sequence.toString(16).padStart(8, '0')}`, anchor);
  }
}

/**
 * The checks of a mined receipt that need no key and no node: the block header hashes to the
 * block's hash and solves its puzzle, the Merkle path leads from the transaction id to the
 * header's root, and an anchor covers the block and leads from its hash to the anchored root.
 * Pure and browser-safe (the dashboard runs it on every receipt it follows);
 * {@link checkReceipt} adds the signatures and the id derivation.
 */
import type { AnchorClaim, AnchorRef } from './anchoring.js';
import { headerHash, meetsTarget, type Block } from './block.js';
import { rootFromProof, type MerkleProof } from '../common/merkle.js';

/** The parts of a receipt (`GET /ledger/tx/{txId}`, once mined) these checks read. */
export interface ReceiptProofs {
  readonly txId: string;
  readonly status: 'mined' | 'anchored';
  /** The block it was mined in (without its list of transaction ids). */
  readonly minedIn: Omit<Block, 'txIds'>;
  readonly proof: MerkleProof;
  readonly anchor: (AnchorClaim & { readonly ref: AnchorRef; readonly proof: MerkleProof }) | null;
}

/** Why the proofs of `receipt` do not hold, or undefined when they do; never throws. */
export function checkReceiptProofs(receipt: ReceiptProofs): string | undefined {
  const block = receipt.minedIn;
  if (typeof block?.header !== 'object' || block.header === null) return 'the receipt has no block header';
  const { header } = block;
  try {
    if (headerHash(header) !== block.hash) return 'block: hash is not the double SHA-256 of the header';
  } catch (err) {
    return `block: header does not encode: ${(err as Error).message}`;
  }
  if (!meetsTarget(block.hash, header)) return 'block: hash is above the target: the puzzle is not solved';
  if (rootFromProof(receipt.txId, receipt.proof) !== header.merkleRoot) return 'the Merkle path does not lead from txId to the block\'s Merkle root';
  if (receipt.status === 'mined') return undefined;
  const anchor = receipt.anchor;
  if (typeof anchor !== 'object' || anchor === null) return 'status anchored, but no anchor';
  if (anchor.minerId !== header.minerId) return 'the anchor is another miner\'s';
  const place = header.height - anchor.fromHeight;
  if (!(place >= 0 && header.height <= anchor.toHeight) || anchor.proof?.index !== place || anchor.proof.count !== anchor.toHeight - anchor.fromHeight + 1) return 'the anchor does not cover this block at its height';
  if (rootFromProof(block.hash, anchor.proof) !== anchor.root) return 'the anchor\'s Merkle path does not lead from the block hash to its root';
  return undefined;
}

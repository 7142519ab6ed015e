/**
 * Binary Merkle trees over 32-byte digests (transaction ids in a block, block hashes in an
 * anchor), with inclusion proofs. Pure; works wherever @noble/hashes does (Node and browsers).
 *
 *   leaf node      = SHA-256(0x00 ‖ leaf)
 *   inner node     = SHA-256(0x01 ‖ left ‖ right)
 *   odd level      = its last node is carried up to the next level unchanged (it is not paired
 *                    with a copy of itself, so no two different lists share a root)
 *   root           = the single node left; a list of one leaf has root SHA-256(0x00 ‖ leaf)
 *
 * The one-byte prefixes keep leaves and inner nodes apart (as in RFC 6962 §2.1), so a proof
 * cannot present an inner node as a leaf.
 *
 * Throws RangeError on an empty list, a position outside it or a leaf that is not 32 bytes.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js';
import { HEX64 } from './hex.js';

/** One step of a proof: the sibling's digest and the side it sits on. */
export interface ProofStep {
  readonly side: 'left' | 'right';
  readonly hash: string;
}

/** Proof that the leaf at `index` of a list of `count` leaves is under a root. */
export interface MerkleProof {
  readonly index: number;
  readonly count: number;
  readonly path: readonly ProofStep[];
}

/**
 * SHA-256 of some bytes. @noble/hashes' by default, which browsers run too; a Node caller may
 * pass node:crypto's, which is faster.
 */
export type Sha256 = (data: Uint8Array) => Uint8Array;

const LEAF = Uint8Array.of(0);
const INNER = Uint8Array.of(1);

function leafNode(leafHex: string, hash: Sha256): Uint8Array {
  const leaf = hexToBytes(leafHex);
  if (leaf.length !== 32) throw new RangeError('a Merkle leaf is a 32-byte digest');
  return hash(concatBytes(LEAF, leaf));
}

const inner = (left: Uint8Array, right: Uint8Array, hash: Sha256): Uint8Array => hash(concatBytes(INNER, left, right));

/** The levels of the tree, leaves' nodes first, root last. */
function levels(leavesHex: readonly string[], hash: Sha256): Uint8Array[][] {
  if (leavesHex.length === 0) throw new RangeError('a Merkle tree needs at least one leaf');
  const all = [leavesHex.map((leaf) => leafNode(leaf, hash))];
  for (let level = all[0]!; level.length > 1; ) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? inner(level[i]!, level[i + 1]!, hash) : level[i]!);
    all.push(next);
    level = next;
  }
  return all;
}

/** A tree built once, whose root and proofs are then read without hashing again. */
export class MerkleTree {
  readonly #levels: Uint8Array[][];
  /** The root, as hex. */
  readonly root: string;

  constructor(leavesHex: readonly string[], hash: Sha256 = sha256) {
    this.#levels = levels(leavesHex, hash);
    this.root = bytesToHex(this.#levels[this.#levels.length - 1]![0]!);
  }

  /** How many leaves the tree has. */
  get count(): number {
    return this.#levels[0]!.length;
  }

  /** The proof of the leaf at `index`. */
  proof(index: number): MerkleProof {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) throw new RangeError(`no leaf ${index} in a list of ${this.count}`);
    const path: ProofStep[] = [];
    let position = index;
    for (const level of this.#levels.slice(0, -1)) {
      const sibling = position % 2 === 0 ? position + 1 : position - 1;
      // The last node of an odd level has no sibling: it moves up as it is.
      if (sibling < level.length) path.push({ side: position % 2 === 0 ? 'right' : 'left', hash: bytesToHex(level[sibling]!) });
      position = Math.floor(position / 2);
    }
    return { index, count: this.count, path };
  }
}

/** The root of `leavesHex` (hex digests), as hex. */
export function merkleRoot(leavesHex: readonly string[]): string {
  return new MerkleTree(leavesHex).root;
}

/** The proof of the leaf at `index`. */
export function merkleProof(leavesHex: readonly string[], index: number): MerkleProof {
  return new MerkleTree(leavesHex).proof(index);
}

/** The root of `leavesHex` and every leaf's proof, in order, from one pass over the tree. */
export function merkleProofs(leavesHex: readonly string[], hash: Sha256 = sha256): { readonly root: string; readonly proofs: readonly MerkleProof[] } {
  const tree = new MerkleTree(leavesHex, hash);
  return { root: tree.root, proofs: leavesHex.map((_, index) => tree.proof(index)) };
}

/**
 * The root a proof leads to from `leafHex`, or undefined when the proof is malformed or does
 * not fit its `index` and `count` (which fix every step's side and whether it exists).
 */
export function rootFromProof(leafHex: string, proof: MerkleProof, hash: Sha256 = sha256): string | undefined {
  const { index, count, path } = proof as Partial<MerkleProof>;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || !Array.isArray(path) || index! < 0 || index! >= count!) return undefined;
  try {
    let node = leafNode(leafHex, hash);
    let position = index!;
    let width = count!;
    let step = 0;
    while (width > 1) {
      const sibling = position % 2 === 0 ? position + 1 : position - 1;
      if (sibling < width) {
        const next = path[step++] as Partial<ProofStep> | undefined;
        const side = position % 2 === 0 ? 'right' : 'left';
        if (next?.side !== side || typeof next.hash !== 'string' || !HEX64.test(next.hash)) return undefined;
        node = side === 'right' ? inner(node, hexToBytes(next.hash), hash) : inner(hexToBytes(next.hash), node, hash);
      }
      position = Math.floor(position / 2);
      width = Math.ceil(width / 2);
    }
    return step === path.length ? bytesToHex(node) : undefined;
  } catch {
    return undefined;
  }
}

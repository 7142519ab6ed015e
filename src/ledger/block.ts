/**
 * Virtual blocks: the header, its exact byte layout, its hash, the mining puzzle and the
 * miner's signature. Pure; runs in Node and in browsers (the dashboard checks receipts).
 *
 * Header bytes (181, integers unsigned big-endian):
 *
 *   offset  size  field
 *        0     1  version              1
 *        1     8  height               0 for a chain's first block
 *        9    32  previousHash         the previous block's hash; 32 zero bytes at height 0
 *       41     8  openedAt             ms since the Unix epoch, when the block was opened
 *       49    16  openingNonce         random, fixed at opening (H_BLOCK uses it)
 *       65     8  sealedAt             ms since the Unix epoch, when its contents were fixed
 *       73    32  merkleRoot           root of its transaction ids (see merkle.ts)
 *      105     4  txCount              how many transactions (at least 1: no empty blocks)
 *      109     8  difficulty           at least 1
 *      117     4  stake                the miner's stake, at least 1, the same in every block
 *      121    20  minerId              the miner's node id: SHA-1 of minerKey
 *      141    32  minerKey             the miner's Ed25519 public key
 *      173     8  miningNonce          the miner's λ: the value the puzzle searched for
 *
 *   hash      = SHA-256(SHA-256(header bytes))
 *   signature = Ed25519 signature by minerKey of the 32 hash bytes (not part of the header)
 *   puzzle    = the hash, read as a 256-bit big-endian integer, is at most
 *               target = min(2^256 − 1, floor((2^256 − 1) × stake / difficulty))
 *
 * So a miner with twice the stake finds a block with half the work (the papers'
 * "mining-based proof of stake"), and the expected work is difficulty / stake hashes.
 * H_BLOCK, the broker's name for the block a transaction went into, is computed from
 * height, openedAt and openingNonce (src/broker/data-transaction.ts).
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { HEX128 } from '../common/hex.js';
import { merkleRoot } from '../common/merkle.js';

/** Checks an Ed25519 signature (Node's built-in, or a browser's); never throws. */
export type SignatureCheck = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;

export const HEADER_VERSION = 1;
/** The header's length; the mining nonce is its last 8 bytes (the miner's search relies on it). */
export const HEADER_BYTES = 181;
const MAX_TARGET = (1n << 256n) - 1n;
const ZERO_HASH = '0'.repeat(64);

/** A block header, as JSON carries it (hex strings, integer numbers, nonce as a decimal string). */
export interface BlockHeader {
  readonly version: number;
  readonly height: number;
  readonly previousHash: string;
  readonly openedAt: number;
  readonly openingNonce: string;
  readonly sealedAt: number;
  readonly merkleRoot: string;
  readonly txCount: number;
  readonly difficulty: number;
  readonly stake: number;
  readonly minerId: string;
  readonly minerKey: string;
  /** A u64, as a decimal string (it can exceed 2^53). */
  readonly miningNonce: string;
}

/** A sealed, mined and signed block with the ids of its transactions, in Merkle order. */
export interface Block {
  readonly header: BlockHeader;
  readonly hash: string;
  readonly signature: string;
  readonly txIds: readonly string[];
}

/** The previous hash of a chain's first block. */
export const GENESIS_PREVIOUS = ZERO_HASH;

const FIELDS: readonly [keyof BlockHeader, 'u8' | 'u32' | 'u64' | 'nonce' | number][] = [
  ['version', 'u8'],
  ['height', 'u64'],
  ['previousHash', 32],
  ['openedAt', 'u64'],
  ['openingNonce', 16],
  ['sealedAt', 'u64'],
  ['merkleRoot', 32],
  ['txCount', 'u32'],
  ['difficulty', 'u64'],
  ['stake', 'u32'],
  ['minerId', 20],
  ['minerKey', 32],
  ['miningNonce', 'nonce'],
];

/**
 * The header's bytes. Throws RangeError when a field does not fit its slot (a hex field of
 * the wrong length, an integer out of range).
 */
export function encodeHeader(header: BlockHeader): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  let offset = 0;
  for (const [name, kind] of FIELDS) {
    const value = header[name];
    if (typeof kind === 'number') {
      if (typeof value !== 'string' || value.length !== kind * 2 || !/^[0-9a-f]*$/.test(value)) throw new RangeError(`${name} is ${kind} bytes of lower-case hex`);
      bytes.set(hexToBytes(value), offset);
      offset += kind;
    } else if (kind === 'nonce') {
      if (typeof value !== 'string' || !/^\d{1,20}$/.test(value) || BigInt(value) >= 1n << 64n) throw new RangeError(`${name} is a u64 in decimal`);
      view.setBigUint64(offset, BigInt(value));
      offset += 8;
    } else {
      const max = kind === 'u8' ? 0xff : kind === 'u32' ? 0xffff_ffff : Number.MAX_SAFE_INTEGER;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${name} is an integer from 0 to ${max}`);
      if (kind === 'u8') view.setUint8(offset, value);
      else if (kind === 'u32') view.setUint32(offset, value);
      else view.setBigUint64(offset, BigInt(value));
      offset += kind === 'u8' ? 1 : kind === 'u32' ? 4 : 8;
    }
  }
  return bytes;
}

/** Double SHA-256 of the header bytes, as hex. */
export function headerHash(header: BlockHeader): string {
  return bytesToHex(sha256(sha256(encodeHeader(header))));
}

/** The largest hash that solves the puzzle at `difficulty` for a miner holding `stake`. */
export function targetOf(difficulty: number, stake: number): bigint {
  const target = (MAX_TARGET * BigInt(stake)) / BigInt(Math.max(1, difficulty));
  return target > MAX_TARGET ? MAX_TARGET : target;
}

/** True when `hashHex` solves the puzzle of `header` (its difficulty and stake). */
export function meetsTarget(hashHex: string, header: Pick<BlockHeader, 'difficulty' | 'stake'>): boolean {
  return BigInt(`0x${hashHex}`) <= targetOf(header.difficulty, header.stake);
}

/**
 * The difficulty of the next block: the configured work per block (expected hashes at stake 1),
 * reached from the previous block's in steps of at most 4× (a verifier checks that bound, see
 * {@link checkLink}), so a chain mined at another setting walks over to the new one. The work
 * per block does not follow the load: the miner's CPU is bounded by its duty cycle instead
 * (miner.ts), and a node under load seals fuller blocks, not harder ones.
 */
export function nextDifficulty(previous: number, configured: number): number {
  return Math.min(previous * 4, Math.max(Math.ceil(previous / 4), configured));
}

/** Why a block fails verification, or undefined when it is sound. */
export type BlockFault = string | undefined;

/**
 * Checks a header on its own: it encodes, the hash is the header's, the puzzle is solved, the
 * miner id is its key's and the miner's signature of the hash verifies.
 */
export function checkHeader(block: Omit<Block, 'txIds'>, verifySignature: SignatureCheck): BlockFault {
  const { header } = block;
  let hash: string;
  try {
    hash = headerHash(header);
  } catch (err) {
    return `header does not encode: ${(err as Error).message}`;
  }
  if (header.version !== HEADER_VERSION) return `unknown header version ${header.version}`;
  if (hash !== block.hash) return 'hash is not the double SHA-256 of the header';
  if (header.difficulty < 1 || header.stake < 1) return 'difficulty and stake are at least 1';
  if (!meetsTarget(hash, header)) return 'hash is above the target: the puzzle is not solved';
  if (bytesToHex(sha1(hexToBytes(header.minerKey))) !== header.minerId) return 'minerId is not the SHA-1 of minerKey';
  if (typeof block.signature !== 'string' || !HEX128.test(block.signature) || !verifySignature(hexToBytes(block.signature), hexToBytes(hash), hexToBytes(header.minerKey))) {
    return 'miner signature does not verify';
  }
  return undefined;
}

/** Checks a whole block: its header, and that its Merkle root and count are those of its transaction ids. */
export function checkBlock(block: Block, verifySignature: SignatureCheck): BlockFault {
  const fault = checkHeader(block, verifySignature);
  if (fault !== undefined) return fault;
  if (!Array.isArray(block.txIds) || block.txIds.length !== block.header.txCount || block.header.txCount < 1) return 'txCount does not match the transaction ids';
  try {
    if (merkleRoot(block.txIds) !== block.header.merkleRoot) return 'merkleRoot is not the root of the transaction ids';
  } catch {
    return 'a transaction id is not a 32-byte digest';
  }
  return undefined;
}

/**
 * Checks that `block` follows `previous` (undefined for a first block): height, previous hash,
 * time order, the same miner and stake, and a difficulty within 4× of the previous one.
 */
export function checkLink(block: BlockHeader, previous: Block | undefined): BlockFault {
  if (previous === undefined) {
    if (block.height !== 0) return `the first block has height ${block.height}, not 0`;
    if (block.previousHash !== GENESIS_PREVIOUS) return 'the first block has a previous hash';
    return block.sealedAt >= block.openedAt ? undefined : 'sealed before it was opened';
  }
  const before = previous.header;
  if (block.height !== before.height + 1) return `height ${block.height} follows ${before.height}`;
  if (block.previousHash !== previous.hash) return 'previousHash is not the hash of the block before';
  if (block.openedAt < before.openedAt || block.sealedAt < block.openedAt || block.sealedAt < before.sealedAt) return 'times go backwards';
  if (block.minerId !== before.minerId || block.minerKey !== before.minerKey) return 'another miner than the rest of the chain';
  if (block.stake !== before.stake) return 'the stake changed within the chain';
  if (block.difficulty > before.difficulty * 4 || block.difficulty * 4 < before.difficulty) return 'difficulty moved more than 4× in one block';
  return undefined;
}

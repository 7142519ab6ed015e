/**
 * Anchor plugins: how a node fixes the head of its chain on a public chain. An anchor covers
 * blocks `fromHeight`..`toHeight` with the Merkle root of their hashes, so one public
 * transaction vouches for every block since the previous anchor, and a receipt proves its
 * block is under the root with a Merkle path. Pure apart from the plugins themselves.
 *
 * The payload a public transaction carries (its calldata, 87 bytes):
 *
 *   offset  size  field
 *        0    19  ASCII "flowchain/anchor/v1"
 *       19    20  minerId
 *       39     8  fromHeight (u64, big-endian)
 *       47     8  toHeight (u64, big-endian)
 *       55    32  root
 */
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';

/** What an anchor vouches for. */
export interface AnchorClaim {
  readonly minerId: string;
  readonly fromHeight: number;
  readonly toHeight: number;
  readonly root: string;
}

/** Where an anchor was written, as its plugin reports it. */
export type AnchorRef = Readonly<Record<string, unknown>> & { readonly kind: string };

/** An anchor plugin. */
export interface Anchorer {
  /** `none`, `ethereum`, ... */
  readonly kind: string;
  /** Writes the claim onto the public chain; resolves once it is included there. */
  anchor(claim: AnchorClaim): Promise<AnchorRef>;
  close(): Promise<void>;
}

const MAGIC = utf8ToBytes('flowchain/anchor/v1');

/** The payload for `claim`, as 0x-prefixed hex. */
export function anchorPayload(claim: AnchorClaim): `0x${string}` {
  const bytes = new Uint8Array(MAGIC.length + 20 + 8 + 8 + 32);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  bytes.set(hexToBytes(claim.minerId), 19);
  view.setBigUint64(39, BigInt(claim.fromHeight));
  view.setBigUint64(47, BigInt(claim.toHeight));
  bytes.set(hexToBytes(claim.root), 55);
  return `0x${bytesToHex(bytes)}`;
}

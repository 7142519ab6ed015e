/**
 * Certified ring ids: a member's place on the ring is fixed by its ring authority, not chosen
 * by the member. If a node's id were a hash of its own key, a member could generate keys until
 * one lands where it wants (next to a victim, or owning a key range) — the attack Castro et
 * al. guard against with certified node ids ("Secure routing for structured peer-to-peer
 * overlay networks", OSDI 2002, §4.1) and S/Kademlia with supervised id assignment (Baumgart
 * and Mies, 2007, §4.1). Here the authority derives the id as SHA-1 of its own Ed25519
 * signature (RFC 8032) over a domain-separated message naming the node's key: Ed25519
 * signatures are deterministic, so re-admitting a key gives it the same place, and nobody
 * without the authority's key can predict (let alone choose) it. The id travels in the
 * membership certificate's subject common name, `node <40 lower-case hex>`.
 *
 * Pure: signing is a parameter. Throws RangeError for a key that is not 32 bytes.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { HEX40 } from '../common/hex.js';

/** Domain separation: this signature means "the ring id of this key", and nothing else the authority signs. */
export const RING_ID_DOMAIN = 'flowchain ring id v1:';

/** Signs a message with the authority's Ed25519 key (deterministic, RFC 8032 §5.1.6). */
export type RingIdSigner = (message: Uint8Array) => Uint8Array;

/** The message the authority signs for `publicKey`: UTF-8 {@link RING_ID_DOMAIN}, then the 32 key bytes. */
export function ringIdMessage(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) throw new RangeError('an Ed25519 public key is 32 bytes');
  const domain = new TextEncoder().encode(RING_ID_DOMAIN);
  const message = new Uint8Array(domain.length + publicKey.length);
  message.set(domain);
  message.set(publicKey, domain.length);
  return message;
}

/**
 * The ring id an authority certifies for `publicKey`: SHA-1 of `sign(ringIdMessage(publicKey))`,
 * read big-endian as a 160-bit number. Throws RangeError for a key that is not 32 bytes.
 */
export function certifiedRingId(publicKey: Uint8Array, sign: RingIdSigner): bigint {
  return BigInt(`0x${bytesToHex(sha1(sign(ringIdMessage(publicKey))))}`);
}

/** A ring id as the 40 lower-case hex digits that certificates, `issued.json` and the CLI show. */
export function ringIdHex(id: bigint): string {
  if (id < 0n || id >= 1n << 160n) throw new RangeError('a ring id is a 160-bit number');
  return id.toString(16).padStart(40, '0');
}

/** The subject common name of a membership certificate: `node ` and the certified id in hex. */
export function memberCommonName(id: bigint): string {
  return `node ${ringIdHex(id)}`;
}

/** The certified id in a member's common name, or undefined unless it is exactly `node ` + 40 lower-case hex. */
export function ringIdOfCommonName(commonName: string): bigint | undefined {
  if (!commonName.startsWith('node ')) return undefined;
  const hex = commonName.slice('node '.length);
  return HEX40.test(hex) ? BigInt(`0x${hex}`) : undefined;
}

/**
 * A node's identity: an Ed25519 key pair (RFC 8032) whose public key's SHA-1 is the node's
 * 160-bit id, its place on the ring (Chord §4.2 hashes node identifiers with SHA-1). It signs
 * peer messages and data transactions. The secret key stays in the node's database and never
 * leaves it.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { Section } from './storage.js';

/** The 160-bit node id that belongs to an Ed25519 public key: SHA-1 of the key, big-endian. */
export function ringIdOf(publicKey: Uint8Array): bigint {
  return BigInt(`0x${bytesToHex(sha1(publicKey))}`);
}

/** A key pair and the ring id derived from it. */
export class NodeIdentity {
  readonly publicKey: Uint8Array;
  readonly id: bigint;
  readonly #secretKey: Uint8Array;

  private constructor(secretKey: Uint8Array) {
    this.#secretKey = secretKey;
    this.publicKey = ed25519.getPublicKey(secretKey);
    this.id = ringIdOf(this.publicKey);
  }

  /** An identity from a 32-byte secret key (tests pass seeded bytes). */
  static fromSecretKey(secretKey: Uint8Array): NodeIdentity {
    if (secretKey.length !== 32) throw new RangeError('an Ed25519 secret key is 32 bytes');
    return new NodeIdentity(Uint8Array.from(secretKey));
  }

  /** A fresh identity from the system's CSPRNG. */
  static generate(): NodeIdentity {
    return new NodeIdentity(ed25519.utils.randomSecretKey());
  }

  /** Loads the identity kept in `section`, creating and storing one on first start. */
  static async load(section: Section): Promise<NodeIdentity> {
    const stored = await section.get('secret-key');
    if (typeof stored === 'string' && /^[0-9a-f]{64}$/.test(stored)) return new NodeIdentity(hexToBytes(stored));
    const created = NodeIdentity.generate();
    await section.put('secret-key', bytesToHex(created.#secretKey));
    return created;
  }

  sign(message: Uint8Array): Uint8Array {
    return ed25519.sign(message, this.#secretKey);
  }

  /** True when `signature` is `publicKey`'s signature of `message`; never throws. */
  static verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    try {
      return ed25519.verify(signature, message, publicKey);
    } catch {
      return false;
    }
  }
}

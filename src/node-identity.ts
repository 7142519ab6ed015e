/**
 * A node's identity: an Ed25519 key pair (RFC 8032) whose public key's SHA-1 is the node's
 * 160-bit key id, which names the signer in data transactions, directory entries and blocks.
 * It is not the node's place on the ring: that is the ring id its ring's authority certifies
 * (src/membership/certified-ring-id.ts), so no member can choose it by choosing a key. The key
 * signs peer links (TLS), data transactions and holding proofs. The secret key stays in the
 * node's database and never leaves it.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { HEX64 } from './common/hex.js';
import type { Section } from './storage.js';

/** The 160-bit key id of an Ed25519 public key: SHA-1 of the key, big-endian. */
export function keyIdOf(publicKey: Uint8Array): bigint {
  return BigInt(`0x${bytesToHex(sha1(publicKey))}`);
}

/** DER prefixes that wrap a raw 32-byte Ed25519 key (RFC 8410): PKCS#8 for the secret, SPKI for the public key. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Peers' public keys as key objects, so a frame costs one verification and no key parsing. */
const publicKeys = new Map<string, KeyObject>();
const PUBLIC_KEY_CACHE = 1024;

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const hex = bytesToHex(publicKey);
  let key = publicKeys.get(hex);
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    if (publicKeys.size >= PUBLIC_KEY_CACHE) publicKeys.delete(publicKeys.keys().next().value as string);
    publicKeys.set(hex, key);
  }
  return key;
}

/**
 * A key pair and the key id derived from it. Signing and verification use Node's built-in
 * Ed25519 (OpenSSL), about 20 times faster than a pure-JavaScript implementation; every peer
 * message is signed and verified, so this sets the cost of a lookup hop.
 */
export class NodeIdentity {
  readonly publicKey: Uint8Array;
  readonly id: bigint;
  readonly #secretKey: Uint8Array;
  readonly #signingKey: KeyObject;

  private constructor(secretKey: Uint8Array) {
    if (secretKey.length !== 32) throw new RangeError('an Ed25519 secret key is 32 bytes');
    this.#secretKey = secretKey;
    this.#signingKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
    const spki = createPublicKey(this.#signingKey).export({ format: 'der', type: 'spki' });
    this.publicKey = new Uint8Array(spki.subarray(SPKI_PREFIX.length));
    this.id = keyIdOf(this.publicKey);
  }

  /** An identity from a 32-byte secret key (tests pass seeded bytes). */
  static fromSecretKey(secretKey: Uint8Array): NodeIdentity {
    return new NodeIdentity(Uint8Array.from(secretKey));
  }

  /** A fresh identity from the system's CSPRNG. */
  static generate(): NodeIdentity {
    return new NodeIdentity(new Uint8Array(randomBytes(32)));
  }

  /** Loads the identity kept in `section`, creating and storing one on first start. */
  static async load(section: Section): Promise<NodeIdentity> {
    const stored = await section.get('secret-key');
    if (typeof stored === 'string' && HEX64.test(stored)) return new NodeIdentity(hexToBytes(stored));
    const created = NodeIdentity.generate();
    await section.put('secret-key', bytesToHex(created.#secretKey));
    return created;
  }

  /** The secret key as PKCS#8 PEM, for this process's TLS stack (peer links); it is never written anywhere. */
  privateKeyPem(): string {
    return this.#signingKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  }

  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, message, this.#signingKey));
  }

  /** True when `signature` is `publicKey`'s signature of `message`; never throws. */
  static verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    try {
      return publicKey.length === 32 && verify(null, message, publicKeyObject(publicKey), signature);
    } catch {
      return false;
    }
  }
}

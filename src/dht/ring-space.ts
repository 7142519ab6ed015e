/**
 * Chord identifier arithmetic (Stoica et al., "Chord: A Scalable Peer-to-peer Lookup
 * Service", SIGCOMM 2001, §4.1-4.3): identifiers are m-bit integers on a circle modulo 2^m,
 * compared as bigints, never as floating-point numbers. Flowchain's ring uses m = 160 (SHA-1);
 * smaller spaces exist so tests can check every rule against brute-force enumeration. Pure.
 *
 * Throws FLOWCHAIN_ERR_REQUEST_MALFORMED for an identifier that is not a valid hex id.
 */
import { FlowchainError } from '../errors.js';

/** One identifier circle of 2^bits positions. */
export class RingSpace {
  readonly bits: number;
  /** 2^bits, the number of identifiers. */
  readonly size: bigint;
  readonly #mask: bigint;
  readonly #hexDigits: number;

  constructor(bits: number) {
    if (!Number.isInteger(bits) || bits < 1 || bits > 512) throw new RangeError(`ring bits must be 1..512, got ${bits}`);
    this.bits = bits;
    this.size = 1n << BigInt(bits);
    this.#mask = this.size - 1n;
    this.#hexDigits = Math.ceil(bits / 4);
  }

  /** (a + b) mod 2^m */
  add(a: bigint, b: bigint): bigint {
    return (a + b) & this.#mask;
  }

  /** Clockwise distance from `from` to `to`: (to - from) mod 2^m. */
  distance(from: bigint, to: bigint): bigint {
    return (to - from) & this.#mask;
  }

  /** Start of finger i (0-based) of node n: (n + 2^i) mod 2^m (Chord §4.3, Table 1). */
  fingerStart(n: bigint, i: number): bigint {
    return this.add(n, 1n << BigInt(i));
  }

  /**
   * x ∈ (a, b) on the circle. When a = b the interval is the whole circle except a, the
   * convention under which a one-node ring answers every query itself.
   */
  between(x: bigint, a: bigint, b: bigint): boolean {
    if (a === b) return x !== a;
    const dx = this.distance(a, x);
    return dx > 0n && dx < this.distance(a, b);
  }

  /** x ∈ (a, b]: the successor interval. When a = b it is the whole circle. */
  betweenRightInclusive(x: bigint, a: bigint, b: bigint): boolean {
    if (a === b) return true;
    const dx = this.distance(a, x);
    return dx > 0n && dx <= this.distance(a, b);
  }

  /** Reads an identifier from big-endian bytes (a SHA-1 digest for the 160-bit ring). */
  fromBytes(bytes: Uint8Array): bigint {
    let value = 0n;
    for (const byte of bytes) value = (value << 8n) | BigInt(byte);
    return value & this.#mask;
  }

  /** Fixed-width lower-case hex, as ids appear on the wire and in /ring (40 digits for m = 160). */
  toHex(id: bigint): string {
    return id.toString(16).padStart(this.#hexDigits, '0');
  }

  /** Parses a fixed-width hex id; anything else is FLOWCHAIN_ERR_REQUEST_MALFORMED. */
  fromHex(hex: string): bigint {
    if (hex.length !== this.#hexDigits || !/^[0-9a-fA-F]+$/.test(hex)) {
      throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', `ring ids are ${this.#hexDigits} hex digits`, { field: 'id' });
    }
    const id = BigInt(`0x${hex}`);
    if (id > this.#mask) throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'ring id out of range', { field: 'id' });
    return id;
  }
}

/** Flowchain's ring: m = 160, the length of a SHA-1 digest (Chord §4.2). */
export const RING = new RingSpace(160);

/**
 * The system's cryptographic randomness, drawn in pools: one `randomFillSync` of 4 KiB serves
 * hundreds of λ values and nonces, where a call per 16 bytes costs more than the bytes (about
 * 18 µs each under load). Every caller gets its own copy; pool bytes are never handed out twice.
 */
import { randomFillSync } from 'node:crypto';

/** A source of `length` random bytes at a time, from the CSPRNG. */
export function pooledRandomBytes(poolSize = 4096): (length: number) => Uint8Array {
  const pool = new Uint8Array(poolSize);
  let offset = poolSize;
  return (length) => {
    if (length > poolSize) return randomFillSync(new Uint8Array(length));
    if (offset + length > poolSize) {
      randomFillSync(pool);
      offset = 0;
    }
    const bytes = pool.slice(offset, offset + length);
    offset += length;
    return bytes;
  };
}

/**
 * The miner's inner loop: whether a nonce solves a block header's puzzle (block.ts), at a
 * fraction of the cost of hashing the whole header twice.
 *
 * The nonce is the header's last 8 bytes, so every 64-byte SHA-256 block before the one it
 * starts in is the same for every try. Their compression (the midstate) is done once per job;
 * a try compresses only the one or two blocks that hold the nonce, then the 32-byte first
 * hash (one block). SHA-256 itself is as FIPS 180-4 defines it; its constants are derived
 * here from the primes, as the standard derives them (sections 4.2.2 and 5.3.3).
 *
 * {@link nonceSearch} must stay self-contained (no imports, no names from outside it): the
 * mining worker runs its source text (miner.ts). Tests compare it with Node's SHA-256.
 */

/** What a job's search answers for one nonce, given as its high and low 32 bits. */
export interface NonceSearch {
  /** True when SHA-256(SHA-256(header with this nonce)) is at most the target. */
  solves(hi: number, lo: number): boolean;
  /** That double hash, 32 bytes. */
  hash(hi: number, lo: number): Uint8Array;
}

/** A search over the nonces of `header` (whose last 8 bytes are the nonce) against a 32-byte big-endian `target`. */
export function nonceSearch(header: Uint8Array, target: Uint8Array): NonceSearch {
  const primes: number[] = [];
  for (let n = 2; primes.length < 64; n++) if (primes.every((p) => n % p !== 0)) primes.push(n);
  const fraction32 = (x: number): number => Math.floor((x - Math.floor(x)) * 2 ** 32) | 0;
  const K = Int32Array.from(primes, (p) => fraction32(Math.cbrt(p)));
  const IV = Int32Array.from(primes.slice(0, 8), (p) => fraction32(Math.sqrt(p)));
  const W = new Int32Array(64);
  /** One SHA-256 compression of the 16 words at `words[from..]` into `state`. */
  const compress = (state: Int32Array, words: Int32Array, from: number): void => {
    for (let t = 0; t < 16; t++) W[t] = words[from + t]!;
    for (let t = 16; t < 64; t++) {
      const x = W[t - 15]!;
      const y = W[t - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0;
    }
    let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!, e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
    for (let t = 0; t < 64; t++) {
      const t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + K[t]! + W[t]!) | 0;
      const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    state[0] = (state[0]! + a) | 0;
    state[1] = (state[1]! + b) | 0;
    state[2] = (state[2]! + c) | 0;
    state[3] = (state[3]! + d) | 0;
    state[4] = (state[4]! + e) | 0;
    state[5] = (state[5]! + f) | 0;
    state[6] = (state[6]! + g) | 0;
    state[7] = (state[7]! + h) | 0;
  };
  if (target.length !== 32) throw new RangeError('the target is 32 bytes');
  const length = header.length;
  if (length < 8) throw new RangeError('a header ends with its 8-byte nonce');
  // The padded message: the header, 0x80, zeros, its length in bits (64-bit big-endian).
  const padded = new Uint8Array(Math.ceil((length + 9) / 64) * 64);
  padded.set(header);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor((length * 8) / 2 ** 32));
  view.setUint32(padded.length - 4, (length * 8) >>> 0);
  const words = new Int32Array(padded.length / 4);
  for (let i = 0; i < words.length; i++) words[i] = view.getInt32(i * 4);
  const fixedBlocks = Math.floor((length - 8) / 64);
  const midstate = IV.slice();
  for (let block = 0; block < fixedBlocks; block++) compress(midstate, words, block * 16);
  // The words a try changes: the two or three that hold the nonce's bytes.
  const firstNonceWord = Math.floor((length - 8) / 4);
  const lastNonceWord = Math.floor((length - 1) / 4);
  const goal = new DataView(target.buffer, target.byteOffset, 32);
  const state = new Int32Array(8);
  const second = new Int32Array(16);
  second[8] = 0x80000000 | 0;
  second[15] = 256;
  const run = (hi: number, lo: number): void => {
    padded[length - 8] = hi >>> 24;
    padded[length - 7] = hi >>> 16;
    padded[length - 6] = hi >>> 8;
    padded[length - 5] = hi;
    padded[length - 4] = lo >>> 24;
    padded[length - 3] = lo >>> 16;
    padded[length - 2] = lo >>> 8;
    padded[length - 1] = lo;
    for (let i = firstNonceWord; i <= lastNonceWord; i++) words[i] = (padded[4 * i]! << 24) | (padded[4 * i + 1]! << 16) | (padded[4 * i + 2]! << 8) | padded[4 * i + 3]!;
    state.set(midstate);
    for (let block = fixedBlocks; block < words.length / 16; block++) compress(state, words, block * 16);
    for (let i = 0; i < 8; i++) second[i] = state[i]!;
    state.set(IV);
    compress(state, second, 0);
  };
  return {
    solves(hi, lo) {
      run(hi, lo);
      for (let i = 0; i < 8; i++) {
        const mine = state[i]! >>> 0;
        const limit = goal.getUint32(i * 4);
        if (mine !== limit) return mine < limit;
      }
      return true;
    },
    hash(hi, lo) {
      run(hi, lo);
      const out = new Uint8Array(32);
      const outView = new DataView(out.buffer);
      for (let i = 0; i < 8; i++) outView.setInt32(i * 4, state[i]!);
      return out;
    },
  };
}

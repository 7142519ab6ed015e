/**
 * Seeded randomness for simulated devices, so a test can fix the seed and get the same
 * readings every run. Pure: the seed is a parameter, nothing reads the global RNG.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';

/** A source of uniformly distributed numbers in [0, 1). */
export interface Random {
  next(): number;
}

/**
 * A small, fast deterministic generator: a Weyl sequence (golden-ratio increment) passed
 * through the 32-bit MurmurHash3 finaliser. Statistical quality is ample for simulated
 * sensor noise; it is not for cryptography.
 */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return {
    next(): number {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      z ^= z >>> 16;
      return (z >>> 0) / 0x1_0000_0000;
    },
  };
}

/** A 32-bit seed derived from a parent seed and a label, so every Thing gets its own stream. */
export function deriveSeed(seed: number, label: string): number {
  const digest = sha256(utf8ToBytes(`${seed >>> 0}:${label}`));
  return new DataView(digest.buffer, digest.byteOffset, 4).getUint32(0);
}

/** Bounds and step of a {@link RandomWalk}. */
export interface WalkOptions {
  readonly start: number;
  readonly step: number;
  readonly min: number;
  readonly max: number;
  /** Pull toward `start` per step, 0..1; keeps a long walk near its set point like real drift. */
  readonly meanReversion?: number;
  /** Decimal places kept, as a real sensor's resolution. */
  readonly decimals?: number;
}

/** A bounded, mean-reverting random walk: how a simulated sensor's reading drifts. */
export class RandomWalk {
  #value: number;
  #target: number;
  readonly #options: WalkOptions;
  readonly #random: Random;

  constructor(random: Random, options: WalkOptions) {
    this.#random = random;
    this.#options = options;
    this.#value = options.start;
    this.#target = options.start;
  }

  /** The current reading. */
  get value(): number {
    return this.#round(this.#value);
  }

  /** Moves the set point the walk reverts to (a thermostat heating toward its target). */
  set target(target: number) {
    this.#target = target;
  }

  /** Takes one step and returns the new reading. */
  step(): number {
    const { step, min, max, meanReversion = 0.05 } = this.#options;
    const noise = (this.#random.next() * 2 - 1) * step;
    const pull = (this.#target - this.#value) * meanReversion;
    this.#value = Math.min(max, Math.max(min, this.#value + noise + pull));
    return this.value;
  }

  #round(value: number): number {
    const factor = 10 ** (this.#options.decimals ?? 2);
    return Math.round(value * factor) / factor;
  }
}

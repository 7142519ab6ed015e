/**
 * Lower-case hex of the lengths the ring's records use, compiled once: 40 digits (a ring id,
 * SHA-1), 64 (SHA-256, an Ed25519 public key), 128 (an Ed25519 signature).
 */
export const HEX40 = /^[0-9a-f]{40}$/;
export const HEX64 = /^[0-9a-f]{64}$/;
export const HEX128 = /^[0-9a-f]{128}$/;

/**
 * Signed peer messages. Every message between ring members travels in an envelope that names
 * the sender (ring id, URL and Ed25519 public key), the intended recipient, a random nonce and
 * the sending time, signed by the sender over the canonical JSON of all of it. A receiver
 * accepts it only if the id is the SHA-1 of the key, the signature verifies, it is addressed to
 * this node, and its nonce is fresh within the time window, so identities cannot be forged and
 * messages cannot be replayed or redirected. Pure apart from the injected clock and randomness.
 *
 * Throws FLOWCHAIN_ERR_PEER_MESSAGE_INVALID, FLOWCHAIN_ERR_PEER_SIGNATURE_INVALID and
 * FLOWCHAIN_ERR_PEER_MESSAGE_REPLAYED.
 */
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { canonicalJson } from '../canonical-json.js';
import { FlowchainError } from '../errors.js';
import type { Clock } from '../thing/clock.js';
import { NodeIdentity, ringIdOf } from '../node-identity.js';
import type { Peer } from './peer.js';
import { RING } from './ring-space.js';

/** The wire form of a signed message. */
export interface Envelope {
  readonly v: 1;
  readonly from: { readonly id: string; readonly url: string; readonly key: string };
  /** The recipient's ring id, or null when the sender knows only its URL (joining through it). */
  readonly to: string | null;
  readonly nonce: string;
  /** Milliseconds since the epoch on the sender's clock. */
  readonly ts: number;
  readonly body: Readonly<Record<string, unknown>>;
  readonly sig: string;
}

/** How far a message's time may be from ours; also how long nonces are remembered. */
export const DEFAULT_WINDOW_MS = 30_000;

/** Who seals messages: this node's identity and address. */
export interface Sender {
  readonly identity: NodeIdentity;
  readonly url: string;
}

const invalid = (detail: string, field: string) => new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', detail, { field });

/** Seals `body` for the node `to` (its ring id, or null). `nonce` is 16 random bytes. */
export function seal(sender: Sender, to: bigint | null, body: Record<string, unknown>, now: number, nonce: Uint8Array): Envelope {
  const unsigned = {
    v: 1 as const,
    from: { id: RING.toHex(sender.identity.id), url: sender.url, key: bytesToHex(sender.identity.publicKey) },
    to: to === null ? null : RING.toHex(to),
    nonce: bytesToHex(nonce),
    ts: now,
    body,
  };
  return { ...unsigned, sig: bytesToHex(sender.identity.sign(utf8ToBytes(canonicalJson(unsigned)))) };
}

/**
 * Remembers nonces so a message is accepted at most once. A message is valid while its time is
 * within the window of ours, on either side, so a nonce is kept for twice the window.
 */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();
  readonly #windowMs: number;

  constructor(windowMs = DEFAULT_WINDOW_MS) {
    this.#windowMs = windowMs;
  }

  get windowMs(): number {
    return this.#windowMs;
  }

  /** Records `nonce`; false when it was already seen within the window. */
  admit(nonce: string, now: number): boolean {
    // Map iteration is insertion order, so expired nonces are at the front.
    for (const [old, at] of this.#seen) {
      if (now - at <= 2 * this.#windowMs) break;
      this.#seen.delete(old);
    }
    if (this.#seen.has(nonce)) return false;
    this.#seen.set(nonce, now);
    return true;
  }

  get size(): number {
    return this.#seen.size;
  }
}

/** What a receiver checks against. */
export interface Receiver {
  /** This node's ring id. */
  readonly self: bigint;
  readonly clock: Clock;
  readonly guard: ReplayGuard;
}

/** Checks an envelope and returns its authenticated sender and body. */
export function open(raw: unknown, receiver: Receiver): { readonly sender: Peer; readonly body: Readonly<Record<string, unknown>> } {
  const envelope = checkShape(raw);
  if (envelope.to !== null && envelope.to !== RING.toHex(receiver.self)) throw invalid('message is addressed to another node', 'to');
  const key = hexToBytes(envelope.from.key);
  if (RING.toHex(ringIdOf(key)) !== envelope.from.id) {
    throw new FlowchainError('FLOWCHAIN_ERR_PEER_SIGNATURE_INVALID', 'sender id is not the SHA-1 of its public key', { field: 'from.id' });
  }
  const { sig, ...unsigned } = envelope;
  if (!NodeIdentity.verify(hexToBytes(sig), utf8ToBytes(canonicalJson(unsigned)), key)) {
    throw new FlowchainError('FLOWCHAIN_ERR_PEER_SIGNATURE_INVALID', 'signature does not verify', { field: 'sig' });
  }
  // Freshness is checked only for signed messages (any key pair can sign, so this bounds the
  // guard by the rate of signed traffic, not by the rate of garbage).
  const now = receiver.clock.now();
  if (Math.abs(now - envelope.ts) > receiver.guard.windowMs) {
    throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_REPLAYED', 'message time is outside the accepted window', { field: 'ts' });
  }
  if (!receiver.guard.admit(envelope.nonce, now)) throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_REPLAYED', 'nonce already seen', { field: 'nonce' });
  return { sender: { id: RING.fromHex(envelope.from.id), url: envelope.from.url }, body: envelope.body };
}

const HEX = (length: number) => new RegExp(`^[0-9a-f]{${length}}$`);

function checkShape(raw: unknown): Envelope {
  const e = raw as Partial<Envelope> | null;
  if (typeof e !== 'object' || e === null || Array.isArray(e)) throw invalid('envelope must be an object', '/');
  if (e.v !== 1) throw invalid('unsupported envelope version', 'v');
  const from = e.from as Partial<Envelope['from']> | undefined;
  if (typeof from !== 'object' || from === null) throw invalid('from is required', 'from');
  if (typeof from.id !== 'string' || !HEX(40).test(from.id)) throw invalid('from.id must be 40 hex digits', 'from.id');
  if (typeof from.key !== 'string' || !HEX(64).test(from.key)) throw invalid('from.key must be a 32-byte hex Ed25519 key', 'from.key');
  if (typeof from.url !== 'string' || from.url.length > 2048) throw invalid('from.url must be a URL', 'from.url');
  if (e.to !== null && (typeof e.to !== 'string' || !HEX(40).test(e.to))) throw invalid('to must be a ring id or null', 'to');
  if (typeof e.nonce !== 'string' || !HEX(32).test(e.nonce)) throw invalid('nonce must be 16 hex bytes', 'nonce');
  if (typeof e.ts !== 'number' || !Number.isSafeInteger(e.ts)) throw invalid('ts must be an integer', 'ts');
  if (typeof e.body !== 'object' || e.body === null || Array.isArray(e.body)) throw invalid('body must be an object', 'body');
  if (typeof e.sig !== 'string' || !HEX(128).test(e.sig)) throw invalid('sig must be a 64-byte hex signature', 'sig');
  return e as Envelope;
}

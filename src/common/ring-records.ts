/**
 * Records the ring stores for other layers, and the store as they use it. The ring holds only
 * records that prove themselves: each kind says how a record is checked against its key
 * (signatures and hashes recomputed), so replicas and readers verify what they store and
 * serve, and no member can make another keep a value nobody vouches for. The dht layer's
 * ring store implements {@link RecordStore}; the broker and the directory declare kinds. A
 * member that takes copies of records of a kind with a fingerprint says so in a signed
 * {@link HoldingProof}, so a writer need not take the key owner's word for how many members
 * hold them.
 */
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { canonicalJson } from '../canonical-json.js';

/** One kind of record, named by the `kind` member every record carries. */
export interface RecordKind<T = unknown> {
  readonly kind: string;
  /**
   * The record, checked for `keyHex`: its own proofs, and that it belongs under that key.
   * Throws FLOWCHAIN_ERR_RING_RECORD_INVALID naming what fails.
   */
  check(keyHex: string, value: unknown): T;
  /**
   * Whether a valid `offered` record takes the place of the valid `stored` one. Without it a
   * key is written once: the first valid record stays.
   */
  replaces?(offered: T, stored: T): boolean;
  /** When the record stops counting (ms since the epoch): it is then dropped. None: never. */
  expiresAt?(record: T): number | undefined;
  /**
   * Only the owner's own flow writes records of this kind (a plain put from another member is
   * refused); they reach other nodes only as replication from a plausible owner.
   */
  readonly ownerOnly?: boolean;
  /** Records of this kind can be listed across the whole ring ({@link RecordStore.list}). */
  readonly listed?: boolean;
  /**
   * The longest a record of this kind may count from now, in ms ({@link expiresAt} must be set
   * and no further away than this): what a member makes others keep lapses unless renewed.
   */
  readonly maxLifetimeMs?: number;
  /**
   * What the record's signatures cannot show: the rules of the layer that writes it, against
   * the state of the ring (who hosts a Thing, its data schema, the clock). A record another
   * member offers (a put, replication, a hand-over, a read repair) is stored only after it
   * passes, so every way into the store checks what the writer's own flow checks. Rejects with
   * the reason's code.
   */
  admit?(keyHex: string, record: T): Promise<void>;
  /**
   * Who vouches for a record (its publisher's key, say). Readers of a key that must not take
   * one member's word ({@link RecordStore.get} with `quorum`) ask the owner and its replicas and
   * believe the voucher most of them hold; among that voucher's records, the newest.
   */
  voucher?(record: T): string;
  /**
   * What identifies the record among all records its key could hold (a transaction record's
   * id, say). Members that take copies of records of a kind with a fingerprint sign a
   * {@link HoldingProof} of the fingerprints they hold.
   */
  fingerprint?(record: T): string;
}

/**
 * A member's signed statement that it holds records: its ring id, its membership certificate
 * (PEM), the [key, fingerprint] pairs it holds, and its Ed25519 signature over
 * {@link holdingStatement} by the key that certificate holds.
 */
export interface HoldingProof {
  readonly member: string;
  readonly certificate: string;
  readonly records: readonly (readonly [string, string])[];
  readonly signature: string;
}

/** The bytes a member signs in a {@link HoldingProof}. */
export function holdingStatement(member: string, records: readonly (readonly [string, string])[]): Uint8Array {
  return utf8ToBytes(canonicalJson(['flowchain-holds-v1', member, records]));
}

/** How a read is made. */
export interface ReadOptions {
  /**
   * Ask the key's replicas as well as its owner and believe what most of them hold (the
   * kind's {@link RecordKind.voucher}), so one lying owner cannot answer for the key alone.
   * Without it the replicas are asked only when the owner has nothing sound to answer.
   */
  readonly quorum?: boolean;
}

/** The ring store as the layers above the ring use it. */
export interface RecordStore {
  /** Adds a kind of record; call before the ring starts. */
  register(kind: RecordKind): void;
  /**
   * The checked record under `keyHex`, from its owner; when the owner has none, answers one
   * that does not prove itself, or cannot be reached, from the key's replicas (and from them
   * too with `quorum`). Undefined only when neither owner nor replicas hold one.
   */
  get(keyHex: string, options?: ReadOptions): Promise<unknown>;
  /**
   * Stores each entry at its key's owner (one message per owner). One result per entry, in
   * order: undefined where stored, the error (its lookup's, its owner's) where not.
   */
  putMany(entries: readonly (readonly [string, unknown])[]): Promise<unknown[]>;
  /**
   * Stores entries this node owns, in one write, and replicates what each key then holds (the
   * new record, or the one it kept). A key that already holds a record keeps it unless its kind
   * says the new one replaces it; `existing` reports what each key held before; `proofs` are
   * the successors' signed statements of what they hold; `conflicts` the positions not taken
   * because the key holds a record of another voucher that theirs may not replace. Throws FLOWCHAIN_ERR_RING_NOT_OWNER for a key of another node.
   */
  putOwned(entries: readonly (readonly [string, unknown])[]): Promise<{ readonly existing: readonly unknown[]; readonly replicas: number; readonly proofs: readonly HoldingProof[]; readonly conflicts: readonly number[] }>;
  /** True unless this node knows `keyHex` belongs to another node. */
  owns(keyHex: string): boolean;
  /**
   * Every record of a listed kind in the ring, each from its owner, checked: a walk along the
   * ring from this node, successor after successor. A member that cannot be reached is
   * skipped (its keys' replicas answer for them once the ring has repaired itself); a record
   * that does not prove itself is left out.
   */
  list(kind: string): Promise<unknown[]>;
  /**
   * Announces records of listed kinds to every member (best effort, resolved once this node's
   * messages are answered): each member checks them and hands them to its
   * {@link onAnnounced} listeners. Nothing is stored: that is {@link putMany}'s work.
   */
  announce(entries: readonly (readonly [string, unknown])[]): Promise<void>;
  /** Calls `listener` with the checked records of `kind` other members announce, each once; returns the unsubscribe. */
  onAnnounced(kind: string, listener: (records: readonly (readonly [string, unknown])[]) => void): () => void;
}

/** A record's kind member, if it has one. */
export function kindOf(value: unknown): string | undefined {
  const kind = (value as { kind?: unknown } | null)?.kind;
  return typeof kind === 'string' ? kind : undefined;
}

/**
 * Records the ring stores for other layers, and the store as they use it. The ring holds only
 * records that prove themselves: each kind says how a record is checked against its key
 * (signatures and hashes recomputed), so replicas and readers verify what they store and
 * serve, and no member can make another keep a value nobody vouches for. The dht layer's
 * ring store implements {@link RecordStore}; the broker and the directory declare kinds.
 */

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
}

/** The ring store as the layers above the ring use it. */
export interface RecordStore {
  /** Adds a kind of record; call before the ring starts. */
  register(kind: RecordKind): void;
  /** The checked record under `keyHex`, from its owner; undefined when there is none. */
  get(keyHex: string): Promise<unknown>;
  /**
   * Stores each entry at its key's owner (one message per owner). One result per entry, in
   * order: undefined where stored, the error (its lookup's, its owner's) where not.
   */
  putMany(entries: readonly (readonly [string, unknown])[]): Promise<unknown[]>;
  /**
   * Stores entries this node owns, in one write, and replicates them. A key that already
   * holds a record keeps it unless its kind says the new one replaces it; `existing` reports
   * what each key held before. Throws FLOWCHAIN_ERR_RING_NOT_OWNER for a key of another node.
   */
  putOwned(entries: readonly (readonly [string, unknown])[]): Promise<{ readonly existing: readonly unknown[]; readonly replicas: number }>;
  /** True unless this node knows `keyHex` belongs to another node. */
  owns(keyHex: string): boolean;
  /**
   * Every record of a listed kind in the ring, each from its owner, checked: a walk along the
   * ring from this node, successor after successor. A member that cannot be reached is
   * skipped (its keys' replicas answer for them once the ring has repaired itself); a record
   * that does not prove itself is left out.
   */
  list(kind: string): Promise<unknown[]>;
}

/** A record's kind member, if it has one. */
export function kindOf(value: unknown): string | undefined {
  const kind = (value as { kind?: unknown } | null)?.kind;
  return typeof kind === 'string' ? kind : undefined;
}

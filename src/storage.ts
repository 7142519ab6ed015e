/**
 * The node's LevelDB database (through `level`), handed out as named sections so each layer
 * owns its own key space without knowing about the others. The only module that imports
 * `level` outside the ledger.
 *
 * Writes are group-committed across all sections: while one LevelDB batch is being written,
 * later puts and batches collect in the next one, which is written as soon as the first
 * completes. Batches are written strictly in order, so the stored order is the order of the
 * calls; each call's operations stay together (all or none), and each call resolves once its
 * own batch is stored. Under load this turns thousands of small writes from every layer into
 * a few large ones; alone, a write goes out at once.
 *
 * Throws FLOWCHAIN_ERR_STORE_FAILED when the database cannot be opened or written.
 */
import { Level, type BatchOperation as LevelBatchOperation } from 'level';
import { FlowchainError, isFlowchainError } from './errors.js';

/** A LevelDB batch operation on a section. */
type LevelOperation = LevelBatchOperation<Level<string, unknown>, string, unknown>;

/** Where a prepared write keeps its operations (not part of the public shape). */
const OPERATIONS = Symbol('operations');
interface Prepared extends PreparedWrite {
  readonly [OPERATIONS]: { readonly database: Database; readonly operations: readonly LevelOperation[] };
}

/** One put or delete in an atomic batch. */
export type BatchOperation = { readonly type: 'put'; readonly key: string; readonly value: unknown } | { readonly type: 'del'; readonly key: string };

/**
 * Collects writes into batches: while one batch is being written, later writes join the next
 * one. `write` performs one batch; the order of {@link GroupCommit.add} calls is kept.
 */
export class GroupCommit<Op> {
  readonly #write: (operations: Op[]) => Promise<void>;
  /** The batch still accepting operations, if any. */
  #collecting: { readonly operations: Op[]; readonly written: Promise<void> } | undefined;
  /** The most recently scheduled batch write; the next one starts after it. */
  #last: Promise<void> = Promise.resolve();

  constructor(write: (operations: Op[]) => Promise<void>) {
    this.#write = write;
  }

  /** Adds operations to the next batch; resolves once that batch is written, rejects if it failed. */
  add(operations: readonly Op[]): Promise<void> {
    let batch = this.#collecting;
    if (batch === undefined) {
      const collected: Op[] = [];
      const written = this.#last
        .catch(() => undefined)
        .then(() => {
          // From here on this batch is closed: later writes open the next one.
          if (this.#collecting?.operations === collected) this.#collecting = undefined;
          return this.#write(collected);
        });
      batch = { operations: collected, written };
      this.#collecting = batch;
      this.#last = written;
    }
    batch.operations.push(...operations);
    return batch.written;
  }

  /** Resolves once everything added so far is written (or failed). */
  async flushed(): Promise<void> {
    await this.#last.catch(() => undefined);
  }
}

/**
 * Operations prepared on a section and not yet written: another section's {@link Section.batch}
 * can write them in the same atomic batch (a property value with the transaction that records
 * it), or {@link PreparedWrite.commit} writes them alone.
 */
export interface PreparedWrite {
  /** Writes these operations alone, atomically. */
  commit(): Promise<void>;
}

/** A JSON-valued key space inside the database. */
export interface Section {
  /** The stored value, or undefined when the key is absent. */
  get(key: string): Promise<unknown>;
  /** The stored values of `keys`, in order (undefined where absent), in one read. */
  getMany(keys: readonly string[]): Promise<unknown[]>;
  put(key: string, value: unknown): Promise<void>;
  /**
   * Applies every operation, and those of `alongside` (prepared on sections of the same
   * database), or none of them.
   */
  batch(operations: readonly BatchOperation[], alongside?: readonly PreparedWrite[]): Promise<void>;
  /** Prepares operations to be written later, alone or alongside another batch. */
  prepare(operations: readonly BatchOperation[]): PreparedWrite;
  /** Every entry whose key starts with `prefix`, in key order. */
  entries(prefix?: string): AsyncIterable<[string, unknown]>;
  /** Every key that starts with `prefix`, in order (values are not read). */
  keys(prefix?: string): AsyncIterable<string>;
}

/** The node's database. */
export class Database {
  readonly #level: Level<string, unknown>;
  readonly #writes: GroupCommit<LevelOperation>;

  private constructor(level: Level<string, unknown>) {
    this.#level = level;
    this.#writes = new GroupCommit((operations) => level.batch(operations));
  }

  /** Opens (creating if needed) the LevelDB database in `directory`. */
  static async open(directory: string): Promise<Database> {
    const level = new Level<string, unknown>(directory, { valueEncoding: 'json' });
    try {
      await level.open();
    } catch (err) {
      throw new FlowchainError('FLOWCHAIN_ERR_STORE_FAILED', `cannot open the database in ${directory}`, { field: 'data', cause: err });
    }
    return new Database(level);
  }

  /** The key space `name`; sections never see each other's keys. */
  section(name: string): Section {
    const sub = this.#level.sublevel<string, unknown>(name, { valueEncoding: 'json' });
    const failed = (what: string, err: unknown) => new FlowchainError('FLOWCHAIN_ERR_STORE_FAILED', `database ${what} failed in section ${name}`, { cause: err });
    const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        throw isFlowchainError(err) ? err : failed(what, err);
      }
    };
    // Values are encoded by the caller's call, so a value that is not JSON fails that call
    // alone, never the shared batch it would have joined.
    const operation = (op: BatchOperation): LevelOperation => {
      if (op.type === 'del') return { type: 'del', sublevel: sub, key: op.key };
      let text: string | undefined;
      try {
        text = JSON.stringify(op.value);
      } catch (err) {
        throw failed('write', err);
      }
      if (text === undefined) throw failed('write', new TypeError(`the value of ${op.key} is not JSON`));
      return { type: 'put', sublevel: sub, key: op.key, value: text, valueEncoding: 'utf8' };
    };
    const write = (operations: readonly LevelOperation[]) => guard('write', () => this.#writes.add(operations));
    const prepare = (operations: readonly BatchOperation[]): Prepared => {
      const levelOperations = operations.map(operation);
      return { [OPERATIONS]: { database: this, operations: levelOperations }, commit: () => write(levelOperations) };
    };
    return {
      get: (key) => guard('read', () => sub.get(key)),
      getMany: (keys) => guard('read', () => (keys.length === 0 ? Promise.resolve([]) : sub.getMany([...keys]))),
      put: (key, value) => settle(() => write([operation({ type: 'put', key, value })])),
      // Synchronous up to the group commit, so concurrent calls keep their order; a value that
      // cannot be encoded fails this call alone (a rejection, never a throw).
      batch: (operations, alongside = []) => settle(() => write([...alongside.flatMap((p) => this.#opsOf(p)), ...operations.map(operation)])),
      prepare,
      entries: (prefix = '') => guarded(sub.iterator(range(prefix)), name),
      keys: (prefix = '') => guarded(sub.keys(range(prefix)), name),
    };
  }

  /** The operations of a write prepared on this database (another database's cannot join). */
  #opsOf(prepared: PreparedWrite): LevelOperation[] {
    const inner = (prepared as Prepared)[OPERATIONS];
    if (inner?.database !== this) throw new FlowchainError('FLOWCHAIN_ERR_STORE_FAILED', 'a prepared write joins batches of its own database only');
    return [...inner.operations];
  }

  /** Closes the database once the writes in flight are stored; sections fail with FLOWCHAIN_ERR_STORE_FAILED afterwards. */
  async close(): Promise<void> {
    await this.#writes.flushed();
    await this.#level.close();
  }
}

/** Runs `start`, turning a synchronous throw into a rejection. */
function settle(start: () => Promise<void>): Promise<void> {
  try {
    return start();
  } catch (err) {
    return Promise.reject(err);
  }
}

/** The key range of `prefix` (everything when empty). */
const range = (prefix: string) => (prefix ? { gte: prefix, lt: `${prefix}\uffff` } : {});

/** An iterator whose failures are FLOWCHAIN_ERR_STORE_FAILED, like every other section call. */
async function* guarded<T>(items: AsyncIterable<T>, name: string): AsyncIterable<T> {
  try {
    yield* items;
  } catch (err) {
    throw new FlowchainError('FLOWCHAIN_ERR_STORE_FAILED', `database read failed in section ${name}`, { cause: err });
  }
}

/**
 * The node's LevelDB database (through `level`), handed out as named sections so each layer
 * owns its own key space without knowing about the others. The only module that imports
 * `level` outside the ledger.
 *
 * Throws FLOWCHAIN_ERR_STORE_FAILED when the database cannot be opened or written.
 */
import { Level } from 'level';
import { FlowchainError } from './errors.js';

/** One put or delete in an atomic batch. */
export type BatchOperation = { readonly type: 'put'; readonly key: string; readonly value: unknown } | { readonly type: 'del'; readonly key: string };

/** A JSON-valued key space inside the database. */
export interface Section {
  /** The stored value, or undefined when the key is absent. */
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
  /** Applies every operation or none. */
  batch(operations: readonly BatchOperation[]): Promise<void>;
  /** Every entry whose key starts with `prefix`, in key order. */
  entries(prefix?: string): AsyncIterable<[string, unknown]>;
}

/** The node's database. */
export class Database {
  readonly #level: Level<string, unknown>;

  private constructor(level: Level<string, unknown>) {
    this.#level = level;
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
    const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        throw new FlowchainError('FLOWCHAIN_ERR_STORE_FAILED', `database ${what} failed in section ${name}`, { cause: err });
      }
    };
    return {
      get: (key) => guard('read', () => sub.get(key)),
      put: (key, value) => guard('write', () => sub.put(key, value)),
      batch: (operations) => guard('write', () => sub.batch(operations.map((op) => ({ ...op })))),
      entries: (prefix = '') => guardedEntries(sub.iterator(prefix ? { gte: prefix, lt: `${prefix}\uffff` } : {}), name),
    };
  }

  /** Closes the database; sections fail with FLOWCHAIN_ERR_STORE_FAILED afterwards. */
  async close(): Promise<void> {
    await this.#level.close();
  }
}

/** An iterator whose failures are FLOWCHAIN_ERR_STORE_FAILED, like every other section call. */
async function* guardedEntries(entries: AsyncIterable<[string, unknown]>, name: string): AsyncIterable<[string, unknown]> {
  try {
    yield* entries;
  } catch (err) {
    throw new FlowchainError('FLOWCHAIN_ERR_STORE_FAILED', `database read failed in section ${name}`, { cause: err });
  }
}

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
 * a few large ones; alone, a write goes out at once. Within one batch only the last operation
 * on each key is written: LevelDB applies a batch atomically and in order, so the earlier ones
 * could never be seen, and a value written many times while a batch collects (a sensor
 * written faster than the disk) costs the database one operation.
 *
 * Throws FLOWCHAIN_ERR_STORE_FAILED when the database cannot be opened or written; an open that
 * fails for a reason a person can fix says which: FLOWCHAIN_ERR_STORE_LOCKED (another process
 * has it open), FLOWCHAIN_ERR_STORE_ACCESS_DENIED, FLOWCHAIN_ERR_STORE_NOT_DIRECTORY.
 */
import { accessSync, constants, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
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

/** Writes prepared on sections of one database, as one: written together, atomically. */
export function joinWrites(writes: readonly (PreparedWrite | undefined)[]): PreparedWrite | undefined {
  let first: Prepared | undefined;
  let operations: LevelOperation[] | undefined;
  for (const write of writes) {
    if (write === undefined) continue;
    const part = (write as Prepared)[OPERATIONS];
    if (first === undefined) {
      first = write as Prepared;
      continue;
    }
    const database = first[OPERATIONS].database;
    if (part?.database !== database) throw new FlowchainError('FLOWCHAIN_ERR_STORE_FAILED', 'a prepared write joins batches of its own database only');
    (operations ??= [...first[OPERATIONS].operations]).push(...part.operations);
  }
  if (operations === undefined || first === undefined) return first;
  const database = first[OPERATIONS].database;
  const joined = operations;
  return { [OPERATIONS]: { database, operations: joined }, commit: () => database.commitPrepared(joined) } as Prepared;
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
  /** The entries within `bounds`, in key order or (`reverse`) against it, at most `limit`; nothing outside the bounds is read. */
  range(bounds: KeyRange): AsyncIterable<[string, unknown]>;
  /** Deletes every key within `bounds` once the writes already queued are stored. */
  clear(bounds: KeyRange): Promise<void>;
}

/** Bounds of a key range (LevelDB's): any of gt/gte and lt/lte, a direction and a count. */
export interface KeyRange {
  readonly gt?: string;
  readonly gte?: string;
  readonly lt?: string;
  readonly lte?: string;
  readonly reverse?: boolean;
  readonly limit?: number;
}

/** The node's database. */
export class Database {
  readonly #level: Level<string, unknown>;
  readonly #writes: GroupCommit<LevelOperation>;

  private constructor(level: Level<string, unknown>) {
    this.#level = level;
    this.#writes = new GroupCommit((operations) => level.batch(lastPerKey(operations)));
  }

  /**
   * Opens (creating if needed) the LevelDB database in `directory`. Throws
   * FLOWCHAIN_ERR_STORE_LOCKED when another process (or this one) has it open, naming that
   * process's pid where the system says; FLOWCHAIN_ERR_STORE_ACCESS_DENIED naming the path and
   * the user; FLOWCHAIN_ERR_STORE_NOT_DIRECTORY naming the file in the way; otherwise
   * FLOWCHAIN_ERR_STORE_FAILED with the library's reason. All carry field `data`.
   */
  static async open(directory: string): Promise<Database> {
    const level = new Level<string, unknown>(directory, { valueEncoding: 'json' });
    try {
      await level.open();
    } catch (err) {
      throw openFailure(directory, err);
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
      range: (bounds) => guarded(sub.iterator({ ...bounds }), name),
      clear: (bounds) =>
        guard('write', async () => {
          await this.#writes.flushed();
          await sub.clear({ ...bounds });
        }),
    };
  }

  /** Writes operations prepared on this database's sections, atomically. */
  commitPrepared(operations: readonly LevelOperation[]): Promise<void> {
    return settle(() => this.#writes.add(operations).catch((err: unknown) => {
      throw isFlowchainError(err) ? err : new FlowchainError('FLOWCHAIN_ERR_STORE_FAILED', 'database write failed', { cause: err });
    }));
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

/**
 * The operations of one atomic batch with each key's earlier operations dropped: the batch
 * leaves every key as its last operation does, so the stored result is the same.
 */
export function lastPerKey<Op extends { readonly sublevel?: unknown; readonly key: string }>(operations: readonly Op[]): Op[] {
  if (operations.length < 2) return [...operations];
  const seen = new Map<unknown, Set<string>>();
  const kept: Op[] = [];
  for (let i = operations.length - 1; i >= 0; i--) {
    const op = operations[i]!;
    let keys = seen.get(op.sublevel);
    if (keys === undefined) seen.set(op.sublevel, (keys = new Set()));
    if (keys.has(op.key)) continue;
    keys.add(op.key);
    kept.push(op);
  }
  return kept.reverse();
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

/**
 * Why the database in `directory` did not open, as an error a person can act on. Worked out
 * after the failure, from the library's cause and the file system as it is then, so the
 * successful path pays nothing.
 */
function openFailure(directory: string, err: unknown): FlowchainError {
  const cause = (err as { cause?: unknown } | null)?.cause ?? err;
  const code = (cause as { code?: unknown } | null)?.code;
  const reason = cause instanceof Error ? cause.message : String(cause);
  const fail = (errorCode: 'FLOWCHAIN_ERR_STORE_LOCKED' | 'FLOWCHAIN_ERR_STORE_ACCESS_DENIED' | 'FLOWCHAIN_ERR_STORE_NOT_DIRECTORY' | 'FLOWCHAIN_ERR_STORE_FAILED', why: string) =>
    new FlowchainError(errorCode, `cannot open the database in ${directory}: ${why}`, { field: 'data', cause: err });
  // classic-level reports LevelDB's failed lock on DIR/LOCK as LEVEL_LOCKED.
  if (code === 'LEVEL_LOCKED') return fail('FLOWCHAIN_ERR_STORE_LOCKED', lockedReason(directory, reason));
  const file = fileInTheWay(directory);
  if (file !== undefined) return fail('FLOWCHAIN_ERR_STORE_NOT_DIRECTORY', `${file} is a file, not a directory; move it away or choose another data directory`);
  if (code === 'EACCES' || code === 'EPERM' || /permission denied/i.test(reason)) return fail('FLOWCHAIN_ERR_STORE_ACCESS_DENIED', deniedReason(directory, cause));
  return fail('FLOWCHAIN_ERR_STORE_FAILED', reason);
}

/**
 * Who holds the lock, for the message. LevelDB takes a POSIX (fcntl) lock on DIR/LOCK, and
 * Linux lists every such lock with its holder's pid and the file's device and inode in
 * /proc/locks, readable by any user: the holder is found whoever runs it, without its
 * cooperation, and never stale (the kernel drops a lock with its process, where a pid file
 * outlives a crash). Elsewhere the message names the tools that find it.
 */
function lockedReason(directory: string, reason: string): string {
  const lockFile = join(directory, 'LOCK');
  const remedy = 'LevelDB lets one process at a time open a database: stop that process (a node running on this data directory) or choose another data directory';
  // LevelDB says so when the lock is already held inside this very process.
  if (/already held by process/.test(reason)) return `it is already open in this process (open it once and share it)`;
  const pid = lockHolder(lockFile);
  if (pid === undefined) return `it is locked by another process (its pid is not in /proc/locks; \`fuser ${lockFile}\` or \`lsof ${lockFile}\` names it); ${remedy}`;
  const command = commandLineOf(pid);
  return `it is locked by another process, pid ${pid}${command === undefined ? '' : ` (${command})`}; ${remedy}`;
}

/** The pid holding a POSIX or flock lock on `file`, from /proc/locks (Linux); undefined when not found. */
function lockHolder(file: string): number | undefined {
  let stats: { dev: bigint; ino: bigint };
  let locks: string;
  try {
    stats = statSync(file, { bigint: true });
    locks = readFileSync('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  // userspace dev_t (glibc's encoding) into the kernel's major and minor, as /proc/locks prints them.
  const major = ((stats.dev >> 8n) & 0xfffn) | ((stats.dev >> 32n) & ~0xfffn);
  const minor = (stats.dev & 0xffn) | ((stats.dev >> 12n) & ~0xffn);
  // "1: POSIX  ADVISORY  WRITE 7842 fe:00:2154646 0 EOF"; lines with "->" are waiters, not holders.
  for (const line of locks.split('\n')) {
    const match = /^\d+:\s+(?!->)\S+\s+\S+\s+\S+\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/i.exec(line);
    if (match === null || BigInt(`0x${match[2]}`) !== major || BigInt(`0x${match[3]}`) !== minor || BigInt(match[4]!) !== stats.ino) continue;
    const pid = Number(match[1]);
    // An open-file-description lock has no pid (-1); one held outside this pid namespace shows 0.
    if (pid > 0) return pid;
  }
  return undefined;
}

/** The command line of process `pid` (Linux), shortened; undefined when it cannot be read. */
function commandLineOf(pid: number): string | undefined {
  try {
    const words = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((word) => word !== '');
    const line = words.join(' ');
    return line === '' ? undefined : line.length > 160 ? `${line.slice(0, 157)}...` : line;
  } catch {
    return undefined;
  }
}

/** The stats of `path`, or undefined when it does not exist (or cannot be looked at). */
function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** The nearest existing path at or above `directory` when it is not a directory (a file in the way). */
function fileInTheWay(directory: string): string | undefined {
  for (let path = resolve(directory); ; path = dirname(path)) {
    const stats = statOf(path);
    if (stats !== undefined) return stats.isDirectory() ? undefined : path;
    if (dirname(path) === path) return undefined;
  }
}

/** Whether this process may use `path` as `mode` asks (fs.constants R_OK, W_OK, X_OK). */
function allowed(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first path this process lacks a permission on that opening `directory` needs: a
 * directory on the way it cannot enter, the nearest existing one it cannot create in, or,
 * once the database exists, the directory or a file of it it cannot read and write.
 */
function deniedPath(directory: string): { readonly path: string; readonly needs: string } | undefined {
  const chain: string[] = [];
  for (let path = resolve(directory); ; path = dirname(path)) {
    chain.unshift(path);
    if (dirname(path) === path) break;
  }
  for (const [i, path] of chain.entries()) {
    if (statOf(path) === undefined) {
      const parent = chain[i - 1]!;
      return allowed(parent, constants.W_OK | constants.X_OK) ? undefined : { path: parent, needs: 'create a directory in' };
    }
    if (!allowed(path, constants.X_OK)) return { path, needs: 'enter' };
  }
  const root = chain[chain.length - 1]!;
  if (!allowed(root, constants.R_OK | constants.W_OK | constants.X_OK)) return { path: root, needs: 'read and write' };
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return { path: root, needs: 'list' };
  }
  const file = entries.map((entry) => join(root, entry)).find((path) => !allowed(path, constants.R_OK | constants.W_OK));
  return file === undefined ? undefined : { path: file, needs: 'read and write' };
}

/** Names the path and the user a permission failure is about, and what to do. */
function deniedReason(directory: string, cause: unknown): string {
  const denied = deniedPath(directory);
  // Without a finding (a permission the probe cannot see, such as an ACL or a security module), the failing path the library named.
  const path = denied?.path ?? (cause as { path?: unknown } | null)?.path ?? /IO error: (.+?): Permission denied/i.exec(String((cause as Error)?.message))?.[1] ?? directory;
  const stats = statOf(String(path));
  const owner = stats === undefined ? '' : ` (owned by uid ${stats.uid}, mode ${(stats.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return `permission denied: ${currentUser()} may not ${denied?.needs ?? 'use'} ${String(path)}${owner}; run as the user that owns the data, give this user access (chown or chmod), or choose another data directory`;
}

/** This process's user, as `user NAME (uid N)`. */
function currentUser(): string {
  try {
    const user = userInfo();
    return user.uid === -1 ? `user ${user.username}` : `user ${user.username} (uid ${user.uid})`;
  } catch {
    // A uid with no passwd entry (common in containers) has no name; Linux still says the uid.
    const uid = statusField('Uid');
    return uid === undefined ? 'this user' : `uid ${uid}`;
  }
}

/** The first value of a field of /proc/self/status (Linux), such as `Uid`; undefined elsewhere. */
function statusField(name: string): string | undefined {
  try {
    return new RegExp(`^${name}:\\s+(\\S+)`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { Database, GroupCommit, joinWrites, lastPerKey } from '../src/storage.js';

/** The repository, where a child process's `import 'level'` resolves. */
const REPO = fileURLToPath(new URL('..', import.meta.url));

t.test('sections keep separate key spaces and survive a reopen', async (t) => {
  const dir = t.testdir();
  const db = await Database.open(dir);
  await db.section('a').put('k', { v: 1 });
  await db.section('b').put('k', 'other');
  await db.close();
  const again = await Database.open(dir);
  t.teardown(() => again.close());
  t.same(await again.section('a').get('k'), { v: 1 });
  t.equal(await again.section('b').get('k'), 'other');
  t.equal(await again.section('a').get('missing'), undefined);
});

t.test('entries lists by prefix in key order; batches are atomic', async (t) => {
  const db = await Database.open(t.testdir());
  t.teardown(() => db.close());
  const s = db.section('s');
  await s.batch([
    { type: 'put', key: 'x/2', value: 2 },
    { type: 'put', key: 'x/1', value: 1 },
    { type: 'put', key: 'y/1', value: 3 },
  ]);
  const seen: [string, unknown][] = [];
  for await (const entry of s.entries('x/')) seen.push(entry);
  t.same(seen, [['x/1', 1], ['x/2', 2]]);
  await s.batch([{ type: 'del', key: 'x/1' }]);
  t.equal(await s.get('x/1'), undefined);
});

t.test('a second open in the same process fails with FLOWCHAIN_ERR_STORE_LOCKED', async (t) => {
  const dir = t.testdir();
  const first = await Database.open(dir);
  t.teardown(() => first.close());
  // LevelDB holds a lock: a second open of the same directory fails.
  await t.rejects(Database.open(dir), { code: 'FLOWCHAIN_ERR_STORE_LOCKED', field: 'data', message: /already open in this process/ });
});

/** A child `node` process holding the LevelDB database in `dir` open (with `level` itself) until its stdin ends. */
async function holdOpen(t: Test, dir: string): Promise<{ readonly child: ChildProcess; readonly closed: Promise<number | null> }> {
  const script = [
    "import { Level } from 'level';",
    `const db = new Level(${JSON.stringify(dir)});`,
    'await db.open();',
    "process.stdout.write('ready\\n');",
    'process.stdin.resume();',
    "process.stdin.on('end', () => db.close().then(() => process.exit(0)));",
  ].join('\n');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] });
  const closed = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    void closed.then((code) => reject(new Error(`the holder exited with ${code} before opening`)));
  });
  return { child, closed };
}

t.test('a database held open by another process fails with FLOWCHAIN_ERR_STORE_LOCKED naming its pid; it opens once that process closes it', async (t) => {
  const dir = join(t.testdir(), 'db');
  const holder = await holdOpen(t, dir);
  // Linux lists the lock's holder in /proc/locks; elsewhere the message names fuser and lsof instead.
  const names = existsSync('/proc/locks') ? new RegExp(`locked by another process, pid ${holder.child.pid}\\b`) : /fuser .*LOCK/;
  await t.rejects(Database.open(dir), { code: 'FLOWCHAIN_ERR_STORE_LOCKED', field: 'data', message: names });
  holder.child.stdin!.end();
  t.equal(await holder.closed, 0, 'the holder closed its database');
  const db = await Database.open(dir);
  await db.close();
});

t.test('a plain file where the database directory or one above it should be fails with FLOWCHAIN_ERR_STORE_NOT_DIRECTORY naming the file', async (t) => {
  const root = t.testdir({ data: 'not a directory' });
  const file = join(root, 'data');
  await t.rejects(Database.open(join(file, 'db')), { code: 'FLOWCHAIN_ERR_STORE_NOT_DIRECTORY', field: 'data', message: `${file} is a file, not a directory` });
  await t.rejects(Database.open(file), { code: 'FLOWCHAIN_ERR_STORE_NOT_DIRECTORY', message: `${file} is a file, not a directory` });
});

/**
 * Opens the database in `dir` as a user who may not write `denied` (made read-only): this
 * process, or, when it runs as root (whom permissions do not stop), a child process of user
 * nobody (65534), which uses the built module (dist/, as test/helpers scripts do).
 */
async function openWithoutPermission(t: Test, dir: string, denied: string): Promise<{ code?: string; message?: string; uid: number }> {
  chmodSync(denied, 0o555);
  try {
    const uid = process.getuid?.() ?? -1;
    if (uid !== 0) {
      return await Database.open(dir).then(
        async (db) => (await db.close(), { uid }),
        (err: { code?: string; message?: string }) => ({ code: err.code, message: err.message, uid }),
      );
    }
    return await openAsNobody(t, dir);
  } finally {
    chmodSync(denied, 0o755);
  }
}

/** Opens the database in `dir` in a child process of user nobody; what it threw, if anything. */
async function openAsNobody(t: Test, dir: string): Promise<{ code?: string; message?: string; uid: number }> {
  const storage = new URL('../dist/storage.js', import.meta.url).href;
  const script = [
    `const { Database } = await import(${JSON.stringify(storage)});`,
    `const outcome = await Database.open(${JSON.stringify(dir)}).then(async (db) => (await db.close(), {}), (err) => ({ code: err.code, message: err.message }));`,
    'process.stdout.write(JSON.stringify(outcome));',
  ].join('\n');
  // Without the test runner's NODE_OPTIONS: its hooks write files this user may not.
  const { NODE_OPTIONS: _runnerHooks, ...env } = process.env;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, env, uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.equal(code, 0, 'the child ran');
  return { ...(JSON.parse(out) as { code?: string; message?: string }), uid: 65534 };
}

t.test('a data directory this user may not create the database in fails with FLOWCHAIN_ERR_STORE_ACCESS_DENIED naming the directory and the user', async (t) => {
  const data = t.testdir();
  const outcome = await openWithoutPermission(t, join(data, 'db'), data);
  t.equal(outcome.code, 'FLOWCHAIN_ERR_STORE_ACCESS_DENIED');
  t.match(outcome.message, `may not create a directory in ${data} `);
  t.match(outcome.message, `uid ${outcome.uid}`);
});

t.test('a database this user may not write fails with FLOWCHAIN_ERR_STORE_ACCESS_DENIED naming it and the user', async (t) => {
  const dir = join(t.testdir(), 'db');
  await (await Database.open(dir)).close();
  const outcome = await openWithoutPermission(t, dir, dir);
  t.equal(outcome.code, 'FLOWCHAIN_ERR_STORE_ACCESS_DENIED');
  t.match(outcome.message, `may not read and write ${dir} `);
  t.match(outcome.message, `uid ${outcome.uid}`);
});

/** Yields until `count` batches have started (bounded). */
async function started(writer: { batches: unknown[] }, count: number): Promise<void> {
  for (let i = 0; i < 100 && writer.batches.length < count; i++) await Promise.resolve();
  if (writer.batches.length < count) throw new Error(`only ${writer.batches.length} batches started`);
}

/** A batch writer that records each batch and completes it on the next turn (or fails it). */
function recordingWriter() {
  const writer = {
    batches: [] as number[][],
    failNext: false,
    write: async (operations: number[]) => {
      writer.batches.push([...operations]);
      await new Promise((resolve) => setImmediate(resolve));
      if (writer.failNext) {
        writer.failNext = false;
        throw new Error('disk full');
      }
    },
  };
  return writer;
}

t.test('writes made while a batch is being written share the next batch, in call order', async (t) => {
  const writer = recordingWriter();
  const group = new GroupCommit(writer.write);
  await Promise.all([1, 2, 3].map((n) => group.add([n])));
  t.same(writer.batches, [[1, 2, 3]], 'writes made together go out as one batch');
  const first = group.add([4]);
  await started(writer, 2);
  const later = [group.add([5]), group.add([6, 7])];
  await Promise.all([first, ...later]);
  t.same(writer.batches.slice(1), [[4], [5, 6, 7]], 'writes made during a write wait for the next batch');
});

t.test('a failed batch rejects exactly the writes in it; the next batch is written', async (t) => {
  const writer = recordingWriter();
  const group = new GroupCommit(writer.write);
  writer.failNext = true;
  const failing = group.add([1]);
  await started(writer, 1);
  const next = group.add([2]);
  await t.rejects(failing, { message: 'disk full' });
  await next;
  t.same(writer.batches, [[1], [2]]);
  await group.flushed();
});

t.test('a batch keeps only the last operation on each key of each section, in order', async (t) => {
  const a = { name: 'a' };
  const b = { name: 'b' };
  const ops = [
    { sublevel: a, key: 'x', type: 'put', value: 1 },
    { sublevel: b, key: 'x', type: 'put', value: 2 },
    { sublevel: a, key: 'y', type: 'put', value: 3 },
    { sublevel: a, key: 'x', type: 'del' },
    { sublevel: a, key: 'x', type: 'put', value: 4 },
    { sublevel: a, key: 'z', type: 'del' },
  ];
  t.same(lastPerKey(ops), [ops[1], ops[2], ops[4], ops[5]], 'the same key in another section is another key');
  t.same(lastPerKey([ops[3]!]), [ops[3]]);
});

t.test('values written many times while a batch collects are stored as their last write, deletions included', async (t) => {
  const db = await Database.open(t.testdir());
  t.teardown(() => db.close());
  const a = db.section('a');
  const other = db.section('b');
  await Promise.all([
    ...Array.from({ length: 50 }, (_, i) => a.put('hot', { i })),
    a.put('gone', 1),
    a.batch([{ type: 'del', key: 'gone' }, { type: 'put', key: 'back', value: 1 }]),
    a.batch([{ type: 'del', key: 'back' }]),
    other.put('hot', 'other section'),
  ]);
  t.same(await a.get('hot'), { i: 49 });
  t.equal(await a.get('gone'), undefined);
  t.equal(await a.get('back'), undefined);
  t.equal(await other.get('hot'), 'other section');
});

t.test('writes from every section share batches; a value that is not JSON fails its own write only', async (t) => {
  const db = await Database.open(t.testdir());
  t.teardown(() => db.close());
  const a = db.section('a');
  const b = db.section('b');
  const writes = Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? a : b).put(`k${i}`, { i }));
  const bad = t.rejects(a.put('bad', 10n), { code: 'FLOWCHAIN_ERR_STORE_FAILED' });
  await Promise.all(writes);
  await bad;
  t.same(await a.get('k298'), { i: 298 });
  t.same(await b.get('k299'), { i: 299 });
  t.equal(await a.get('bad'), undefined);
});

t.test('range reads only its bounds, either way, at most limit; clear deletes only its bounds', async (t) => {
  const db = await Database.open(t.testdir());
  t.teardown(() => db.close());
  const s = db.section('s');
  const other = db.section('t');
  await s.batch(['a', 'b', 'c', 'd', 'e'].map((key) => ({ type: 'put', key, value: key.toUpperCase() })));
  await other.put('c', 'other section');
  const read = async (bounds: Parameters<typeof s.range>[0]) => {
    const got: string[] = [];
    for await (const [key, value] of s.range(bounds)) got.push(`${key}=${String(value)}`);
    return got;
  };
  t.same(await read({ gte: 'b', lte: 'd' }), ['b=B', 'c=C', 'd=D']);
  t.same(await read({ gt: 'b', lt: 'e', reverse: true }), ['d=D', 'c=C']);
  t.same(await read({ reverse: true, limit: 2 }), ['e=E', 'd=D']);
  await s.clear({ gte: 'b', lt: 'd' });
  t.same(await read({}), ['a=A', 'd=D', 'e=E']);
  t.equal(await other.get('c'), 'other section', 'another section keeps its keys');
});

t.test('joined prepared writes are written together, or not at all', async (t) => {
  const dir = t.testdir();
  const db = await Database.open(join(dir, 'one'));
  t.teardown(() => db.close());
  const a = db.section('a');
  const b = db.section('b');
  t.equal(joinWrites([undefined, undefined]), undefined, 'nothing joined is nothing');
  const one = a.prepare([{ type: 'put', key: 'k', value: 1 }]);
  t.equal(joinWrites([one, undefined]), one, 'one alone is itself');
  await joinWrites([one, b.prepare([{ type: 'put', key: 'k', value: 2 }])])!.commit();
  t.same([await a.get('k'), await b.get('k')], [1, 2]);
  // Joined into another section's batch: all of it in one atomic write.
  await b.batch([{ type: 'put', key: 'l', value: 3 }], [joinWrites([a.prepare([{ type: 'del', key: 'k' }]), a.prepare([{ type: 'put', key: 'm', value: 4 }])])!]);
  t.same([await a.get('k'), await a.get('m'), await b.get('l')], [undefined, 4, 3]);
  const elsewhere = await Database.open(join(dir, 'two'));
  t.teardown(() => elsewhere.close());
  t.throws(() => joinWrites([one, elsewhere.section('a').prepare([])]), { code: 'FLOWCHAIN_ERR_STORE_FAILED' }, 'another database\'s write cannot join');
});

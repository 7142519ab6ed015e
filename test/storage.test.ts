import t from 'tap';
import { Database, GroupCommit } from '../src/storage.js';

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

t.test('a database that cannot be opened fails with FLOWCHAIN_ERR_STORE_FAILED', async (t) => {
  const dir = t.testdir();
  const first = await Database.open(dir);
  t.teardown(() => first.close());
  // LevelDB holds a lock: a second open of the same directory fails.
  await t.rejects(Database.open(dir), { code: 'FLOWCHAIN_ERR_STORE_FAILED' });
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

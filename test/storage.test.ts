import t from 'tap';
import { Database } from '../src/storage.js';

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

import t from 'tap';
import { Database } from '../../src/storage.js';
import { PropertyStore } from '../../src/thing/property-store.js';
import { tempDir } from '../helpers/test-servient.js';

t.test('with real LevelDB, every value of many concurrent saves is stored', async (t) => {
  const db = await Database.open(tempDir(t));
  t.teardown(() => db.close());
  const store = new PropertyStore(db.section('p'));
  await Promise.all(Array.from({ length: 500 }, (_, i) => store.prepare(`t${i % 7}`, new Map([[`p${i}`, i]])).commit()));
  let count = 0;
  for (let k = 0; k < 7; k++) count += (await store.load(`t${k}`)).size;
  t.equal(count, 500);
});

t.test('values of one save are stored together, in call order, and a reopened store loads the last ones', async (t) => {
  const dir = tempDir(t);
  const db = await Database.open(dir);
  const store = new PropertyStore(db.section('p'));
  const first = store.prepare('lamp', new Map<string, unknown>([['on', true], ['level', 3]])).commit();
  const second = store.prepare('lamp', new Map<string, unknown>([['level', 4]])).commit();
  await Promise.all([first, second]);
  await db.close();
  const again = await Database.open(dir);
  t.teardown(() => again.close());
  t.same(await new PropertyStore(again.section('p')).load('lamp'), new Map<string, unknown>([['level', 4], ['on', true]]));
});

t.test('prepared values are written in the same atomic batch as another section\'s operations, or not at all', async (t) => {
  const dir = tempDir(t);
  const db = await Database.open(dir);
  const store = new PropertyStore(db.section('p'));
  const other = db.section('outbox');
  await other.batch([{ type: 'put', key: 'tx1', value: { v: 1 } }], [store.prepare('lamp', new Map([['on', true]]))]);
  t.same(await store.load('lamp'), new Map([['on', true]]));
  t.same(await other.get('tx1'), { v: 1 });
  // A value that cannot be encoded fails the whole call: nothing of it is written.
  const bad = { toJSON: () => undefined };
  await t.rejects(other.batch([{ type: 'put', key: 'tx2', value: bad }], [store.prepare('lamp', new Map([['on', false]]))]), { code: 'FLOWCHAIN_ERR_STORE_FAILED' });
  t.same(await store.load('lamp'), new Map([['on', true]]), 'the value stayed');
  t.equal(await other.get('tx2'), undefined);
  await t.rejects(async () => other.batch([], [{ commit: async () => undefined }]), { code: 'FLOWCHAIN_ERR_STORE_FAILED' }, 'a prepared write of another database cannot join');
  await db.close();
});

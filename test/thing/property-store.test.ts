import t from 'tap';
import { Database } from '../../src/storage.js';
import { PropertyStore } from '../../src/thing/property-store.js';
import { tempDir } from '../helpers/test-servient.js';

t.test('with real LevelDB, every value of many concurrent saves is stored', async (t) => {
  const db = await Database.open(tempDir(t));
  t.teardown(() => db.close());
  const store = new PropertyStore(db.section('p'));
  await Promise.all(Array.from({ length: 500 }, (_, i) => store.save(`t${i % 7}`, new Map([[`p${i}`, i]]))));
  let count = 0;
  for (let k = 0; k < 7; k++) count += (await store.load(`t${k}`)).size;
  t.equal(count, 500);
});

t.test('values of one save are stored together, and a reopened store loads the last ones', async (t) => {
  const dir = tempDir(t);
  const db = await Database.open(dir);
  const store = new PropertyStore(db.section('p'));
  void store.save('lamp', new Map<string, unknown>([['on', true], ['level', 3]]));
  void store.save('lamp', new Map<string, unknown>([['level', 4]]));
  await store.flushed();
  await db.close();
  const again = await Database.open(dir);
  t.teardown(() => again.close());
  t.same(await new PropertyStore(again.section('p')).load('lamp'), new Map<string, unknown>([['level', 4], ['on', true]]));
});

import t from 'tap';
import type { BatchOperation, Section } from '../../src/storage.js';
import { Database } from '../../src/storage.js';
import { PropertyStore } from '../../src/thing/property-store.js';
import { tempDir } from '../helpers/test-servient.js';

/** A section that records each batch and lets the test decide when a write completes. */
class RecordingSection implements Section {
  batches: BatchOperation[][] = [];
  failNext = false;
  readonly #data = new Map<string, unknown>();
  async get(key: string) {
    return this.#data.get(key);
  }
  async put(key: string, value: unknown) {
    this.#data.set(key, value);
  }
  async batch(operations: readonly BatchOperation[]) {
    this.batches.push([...operations]);
    await new Promise((resolve) => setImmediate(resolve)); // a write takes a while
    if (this.failNext) {
      this.failNext = false;
      throw Object.assign(new Error('disk full'), { code: 'FLOWCHAIN_ERR_STORE_FAILED' });
    }
    for (const op of operations) if (op.type === 'put') this.#data.set(op.key, op.value);
  }
  async *entries(prefix = '') {
    for (const entry of [...this.#data].sort()) if (entry[0].startsWith(prefix)) yield entry;
  }
}

/** Yields until the section has started `count` batch writes (bounded). */
async function batchesStarted(section: RecordingSection, count: number): Promise<void> {
  for (let i = 0; i < 100 && section.batches.length < count; i++) await Promise.resolve();
  if (section.batches.length < count) throw new Error(`only ${section.batches.length} batches started`);
}

t.test('saves made while a batch is being written share the next batch, in order', async (t) => {
  const section = new RecordingSection();
  const store = new PropertyStore(section);
  const saves = [1, 2, 3, 4, 5].map((v) => store.save('thing', new Map([['level', v]])));
  await Promise.all(saves);
  t.same(section.batches.map((b) => b.map((op) => (op as { value: unknown }).value)), [[1, 2, 3, 4, 5]], 'one batch for saves made together');
  const first = store.save('thing', new Map([['level', 6]]));
  await batchesStarted(section, 2);
  const later = [7, 8].map((v) => store.save('thing', new Map([['level', v]])));
  await Promise.all([first, ...later]);
  t.same(section.batches.slice(1).map((b) => b.length), [1, 2], 'saves during a write wait for the next batch');
  t.same(await store.load('thing'), new Map([['level', 8]]), 'the last save wins');
});

t.test('a failed batch rejects exactly the saves in it; the next batch is written', async (t) => {
  const section = new RecordingSection();
  const store = new PropertyStore(section);
  section.failNext = true;
  const failing = store.save('thing', new Map([['a', 1]]));
  await batchesStarted(section, 1);
  const next = store.save('thing', new Map([['b', 2]]));
  await t.rejects(failing, { code: 'FLOWCHAIN_ERR_STORE_FAILED' });
  await next;
  t.same(await store.load('thing'), new Map([['b', 2]]));
  await store.flushed();
});

t.test('with real LevelDB, every value of many concurrent saves is stored', async (t) => {
  const db = await Database.open(tempDir(t));
  t.teardown(() => db.close());
  const store = new PropertyStore(db.section('p'));
  await Promise.all(Array.from({ length: 500 }, (_, i) => store.save(`t${i % 7}`, new Map([[`p${i}`, i]]))));
  let count = 0;
  for (let k = 0; k < 7; k++) count += (await store.load(`t${k}`)).size;
  t.equal(count, 500);
});

import t, { type Test } from 'tap';
import { Outbox } from '../../src/broker/outbox.js';
import { Database } from '../../src/storage.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { tempDir } from '../helpers/test-servient.js';

async function open(t: Test, dir: string, clock = new ManualClock()) {
  const db = await Database.open(dir);
  const outbox = new Outbox<{ n: number }>({ section: db.section('outbox'), deadLetters: db.section('dead'), clock }, { backoffMs: [100, 200] });
  await outbox.open();
  const close = async () => {
    await outbox.stop();
    await db.close();
  };
  t.teardown(close);
  return { outbox, db, clock, close };
}

/** Yields until `condition` holds (bounded). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
}

t.test('items are delivered once each, in enqueue order', async (t) => {
  const { outbox } = await open(t, tempDir(t));
  const seen: number[] = [];
  outbox.start(async (item) => void seen.push(item.n));
  const sequences = await Promise.all([1, 2, 3, 4, 5].map((n) => outbox.enqueue({ n })));
  await Promise.all(sequences.map((s) => outbox.delivered(s)));
  t.same(seen, [1, 2, 3, 4, 5]);
  t.equal(outbox.pending, 0);
});

t.test('while the receiver is down the head is retried with back-off, and nothing overtakes it', async (t) => {
  const { outbox, clock } = await open(t, tempDir(t));
  let up = false;
  const seen: number[] = [];
  let attempts = 0;
  outbox.start(async (item) => {
    attempts++;
    if (!up) throw new Error('owner unreachable');
    seen.push(item.n);
  });
  await outbox.enqueue({ n: 1 });
  await outbox.enqueue({ n: 2 });
  await until(() => attempts === 1);
  clock.advance(99);
  t.equal(attempts, 1, 'no retry before the back-off');
  clock.advance(1);
  await until(() => attempts === 2);
  t.equal(attempts, 2);
  up = true;
  clock.advance(200);
  await until(() => seen.length === 2);
  t.same(seen, [1, 2]);
});

t.test('pending items survive a restart and are delivered in order afterwards', async (t) => {
  const dir = tempDir(t);
  const first = await open(t, dir);
  first.outbox.start(async () => {
    throw new Error('down');
  });
  for (const n of [1, 2, 3]) await first.outbox.enqueue({ n });
  await first.close();

  const second = await open(t, dir);
  t.equal(second.outbox.pending, 3);
  const seen: number[] = [];
  second.outbox.start(async (item) => void seen.push(item.n));
  const next = await second.outbox.enqueue({ n: 4 });
  await second.outbox.delivered(next);
  t.same(seen, [1, 2, 3, 4]);
});

t.test('an item refused for good goes to the dead letters, its waiter hears why, and the rest go on', async (t) => {
  const { outbox, db } = await open(t, tempDir(t));
  const seen: number[] = [];
  outbox.start(
    async (item) => {
      if (item.n === 2) throw Object.assign(new Error('tampered'), { permanent: true });
      seen.push(item.n);
    },
    (err) => (err as { permanent?: boolean }).permanent === true,
  );
  const sequences = [];
  for (const n of [1, 2, 3]) sequences.push(await outbox.enqueue({ n }));
  await t.rejects(outbox.delivered(sequences[1]!), { message: 'tampered' });
  await outbox.delivered(sequences[2]!);
  t.same(seen, [1, 3]);
  const dead: unknown[] = [];
  for await (const [, entry] of db.section('dead').entries()) dead.push(entry);
  t.match(dead, [{ item: { n: 2 }, error: 'tampered' }]);
});

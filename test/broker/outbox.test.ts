import t, { type Test } from 'tap';
import { Outbox, type Deliver } from '../../src/broker/outbox.js';
import { Database } from '../../src/storage.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { tempDir } from '../helpers/test-servient.js';

async function open(t: Test, dir: string, clock = new ManualClock(), batchSize = 64) {
  const db = await Database.open(dir);
  const outbox = new Outbox<{ n: number }>({ section: db.section('outbox'), deadLetters: db.section('dead'), clock }, { backoffMs: [100, 200], batchSize });
  await outbox.open();
  const close = async () => {
    await outbox.stop();
    await db.close();
  };
  t.teardown(close);
  return { outbox, db, clock, close };
}

/** Enqueues one item; resolves with its sequence number. */
async function one(outbox: Outbox<{ n: number }>, item: { n: number }): Promise<number> {
  const [sequence] = await outbox.enqueue([item]);
  return sequence!;
}

/** Waits until `condition` holds (bounded: about two seconds). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** Lets pending I/O and callbacks run, without waiting for anything in particular. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** A batch delivery made of a per-item one: each item's error, or undefined when it went through. */
function eachOf(deliver: (item: { n: number }) => void): Deliver<{ n: number }> {
  return async (items) => ({
    failures: items.map((item) => {
      try {
        deliver(item);
        return undefined;
      } catch (err) {
        return err;
      }
    }),
  });
}

t.test('items are delivered once each, in enqueue order, in batches of at most the batch size', async (t) => {
  const { outbox } = await open(t, tempDir(t), new ManualClock(), 2);
  const batches: number[][] = [];
  const sequences = await Promise.all([1, 2, 3, 4, 5].map((n) => one(outbox, { n })));
  outbox.start(async (items) => {
    batches.push(items.map((item) => item.n));
    return { failures: items.map(() => undefined) };
  });
  await Promise.all(sequences.map((s) => outbox.delivered(s)));
  t.same(batches, [[1, 2], [3, 4], [5]]);
  t.equal(outbox.pending, 0);
});

t.test('while the receiver is down the batch is retried with back-off, and nothing overtakes it', async (t) => {
  const { outbox, clock } = await open(t, tempDir(t));
  let up = false;
  const batches: number[][] = [];
  outbox.start(async (items) => {
    batches.push(items.map((item) => item.n));
    if (!up) throw new Error('owner unreachable');
    return { failures: items.map(() => undefined) };
  });
  await one(outbox, { n: 1 });
  await until(() => batches.length === 1);
  await one(outbox, { n: 2 });
  clock.advance(99);
  await settle();
  t.equal(batches.length, 1, 'no retry before the back-off, and the newer item waits behind the head');
  clock.advance(1);
  await until(() => batches.length === 2);
  t.same(batches[1], [1, 2], 'the retry carries the head first, then what queued behind it');
  up = true;
  clock.advance(200);
  await until(() => outbox.pending === 0);
  t.same(batches[2], [1, 2]);
  t.equal(outbox.pending, 0);
});

t.test('in a batch, what went through is done and only the failed items are retried', async (t) => {
  const { outbox, clock } = await open(t, tempDir(t));
  let failing = true;
  const seen: number[] = [];
  const sequences = await Promise.all([1, 2, 3].map((n) => one(outbox, { n })));
  outbox.start(
    eachOf((item) => {
      if (item.n === 2 && failing) throw new Error('owner of 2 unreachable');
      seen.push(item.n);
    }),
  );
  await outbox.delivered(sequences[2]!);
  await outbox.delivered(sequences[0]!);
  t.same(seen, [1, 3]);
  t.equal(outbox.pending, 1, 'only item 2 waits');
  failing = false;
  clock.advance(100);
  await outbox.delivered(sequences[1]!);
  t.same(seen, [1, 3, 2], 'each item went through exactly once');
});

t.test('pending items survive a restart and are delivered in order afterwards', async (t) => {
  const dir = tempDir(t);
  const first = await open(t, dir);
  first.outbox.start(async () => {
    throw new Error('down');
  });
  for (const n of [1, 2, 3]) await one(first.outbox, { n });
  await first.close();

  const second = await open(t, dir);
  t.equal(second.outbox.pending, 3);
  const seen: number[] = [];
  second.outbox.start(eachOf((item) => void seen.push(item.n)));
  const next = await one(second.outbox, { n: 4 });
  await second.outbox.delivered(next);
  t.same(seen, [1, 2, 3, 4]);
});

t.test('an item refused for good goes to the dead letters, its waiter hears why, and the rest go on', async (t) => {
  const { outbox, db } = await open(t, tempDir(t));
  const seen: number[] = [];
  const sequences = [];
  for (const n of [1, 2, 3]) sequences.push(await one(outbox, { n }));
  outbox.start(
    eachOf((item) => {
      if (item.n === 2) throw Object.assign(new Error('tampered'), { permanent: true });
      seen.push(item.n);
    }),
    (err) => (err as { permanent?: boolean }).permanent === true,
  );
  await t.rejects(outbox.delivered(sequences[1]!), { message: 'tampered' });
  await outbox.delivered(sequences[2]!);
  t.same(seen, [1, 3]);
  t.equal(outbox.pending, 0);
  const dead: unknown[] = [];
  for await (const [, entry] of db.section('dead').entries()) dead.push(entry);
  t.match(dead, [{ item: { n: 2 }, error: 'tampered' }]);
});

t.test('items enqueued together are written in one batch with what they record, and a full outbox admits nothing more', async (t) => {
  const dir = tempDir(t);
  const db = await Database.open(dir);
  t.teardown(() => db.close());
  const values = db.section('values');
  const outbox = new Outbox<{ n: number }>({ section: db.section('outbox'), deadLetters: db.section('dead'), clock: new ManualClock() }, { maxPending: 3 });
  await outbox.open();
  const sequences = await outbox.enqueue([{ n: 1 }, { n: 2 }], [values.prepare([{ type: 'put', key: 'lamp/on', value: true }])]);
  t.same(sequences, [0, 1]);
  t.equal(await values.get('lamp/on'), true, 'the value was written with its items');
  t.doesNotThrow(() => outbox.admit(1), 'one more fits');
  t.throws(() => outbox.admit(2), { code: 'FLOWCHAIN_ERR_BUSY' }, 'two more would pass maxPending');
  const changes: number[] = [];
  const off = outbox.onChange((pending) => changes.push(pending));
  const also: number[] = [];
  outbox.onChange((pending) => also.push(pending));
  await outbox.enqueue([{ n: 3 }]);
  off();
  await outbox.enqueue([]);
  t.same(changes, [3], 'the first listener heard one change, then unsubscribed');
  t.same(also, [3, 3], 'a second listener does not replace the first');
});

t.test('what a delivery asks to write goes into the same batch as the removal of the delivered items', async (t) => {
  const { outbox, db } = await open(t, tempDir(t));
  const notes = db.section('notes');
  const sequence = await one(outbox, { n: 1 });
  outbox.start(async (items) => ({ failures: items.map(() => undefined), alongside: notes.prepare([{ type: 'put', key: 'delivered', value: items.map((i) => i.n) }]) }));
  await outbox.delivered(sequence);
  t.same(await notes.get('delivered'), [1]);
  const left: string[] = [];
  for await (const key of db.section('outbox').keys()) left.push(key);
  t.same(left, [], 'and the item is gone from the outbox');
});

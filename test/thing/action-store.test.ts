/**
 * Asynchronous actions on a real ExposedThing over a real LevelDB: the invocation lifecycle,
 * cancels that race a handler, the kept window, and what a restart reports.
 */
import t, { type Test } from 'tap';
import { Database } from '../../src/storage.js';
import type { ThingDescription } from '../../src/td/thing-description.js';
import { ActionStore, isFinished, KEPT_PER_THING, type ActionStatus } from '../../src/thing/action-store.js';
import { ExposedThing } from '../../src/thing/exposed-thing.js';
import { PropertyStore } from '../../src/thing/property-store.js';
import { ManualClock } from '../helpers/manual-clock.js';

const td: ThingDescription = {
  '@context': 'https://www.w3.org/2022/wot/td/v1.1',
  title: 'Kettle',
  actions: {
    boil: { synchronous: false, input: { type: 'integer', minimum: 1 }, output: { type: 'string' } },
    ping: { output: { type: 'string' } },
  },
};

async function kettle(t: Test, dir = t.testdir()) {
  const database = await Database.open(dir);
  let closed = false;
  t.teardown(async () => {
    if (!closed) await database.close();
  });
  let next = 0;
  const components = { store: new PropertyStore(database.section('properties')), actions: new ActionStore(database.section('actions')), clock: new ManualClock(), newId: () => `id-${++next}` };
  const thing = await ExposedThing.create(components, { slug: 'kettle', id: 'urn:uuid:6f1c2b1e-0000-4000-8000-000000000001', td });
  const close = async () => {
    await thing.stop();
    closed = true;
    await database.close();
  };
  return { thing, close, dir };
}

function finished(thing: ExposedThing, id: string): Promise<ActionStatus> {
  const now = thing.queryAction('boil', id);
  if (isFinished(now)) return Promise.resolve(now);
  return new Promise((resolve) => thing.observeAction('boil', id, (status) => isFinished(status) && resolve(status)));
}

t.test('an invocation goes pending, running, completed with its checked output; observers see each state once it is stored', async (t) => {
  const { thing } = await kettle(t);
  let release!: (output: string) => void;
  thing.setActionHandler('boil', () => new Promise<string>((resolve) => (release = resolve)));
  const seen: string[] = [];
  const started = await thing.startAction('boil', 90);
  t.match(started, { id: 'id-1', action: 'boil', status: 'pending' });
  thing.observeAction('boil', started.id, (status) => seen.push(status.status));
  while (release === undefined) await new Promise((resolve) => setImmediate(resolve));
  t.equal(thing.queryAction('boil', started.id).status, 'running');
  release('boiled at 90');
  t.match(await finished(thing, started.id), { status: 'completed', output: 'boiled at 90' });
  t.same(seen, ['running', 'completed']);
  t.same(thing.queryAllActions(), { boil: [thing.queryAction('boil', started.id)] }, 'queryallactions lists the asynchronous actions only');
});

t.test('an output that does not fit the schema fails the invocation with FLOWCHAIN_ERR_HANDLER_OUTPUT_INVALID; a throwing handler with FLOWCHAIN_ERR_HANDLER_FAILED', async (t) => {
  const { thing } = await kettle(t);
  thing.setActionHandler('boil', () => 42);
  t.match(await finished(thing, (await thing.startAction('boil', 1)).id), { status: 'failed', error: { code: 'FLOWCHAIN_ERR_HANDLER_OUTPUT_INVALID' } });
  thing.setActionHandler('boil', () => {
    throw new Error('the element burnt out');
  });
  t.match(await finished(thing, (await thing.startAction('boil', 1)).id), { status: 'failed', error: { code: 'FLOWCHAIN_ERR_HANDLER_FAILED' } });
  await t.rejects(thing.startAction('boil', 0), { code: 'FLOWCHAIN_ERR_VALUE_INVALID' }, 'input is checked before anything is stored');
  t.equal(thing.queryAllActions().boil!.length, 2);
});

t.test('a cancel wins over a result that comes later; the handler is told through its signal', async (t) => {
  const { thing } = await kettle(t);
  let signal: AbortSignal | undefined;
  let release!: (output: string) => void;
  thing.setActionHandler('boil', (_params, options) => {
    signal = options.signal;
    return new Promise<string>((resolve) => (release = resolve));
  });
  const started = await thing.startAction('boil', 90);
  while (signal === undefined) await new Promise((resolve) => setImmediate(resolve));
  await thing.cancelAction('boil', started.id);
  t.equal(signal.aborted, true);
  release('boiled anyway');
  await new Promise((resolve) => setImmediate(resolve));
  t.match(thing.queryAction('boil', started.id), { status: 'failed', error: { code: 'FLOWCHAIN_ERR_ACTION_CANCELLED' } });
  await t.rejects(thing.cancelAction('boil', started.id), { code: 'FLOWCHAIN_ERR_ACTION_FINISHED' });
  await t.rejects(thing.cancelAction('boil', 'id-99'), { code: 'FLOWCHAIN_ERR_ACTION_NOT_FOUND' });
  t.throws(() => thing.queryAction('ping', started.id), { code: 'FLOWCHAIN_ERR_ACTION_NOT_FOUND' }, 'an id is known only under its own action');
});

t.test('cancelled while pending, the handler never runs', async (t) => {
  const { thing } = await kettle(t);
  let ran = false;
  thing.setActionHandler('boil', () => ((ran = true), 'boiled'));
  const started = await thing.startAction('boil', 90);
  await thing.cancelAction('boil', started.id);
  t.match(await finished(thing, started.id), { status: 'failed', error: { code: 'FLOWCHAIN_ERR_ACTION_CANCELLED' } });
  t.equal(ran, false);
});

t.test(`each Thing keeps its newest ${KEPT_PER_THING} invocations: the oldest finished ones make room, in memory and on disk`, async (t) => {
  const { thing, close, dir } = await kettle(t);
  thing.setActionHandler('boil', () => 'boiled');
  let last = '';
  for (let i = 0; i < KEPT_PER_THING + 5; i++) {
    last = (await thing.startAction('boil', 1)).id;
    await finished(thing, last);
  }
  const kept = thing.queryAllActions().boil!;
  t.equal(kept.length, KEPT_PER_THING);
  t.equal(kept[0]!.id, 'id-6', 'the five oldest were dropped');
  t.throws(() => thing.queryAction('boil', 'id-1'), { code: 'FLOWCHAIN_ERR_ACTION_NOT_FOUND' });
  await close();
  const again = await kettle(t, dir);
  t.equal(again.thing.queryAllActions().boil!.length, KEPT_PER_THING, 'the same window after a restart');
  t.equal(again.thing.queryAction('boil', last).status, 'completed');
});

t.test('after a restart an invocation that was running is failed with FLOWCHAIN_ERR_ACTION_INTERRUPTED, and stays so', async (t) => {
  const dir = t.testdir();
  const first = await kettle(t, dir);
  let signal: AbortSignal | undefined;
  first.thing.setActionHandler('boil', (_params, options) => ((signal = options.signal), new Promise<string>(() => undefined)));
  const started = await first.thing.startAction('boil', 90);
  while (signal === undefined) await new Promise((resolve) => setImmediate(resolve));
  await first.close();
  t.equal(signal.aborted, true, 'stopping the Thing told the handler');
  const again = await kettle(t, dir);
  t.match(again.thing.queryAction('boil', started.id), { status: 'failed', error: { code: 'FLOWCHAIN_ERR_ACTION_INTERRUPTED' } });
});

t.test(`with ${KEPT_PER_THING} invocations unfinished a new one is refused with FLOWCHAIN_ERR_BUSY, and nothing is stored for it`, async (t) => {
  const { thing } = await kettle(t);
  thing.setActionHandler('boil', () => new Promise<string>(() => undefined));
  for (let i = 0; i < KEPT_PER_THING; i++) await thing.startAction('boil', 1);
  await t.rejects(thing.startAction('boil', 1), { code: 'FLOWCHAIN_ERR_BUSY' });
  t.equal(thing.queryAllActions().boil!.length, KEPT_PER_THING);
});

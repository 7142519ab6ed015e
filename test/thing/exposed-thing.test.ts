import t, { type Test } from 'tap';
import { FlowchainError } from '../../src/errors.js';
import { Database } from '../../src/storage.js';
import type { ThingDescription } from '../../src/td/thing-description.js';
import type { ChangeJournal, JournalReceipt, RecordedChange } from '../../src/thing/change-journal.js';
import { ExposedThing, type ExposureHost, type PropertyChange, type ThingEvent } from '../../src/thing/exposed-thing.js';
import { PropertyStore } from '../../src/thing/property-store.js';
import { ManualClock } from '../helpers/manual-clock.js';

const td: ThingDescription = {
  '@context': 'https://www.w3.org/2022/wot/td/v1.1',
  title: 'Test device',
  properties: {
    level: { type: 'integer', minimum: 0, maximum: 10, observable: true },
    mode: { type: 'string', enum: ['a', 'b'] },
    reading: { type: 'number', readOnly: true, observable: true },
    pin: { type: 'string', writeOnly: true },
  },
  actions: {
    bump: { input: { type: 'object', properties: { by: { type: 'integer', minimum: 1 } }, required: ['by'] }, output: { type: 'integer' } },
    explode: {},
    silent: {},
  },
  events: { alarm: { data: { type: 'string' } } },
};

type Warning = [object, string];

async function setup(t: Test, options: { dir?: string; journal?: ChangeJournal; host?: ExposureHost; handlerTimeoutMs?: number; warnings?: Warning[] } = {}) {
  const database = await Database.open(options.dir ?? t.testdir());
  const store = new PropertyStore(database.section('properties'));
  const clock = new ManualClock();
  const thing = await ExposedThing.create(
    { store, clock, ...(options.journal ? { journal: options.journal } : {}), ...(options.host ? { host: options.host } : {}), ...(options.warnings ? { log: { warn: (obj: object, msg: string) => options.warnings!.push([obj, msg]) } } : {}) },
    { slug: 'dev', id: 'urn:dev:1', td, ...(options.handlerTimeoutMs ? { handlerTimeoutMs: options.handlerTimeoutMs } : {}) },
  );
  t.teardown(() => database.close());
  return { thing, store, database, clock };
}

/** Lets pending promise callbacks and timers of the event loop run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('a property without a read handler reads as its last value; one with a handler reads what it answers', async (t) => {
  const { thing } = await setup(t);
  t.equal(await thing.readProperty('level'), null, 'never set: null');
  await thing.writeProperty('level', 3);
  t.equal(await thing.readProperty('level'), 3);
  let reading = 0.5;
  thing.setPropertyReadHandler('reading', () => reading);
  reading = 0.7;
  t.equal(await thing.readProperty('reading'), 0.7, 'the handler is asked at each read');
  t.same(await thing.readAllProperties(), { level: 3, mode: null, reading: 0.7 }, 'read all leaves out writeOnly');
  t.same(await thing.readMultipleProperties(['mode', 'reading']), { mode: null, reading: 0.7 });
  await t.rejects(thing.readProperty('pin'), { code: 'FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY' });
  await t.rejects(thing.readProperty('nope'), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', field: 'nope' });
  await t.rejects(thing.readProperty('__proto__'), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' }, 'no prototype lookups');
  await t.rejects(thing.readMultipleProperties(['level', 'pin']), { code: 'FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY' });
});

t.test('readPropertyNow answers a handler that answers at once without a promise, and fails as readProperty does', async (t) => {
  const { thing } = await setup(t);
  thing.setPropertyReadHandler('reading', () => 0.25);
  t.equal(thing.readPropertyNow('reading'), 0.25, 'the value itself, not a promise');
  thing.setPropertyReadHandler('reading', async () => 0.5);
  const later = thing.readPropertyNow('reading');
  t.ok(later instanceof Promise, 'an asynchronous handler: a promise');
  t.equal(await later, 0.5);
  thing.setPropertyReadHandler('reading', async () => 'hot');
  await t.rejects(thing.readPropertyNow('reading') as Promise<unknown>, { code: 'FLOWCHAIN_ERR_HANDLER_OUTPUT_INVALID', field: 'reading' }, 'its answer is checked too');
  thing.setPropertyReadHandler('reading', () => 'hot');
  t.throws(() => thing.readPropertyNow('reading'), { code: 'FLOWCHAIN_ERR_HANDLER_OUTPUT_INVALID', field: 'reading' });
  thing.setPropertyReadHandler('reading', () => {
    throw new Error('sensor unplugged');
  });
  t.throws(() => thing.readPropertyNow('reading'), { code: 'FLOWCHAIN_ERR_HANDLER_FAILED' });
  await t.rejects(thing.readProperty('reading'), { code: 'FLOWCHAIN_ERR_HANDLER_FAILED' }, 'readProperty rejects instead');
  t.throws(() => thing.readPropertyNow('pin'), { code: 'FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY' });
});

t.test('handlers can only be set for affordances the TD declares, and no write handler on a read-only property', async (t) => {
  const { thing } = await setup(t);
  t.throws(() => thing.setPropertyReadHandler('nope', () => 1), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', field: 'nope' });
  t.throws(() => thing.setPropertyWriteHandler('reading', () => undefined), { code: 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY', field: 'reading' });
  t.throws(() => thing.setActionHandler('nope', () => 1), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' });
});

t.test('an accepted write reaches its handler as an InteractionOutput, is stored and announced', async (t) => {
  const { thing, store } = await setup(t);
  const applied: unknown[] = [];
  thing.setPropertyWriteHandler('level', async (value) => {
    t.equal(value.dataUsed, false);
    applied.push(await value.value());
    t.equal(value.dataUsed, true);
    t.equal(new TextDecoder().decode(await value.arrayBuffer()), '7');
    t.match(value.schema, { type: 'integer', maximum: 10 });
  });
  const changes: PropertyChange[] = [];
  thing.observeProperty('level', (c) => changes.push(c));
  await thing.writeProperty('level', 7);
  t.equal(await thing.readProperty('level'), 7);
  t.same(applied, [7]);
  t.same(await store.load('dev'), new Map([['level', 7]]));
  t.match(changes, [{ thing: 'dev', name: 'level', value: 7 }]);
});

t.test('rejected writes never reach a handler and change nothing', async (t) => {
  const { thing, store } = await setup(t);
  const applied: unknown[] = [];
  thing.setPropertyWriteHandler('level', async (v) => void applied.push(await v.value()));
  await t.rejects(thing.writeProperty('level', 11), { code: 'FLOWCHAIN_ERR_VALUE_INVALID', field: 'level' });
  await t.rejects(thing.writeProperty('reading', 1), { code: 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY', field: 'reading' });
  await t.rejects(thing.writeProperty('nope', 1), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' });
  await t.rejects(thing.writeMultipleProperties({ level: 3, mode: 'z' }), { code: 'FLOWCHAIN_ERR_VALUE_INVALID', field: 'mode' });
  t.equal(await thing.readProperty('level'), null, 'the valid half of a failed write-multiple was not applied');
  t.same(applied, []);
  t.equal((await store.load('dev')).size, 0);
});

t.test('write multiple stores all values in one batch', async (t) => {
  const { thing, store } = await setup(t);
  await thing.writeMultipleProperties({ level: 4, mode: 'b' });
  t.same(await thing.readMultipleProperties(['level', 'mode']), { level: 4, mode: 'b' });
  t.same(await store.load('dev'), new Map<string, unknown>([['level', 4], ['mode', 'b']]));
});

t.test('a write handler that throws fails the write with FLOWCHAIN_ERR_HANDLER_FAILED and leaves value and storage as they were', async (t) => {
  const { thing, store } = await setup(t);
  await thing.writeProperty('level', 2);
  const applied: [string, unknown][] = [];
  thing.setPropertyWriteHandler('mode', async (v) => void applied.push(['mode', await v.value()]));
  thing.setPropertyWriteHandler('level', async (v) => {
    const value = await v.value();
    if (value === 9) throw new Error('bus error at /dev/i2c-1');
    applied.push(['level', value]);
  });
  const failure = await thing.writeMultipleProperties({ mode: 'b', level: 9 }).catch((err: unknown) => err);
  t.match(failure, { code: 'FLOWCHAIN_ERR_HANDLER_FAILED' });
  t.notMatch((failure as Error).message, /i2c/, 'the handler\'s own message is not shown to the consumer');
  t.same(applied, [['mode', 'b']], 'mode was applied before level failed (it had no earlier value to put back)');
  t.equal(await thing.readProperty('level'), 2);
  t.same(await store.load('dev'), new Map([['level', 2]]));
  thing.setPropertyWriteHandler('level', () => {
    throw new FlowchainError('FLOWCHAIN_ERR_VALUE_INVALID', 'the valve cannot open that far', { field: 'level' });
  });
  await t.rejects(thing.writeProperty('level', 5), { code: 'FLOWCHAIN_ERR_VALUE_INVALID', message: 'the valve cannot open that far' }, 'a Flowchain error keeps its code');
});

t.test('a handler that throws while an earlier value is given back does not replace the write\'s own failure', async (t) => {
  const { thing } = await setup(t);
  await thing.writeMultipleProperties({ mode: 'a', level: 1 });
  const given: unknown[] = [];
  // Synchronous: the give-back of 'a' throws before any promise exists.
  thing.setPropertyWriteHandler('mode', () => {
    given.push('called');
    if (given.length > 1) throw new FlowchainError('FLOWCHAIN_ERR_VALUE_INVALID', 'cannot go back', { field: 'mode' });
  });
  thing.setPropertyWriteHandler('level', () => {
    throw new Error('stuck');
  });
  await t.rejects(thing.writeMultipleProperties({ mode: 'b', level: 3 }), { code: 'FLOWCHAIN_ERR_HANDLER_FAILED' }, 'the failure is the level handler\'s');
  t.equal(given.length, 2, 'mode was applied, then given back (and that refused)');
  t.same(await thing.readMultipleProperties(['mode', 'level']), { mode: 'a', level: 1 }, 'nothing of the failed write is kept');
});

t.test('a handler that does not answer in time is FLOWCHAIN_ERR_HANDLER_TIMEOUT, and the Thing goes on serving', async (t) => {
  const { thing, clock } = await setup(t, { handlerTimeoutMs: 2_000 });
  thing.setPropertyReadHandler('reading', () => new Promise<number>(() => undefined));
  thing.setPropertyWriteHandler('level', () => new Promise<void>(() => undefined));
  const read = thing.readProperty('reading');
  const write = thing.writeProperty('level', 1);
  await settle();
  clock.advance(1_999);
  await settle();
  clock.advance(1);
  await t.rejects(read, { code: 'FLOWCHAIN_ERR_HANDLER_TIMEOUT' });
  await t.rejects(write, { code: 'FLOWCHAIN_ERR_HANDLER_TIMEOUT' });
  thing.setPropertyWriteHandler('level', () => undefined);
  await thing.writeProperty('level', 4);
  t.equal(await thing.readProperty('level'), 4, 'the next write goes through');
});

t.test('a value a handler answers that the TD does not allow is FLOWCHAIN_ERR_HANDLER_OUTPUT_INVALID, never sent on', async (t) => {
  const { thing } = await setup(t);
  thing.setPropertyReadHandler('reading', () => 'hot');
  await t.rejects(thing.readProperty('reading'), { code: 'FLOWCHAIN_ERR_HANDLER_OUTPUT_INVALID', field: 'reading' });
  thing.setActionHandler('bump', () => 2.5);
  await t.rejects(thing.invokeAction('bump', { by: 1 }), { code: 'FLOWCHAIN_ERR_HANDLER_OUTPUT_INVALID', field: 'bump' });
  await t.rejects(thing.emitPropertyChange('level', 99), { code: 'FLOWCHAIN_ERR_HANDLER_OUTPUT_INVALID', field: 'level' });
  t.throws(() => thing.emitEvent('alarm', 42), { code: 'FLOWCHAIN_ERR_HANDLER_OUTPUT_INVALID', field: 'alarm' });
  t.equal(await thing.readProperty('level'), null, 'the invalid change was not taken');
});

t.test('stored values survive a reopen and are the last values a device starts from', async (t) => {
  const dir = t.testdir();
  {
    const { thing, database } = await setup(t, { dir });
    await thing.writeProperty('level', 9);
    await database.close();
  }
  const { thing } = await setup(t, { dir });
  t.equal(thing.lastValue('level'), 9);
  t.equal(await thing.readProperty('level'), 9);
});

t.test('writes reach their handler and the store in the order they arrived', async (t) => {
  const { thing, store } = await setup(t);
  const applied: unknown[] = [];
  thing.setPropertyWriteHandler('level', async (v) => {
    // A slow first write must not be overtaken.
    if ((await v.value()) === 1) await settle();
    applied.push(await v.value());
  });
  await Promise.all([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((v) => thing.writeProperty('level', v)));
  t.same(applied, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  t.equal(await thing.readProperty('level'), 10);
  t.same(await store.load('dev'), new Map([['level', 10]]));
});

t.test('actions check input, run their handler, and store the changes they cause before replying', async (t) => {
  const { thing, store } = await setup(t);
  thing.setActionHandler('bump', async (params) => {
    const { by } = (await params.value()) as { by: number };
    const level = ((thing.lastValue('level') as number | undefined) ?? 1) + by;
    void thing.emitPropertyChange('level', level);
    return level;
  });
  thing.setActionHandler('explode', () => {
    throw new Error('boom');
  });
  t.equal(await thing.invokeAction('bump', { by: 2 }), 3);
  t.same(await store.load('dev'), new Map([['level', 3]]), 'the change the action made was stored before it answered');
  await t.rejects(thing.invokeAction('bump', { by: 0 }), { code: 'FLOWCHAIN_ERR_VALUE_INVALID', field: 'bump/by' });
  await t.rejects(thing.invokeAction('bump', undefined), { code: 'FLOWCHAIN_ERR_VALUE_INVALID', field: 'bump' });
  await t.rejects(thing.invokeAction('explode', undefined), { code: 'FLOWCHAIN_ERR_HANDLER_FAILED' });
  await t.rejects(thing.invokeAction('silent', undefined), { code: 'FLOWCHAIN_ERR_NOT_IMPLEMENTED', field: 'silent' });
  await t.rejects(thing.invokeAction('nope', undefined), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' });
});

t.test('readings are announced but not stored; unchanged values are not announced; without a value the read handler is asked', async (t) => {
  const { thing, store, clock } = await setup(t);
  const seen: PropertyChange[] = [];
  const stop = thing.observeProperty('reading', (c) => seen.push(c));
  await thing.emitPropertyChange('reading', 0.75);
  await thing.emitPropertyChange('reading', 0.75);
  clock.advance(1000);
  await thing.emitPropertyChange('reading', 0.8);
  thing.setPropertyReadHandler('reading', () => 0.85);
  await thing.emitPropertyChange('reading');
  stop();
  await thing.emitPropertyChange('reading', 0.9);
  t.same(seen.map((c) => c.value), [0.75, 0.8, 0.85]);
  t.equal(seen[1]!.timestamp - seen[0]!.timestamp, 1000, 'timestamps come from the injected clock');
  t.equal((await store.load('dev')).size, 0);
  t.equal(thing.lastValue('reading'), 0.9);
});

t.test('observe needs an observable property; events need a declared event', async (t) => {
  const { thing } = await setup(t);
  t.throws(() => thing.observeProperty('mode', () => {}), { code: 'FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED' });
  t.throws(() => thing.subscribeEvent('nope', () => {}), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' });
  const events: ThingEvent[] = [];
  const stop = thing.subscribeEvent('alarm', (e) => events.push(e));
  thing.emitEvent('alarm', 'smoke');
  stop();
  thing.emitEvent('alarm', 'again');
  t.match(events, [{ thing: 'dev', name: 'alarm', data: 'smoke' }]);
  t.equal(events.length, 1);
});

t.test('expose and destroy go through the host; a destroyed Thing ends its streams and cannot come back', async (t) => {
  const calls: string[] = [];
  const host: ExposureHost = { expose: async (th) => void calls.push(`expose ${th.slug}`), destroy: async (th) => void calls.push(`destroy ${th.slug}`) };
  const { thing } = await setup(t, { host });
  t.equal(thing.exposed, false);
  await thing.expose();
  await thing.expose();
  t.equal(thing.exposed, true);
  let ended = 0;
  thing.onDestroy(() => ended++);
  const seen: unknown[] = [];
  thing.observeProperty('level', (c) => seen.push(c.value));
  await thing.destroy();
  await thing.destroy();
  t.same(calls, ['expose dev', 'destroy dev'], 'each once');
  t.equal(ended, 1, 'stream listeners heard of it');
  await thing.emitPropertyChange('level', 5);
  t.same(seen, [], 'observers were dropped');
  await t.rejects(thing.expose(), { code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' });
});

/** A journal that writes what it is given and answers as the test says: stored, refused, or full. */
function scriptedJournal() {
  const recorded: RecordedChange[][] = [];
  const journal = {
    refuse: new Set<string>(),
    full: false,
    admit(count: number) {
      if (journal.full && count > 0) throw new FlowchainError('FLOWCHAIN_ERR_BUSY', 'full');
    },
    async record(changes: readonly RecordedChange[], options: Parameters<ChangeJournal['record']>[1]) {
      await options.alongside?.commit();
      recorded.push([...changes]);
      const receipts = changes.map((c, i): JournalReceipt => ({ key: `${recorded.length}-${i}`, property: c.property, status: journal.refuse.has(`${c.property}=${String(c.value)}`) ? 'refused' : 'stored' }));
      return { acknowledged: async () => (options.wait ? receipts : receipts.map((r) => ({ ...r, status: 'queued' as const }))) };
    },
  };
  return { journal, recorded };
}

t.test('a write whose transaction is refused for good is undone and fails with FLOWCHAIN_ERR_TX_REFUSED', async (t) => {
  const { journal, recorded } = scriptedJournal();
  const { thing, store } = await setup(t, { journal });
  const applied: unknown[] = [];
  thing.setPropertyWriteHandler('level', async (v) => void applied.push(await v.value()));
  await thing.writeProperty('level', 4);
  journal.refuse.add('level=9');
  const seen: unknown[] = [];
  thing.observeProperty('level', (c) => seen.push(c.value));
  await t.rejects(thing.writeProperty('level', 9), { code: 'FLOWCHAIN_ERR_TX_REFUSED', field: 'level' });
  t.equal(await thing.readProperty('level'), 4, 'the value is back to what it was');
  t.same(await store.load('dev'), new Map([['level', 4]]), 'and so is the stored value');
  t.same(applied, [4, 9, 4], 'the device was set back');
  t.same(recorded.at(-1), [{ thing: 'urn:dev:1', property: 'level', value: 4, origin: 'device' }], 'the undo is recorded too');
  t.same(seen, [9, 4], 'observers saw the change and its undoing');
});

t.test('a full journal refuses a write with FLOWCHAIN_ERR_BUSY before anything is applied, and readings are not taken', async (t) => {
  const { journal } = scriptedJournal();
  const { thing, store } = await setup(t, { journal });
  const applied: unknown[] = [];
  thing.setPropertyWriteHandler('level', async (v) => void applied.push(await v.value()));
  await thing.emitPropertyChange('reading', 0.5);
  journal.full = true;
  await t.rejects(thing.writeProperty('level', 8), { code: 'FLOWCHAIN_ERR_BUSY' });
  t.equal(await thing.readProperty('level'), null);
  t.same(applied, [], 'the device never saw it');
  t.same(await store.load('dev'), new Map());
  await thing.emitPropertyChange('reading', 0.9);
  t.equal(await thing.readProperty('reading'), 0.5, 'a reading that cannot be recorded is not taken');
  t.equal(thing.droppedReadings, 1, 'and is counted');
  journal.full = false;
  await thing.emitPropertyChange('reading', 0.9);
  t.equal(await thing.readProperty('reading'), 0.9);
});

t.test('a handler that throws or runs out of time is logged with the Thing, the handler and its error; the consumer gets only the code', async (t) => {
  const warnings: Warning[] = [];
  const { thing, clock } = await setup(t, { warnings, handlerTimeoutMs: 1_000 });
  const fire = new Error('disk on fire');
  thing.setActionHandler('explode', () => {
    throw fire;
  });
  const failed = await thing.invokeAction('explode', undefined).catch((err: unknown) => err as FlowchainError);
  t.match(failed, { code: 'FLOWCHAIN_ERR_HANDLER_FAILED' });
  t.notMatch((failed as Error).message, /disk on fire/, 'what it threw stays off the wire');
  t.same(warnings, [[{ thing: 'dev', handler: 'action handler of explode', err: fire }, 'the action handler of explode of dev failed']], 'and is logged once, with the error itself');
  thing.setPropertyReadHandler('reading', () => new Promise(() => undefined));
  const slow = thing.readProperty('reading');
  clock.advance(1_000);
  await t.rejects(slow, { code: 'FLOWCHAIN_ERR_HANDLER_TIMEOUT' });
  t.match(warnings[1], [{ thing: 'dev', handler: 'read handler of reading' }, /did not answer within 1000 ms/], 'a timeout too');
  thing.setActionHandler('explode', () => {
    throw new FlowchainError('FLOWCHAIN_ERR_VALUE_INVALID', 'not now', { field: 'input' });
  });
  await t.rejects(thing.invokeAction('explode', undefined), { code: 'FLOWCHAIN_ERR_VALUE_INVALID' }, 'an error of the catalogue keeps its code');
  t.equal(warnings.length, 2, 'and is the consumer\'s business, not logged');
});

t.test('observe and subscribe handlers run when the first consumer starts watching and the last one stops; passive followers do not count', async (t) => {
  const warnings: Warning[] = [];
  const { thing } = await setup(t, { warnings });
  const calls: string[] = [];
  thing.setPropertyObserveHandler('level', async () => {
    await settle();
    calls.push('observe level');
  });
  thing.setPropertyUnobserveHandler('level', () => void calls.push('unobserve level'));
  thing.setEventSubscribeHandler('alarm', () => void calls.push('subscribe alarm'));
  thing.setEventUnsubscribeHandler('alarm', () => {
    calls.push('unsubscribe alarm');
    throw new Error('sampler stuck');
  });
  const recorder = thing.observeProperty('level', () => undefined, { passive: true });
  await settle();
  t.same(calls, [], 'a passive follower (the replay log) is not a consumer');
  const first = thing.observeProperty('level', () => undefined);
  const second = thing.observeProperty('level', () => undefined);
  first();
  first();
  await settle();
  await settle();
  t.same(calls, ['observe level'], 'two observers, one leaves (twice): the handler ran once, when the first came');
  second();
  await settle();
  t.same(calls, ['observe level', 'unobserve level'], 'the last one leaves: unobserve, after observe finished');
  const events = thing.subscribeEvent('alarm', () => undefined);
  events();
  await settle();
  t.same(calls.slice(2), ['subscribe alarm', 'unsubscribe alarm'], 'events likewise');
  t.match(warnings, [[{ thing: 'dev', handler: 'unsubscribe handler of alarm' }, /failed/]], 'a handler that throws is logged, and the consumer\'s unsubscribe still worked');
  recorder();
  t.throws(() => thing.setPropertyObserveHandler('mode', () => undefined), { code: 'FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED' }, 'only observable properties take observe handlers');
  t.throws(() => thing.setEventSubscribeHandler('nope', () => undefined), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' });
});

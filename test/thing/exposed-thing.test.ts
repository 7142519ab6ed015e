import t, { type Test } from 'tap';
import { Database } from '../../src/storage.js';
import type { ThingDescription } from '../../src/td/thing-description.js';
import type { DeviceDriver, DriverContext, DriverFactory } from '../../src/thing/drivers/device-driver.js';
import { ExposedThing, type PropertyChange, type ThingEvent } from '../../src/thing/exposed-thing.js';
import type { ChangeJournal, JournalReceipt, RecordedChange } from '../../src/thing/change-journal.js';
import { FlowchainError } from '../../src/errors.js';
import { PropertyStore } from '../../src/thing/property-store.js';
import { createRandom } from '../../src/thing/random.js';
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
  },
  events: { alarm: { data: { type: 'string' } } },
};

/** A scriptable device: records writes, can be told to fail, exposes its context. */
class FakeDevice implements DeviceDriver {
  writes: [string, unknown][] = [];
  failWrites = false;
  constructor(readonly context: DriverContext) {}
  snapshot() {
    return { level: (this.context.stored.get('level') as number | undefined) ?? 1, mode: 'a', reading: 0.5 };
  }
  write(name: string, value: unknown) {
    if (this.failWrites) throw new Error('bus error');
    this.writes.push([name, value]);
  }
  invoke(name: string, input: unknown) {
    if (name === 'explode') throw new Error('boom');
    const level = (this.context.stored.get('level') as number | undefined) ?? 1;
    this.context.report('level', level + (input as { by: number }).by);
    return level + (input as { by: number }).by;
  }
  start() {}
  stop() {}
}

async function setup(t: Test, dir = t.testdir(), journal?: ChangeJournal) {
  const database = await Database.open(dir);
  const store = new PropertyStore(database.section('properties'));
  let device!: FakeDevice;
  const driverFactory: DriverFactory = {
    type: 'fake',
    affordances: { properties: [], actions: [], events: [] },
    create: (context) => (device = new FakeDevice(context)),
  };
  const clock = new ManualClock();
  const thing = await ExposedThing.create({ store, clock, random: createRandom(1), driverFactory, ...(journal ? { journal } : {}) }, { slug: 'dev', id: 'urn:dev:1', td });
  t.teardown(() => database.close());
  return { thing, device, store, database, clock };
}

t.test('reads come from the device snapshot; writeOnly properties cannot be read', async (t) => {
  const { thing } = await setup(t);
  t.equal(thing.readProperty('level'), 1);
  t.same(thing.readAllProperties(), { level: 1, mode: 'a', reading: 0.5 }, 'read all leaves out writeOnly');
  t.same(thing.readMultipleProperties(['mode', 'reading']), { mode: 'a', reading: 0.5 });
  t.throws(() => thing.readProperty('pin'), { code: 'FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY' });
  t.throws(() => thing.readProperty('nope'), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', field: 'nope' });
  t.throws(() => thing.readProperty('__proto__'), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' }, 'no prototype lookups');
});

t.test('an accepted write is stored, applied to the device and announced', async (t) => {
  const { thing, device, store } = await setup(t);
  const changes: PropertyChange[] = [];
  thing.observeProperty('level', (c) => changes.push(c));
  await thing.writeProperty('level', 7);
  t.equal(thing.readProperty('level'), 7);
  t.same(device.writes, [['level', 7]]);
  t.same(await store.load('dev'), new Map([['level', 7]]));
  t.match(changes, [{ thing: 'dev', name: 'level', value: 7 }]);
});

t.test('rejected writes change nothing', async (t) => {
  const { thing, device, store } = await setup(t);
  await t.rejects(thing.writeProperty('level', 11), { code: 'FLOWCHAIN_ERR_VALUE_INVALID', field: 'level' });
  await t.rejects(thing.writeProperty('reading', 1), { code: 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY', field: 'reading' });
  await t.rejects(thing.writeProperty('nope', 1), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' });
  await t.rejects(thing.writeMultipleProperties({ level: 3, mode: 'z' }), { code: 'FLOWCHAIN_ERR_VALUE_INVALID', field: 'mode' });
  t.equal(thing.readProperty('level'), 1, 'the valid half of a failed write-multiple was not applied');
  t.same(device.writes, []);
  t.equal((await store.load('dev')).size, 0);
});

t.test('write multiple stores all values in one batch', async (t) => {
  const { thing, store } = await setup(t);
  await thing.writeMultipleProperties({ level: 4, mode: 'b' });
  t.same(thing.readMultipleProperties(['level', 'mode']), { level: 4, mode: 'b' });
  t.same(await store.load('dev'), new Map<string, unknown>([['level', 4], ['mode', 'b']]));
});

t.test('a device that refuses a write leaves storage and value as they were', async (t) => {
  const { thing, device, store } = await setup(t);
  await thing.writeProperty('level', 2);
  device.failWrites = true;
  await t.rejects(thing.writeProperty('level', 9), { code: 'FLOWCHAIN_ERR_DEVICE_FAILED' });
  t.equal(thing.readProperty('level'), 2);
  t.same(await store.load('dev'), new Map([['level', 2]]));
});

t.test('writes are stored in the order they were accepted', async (t) => {
  const { thing, store } = await setup(t);
  await Promise.all([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((v) => thing.writeProperty('level', v)));
  t.equal(thing.readProperty('level'), 10);
  t.same(await store.load('dev'), new Map([['level', 10]]));
});

t.test('stored values survive a reopen and reach the driver', async (t) => {
  const dir = t.testdir();
  {
    const { thing, database } = await setup(t, dir);
    await thing.writeProperty('level', 9);
    await database.close();
  }
  const { thing } = await setup(t, dir);
  t.equal(thing.readProperty('level'), 9);
});

t.test('actions check input, return output, and store the changes they cause before replying', async (t) => {
  const { thing, store } = await setup(t);
  t.equal(await thing.invokeAction('bump', { by: 2 }), 3);
  t.same(await store.load('dev'), new Map([['level', 3]]), 'the device-side change was stored');
  await t.rejects(thing.invokeAction('bump', { by: 0 }), { code: 'FLOWCHAIN_ERR_VALUE_INVALID', field: 'bump/by' });
  await t.rejects(thing.invokeAction('bump', undefined), { code: 'FLOWCHAIN_ERR_VALUE_INVALID', field: 'bump' });
  await t.rejects(thing.invokeAction('explode', undefined), { code: 'FLOWCHAIN_ERR_DEVICE_FAILED' });
  await t.rejects(thing.invokeAction('nope', undefined), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' });
});

t.test('readings are announced to observers but not stored; unchanged values are not announced', async (t) => {
  const { thing, device, store, clock } = await setup(t);
  const seen: PropertyChange[] = [];
  const stop = thing.observeProperty('reading', (c) => seen.push(c));
  device.context.report('reading', 0.75);
  device.context.report('reading', 0.75);
  clock.advance(1000);
  device.context.report('reading', 0.8);
  stop();
  device.context.report('reading', 0.9);
  t.same(seen.map((c) => c.value), [0.75, 0.8]);
  t.equal(seen[1]!.timestamp - seen[0]!.timestamp, 1000, 'timestamps come from the injected clock');
  t.equal((await store.load('dev')).size, 0);
  t.equal(thing.readProperty('reading'), 0.9);
});

t.test('observe needs an observable property; events need a declared event', async (t) => {
  const { thing, device } = await setup(t);
  t.throws(() => thing.observeProperty('mode', () => {}), { code: 'FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED' });
  t.throws(() => thing.subscribeEvent('nope', () => {}), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' });
  const events: ThingEvent[] = [];
  const stop = thing.subscribeEvent('alarm', (e) => events.push(e));
  device.context.emit('alarm', 'smoke');
  stop();
  device.context.emit('alarm', 'again');
  t.match(events, [{ thing: 'dev', name: 'alarm', data: 'smoke' }]);
  t.equal(events.length, 1);
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
  const { thing, device, store } = await setup(t, t.testdir(), journal);
  await thing.writeProperty('level', 4);
  journal.refuse.add('level=9');
  const seen: unknown[] = [];
  thing.observeProperty('level', (c) => seen.push(c.value));
  await t.rejects(thing.writeProperty('level', 9), { code: 'FLOWCHAIN_ERR_TX_REFUSED', field: 'level' });
  t.equal(thing.readProperty('level'), 4, 'the value is back to what it was');
  t.same(await store.load('dev'), new Map([['level', 4]]), 'and so is the stored value');
  t.same(device.writes.slice(-2), [['level', 9], ['level', 4]], 'the device was set back');
  t.same(recorded.at(-1), [{ thing: 'urn:dev:1', property: 'level', value: 4, origin: 'device' }], 'the undo is recorded too');
  t.same(seen, [9, 4], 'observers saw the change and its undoing');
});

t.test('a full journal refuses a write with FLOWCHAIN_ERR_BUSY before anything is applied, and readings are not taken', async (t) => {
  const { journal } = scriptedJournal();
  const { thing, device, store } = await setup(t, t.testdir(), journal);
  journal.full = true;
  await t.rejects(thing.writeProperty('level', 8), { code: 'FLOWCHAIN_ERR_BUSY' });
  t.equal(thing.readProperty('level'), 1);
  t.same(device.writes, [], 'the device never saw it');
  t.same(await store.load('dev'), new Map());
  device.context.report('reading', 0.9);
  t.equal(thing.readProperty('reading'), 0.5, 'a reading that cannot be recorded is not taken');
  t.equal(thing.droppedReadings, 1, 'and is counted');
  journal.full = false;
  device.context.report('reading', 0.9);
  t.equal(thing.readProperty('reading'), 0.9);
});

import t from 'tap';
import { loadTdSchema } from '../../src/bundled.js';
import type { RegisteredThing } from '../../src/directory/ring-directory.js';
import { TdDirectory, type DirectoryChange, type RegistrationRing } from '../../src/directory/td-directory.js';
import type { ThingEntry } from '../../src/directory/thing-entry.js';
import { TdValidator } from '../../src/td/td-validator.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { MemorySection } from '../helpers/memory-section.js';

const VALIDATOR = new TdValidator(loadTdSchema());

const td = (title: string, extra: Record<string, unknown> = {}) => ({
  '@context': 'https://www.w3.org/2022/wot/td/v1.1',
  title,
  securityDefinitions: { nosec_sc: { scheme: 'nosec' } },
  security: 'nosec_sc',
  ...extra,
});

/** A ring directory that records what is published and answers with given entries. */
class RecordingRing implements RegistrationRing {
  readonly published = new Map<string, RegisteredThing | null>();
  readonly remote = new Map<string, ThingEntry>();
  async register(thing: RegisteredThing): Promise<void> {
    this.published.set(thing.thingId, thing);
  }
  async unregister(thingId: string): Promise<void> {
    this.published.set(thingId, null);
  }
  async entryOf(thingId: string): Promise<ThingEntry | undefined> {
    return this.remote.get(thingId);
  }
  async entries(): Promise<ThingEntry[]> {
    return [...this.remote.values()];
  }
  isOwn(): boolean {
    return false;
  }
}

function directory(section = new MemorySection(), clock = new ManualClock(), ring = new RecordingRing()) {
  let n = 0;
  const tdd = new TdDirectory({ section, clock, validator: VALIDATOR, ring, randomUuid: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, isHosted: (id) => id === 'urn:example:hosted' });
  return { tdd, section, clock, ring };
}

t.test('a registration is stored, published into the ring with its registration info, and announced', async (t) => {
  const { tdd, section, clock, ring } = directory();
  const changes: DirectoryChange[] = [];
  tdd.onChange((change) => changes.push(change));
  t.equal(await tdd.put('urn:example:a', td('A', { registration: { ttl: 30 } })), true);
  t.match(section.data.get('urn:example:a'), { id: 'urn:example:a', created: clock.now(), modified: clock.now(), ttl: 30, expires: clock.now() + 30_000 });
  t.notOk('registration' in (section.data.get('urn:example:a') as { td: object }).td, 'the client\'s registration member is not stored in the TD');
  t.match(ring.published.get('urn:example:a'), { thingId: 'urn:example:a', registration: { created: clock.now(), modified: clock.now(), ttl: 30 }, expires: clock.now() + 30_000 });
  clock.advance(1_000);
  t.equal(await tdd.put('urn:example:a', td('A2')), false, 'a replacement');
  t.equal(ring.published.get('urn:example:a')?.expires, null, 'without a ttl it never expires');
  t.same(changes.map((c) => c.type), ['thing_created', 'thing_updated']);
  t.match(changes[1]?.diff, { title: 'A2', registration: { modified: new Date(clock.now()).toISOString(), ttl: null, expires: null } }, 'the update as a merge patch of the served TD');
});

t.test('writes are serialized: two concurrent PUTs of a new id create once and replace once', async (t) => {
  const { tdd } = directory();
  const results = await Promise.all([tdd.put('urn:example:b', td('one')), tdd.put('urn:example:b', td('two'))]);
  t.same(results, [true, false]);
  t.equal(tdd.get('urn:example:b')?.td.title, 'two');
});

t.test('expiry: an expired registration is not served, and the purge timer deletes it and announces thing_deleted', async (t) => {
  const { tdd, section, clock, ring } = directory();
  const deleted: string[] = [];
  tdd.onChange((change) => change.type === 'thing_deleted' && deleted.push(change.id));
  await tdd.put('urn:example:c', td('C', { registration: { ttl: 5 } }));
  tdd.start();
  t.teardown(() => tdd.stop());
  clock.advance(5_000);
  t.equal(tdd.get('urn:example:c'), undefined, 'not served once expired');
  clock.advance(5_000);
  await t.resolves(tdd.purge());
  t.same(deleted, ['urn:example:c']);
  t.notOk(section.data.has('urn:example:c'), 'deleted from the database');
  t.equal(ring.published.get('urn:example:c'), null, 'withdrawn from the ring');
});

t.test('open() loads what was stored, drops what expired meanwhile, and publishes the rest', async (t) => {
  const first = directory();
  await first.tdd.put('urn:example:kept', td('Kept'));
  await first.tdd.put('urn:example:brief', td('Brief', { registration: { ttl: 1 } }));
  first.clock.advance(2_000);
  const ring = new RecordingRing();
  const second = directory(first.section, first.clock, ring);
  await second.tdd.open();
  t.same(second.tdd.list().map((r) => r.id), ['urn:example:kept']);
  t.notOk(first.section.data.has('urn:example:brief'));
  t.same([...ring.published.keys()], ['urn:example:kept'], 'handed to the ring directory');
});

t.test('anonymous TDs get urn:uuid ids from the injected generator', async (t) => {
  const { tdd } = directory();
  t.equal(await tdd.create(td('X')), 'urn:uuid:00000000-0000-4000-8000-000000000001');
  t.equal(await tdd.create(td('Y')), 'urn:uuid:00000000-0000-4000-8000-000000000002');
  await t.rejects(tdd.create(td('Z', { id: 'urn:example:z' })), { code: 'FLOWCHAIN_ERR_DIRECTORY_TD_INVALID', field: '/id' });
});

t.test('rights: a hosted Thing, or an entry another node published, is FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN; a withdrawn one is free', async (t) => {
  const { tdd, ring } = directory();
  await t.rejects(tdd.put('urn:example:hosted', td('H')), { code: 'FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN' });
  const entry = { kind: 'td', thingId: 'urn:example:theirs', td: td('Theirs'), host: { id: '0'.repeat(40), key: '0'.repeat(64), url: 'http://other.example/' }, version: 1, expires: 4_102_444_800_000, registration: { created: 0, modified: 0 }, signature: '0'.repeat(128) } as ThingEntry;
  ring.remote.set('urn:example:theirs', entry);
  await t.rejects(tdd.put('urn:example:theirs', td('Mine')), { code: 'FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN' });
  await t.rejects(tdd.remove('urn:example:theirs'), { code: 'FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN' });
  await t.rejects(tdd.patch('urn:example:theirs', { title: 'x' }), { code: 'FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN' });
  t.match(await tdd.find('urn:example:theirs'), { title: 'Theirs', registration: { created: '1970-01-01T00:00:00.000Z' } }, 'but it is served');
  ring.remote.set('urn:example:theirs', { ...entry, td: null });
  t.equal(await tdd.find('urn:example:theirs'), undefined, 'a tombstone is not served');
  t.equal(await tdd.put('urn:example:theirs', td('Mine')), true, 'a withdrawn id can be registered again');
});

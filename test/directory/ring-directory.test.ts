/**
 * The ring's directory as one node holds it (RingDirectory), over a stand-in for the ring store
 * (the real store's announcements and walks are tested in test/dht/ring-store.test.ts, and a
 * ring of real nodes in test/bindings/http/routes/directory-ring.test.ts): announced entries
 * are held and listed without a walk; another publisher's entry for an id held is settled by
 * a quorum read; the walk every syncMs takes what was missed and drops what the ring no longer
 * holds; at most maxHeld entries are held.
 */
import t, { type Test } from 'tap';
import type { RecordKind, RecordStore } from '../../src/common/ring-records.js';
import { RingDirectory } from '../../src/directory/ring-directory.js';
import { signThingEntry, thingKey, type ThingEntry } from '../../src/directory/thing-entry.js';
import { NodeIdentity } from '../../src/node-identity.js';
import type { ThingDescription } from '../../src/td/thing-description.js';
import { ManualClock } from '../helpers/manual-clock.js';

const identity = (byte: number) => NodeIdentity.fromSecretKey(new Uint8Array(32).fill(byte));
const self = identity(1);
const publisher = identity(2);
const squatter = identity(3);
const td = (id: string, title: string) => ({ '@context': 'https://www.w3.org/2022/wot/td/v1.1', id, title, securityDefinitions: { n: { scheme: 'nosec' } }, security: 'n' }) as ThingDescription;

/** The ring store as the directory uses it: what a walk finds, what a quorum read answers, and the announcements it hears. */
class StandInStore implements RecordStore {
  walked: ThingEntry[] = [];
  walks = 0;
  readonly quorum = new Map<string, ThingEntry>();
  readonly quorumReads: string[] = [];
  readonly announced: unknown[] = [];
  hear: (records: readonly (readonly [string, unknown])[]) => void = () => undefined;
  register(_kind: RecordKind): void {}
  async get(key: string): Promise<unknown> {
    this.quorumReads.push(key);
    return this.quorum.get(key);
  }
  async putMany(entries: readonly (readonly [string, unknown])[]): Promise<unknown[]> {
    return entries.map(() => undefined);
  }
  async putOwned(): Promise<never> {
    throw new Error('not used');
  }
  owns(): boolean {
    return true;
  }
  /** A walk waits for this, if set, then fails with `failure`, if set. */
  gate: Promise<void> | undefined;
  failure: Error | undefined;
  async list(): Promise<unknown[]> {
    this.walks++;
    await this.gate;
    if (this.failure) throw this.failure;
    return this.walked;
  }
  async announce(entries: readonly (readonly [string, unknown])[]): Promise<void> {
    this.announced.push(...entries.map(([, value]) => value));
  }
  onAnnounced(_kind: string, listener: (records: readonly (readonly [string, unknown])[]) => void): () => void {
    this.hear = listener;
    return () => undefined;
  }
}

async function started(t: Test, init: { maxHeld?: number } = {}, prepare: (store: StandInStore) => void = () => undefined) {
  const clock = new ManualClock();
  const store = new StandInStore();
  prepare(store);
  const warnings: string[] = [];
  const directory = new RingDirectory({ store, identity: self, clock, log: { warn: (_obj, msg) => void warnings.push(msg) } }, init);
  await directory.start('http://self.example/', []);
  t.teardown(() => directory.stop());
  const entry = (who: NodeIdentity, id: string, title: string, version = 1) =>
    signThingEntry(who, { thingId: id, td: td(id, title), url: 'http://elsewhere.example/', version, expires: clock.now() + 60_000, registration: { created: 0, modified: 0 } });
  const titles = async () => (await directory.entries()).map((held) => `${held.thingId} ${held.td?.title}`).sort();
  const turns = async () => {
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  return { clock, store, directory, warnings, entry, titles, turns };
}

t.test('announced entries are held and listed without a walk; a newer version of the same publisher replaces the older', async (t) => {
  const { store, entry, titles } = await started(t);
  const walks = store.walks;
  store.hear([[thingKey('urn:x'), entry(publisher, 'urn:x', 'one')]]);
  t.same(await titles(), ['urn:x one']);
  store.hear([[thingKey('urn:x'), entry(publisher, 'urn:x', 'two', 2)]]);
  store.hear([[thingKey('urn:x'), entry(publisher, 'urn:x', 'stale', 1)]]);
  t.same(await titles(), ['urn:x two'], 'the newest version, whatever the order of arrival');
  t.equal(store.walks, walks, 'no walk');
});

t.test("another publisher's entry for an id held is settled by the ring's owner and replicas, not by its sender", async (t) => {
  const { clock, store, entry, titles, turns } = await started(t);
  const genuine = entry(publisher, 'urn:x', 'genuine');
  store.hear([[thingKey('urn:x'), genuine]]);
  store.quorum.set(thingKey('urn:x'), genuine);
  store.hear([[thingKey('urn:x'), entry(squatter, 'urn:x', 'squatted', 99)]]);
  await turns();
  t.same(store.quorumReads, [thingKey('urn:x')], 'the ring was asked');
  t.same(await titles(), ['urn:x genuine'], 'and its answer is held');
  // The same publisher outvoted for the same id is not asked about again before the next walk.
  store.hear([[thingKey('urn:x'), entry(squatter, 'urn:x', 'squatted again', 100)]]);
  await turns();
  t.equal(store.quorumReads.length, 1, 'one quorum read for that publisher and id');
  // Had the ring taken the other publisher's (the first one withdrew, say), the walk holds it.
  const taken = entry(squatter, 'urn:x', 'taken over', 101);
  store.walked = [taken];
  clock.advance(30_000);
  await turns();
  t.same(await titles(), ['urn:x taken over']);
  // And the ring's answer to a later dispute is held, whoever's it is.
  store.quorum.set(thingKey('urn:x'), genuine);
  store.hear([[thingKey('urn:x'), genuine]]);
  await turns();
  t.same(await titles(), ['urn:x genuine']);
});

t.test('the walk every syncMs takes what announcements missed and drops what the ring no longer holds; own entries are announced, not held', async (t) => {
  const { clock, store, directory, entry, titles, turns } = await started(t);
  await directory.register({ thingId: 'urn:own', td: td('urn:own', 'own'), registration: { created: 0, modified: 0 }, expires: null });
  t.match(store.announced, [{ thingId: 'urn:own' }], 'a registration here is announced');
  store.hear([[thingKey('urn:gone'), entry(publisher, 'urn:gone', 'gone')]]);
  store.walked = [entry(publisher, 'urn:missed', 'missed')];
  const walks = store.walks;
  clock.advance(29_000);
  await turns();
  t.equal(store.walks, walks, 'not before syncMs');
  clock.advance(1_000);
  await turns();
  t.equal(store.walks, walks + 1, 'then one walk');
  t.same(await titles(), ['urn:missed missed'], 'this node lists its own registrations from its own directory');
});

t.test('at most maxHeld entries are held, and that is said once', async (t) => {
  const { store, entry, titles, warnings } = await started(t, { maxHeld: 2 });
  for (const id of ['urn:a', 'urn:b', 'urn:c', 'urn:d']) store.hear([[thingKey(id), entry(publisher, id, id)]]);
  t.same(await titles(), ['urn:a urn:a', 'urn:b urn:b']);
  t.equal(warnings.filter((w) => /more entries than this node keeps/.test(w)).length, 1);
});

t.test('an entry announced while a walk runs is kept when the walk ends without it', async (t) => {
  let open: () => void = () => undefined;
  const { clock, store, entry, titles, turns } = await started(t);
  store.gate = new Promise((resolve) => (open = resolve));
  clock.advance(30_000);
  await turns();
  store.hear([[thingKey('urn:new'), entry(publisher, 'urn:new', 'new')]]);
  open();
  await turns();
  t.same(await titles(), ['urn:new new']);
});

t.test("one member's announcements alone bring in at most 1,000 new ids between walks", async (t) => {
  const { store, entry, directory } = await started(t);
  for (let i = 0; i < 1_005; i++) store.hear([[thingKey(`urn:flood:${i}`), entry(squatter, `urn:flood:${i}`, 'flood')]]);
  store.hear([[thingKey('urn:honest'), entry(publisher, 'urn:honest', 'honest')]]);
  const held = await directory.entries();
  t.equal(held.filter((e) => e.thingId.startsWith('urn:flood:')).length, 1_000);
  t.ok(held.some((e) => e.thingId === 'urn:honest'), "another member's still get in");
});

t.test('until a walk of the ring succeeds, a listing walks and fails with its error', async (t) => {
  const { store, directory } = await started(t, {}, (s) => void (s.failure = Object.assign(new Error('no member answered'), { code: 'FLOWCHAIN_ERR_PEER_UNREACHABLE' })));
  const walks = store.walks;
  await t.rejects(directory.entries(), { code: 'FLOWCHAIN_ERR_PEER_UNREACHABLE' });
  t.equal(store.walks, walks + 1, 'it walked again');
  store.failure = undefined;
  t.same(await directory.entries(), []);
});

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
  async list(): Promise<unknown[]> {
    this.walks++;
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

async function started(t: Test, init: { maxHeld?: number } = {}) {
  const clock = new ManualClock();
  const store = new StandInStore();
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
  const { store, entry, titles, turns } = await started(t);
  const genuine = entry(publisher, 'urn:x', 'genuine');
  store.hear([[thingKey('urn:x'), genuine]]);
  store.quorum.set(thingKey('urn:x'), genuine);
  store.hear([[thingKey('urn:x'), entry(squatter, 'urn:x', 'squatted', 99)]]);
  await turns();
  t.same(store.quorumReads, [thingKey('urn:x')], 'the ring was asked');
  t.same(await titles(), ['urn:x genuine'], 'and its answer is held');
  // Had the ring taken the other publisher's (the first one withdrew, say), that is held.
  const taken = entry(squatter, 'urn:x', 'taken over', 100);
  store.quorum.set(thingKey('urn:x'), taken);
  store.hear([[thingKey('urn:x'), taken]]);
  await turns();
  t.same(await titles(), ['urn:x taken over']);
});

t.test('the walk every syncMs takes what announcements missed and drops what the ring no longer holds; own entries stay', async (t) => {
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
  t.same(await titles(), ['urn:missed missed', 'urn:own own']);
});

t.test('at most maxHeld entries are held, and that is said once', async (t) => {
  const { store, entry, titles, warnings } = await started(t, { maxHeld: 2 });
  for (const id of ['urn:a', 'urn:b', 'urn:c', 'urn:d']) store.hear([[thingKey(id), entry(publisher, id, id)]]);
  t.same(await titles(), ['urn:a urn:a', 'urn:b urn:b']);
  t.equal(warnings.filter((w) => /more entries than this node keeps/.test(w)).length, 1);
});

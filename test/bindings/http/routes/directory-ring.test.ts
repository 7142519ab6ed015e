// The directory is ring-wide: three real servients (LevelDB, mutual TLS, manual clocks) in one
// process, each listing and serving the Things and registrations of every node.
import t from 'tap';
import { signThingEntry, thingKey, type ThingEntry } from '../../../../src/directory/thing-entry.js';
import type { ThingDescription } from '../../../../src/td/thing-description.js';
import { ringOfThree, settleRing as settle, type TestServient } from '../../../helpers/test-servient.js';
import { assertProblem, body, remoteLampTd } from '../fixtures.js';

const LAMP_ID = 'urn:example:ring-lamp';
const LAMP_URL = `/things/${encodeURIComponent(LAMP_ID)}`;
const LAMP = remoteLampTd(LAMP_ID, { title: 'Ring lamp' });

async function ids(node: TestServient, query = ''): Promise<string[]> {
  const res = await node.servient.app.inject({ method: 'GET', url: `/things${query}` });
  return body<ThingDescription[]>(res).map((td) => td.id as string);
}

/** Advances every clock 2.5 s (a node walks the ring for its directory every 30 s of its clock). */
function tick(nodes: readonly TestServient[]): void {
  for (const { clock } of nodes) clock.advance(2_500);
}

t.test('ring-wide directory: listing, retrieval, rights, forged entries, and a node that leaves', async (t) => {
  const nodes = await ringOfThree(t);
  const [a, b, c] = nodes as [TestServient, TestServient, TestServient];
  const hostedBy = (node: TestServient) => node.servient.registry.list().map((thing) => thing.id);

  t.test('GET /things on any node lists the hosted Things of every node; ?scope=local only its own', async (t) => {
    // Each node published its entries as it started, while the ring was still forming: some
    // reach their owners only with a later publication (every 30 s of its clock). Bounded.
    const every = nodes.flatMap(hostedBy);
    let listed: string[] = [];
    for (let round = 0; round < 40; round++) {
      tick(nodes);
      listed = await ids(a);
      if (every.every((id) => listed.includes(id))) break;
      await settle(nodes, () => false, 100);
    }
    for (const node of nodes) for (const id of hostedBy(node)) t.ok(listed.includes(id), `A lists ${id}`);
    t.equal(listed.length, 15, 'each Thing once');
    t.same(await ids(a, '?scope=local'), hostedBy(a));
    const remote = hostedBy(b)[2]!;
    const res = await a.servient.app.inject({ method: 'GET', url: `/things/${encodeURIComponent(remote)}` });
    t.equal(res.statusCode, 200, 'GET /things/{id} of a Thing hosted on B, at A');
    t.equal(body<ThingDescription>(res).base, b.servient.url, 'its forms point at B');
  });

  t.test('a TD PUT on B is read back from C, and only B may change it (403 at C)', async (t) => {
    const put = await b.servient.app.inject({ method: 'PUT', url: LAMP_URL, payload: JSON.stringify(LAMP), headers: { 'content-type': 'application/td+json' } });
    t.equal(put.statusCode, 201);
    const got = await c.servient.app.inject({ method: 'GET', url: LAMP_URL });
    t.equal(got.statusCode, 200);
    t.match(body<ThingDescription>(got), { id: LAMP_ID, title: 'Ring lamp', registration: { created: new Date(b.clock.now()).toISOString() } });
    // B announced the change to every member as it published it: C lists it from what it holds.
    const store = c.servient.ring.store;
    const walk = store.list.bind(store);
    let walks = 0;
    store.list = (kind) => (walks++, walk(kind));
    t.teardown(() => void (store.list = walk));
    t.ok((await ids(c)).includes(LAMP_ID), 'C lists it at once');
    t.equal(walks, 0, 'without walking the ring');
    assertProblem(t, await c.servient.app.inject({ method: 'PUT', url: LAMP_URL, payload: JSON.stringify({ ...LAMP, title: 'Stolen' }), headers: { 'content-type': 'application/td+json' } }), { status: 403, code: 'FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN' });
    assertProblem(t, await c.servient.app.inject({ method: 'DELETE', url: LAMP_URL }), { status: 403, code: 'FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN' });
    const bHosted = encodeURIComponent(hostedBy(b)[0]!);
    assertProblem(t, await c.servient.app.inject({ method: 'DELETE', url: `/things/${bHosted}` }), { status: 403, code: 'FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN' });
    t.equal(body<ThingDescription>(await a.servient.app.inject({ method: 'GET', url: LAMP_URL })).title, 'Ring lamp', 'unchanged');
  });

  t.test('a forged or tampered entry is refused by the ring', async (t) => {
    const stored = (await c.servient.directory.entryOf(LAMP_ID)) as ThingEntry;
    // A newer version with a changed TD under B's signature, offered to the key's owner by a node that is not it.
    const tampered = { ...stored, version: stored.version + 1, td: { ...stored.td, title: 'Tampered' } };
    const sender = [a, c].find((node) => !node.servient.ring.store.owns(thingKey(LAMP_ID)))!;
    const [refused] = await sender.servient.ring.store.putMany([[thingKey(LAMP_ID), tampered]]);
    t.match(refused, { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID' }, 'the owner refuses it');
    // C signs its own entry for B's Thing: valid, but the stored one is B's and stays.
    const forged = signThingEntry(c.servient.ring.identity, { thingId: LAMP_ID, td: { ...LAMP, title: 'Forged' } as ThingDescription, url: c.servient.url!, version: stored.version + 1, expires: c.clock.now() + 86_400_000, registration: { created: 0, modified: 0 } });
    const [conflict] = await c.servient.ring.store.putMany([[thingKey(LAMP_ID), forged]]);
    t.match(conflict, { code: 'FLOWCHAIN_ERR_RING_RECORD_CONFLICT' }, 'refused with a code');
    t.equal(((await a.servient.directory.entryOf(LAMP_ID)) as ThingEntry).td?.title, 'Ring lamp', 'B\'s entry stays');
    // Both announced to every member (A and B are C's direct targets in a ring of three, so they
    // have answered when announce() resolves): A takes neither in place of B's entry.
    const arrived: ThingEntry[] = [];
    const off = a.servient.ring.store.onAnnounced('td', (records) => arrived.push(...records.map(([, entry]) => entry as ThingEntry)));
    t.teardown(off);
    await c.servient.ring.store.announce([[thingKey(LAMP_ID), tampered]]);
    t.same(arrived, [], 'the tampered entry is refused on arrival');
    const store = a.servient.ring.store;
    const read = store.get.bind(store);
    const quorumReads: Promise<unknown>[] = [];
    store.get = (key, options) => {
      const answer = read(key, options);
      if (key === thingKey(LAMP_ID) && options?.quorum === true) quorumReads.push(answer);
      return answer;
    };
    t.teardown(() => void (store.get = read));
    await c.servient.ring.store.announce([[thingKey(LAMP_ID), forged]]);
    t.same(arrived.map((entry) => entry.td?.title), ['Forged'], 'the forged one is validly signed, so it arrives');
    t.equal(quorumReads.length, 1, 'A asks the ring which entry it holds');
    await Promise.allSettled(quorumReads);
    await new Promise((resolve) => setImmediate(resolve));
    t.same(body<ThingDescription[]>(await a.servient.app.inject({ method: 'GET', url: '/things' })).filter((td) => td.id === LAMP_ID).map((td) => td.title), ['Ring lamp'], 'but A still lists B\'s');
    const listed = body<ThingDescription[]>(await a.servient.app.inject({ method: 'GET', url: '/things' })).filter((td) => td.id === LAMP_ID);
    t.same(listed.map((td) => td.title), ['Ring lamp']);
  });

  t.test('when B leaves, its registration stays readable from the others; its hosted Things disappear within their TTL', async (t) => {
    const bThings = hostedBy(b);
    await b.servient.stop();
    const rest = [a, c];
    await settle(rest, () => rest.every(({ servient }) => servient.ring.describe().successors.length === 1));
    const got = await c.servient.app.inject({ method: 'GET', url: LAMP_URL });
    t.equal(got.statusCode, 200, 'a replica serves the registration');
    t.equal(body<ThingDescription>(got).title, 'Ring lamp');
    // The hosted Things' entries expire 90 s after B last published them.
    // Time passes a second at a time, so C's refreshes (every 30 s) reach the ring as they would.
    for (let second = 0; second < 91; second++) {
      for (const { clock } of rest) clock.advance(1_000);
      for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    }
    const listed = await ids(a);
    for (const id of bThings) t.notOk(listed.includes(id), `${id} is gone`);
    t.ok(listed.includes(LAMP_ID), 'the registration (no ttl) is still listed');
    for (const id of hostedBy(c)) t.ok(listed.includes(id), `C's ${id} is still listed (C refreshes its entries)`);
  });
});

import t from 'tap';
import { ChordNode } from '../../src/dht/chord-node.js';
import { MemoryNetwork } from '../../src/dht/memory-transport.js';
import { RING } from '../../src/dht/ring-space.js';
import { RingStore } from '../../src/dht/ring-store.js';
import type { PeerRequest, PeerTarget } from '../../src/dht/transport.js';
import { MemorySection } from '../helpers/memory-section.js';
import { counter, note, NOTES, sealed, tally } from '../helpers/ring-records.js';
import { RingSimulation } from '../helpers/ring-simulation.js';

async function grow(sim: RingSimulation, count: number): Promise<void> {
  await sim.grow(count);
  await sim.rounds(3);
}

async function writeNotes(sim: RingSimulation, count: number): Promise<Map<string, unknown>> {
  const written = new Map<string, unknown>();
  for (let i = 0; i < count; i++) {
    const [key, value] = note({ n: i, text: `value ${i}`, seed: sim.random.next() });
    t.same(await sim.randomStore().putMany([[key, value]]), [undefined]);
    written.set(key, value);
  }
  return written;
}

async function missing(sim: RingSimulation, written: Map<string, unknown>): Promise<number> {
  let lost = 0;
  for (const [key, value] of written) {
    const found = await sim.randomStore().get(key);
    if (JSON.stringify(found) !== JSON.stringify(value)) lost++;
  }
  return lost;
}

t.test('a record put from any node is stored at SUCCESSOR(key), replicated to r successors, and readable from any node', async (t) => {
  const sim = new RingSimulation(31);
  await grow(sim, 16);
  const [key, value] = note({ hello: 'ring' });
  t.same(await sim.randomStore().putMany([[key, value]]), [undefined]);
  const holders = sim.nodes.filter((n) => sim.stores.get(n)!.section.data.has(key));
  t.equal(holders.length, 5, 'the owner and its four successors hold it');
  t.ok(holders.some((n) => n.self.id === sim.owner(RING.fromHex(key))), 'the owner is one of them');
  t.same(await sim.randomStore().get(key), value);
  t.equal(await sim.randomStore().get(note('never written')[0]), undefined, 'an unknown key is undefined');
});

t.test('a key is written once, unless its kind says a newer record replaces the stored one', async (t) => {
  const sim = new RingSimulation(32);
  await grow(sim, 8);
  const store = sim.randomStore();
  const [key, two] = counter('visits', 2);
  await store.putMany([[key, two]]);
  await store.putMany([counter('visits', 1)]);
  t.same(await sim.randomStore().get(key), two, 'a lower count does not replace a higher one');
  await store.putMany([counter('visits', 5)]);
  t.same((await sim.randomStore().get(key)) as { count: number }, counter('visits', 5)[1], 'a higher one does');
  const owner = sim.nodes.find((n) => n.self.id === sim.owner(RING.fromHex(key)))!;
  const { existing } = await sim.stores.get(owner)!.store.putOwned([counter('visits', 3)]);
  t.same(existing, [counter('visits', 5)[1]], 'putOwned reports what the key held');
});

t.test('churn: no stored record is lost when 25% of the nodes crash at once', async (t) => {
  const sim = new RingSimulation(33, 12);
  await grow(sim, 64);
  const written = await writeNotes(sim, 300);
  const victims = [...sim.nodes].sort(() => sim.random.next() - 0.5).slice(0, 16);
  sim.kill(victims);
  for (let round = 0; round < 40 && !(sim.isConsistentRing() && sim.successorListsAreTrue()); round++) await sim.rounds(1);
  await sim.rounds(3);
  t.ok(sim.isConsistentRing());
  t.equal(await missing(sim, written), 0, 'every one of 300 records is still readable');
  t.equal(sim.misplaced(written.keys()), 0, 'every record sits at its current owner');
});

t.test('a joining node takes over the records it now owns', async (t) => {
  const sim = new RingSimulation(34);
  await grow(sim, 8);
  const written = await writeNotes(sim, 100);
  await grow(sim, 8);
  t.equal(await missing(sim, written), 0);
  t.equal(sim.misplaced(written.keys()), 0, 'each record moved to the node that owns it now');
});

t.test('a leaving node hands its records to its successor and the ring closes at once', async (t) => {
  const sim = new RingSimulation(36);
  await grow(sim, 16);
  const written = await writeNotes(sim, 100);
  for (let i = 0; i < 4; i++) await sim.leave(sim.randomNode());
  t.ok(sim.isConsistentRing(), 'successor pointers are right without a maintenance round');
  t.equal(await missing(sim, written), 0, 'no record was lost');
  t.equal(sim.misplaced(written.keys()), 0, 'each record sits at its new owner');
});

t.test('forged, unknown, reserved, oversized and misaddressed records are refused with codes and store nothing', async (t) => {
  const sim = new RingSimulation(35);
  await grow(sim, 4);
  const node = sim.nodes[0]!;
  const section = sim.stores.get(node)!.section;
  const before = section.data.size;
  const mine = (record: [string, unknown]) => sim.owner(RING.fromHex(record[0])) === node.self.id;
  const other = sim.nodes.find((n) => n !== node && n !== sim.nodes[1])!.self;
  // A record of this node's own keys, offered by another member through a plain put.
  let own = note({ n: 0 });
  for (let i = 1; !mine(own); i++) own = note({ n: i });
  const [key, value] = own;
  const put = (entries: unknown) => node.handle({ type: 'store-put-many', entries }, other);
  await t.rejects(put([[key, { kind: 'note', body: { n: 'changed' } }]]), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID' }, 'a body that is not the key\'s');
  await t.rejects(put([[key, { ...value, kind: 'malware' }]]), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID' }, 'a kind the ring does not store');
  await t.rejects(put([[key, 17]]), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID' }, 'not a record');
  let owned = sealed({ n: 0 });
  for (let i = 1; !mine(owned); i++) owned = sealed({ n: i });
  await t.rejects(put([owned]), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID' }, 'a record only its owner\'s flow writes');
  let big = note({ text: 'x'.repeat(20_000) });
  for (let i = 0; !mine(big); i++) big = note({ text: 'x'.repeat(20_000), i });
  await t.rejects(put([big]), { code: 'FLOWCHAIN_ERR_RING_VALUE_TOO_LARGE' });
  await t.rejects(put('all'), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID' });
  await t.rejects(put([['nope', value]]), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID' });
  let theirs = note({ n: 1000 });
  for (let i = 1001; mine(theirs); i++) theirs = note({ n: i });
  await t.rejects(put([theirs]), { code: 'FLOWCHAIN_ERR_RING_NOT_OWNER' }, 'a key this node does not own');
  // Replication of a key from a member that cannot own it: some node this one knows lies between.
  const stranger = sim.nodes.find((n) => n !== node)!.self;
  let misplaced = note({ n: 2000 });
  const implausible = (record: [string, unknown]) => sim.owner(RING.fromHex(record[0])) !== stranger.id && !mine(record);
  for (let i = 2001; !implausible(misplaced); i++) misplaced = note({ n: i });
  await t.rejects(node.handle({ type: 'store-replicate', entries: [misplaced] }, stranger), { code: 'FLOWCHAIN_ERR_RING_NOT_OWNER' }, 'a replica taken only from a plausible owner');
  await t.rejects(node.handle({ type: 'store-replicate', entries: [[key, { kind: 'note', body: 'forged' }]] }, stranger), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID' });
  t.equal(section.data.size, before, 'nothing was stored');
  t.same(await put([own]), { replicas: 3 }, 'the genuine record is taken');
});

t.test('what a member can make another store is bounded by its quota', async (t) => {
  const sim = new RingSimulation(38, 4, { quotaBytesPerSecond: 1_000, quotaBurstBytes: 2_000 });
  await grow(sim, 3);
  const node = sim.nodes[0]!;
  const other = sim.nodes[1]!.self;
  const mine = (record: [string, unknown]) => sim.owner(RING.fromHex(record[0])) === node.self.id;
  const records: [string, unknown][] = [];
  for (let i = 0; records.length < 12; i++) {
    const record = note({ i, pad: 'p'.repeat(300) });
    if (mine(record)) records.push(record);
  }
  let refused = 0;
  for (const record of records) {
    await node.handle({ type: 'store-put-many', entries: [record] }, other).catch((err: { code?: string }) => {
      t.equal(err.code, 'FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED');
      refused++;
    });
  }
  t.ok(refused >= 5, `past the burst the member is refused (${refused} of 12)`);
  const stored = records.filter(([key]) => sim.stores.get(node)!.section.data.has(key)).length;
  t.equal(stored, 12 - refused, 'a refused record is not stored');
  sim.clock.advance(2_000);
  t.same(await node.handle({ type: 'store-put-many', entries: [records.at(-1)!] }, other), { replicas: 2 }, 'the quota refills with time');
});

t.test('a reader never takes a forged record for an answer, and expired records drop out', async (t) => {
  const sim = new RingSimulation(39);
  await grow(sim, 4);
  const [key, value] = note({ precious: true });
  await sim.randomStore().putMany([[key, value]]);
  for (const node of sim.nodes) {
    const { section } = sim.stores.get(node)!;
    if (section.data.has(key)) section.data.set(key, { kind: 'note', body: { precious: false } });
  }
  await t.rejects(sim.randomStore().get(key), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID' }, 'every copy was tampered with: an error, not a value');
  const [ckey, fleeting] = counter('fleeting', 1, sim.clock.now() + 5_000);
  await sim.randomStore().putMany([[ckey, fleeting]]);
  t.same(await sim.randomStore().get(ckey), fleeting);
  sim.clock.advance(6_000);
  t.equal(await sim.randomStore().get(ckey), undefined, 'an expired record is not served: it is gone');
  await t.rejects(sim.randomStore().putMany([counter('late', 1, sim.clock.now() - 1)]), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID' }, 'nor taken');
});

t.test('replication messages stay within half the peer frame limit; records within a quarter', async (t) => {
  const sim = new RingSimulation(37);
  const network = new MemoryNetwork();
  const sizes: number[] = [];
  const nodes = [10n, 2n ** 159n].map((id) => {
    const self = { id, url: `mem://${id}` };
    const inner = network.transportFor(self);
    const transport = {
      request: (target: PeerTarget, request: PeerRequest) => {
        if (request.type === 'store-replicate') sizes.push(Buffer.byteLength(JSON.stringify(request.entries)));
        return inner.request(target, request);
      },
    };
    const node = new ChordNode({ transport, space: RING, clock: sim.clock }, { self });
    const store = new RingStore({ node, transport, section: new MemorySection(), clock: sim.clock, space: RING }, { maxPayload: 4_096 });
    store.register(NOTES);
    network.listen(self.url, (request, sender) => node.handle(request, sender));
    return { node, store };
  });
  await nodes[0]!.node.join();
  await nodes[1]!.node.join(nodes[0]!.node.self.url);
  for (let i = 0; i < 4; i++) for (const { node } of nodes) await node.maintain();
  await t.rejects(nodes[0]!.store.putMany([note('x'.repeat(1_100))]), { code: 'FLOWCHAIN_ERR_RING_VALUE_TOO_LARGE' });
  for (let i = 0; i < 20; i++) t.same(await nodes[0]!.store.putMany([note(`${i}${'v'.repeat(900)}`)]), [undefined]);
  sizes.length = 0;
  await nodes[1]!.node.leave(); // hands everything it owns to node 0 in bounded messages
  for (const { node } of nodes) await node.maintain();
  t.ok(sizes.length > 0 && sizes.every((size) => size <= 2_048), `largest replication message ${Math.max(0, ...sizes)} bytes`);
});

t.test('list(kind) walks the ring and gives every record of a listed kind once, from its owner, newest version', async (t) => {
  const sim = new RingSimulation(41);
  await grow(sim, 12);
  const written = new Map<string, unknown>();
  for (let i = 0; i < 40; i++) {
    const [key, value] = tally(`tally ${i}`, 1);
    t.same(await sim.randomStore().putMany([[key, value]]), [undefined]);
    written.set(key, value);
  }
  const [bumpedKey, bumped] = tally('tally 7', 9);
  await sim.randomStore().putMany([[bumpedKey, bumped]]);
  written.set(bumpedKey, bumped);
  await writeNotes(sim, 5);
  for (let i = 0; i < 3; i++) {
    const listed = (await sim.randomStore().list('tally')) as { name: string; count: number }[];
    t.equal(listed.length, 40, 'each record once (replicas are not listed twice), no record of another kind');
    t.same(new Set(listed.map((r) => r.name)), new Set([...written.values()].map((r) => (r as { name: string }).name)));
    t.equal(listed.find((r) => r.name === 'tally 7')?.count, 9, 'the replacing record');
  }
  await t.rejects(sim.randomStore().list('note'), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID' }, 'a kind that is not listed');
});

t.test('list(kind) leaves out expired records and records that no longer prove themselves, and survives a crashed member', async (t) => {
  const sim = new RingSimulation(42);
  await grow(sim, 8);
  await sim.randomStore().putMany([tally('short', 1, sim.clock.now() + 5_000), tally('kept', 1), tally('tampered', 1)]);
  const reader = sim.stores.get(sim.nodes[0]!)!.store;
  t.equal((await reader.list('tally')).length, 3);
  // The owner's disk is changed behind its back: other nodes refuse what it sends.
  const [tamperedKey] = tally('tampered', 1);
  const owner = sim.nodes.find((n) => n.self.id === sim.owner(RING.fromHex(tamperedKey)))!;
  const lister = sim.nodes.find((n) => n !== owner)!;
  sim.stores.get(owner)!.section.data.set(tamperedKey, { kind: 'tally', name: 'forged', count: 1 });
  sim.clock.advance(6_000);
  const names = ((await sim.stores.get(lister)!.store.list('tally')) as { name: string }[]).map((r) => r.name);
  t.same(names, ['kept'], 'neither the expired nor the tampered record');
  const [keptKey] = tally('kept', 1);
  const keptOwner = sim.nodes.find((n) => n.self.id === sim.owner(RING.fromHex(keptKey)))!;
  sim.kill([keptOwner]);
  await sim.rounds(3);
  const survivor = sim.stores.get(sim.nodes[0]!)!.store;
  t.same(((await survivor.list('tally')) as { name: string }[]).map((r) => r.name).filter((n) => n === 'kept'), ['kept'], 'a replica answers for the crashed owner');
});

import t from 'tap';
import { ChordNode } from '../../src/dht/chord-node.js';
import { MemoryNetwork } from '../../src/dht/memory-transport.js';
import { RING } from '../../src/dht/ring-space.js';
import { RingStore } from '../../src/dht/ring-store.js';
import type { PeerRequest, PeerTarget } from '../../src/dht/transport.js';
import type { RecordKind } from '../../src/common/ring-records.js';
import { FlowchainError } from '../../src/errors.js';
import { MemorySection } from '../helpers/memory-section.js';
import { counter, COUNTERS, note, NOTES, sealed, tally } from '../helpers/ring-records.js';
import { RingSimulation } from '../helpers/ring-simulation.js';
import { ManualClock } from '../helpers/manual-clock.js';

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

/** A claim on a name, vouched for by who made it (as Thing entries are by their publisher's key). */
interface Claim {
  readonly kind: 'claim';
  readonly name: string;
  readonly by: string;
  readonly version: number;
}
const CLAIMS: RecordKind<Claim> = {
  kind: 'claim',
  check(key, value) {
    const claim = value as Partial<Claim> | null;
    if (claim?.kind !== 'claim' || typeof claim.name !== 'string' || counter(claim.name, 0)[0] !== key || typeof claim.by !== 'string' || typeof claim.version !== 'number') {
      throw new FlowchainError('FLOWCHAIN_ERR_RING_RECORD_INVALID', 'a claim is stored under the SHA-1 of its name', { field: 'name' });
    }
    return claim as Claim;
  },
  replaces: (offered, stored) => offered.by === stored.by && offered.version > stored.version,
  voucher: (claim) => claim.by,
};
const claim = (name: string, by: string, version: number): [string, Claim] => [counter(name, 0)[0], { kind: 'claim', name, by, version }];

/** Makes `node` answer requests of `type` with `answer` instead of the truth: a member that lies. */
function lie(node: ChordNode, type: string, answer: (request: PeerRequest) => Record<string, unknown>): void {
  const honest = node.handle.bind(node);
  node.handle = (request, sender) => (request.type === type ? Promise.resolve(answer(request)) : honest(request, sender));
}

t.test('a reader asks the replicas when the owner says "not found" or answers a forged record, and "not found" only when they agree', async (t) => {
  const sim = new RingSimulation(51);
  await grow(sim, 8);
  const [key, value] = note({ acknowledged: 'write' });
  await sim.randomStore().putMany([[key, value]]);
  const owner = sim.nodes.find((n) => n.self.id === sim.owner(RING.fromHex(key)))!;
  const reader = sim.stores.get(sim.nodes.find((n) => n !== owner)!)!.store;
  lie(owner, 'store-get', () => ({ found: false }));
  t.same(await reader.get(key), value, 'the owner\'s "not found" is checked with the replicas');
  lie(owner, 'store-get', () => ({ found: true, value: { kind: 'note', body: { acknowledged: 'forged' } } }));
  t.same(await reader.get(key), value, 'a forged answer is not believed; the replicas answer');
  for (const node of sim.nodes) if (node !== owner) sim.stores.get(node)!.section.data.delete(key);
  lie(owner, 'store-get', () => ({ found: false }));
  t.equal(await reader.get(key), undefined, 'not found once owner and replicas agree');
});

t.test('a quorum read believes the voucher most of the owner and its replicas hold, not the owner alone', async (t) => {
  const sim = new RingSimulation(52);
  await grow(sim, 8);
  for (const node of sim.nodes) sim.stores.get(node)!.store.register(CLAIMS);
  const [key, alice] = claim('lamp', 'alice', 1);
  await sim.randomStore().putMany([[key, alice]]);
  const [, alice2] = claim('lamp', 'alice', 2);
  await sim.randomStore().putMany([[key, alice2]]);
  const owner = sim.nodes.find((n) => n.self.id === sim.owner(RING.fromHex(key)))!;
  const reader = sim.stores.get(sim.nodes.find((n) => n !== owner)!)!.store;
  const [, mallory] = claim('lamp', 'mallory', 9);
  lie(owner, 'store-get', () => ({ found: true, value: mallory }));
  t.same(await reader.get(key), mallory, 'a plain read takes the owner\'s sound answer');
  t.same(await reader.get(key, { quorum: true }), alice2, 'a quorum read: the replicas outvote the owner, newest version of their voucher');
});

t.test('a quorum read takes a record that outranks the others by its kind\'s rule over any number of copies of theirs', async (t) => {
  const sim = new RingSimulation(57);
  await grow(sim, 8);
  // A claim that proves itself takes the place of any other voucher's claim (as a Thing entry whose id derives from its host's key does).
  type Proven = Claim & { proven?: boolean };
  const proven = { ...CLAIMS, replaces: (offered: Proven, stored: Proven) => (offered.by === stored.by ? offered.version > stored.version : offered.proven === true && stored.proven !== true) } as RecordKind;
  for (const node of sim.nodes) sim.stores.get(node)!.store.register(proven);
  const [key, mallory] = claim('plug', 'mallory', 1);
  t.same(await sim.randomStore().putMany([[key, mallory]]), [undefined], 'the squatter came first');
  const alice = { ...claim('plug', 'alice', 1)[1], proven: true };
  t.same(await sim.randomStore().putMany([[key, alice]]), [undefined], 'the proven claim is not a conflict: it takes the place');
  const owner = sim.nodes.find((n) => n.self.id === sim.owner(RING.fromHex(key)))!;
  const holders = sim.nodes.filter((n) => sim.stores.get(n)!.section.data.has(key));
  t.ok(holders.length >= 3 && holders.every((n) => (sim.stores.get(n)!.section.data.get(key) as { by: string }).by === 'alice'), 'owner and replicas hold it');
  // Every copy but one replica's goes back to the squatter's, and the owner answers it too.
  const keeper = holders.find((n) => n !== owner)!;
  for (const node of holders) if (node !== keeper) sim.stores.get(node)!.section.data.set(key, mallory);
  lie(owner, 'store-get', () => ({ found: true, value: mallory }));
  const reader = sim.stores.get(sim.nodes.find((n) => n !== owner)!)!.store;
  t.same(await reader.get(key, { quorum: true }), alice, 'one copy of the proven claim outranks the others');
});

t.test('a walk does not believe a member that names a successor past members the walker knows', async (t) => {
  const sim = new RingSimulation(53);
  await grow(sim, 12);
  const names: string[] = [];
  for (let i = 0; i < 40; i++) {
    const [key, value] = tally(`t${i}`, 1);
    await sim.randomStore().putMany([[key, value]]);
    names.push(`t${i}`);
  }
  const reader = sim.nodes[0]!;
  const liar = sim.nodes.find((n) => n !== reader && n.self.id !== reader.table.successor.id)!;
  // "No entries; your successor is you": an honest walk would end at the liar.
  lie(liar, 'store-list', () => ({ entries: [], more: false, successor: { id: RING.toHex(reader.self.id), url: reader.self.url } }));
  const ownedByLiar = names.filter((name) => sim.owner(RING.fromHex(tally(name, 1)[0])) === liar.self.id).length;
  const listed = await sim.stores.get(reader)!.store.list('tally');
  t.equal(listed.length, 40 - ownedByLiar, `every entry but the liar's own ${ownedByLiar} is listed`);
});

t.test('a record another member offers passes its kind\'s own rules first, whatever way it comes in', async (t) => {
  const sim = new RingSimulation(54);
  await grow(sim, 4);
  const vetted: RecordKind = {
    ...NOTES,
    kind: 'vetted',
    check: (key, value) => NOTES.check(key, { ...(value as object), kind: 'note' }),
    admit: async (_key, value) => {
      if ((value as { body: { bad?: boolean } }).body.bad === true) throw new FlowchainError('FLOWCHAIN_ERR_VALUE_INVALID', 'a bad body', { field: 'body' });
    },
  };
  for (const node of sim.nodes) sim.stores.get(node)!.store.register(vetted);
  const node = sim.nodes[0]!;
  const section = sim.stores.get(node)!.section;
  const mine = (key: string) => sim.owner(RING.fromHex(key)) === node.self.id;
  const make = (body: Record<string, unknown>): [string, unknown] => {
    for (let i = 0; ; i++) {
      const [key] = note({ ...body, i });
      if (mine(key)) return [key, { kind: 'vetted', body: { ...body, i } }];
    }
  };
  const bad = make({ bad: true });
  const good = make({ bad: false });
  const other = sim.nodes[1]!.self;
  await t.rejects(node.handle({ type: 'store-put-many', entries: [bad] }, other), { code: 'FLOWCHAIN_ERR_VALUE_INVALID' }, 'a put');
  // Replication from this node's successor (a plausible holder of its keys, handing them back).
  const successor = node.table.successor;
  const reply = await node.handle({ type: 'store-replicate', entries: [bad, good] }, successor);
  t.same(reply, { stored: 1, refused: [{ key: bad[0], error: { code: 'FLOWCHAIN_ERR_VALUE_INVALID', status: 400, title: 'Value does not match the data schema', detail: 'a bad body', field: 'body' } }] }, 'replication: the bad one refused with its code');
  t.notOk(section.data.has(bad[0]), 'and not stored');
  t.ok(section.data.has(good[0]), 'the good one is');
});

t.test('a kind with a longest lifetime refuses records that would count for longer', async (t) => {
  const sim = new RingSimulation(55);
  await grow(sim, 4);
  const leases: RecordKind = { ...COUNTERS, kind: 'lease', check: (key, value) => COUNTERS.check(key, { ...(value as object), kind: 'counter' }), maxLifetimeMs: 60_000 };
  for (const node of sim.nodes) sim.stores.get(node)!.store.register(leases);
  const lease = (name: string, expires: number): [string, unknown] => {
    const [key, value] = counter(name, 1, expires);
    return [key, { ...value, kind: 'lease' }];
  };
  const [refused] = await sim.randomStore().putMany([lease('long', sim.clock.now() + 120_000)]);
  t.match(refused, { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID' }, 'two minutes is past its one-minute lifetime');
  t.same(await sim.randomStore().putMany([lease('short', sim.clock.now() + 30_000)]), [undefined], 'half a minute is taken');
});

t.test('a put of a record another member vouches for is refused with FLOWCHAIN_ERR_RING_RECORD_CONFLICT and changes nothing', async (t) => {
  const sim = new RingSimulation(56);
  await grow(sim, 4);
  for (const node of sim.nodes) sim.stores.get(node)!.store.register(CLAIMS);
  const [key, alice] = claim('door', 'alice', 1);
  t.same(await sim.randomStore().putMany([[key, alice]]), [undefined], 'the first claim is taken');
  const owner = sim.nodes.find((n) => n.self.id === sim.owner(RING.fromHex(key)))!;
  const other = sim.nodes.find((n) => n !== owner)!.self;
  const [other2, otherValue] = note({ beside: 'the claim' });
  const reply = await owner.handle({ type: 'store-put-many', entries: [claim('door', 'mallory', 5)] }, other);
  t.match(reply, { refused: [{ key, error: { code: 'FLOWCHAIN_ERR_RING_RECORD_CONFLICT' } }] }, 'the owner answers the conflict with its code');
  t.match(await sim.randomStore().putMany([claim('door', 'mallory', 6), [other2, otherValue]]), [{ code: 'FLOWCHAIN_ERR_RING_RECORD_CONFLICT' }, undefined], 'through putMany: that entry fails alone, the one beside it is stored');
  t.same(sim.stores.get(owner)!.section.data.get(key), alice, 'alice\'s claim stays');
  t.same(await owner.handle({ type: 'store-put-many', entries: [claim('door', 'alice', 2)] }, other), { replicas: 3 }, 'its own voucher may renew it');
  t.same(await sim.randomStore().get(other2), otherValue);
});

t.test('a node restarted long after its records expired drops them from disk in its first maintenance rounds', async (t) => {
  const clock = new ManualClock();
  // What the node's disk held when it stopped: a record that expires, one that does not.
  const section = new MemorySection();
  const [old, stale] = counter('old', 1, clock.now() + 1_000);
  const [kept, lasting] = counter('kept', 1);
  await section.batch([{ type: 'put', key: old, value: stale }, { type: 'put', key: kept, value: lasting }]);
  clock.advance(30 * 86_400_000);
  // Started again: nothing has been written or read since.
  const network = new MemoryNetwork();
  const self = { id: RING.fromHex('8'.padEnd(40, '0')), url: 'mem://restarted' };
  const node = new ChordNode({ transport: network.transportFor(self), space: RING, clock }, { self, successorListSize: 4 });
  const store = new RingStore({ node, transport: network.transportFor(self), section, clock, space: RING });
  for (const kind of [NOTES, COUNTERS]) store.register(kind);
  network.listen(self.url, (request, sender) => node.handle(request, sender));
  await node.join();
  // The first round reads the whole store (nothing was pushed since start) and learns what
  // expires when; the second drops what has expired.
  await node.maintain();
  await node.maintain();
  t.notOk(section.data.has(old), 'the expired record is gone from disk');
  t.same(section.data.get(kept), lasting, 'the record that does not expire stays');
});

/** Lets every message in flight in a simulation be delivered (forwarding is not awaited by its sender). */
async function quiet(sim: RingSimulation): Promise<void> {
  for (let last = -1; last !== sim.network.delivered; ) {
    last = sim.network.delivered;
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  }
}

t.test('announce() reaches every member once, in one message each, and the same record again costs nothing', async (t) => {
  const sim = new RingSimulation(51);
  await grow(sim, 24);
  await quiet(sim);
  const heard = new Map(sim.nodes.map((node) => [node, [] as unknown[]]));
  for (const node of sim.nodes) sim.stores.get(node)!.store.onAnnounced('tally', (records) => heard.get(node)!.push(...records.map(([, value]) => value)));
  const from = sim.nodes[5]!;
  const [key, value] = tally('announced', 1);
  const before = sim.network.delivered;
  await sim.stores.get(from)!.store.announce([[key, value]]);
  await quiet(sim);
  t.equal(sim.network.delivered - before, sim.nodes.length - 1, 'N-1 messages (El-Ansary broadcast over the routing table)');
  t.same(sim.nodes.filter((node) => node !== from).map((node) => heard.get(node)!.length), Array(sim.nodes.length - 1).fill(1), 'every other member heard it once');
  t.same(heard.get(from), [], 'not the announcer itself');
  t.same(heard.get(sim.nodes[0]!), [value]);
  const again = sim.network.delivered;
  await sim.stores.get(from)!.store.announce([[key, value]]);
  await quiet(sim);
  t.equal(sim.network.delivered, again, 'a record announced lately is not sent again');
  const [newerKey, newer] = tally('announced', 2);
  await sim.stores.get(from)!.store.announce([[newerKey, newer]]);
  await quiet(sim);
  t.ok(sim.nodes.filter((node) => node !== from).every((node) => heard.get(node)!.length === 2), 'a newer version is');
  t.notOk(sim.nodes.some((node) => sim.stores.get(node)!.section.data.has(key)), 'nothing was stored by announcing');
});

t.test('an announcement is checked before it is taken or forwarded: forged, unlisted or malformed ones are refused with codes', async (t) => {
  const sim = new RingSimulation(52);
  await grow(sim, 8);
  await quiet(sim);
  const node = sim.nodes[0]!;
  const other = sim.nodes[3]!.self;
  const heard: unknown[] = [];
  for (const each of sim.nodes) sim.stores.get(each)!.store.onAnnounced('tally', (records) => heard.push(...records));
  const [key, value] = tally('genuine', 1);
  // The whole ring, as the announcer itself hands it to its last target.
  const announce = (entries: unknown, limit: unknown = RING.toHex(other.id)) => node.handle({ type: 'store-announce', entries, limit }, other);
  const sent = sim.network.delivered;
  await t.rejects(announce([[key, { ...value, name: 'another' }]]), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID' }, 'a record that is not its key\'s');
  await t.rejects(announce([note({ n: 1 })]), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID' }, 'a kind that is not listed');
  await t.rejects(announce('all'), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID' });
  await t.rejects(announce([[key, value]], 'nowhere'), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID' }, 'an arc that is not a ring id');
  // An arc from the sender that does not hold this node: no member could have handed it so.
  await t.rejects(announce([[key, value]], RING.toHex(node.self.id)), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID' }, 'an arc ending at this node (the whole ring but the sender\'s part)');
  await t.rejects(sim.stores.get(node)!.store.announce([note({ n: 2 })]), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID' }, 'this node announces only listed kinds');
  await quiet(sim);
  t.same(heard, [], 'nothing was taken');
  t.equal(sim.network.delivered, sent, 'nor forwarded');
  t.same(await announce([[key, value]]), {}, 'the genuine record is taken');
  await quiet(sim);
  const arc = sim.nodes.filter((each) => each === node || RING.between(each.self.id, node.self.id, other.id));
  t.equal(heard.length, arc.length, 'by this node and every member of the arc it was handed (from it to the sender)');
});

t.test('announcements are charged to a quota of the sender\'s own, apart from its writes', async (t) => {
  const sim = new RingSimulation(53, 4, { quotaBytesPerSecond: 1_000, quotaBurstBytes: 2_000, announceBytesPerSecond: 1_000, announceBurstBytes: 2_000 });
  await grow(sim, 3);
  const node = sim.nodes[0]!;
  const other = sim.nodes[1]!.self;
  let refused = 0;
  for (let i = 0; i < 12; i++) {
    const [key, value] = tally(`padded ${i} ${'p'.repeat(300)}`, 1);
    await node.handle({ type: 'store-announce', entries: [[key, value]], limit: RING.toHex(other.id) }, other).catch((err: { code?: string }) => {
      t.equal(err.code, 'FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED');
      refused++;
    });
  }
  t.ok(refused >= 5, `past the burst the member is refused (${refused} of 12)`);
  let own = note({ n: 0 });
  for (let i = 1; sim.owner(RING.fromHex(own[0])) !== node.self.id; i++) own = note({ n: i });
  t.same(await node.handle({ type: 'store-put-many', entries: [own] }, other), { replicas: 2 }, 'its writes have a quota of their own, untouched');
});

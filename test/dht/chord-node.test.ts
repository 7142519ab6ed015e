import fc from 'fast-check';
import t, { type Test } from 'tap';
import { ChordNode } from '../../src/dht/chord-node.js';
import { FlowchainError } from '../../src/errors.js';
import { MemoryNetwork } from '../../src/dht/memory-transport.js';
import { RING } from '../../src/dht/ring-space.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { RingSimulation } from '../helpers/ring-simulation.js';

/**
 * Stabilizes until the ring is one consistent cycle and every successor list is true (lookups
 * are answered from it where it covers the key), bounded.
 */
async function settle(sim: RingSimulation, maxRounds = 40): Promise<number> {
  for (let round = 1; round <= maxRounds; round++) {
    await sim.rounds(1);
    if (sim.isConsistentRing() && sim.successorListsAreTrue()) {
      await sim.rounds(2); // let fingers catch up with the final successors
      return round;
    }
  }
  return -1;
}

async function checkLookups(t: Test, sim: RingSimulation, count: number): Promise<number[]> {
  const hops: number[] = [];
  let wrong = 0;
  for (let i = 0; i < count; i++) {
    const key = sim.randomId();
    const { owner, hops: h } = await sim.randomNode().findSuccessor(key);
    if (owner.id !== sim.owner(key)) wrong++;
    hops.push(h);
  }
  t.equal(wrong, 0, `all ${count} lookups found the true owner`);
  return hops;
}

t.test('a single node owns every key', async (t) => {
  const sim = new RingSimulation(1);
  const node = await sim.addNode();
  for (const key of [0n, node.self.id, RING.size - 1n]) t.equal((await node.findSuccessor(key)).owner.id, node.self.id);
});

t.test('two nodes find each other through join, notify and stabilize', async (t) => {
  const sim = new RingSimulation(2);
  const [a, b] = [await sim.addNode(), await sim.addNode()];
  t.ok((await settle(sim)) > 0);
  t.equal(a.table.successor.id, b.self.id);
  t.equal(b.table.successor.id, a.self.id);
  t.equal(a.table.predecessor?.id, b.self.id);
});


t.test('64 nodes: after stabilization every lookup returns the true owner in about ½·log2 N hops', async (t) => {
  const sim = new RingSimulation(64);
  await sim.grow(64);
  const rounds = await settle(sim);
  t.ok(rounds > 0, `consistent after ${rounds} rounds`);
  const hops = await checkLookups(t, sim, 2_000);
  const average = hops.reduce((a, b) => a + b, 0) / hops.length;
  t.ok(average <= 0.5 * Math.log2(64) + 1, `average hops ${average.toFixed(2)} <= ${0.5 * Math.log2(64) + 1}`);
  // Keys exactly on node ids and right after them (the interval edges), across zero too.
  let wrong = 0;
  for (const node of sim.nodes) {
    for (const key of [node.self.id, RING.add(node.self.id, 1n), 0n, RING.size - 1n]) {
      if ((await sim.randomNode().findSuccessor(key)).owner.id !== sim.owner(key)) wrong++;
    }
  }
  t.equal(wrong, 0, 'edge keys resolve correctly');
});

t.test('property: for any key and any starting node, find_successor returns the brute-force owner', async (t) => {
  const sim = new RingSimulation(40);
  await sim.grow(48);
  t.ok((await settle(sim)) > 0);
  const key = fc.oneof(fc.bigInt({ min: 0n, max: RING.size - 1n }), fc.constantFrom(0n, 1n, RING.size - 1n), fc.constantFrom(...sim.nodes.map((n) => n.self.id)));
  const start = fc.integer({ min: 0, max: sim.nodes.length - 1 });
  await fc.assert(
    fc.asyncProperty(key, start, async (k, i) => (await sim.nodes[i]!.findSuccessor(k)).owner.id === sim.owner(k)),
    { numRuns: 1_000, seed: 40 },
  );
  t.pass('1000 generated cases held');
});

t.test('64 nodes joining all at once, with no maintenance between joins, still converge to one ring', async (t) => {
  const sim = new RingSimulation(64);
  for (let i = 0; i < 64; i++) await sim.addNode();
  const rounds = await settle(sim, 100);
  t.ok(rounds > 0, `consistent after ${rounds} rounds`);
  await checkLookups(t, sim, 300);
});

t.test('churn: 25% of 64 nodes crash at once; after stabilization every lookup is correct again', async (t) => {
  // r = 2·log2 N as Chord §5.2 recommends, so that with high probability no node loses its
  // whole successor list when a quarter of the ring fails together.
  const sim = new RingSimulation(65, 12);
  await sim.grow(64);
  t.ok((await settle(sim)) > 0);
  const victims = [...sim.nodes].sort(() => sim.random.next() - 0.5).slice(0, 16);
  sim.kill(victims);
  t.equal(sim.nodes.length, 48);
  const rounds = await settle(sim);
  t.ok(rounds > 0, `re-stabilized in ${rounds} rounds`);
  await checkLookups(t, sim, 1_000);
});

t.test('with the default r = 4, three adjacent successors failing together do not break the ring', async (t) => {
  const sim = new RingSimulation(7);
  await sim.grow(16);
  t.ok((await settle(sim)) > 0);
  const sorted = [...sim.nodes].sort((a, b) => (a.self.id < b.self.id ? -1 : 1));
  sim.kill(sorted.slice(3, 6));
  t.ok((await settle(sim)) > 0, 'healed');
  await checkLookups(t, sim, 300);
});

t.test('lookups route around a dead node before stabilization notices it', async (t) => {
  const sim = new RingSimulation(9);
  await sim.grow(32);
  t.ok((await settle(sim)) > 0);
  sim.kill([sim.nodes[5]!, sim.nodes[17]!]);
  // No maintenance: lookups must work around the holes on their own; the owner of a key that
  // belonged to a dead node is its live successor once the ring repairs, so only check keys
  // owned by live nodes whose predecessor is alive.
  let failures = 0;
  for (let i = 0; i < 300; i++) {
    const key = sim.randomId();
    try {
      const { owner } = await sim.randomNode().findSuccessor(key);
      if (!sim.nodes.some((n) => n.self.id === owner.id)) continue; // a dead owner not yet repaired
      if (owner.id !== sim.owner(key)) failures++;
    } catch {
      failures++;
    }
  }
  t.equal(failures, 0);
});

t.test('malformed peer requests are rejected with FLOWCHAIN_ERR_PEER_MESSAGE_INVALID and change nothing', async (t) => {
  const network = new MemoryNetwork();
  const self = { id: 5n, url: 'mem://a' };
  const node = new ChordNode({ transport: network.transportFor(self), space: RING, clock: new ManualClock() }, { self });
  const sender = { id: 9n, url: 'mem://b' };
  const bad = [
    { type: 'no-such-type' },
    { type: 'step' },
    { type: 'step', key: 'zz' },
    { type: 'find-successor', key: 12 },
    { type: '__proto__' },
    { type: 'constructor' },
  ];
  for (const request of bad) await t.rejects(node.handle(request as never, sender), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID' }, JSON.stringify(request));
  t.equal(node.table.predecessor, undefined);
  t.same(node.table.successors, []);
});

t.test('notify can only name its authenticated sender as predecessor', async (t) => {
  const network = new MemoryNetwork();
  const self = { id: 100n, url: 'mem://a' };
  const node = new ChordNode({ transport: network.transportFor(self), space: RING, clock: new ManualClock() }, { self });
  // A request naming some other peer is ignored: the sender is what counts.
  await node.handle({ type: 'notify', peer: { id: RING.toHex(50n), url: 'mem://victim' } }, { id: 60n, url: 'mem://sender' });
  t.same(node.table.predecessor, { id: 60n, url: 'mem://sender' });
});

t.test('a leaving notice from a node that is not a neighbour changes no pointer', async (t) => {
  const sim = new RingSimulation(12);
  await sim.grow(6);
  const sorted = [...sim.nodes].sort((a, b) => (a.self.id < b.self.id ? -1 : 1));
  const node = sorted[0]!;
  const stranger = sorted[3]!.self;
  const before = { predecessor: node.table.predecessor, successor: node.table.successor };
  await node.handle({ type: 'leaving', predecessor: { id: RING.toHex(1n), url: 'mem://evil' }, successors: [{ id: RING.toHex(2n), url: 'mem://evil' }] }, stranger);
  t.same(node.table.predecessor, before.predecessor);
  t.same(node.table.successor, before.successor);
});

t.test('nothing a misbehaving peer answers makes maintenance throw; the peer is dropped', async (t) => {
  const network = new MemoryNetwork();
  const self = { id: 100n, url: 'mem://self' };
  const liar = { id: 200n, url: 'mem://liar' };
  const node = new ChordNode({ transport: network.transportFor(self), space: RING, clock: new ManualClock() }, { self });
  network.listen(self.url, (request, sender) => node.handle(request, sender));
  const answers: Record<string, () => unknown> = {
    neighbours: () => ({ predecessor: null }), // no successors array
    step: () => {
      throw new FlowchainError('FLOWCHAIN_ERR_INTERNAL', 'boom');
    },
    notify: () => ({}),
    ping: () => ({}),
  };
  network.listen(liar.url, async (request) => answers[request.type]?.() as never);
  node.table.setSuccessors([liar]);
  node.table.predecessor = liar;
  node.table.setFinger(100, liar);
  await node.maintain();
  t.same(node.table.successors, [], 'the liar was dropped from the successors');
  // A lookup through a peer that answers with an error routes around it.
  node.table.setSuccessors([liar]);
  node.table.setFinger(159, liar);
  const far = RING.add(200n, 1n << 158n);
  t.equal((await node.findSuccessor(far)).owner.id, 100n, 'with the liar gone, the node answers for itself');
});

t.test('maintenance runs on the injected clock and stops with stop()', async (t) => {
  const network = new MemoryNetwork();
  const clock = new ManualClock();
  const self = { id: 5n, url: 'mem://a' };
  const node = new ChordNode({ transport: network.transportFor(self), space: RING, clock }, { self, maintenanceIntervalMs: 500 });
  node.start();
  t.equal(clock.pending, 1);
  node.stop();
  t.equal(clock.pending, 0);
});

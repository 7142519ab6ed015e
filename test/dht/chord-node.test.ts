import fc from 'fast-check';
import t, { type Test } from 'tap';
import { ChordNode } from '../../src/dht/chord-node.js';
import { FlowchainError } from '../../src/errors.js';
import { MemoryNetwork } from '../../src/dht/memory-transport.js';
import { RING } from '../../src/dht/ring-space.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { RingSimulation } from '../helpers/ring-simulation.js';

/**
 * Stabilizes until the ring is one consistent cycle and every successor list is true (so the
 * hop counts below measure a settled ring), bounded.
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

async function checkLookups(t: Test, sim: RingSimulation, count: number, messages: number[] = []): Promise<number[]> {
  const hops: number[] = [];
  let wrong = 0;
  for (let i = 0; i < count; i++) {
    const key = sim.randomId();
    const { owner, hops: h, messages: m } = await sim.randomNode().findSuccessor(key);
    if (owner.id !== sim.owner(key)) wrong++;
    hops.push(h);
    messages.push(m);
  }
  t.equal(wrong, 0, `all ${count} lookups found the true owner`);
  return hops;
}

/** True when successor and predecessor pointers both visit every live node once, in id order. */
function pointersFormOneCycle(sim: RingSimulation): boolean {
  const sorted = [...sim.nodes].sort((a, b) => (a.self.id < b.self.id ? -1 : 1));
  return sim.isConsistentRing() && sorted.every((node, i) => node.table.predecessor?.id === sorted[(i + sorted.length - 1) % sorted.length]!.self.id);
}

/** Nodes with the given ids over one in-memory network, not yet joined. */
function nodesWithIds(ids: readonly bigint[]): { network: MemoryNetwork; nodes: ChordNode[] } {
  const network = new MemoryNetwork();
  const clock = new ManualClock();
  const nodes = ids.map((id) => {
    const self = { id, url: `mem://${id}` };
    const node = new ChordNode({ transport: network.transportFor(self), space: RING, clock }, { self });
    network.listen(self.url, (request, sender) => node.handle(request, sender));
    return node;
  });
  return { network, nodes };
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
  const messages: number[] = [];
  const hops = await checkLookups(t, sim, 2_000, messages);
  const average = hops.reduce((a, b) => a + b, 0) / hops.length;
  t.ok(average <= 0.5 * Math.log2(64) + 1, `average hops ${average.toFixed(2)} <= ${0.5 * Math.log2(64) + 1}`);
  // The steps and one confirmation with the owner.
  const averageMessages = messages.reduce((a, b) => a + b, 0) / messages.length;
  t.ok(averageMessages <= 0.5 * Math.log2(64) + 2, `average requests ${averageMessages.toFixed(2)} <= ${0.5 * Math.log2(64) + 2}`);
  // Keys exactly on node ids and right after them (the interval edges), across zero too.
  let wrong = 0;
  for (const node of sim.nodes) {
    for (const key of [node.self.id, RING.add(node.self.id, 1n), 0n, RING.size - 1n]) {
      if ((await sim.randomNode().findSuccessor(key)).owner.id !== sim.owner(key)) wrong++;
    }
  }
  t.equal(wrong, 0, 'edge keys resolve correctly');
});

t.test('fix_fingers refreshes a few fingers per round and goes on where it stopped', async (t) => {
  // r = 1: only the first finger is answered from the successor list, the rest need lookups.
  const sim = new RingSimulation(65, 1);
  await sim.grow(64);
  t.ok((await settle(sim)) > 0, 'settled');
  const node = sim.nodes[7]!;
  /** What finger i must be: SUCCESSOR(n + 2^i), empty when that is the node itself. */
  const want = (i: number): bigint | undefined => {
    const owner = sim.owner(RING.fingerStart(node.self.id, i));
    return owner === node.self.id ? undefined : owner;
  };
  const exact = () => node.table.fingers.every((finger, i) => finger?.id === want(i));
  t.ok(exact(), 'a settled ring has exact fingers');
  const successor = node.table.successor.id;
  const remote = new Set(Array.from({ length: RING.bits }, (_, i) => want(i)).filter((id) => id !== undefined && id !== successor)).size;
  t.ok(remote > 4, `${remote} distinct fingers past the successor: more than one round's lookups`);
  for (let i = 0; i < RING.bits; i++) node.table.setFinger(i, undefined);
  const learned: number[] = [];
  while (!exact() && learned.length < 40) {
    const before = new Set(node.table.fingers.map((f) => f?.id));
    await node.fixFingers();
    learned.push(new Set(node.table.fingers.map((f) => f?.id).filter((id) => id !== undefined && id !== successor && !before.has(id))).size);
  }
  t.ok(exact(), `every finger exact again after ${learned.length} rounds`);
  t.equal(learned.length, Math.ceil(remote / 4), `four lookups a round: ${remote} fingers past the successor in ${Math.ceil(remote / 4)} rounds`);
  t.ok(learned.every((count) => count <= 4), `no round found more than 4 of them (${learned.join(', ')})`);
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

t.test('a newly joined node is named owner before the successor lists behind it have learned of it', async (t) => {
  // The outside check: 4 nodes, a 5th joins, lookups from every node once the successor and
  // predecessor pointers form one cycle but before the lists copied from them are current.
  const sim = new RingSimulation(1);
  await sim.grow(4);
  t.ok((await settle(sim)) > 0);
  await sim.addNode();
  let rounds = 0;
  while (!pointersFormOneCycle(sim) && rounds < 10) {
    await sim.rounds(1);
    rounds++;
  }
  t.ok(pointersFormOneCycle(sim), `pointers form one cycle after ${rounds} rounds`);
  t.notOk(sim.successorListsAreTrue(), 'some successor list has not learned of the new node yet');
  let wrong = 0;
  for (const node of sim.nodes) {
    for (let i = 0; i < 40; i++) {
      const key = sim.randomId();
      if ((await node.findSuccessor(key)).owner.id !== sim.owner(key)) wrong++;
    }
  }
  t.equal(wrong, 0, 'all 200 lookups named the true owner');
});

t.test('a candidate whose predecessor lies between the key and it hands the answer back to that predecessor', async (t) => {
  const { nodes } = nodesWithIds([100n, 200n, 300n]);
  const [a, b, c] = nodes as [ChordNode, ChordNode, ChordNode];
  // 200 has joined between 100 and 300; 100 has not stabilized since.
  a.table.setSuccessors([c.self]);
  a.table.predecessor = c.self;
  b.table.setSuccessors([c.self, a.self]);
  b.table.predecessor = a.self;
  c.table.setSuccessors([a.self, b.self]);
  c.table.predecessor = b.self;
  const lookup = await a.findSuccessor(150n);
  t.equal(lookup.owner.id, 200n);
  t.same({ hops: lookup.hops, messages: lookup.messages }, { hops: 0, messages: 2 }, 'two confirmations, no routing steps');
  t.equal((await a.findSuccessor(250n)).owner.id, 300n, 'the candidate confirms a key past its predecessor');
});

t.test('a candidate that knows no predecessor is confirmed by the node before it, not by a copied list', async (t) => {
  const { nodes } = nodesWithIds([100n, 200n, 250n, 300n]);
  const [a, b, c, d] = nodes as [ChordNode, ChordNode, ChordNode, ChordNode];
  // 250 joined after 200; 300 lost its predecessor (it crashed, say) and knows none.
  a.table.setSuccessors([b.self, d.self]);
  b.table.setSuccessors([c.self, d.self]);
  b.table.predecessor = a.self;
  c.table.setSuccessors([d.self, a.self]);
  c.table.predecessor = b.self;
  d.table.setSuccessors([a.self, b.self]);
  t.equal((await a.findSuccessor(220n)).owner.id, 250n, '200, the entry before 300 in the list, names its own successor');
  t.equal((await a.findSuccessor(280n)).owner.id, 300n);
});

t.test('two nodes joining the same arc at once are both found as soon as their joins return', async (t) => {
  const { nodes } = nodesWithIds([100n, 500n, 200n, 300n]);
  const [first, second, x, y] = nodes as [ChordNode, ChordNode, ChordNode, ChordNode];
  await first.join();
  await second.join(first.self.url);
  for (let i = 0; i < 3; i++) for (const node of [first, second]) await node.maintain();
  await Promise.all([x.join(first.self.url), y.join(first.self.url)]);
  for (const from of nodes) {
    for (const [key, owner] of [[150n, 200n], [250n, 300n], [400n, 500n], [600n, 100n]] as const) {
      t.equal((await from.findSuccessor(key)).owner.id, owner, `from ${from.self.id}: ${key} -> ${owner}`);
    }
  }
});

t.test('a node that has left answers no request, so nothing confirms it as an owner', async (t) => {
  const sim = new RingSimulation(3);
  await sim.grow(3);
  t.ok((await settle(sim)) > 0);
  const [leaver, other] = [sim.nodes[1]!, sim.nodes[2]!];
  await leaver.leave();
  await t.rejects(leaver.handle({ type: 'neighbours' }, other.self), { code: 'FLOWCHAIN_ERR_PEER_UNREACHABLE' });
  sim.kill([leaver]);
  t.ok((await settle(sim)) > 0, 'the other two close the ring without it');
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

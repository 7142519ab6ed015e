import t from 'tap';
import { ChordNode } from '../../src/dht/chord-node.js';
import { MemoryNetwork } from '../../src/dht/memory-transport.js';
import { RING } from '../../src/dht/ring-space.js';
import { RingStore } from '../../src/dht/ring-store.js';
import type { PeerRequest, PeerTarget } from '../../src/dht/transport.js';
import { MemorySection } from '../helpers/memory-section.js';
import { RingSimulation } from '../helpers/ring-simulation.js';

async function grow(sim: RingSimulation, count: number): Promise<void> {
  await sim.grow(count);
  await sim.rounds(3);
}

const keyOf = (sim: RingSimulation) => RING.toHex(sim.randomId());

async function writeKeys(sim: RingSimulation, count: number): Promise<Map<string, unknown>> {
  const written = new Map<string, unknown>();
  for (let i = 0; i < count; i++) {
    const key = keyOf(sim);
    const value = { n: i, text: `value ${i}` };
    await sim.randomStore().put(key, value);
    written.set(key, value);
  }
  return written;
}

async function missing(sim: RingSimulation, written: Map<string, unknown>): Promise<number> {
  let lost = 0;
  for (const [key, value] of written) {
    const found = await sim.randomStore().get(key);
    if (JSON.stringify(found?.value) !== JSON.stringify(value)) lost++;
  }
  return lost;
}

t.test('a value put from any node is stored at SUCCESSOR(key), replicated to r successors, and readable from any node', async (t) => {
  const sim = new RingSimulation(31);
  await grow(sim, 16);
  const key = keyOf(sim);
  const result = await sim.randomStore().put(key, { hello: 'ring' });
  t.equal(result.owner.id, RING.toHex(sim.owner(RING.fromHex(key))));
  t.equal(result.replicas, 4);
  const holders = sim.nodes.filter((n) => sim.stores.get(n)!.section.data.has(key));
  t.equal(holders.length, 5, 'the owner and its four successors hold it');
  t.same((await sim.randomStore().get(key))?.value, { hello: 'ring' });
  t.equal(await sim.randomStore().get(keyOf(sim)), undefined, 'an unknown key is undefined');
});

t.test('later writes win by owner-assigned version', async (t) => {
  const sim = new RingSimulation(32);
  await grow(sim, 8);
  const key = keyOf(sim);
  const first = await sim.randomStore().put(key, 1);
  const second = await sim.randomStore().put(key, 2);
  t.ok(second.version > first.version);
  t.equal((await sim.randomStore().get(key))?.value, 2);
});

t.test('churn: no stored key is lost when 25% of the nodes crash at once', async (t) => {
  const sim = new RingSimulation(33, 12);
  await grow(sim, 64);
  const written = await writeKeys(sim, 300);
  const victims = [...sim.nodes].sort(() => sim.random.next() - 0.5).slice(0, 16);
  sim.kill(victims);
  for (let round = 0; round < 40 && !sim.isConsistentRing(); round++) await sim.rounds(1);
  await sim.rounds(3);
  t.ok(sim.isConsistentRing());
  t.equal(await missing(sim, written), 0, 'every one of 300 keys is still readable');
  // and each key is back at its new owner itself, not only at replicas
  t.equal(sim.misplaced(written.keys()), 0, 'every key sits at its current owner');
});

t.test('a joining node takes over the keys it now owns', async (t) => {
  const sim = new RingSimulation(34);
  await grow(sim, 8);
  const written = await writeKeys(sim, 100);
  await grow(sim, 8);
  t.equal(await missing(sim, written), 0);
  t.equal(sim.misplaced(written.keys()), 0, 'each key moved to the node that owns it now');
});

t.test('a leaving node hands its keys to its successor and the ring closes at once', async (t) => {
  const sim = new RingSimulation(36);
  await grow(sim, 16);
  const written = await writeKeys(sim, 100);
  for (let i = 0; i < 4; i++) await sim.leave(sim.randomNode());
  t.ok(sim.isConsistentRing(), 'successor pointers are right without a maintenance round');
  t.equal(await missing(sim, written), 0, 'no key was lost');
  t.equal(sim.misplaced(written.keys()), 0, 'each key sits at its new owner');
});

t.test('bad store requests are rejected with codes and store nothing', async (t) => {
  const sim = new RingSimulation(35);
  await grow(sim, 4);
  const node = sim.nodes[0]!;
  const notMine = RING.toHex(RING.add(node.self.id, 1n)); // owned by node's successor
  const sender = sim.nodes[1]!.self;
  await t.rejects(node.handle({ type: 'store-put', key: notMine, value: 1 }, sender), { code: 'FLOWCHAIN_ERR_RING_NOT_OWNER' });
  await t.rejects(sim.randomStore().put(keyOf(sim), 'x'.repeat(20_000)), { code: 'FLOWCHAIN_ERR_RING_VALUE_TOO_LARGE' });
  await t.rejects(sim.randomStore().put('nope', 1), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID' });
  await t.rejects(node.handle({ type: 'store-replicate', entries: 'all' }, sender), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID' });
  await t.rejects(node.handle({ type: 'store-replicate', entries: [[notMine, { value: 1 }]] }, sender), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID' });
  const poison = [[notMine, { value: 1, version: sim.clock.now() + 3_600_000 }]];
  await t.rejects(node.handle({ type: 'store-replicate', entries: poison }, sender), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID' }, 'a version from the future');
  t.equal(sim.stores.get(node)!.section.data.size, 0);
});

t.test('replication messages stay within half the peer frame limit; values within a quarter', async (t) => {
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
    network.listen(self.url, (request, sender) => node.handle(request, sender));
    return { node, store };
  });
  await nodes[0]!.node.join();
  await nodes[1]!.node.join(nodes[0]!.node.self.url);
  for (let i = 0; i < 4; i++) for (const { node } of nodes) await node.maintain();
  await t.rejects(nodes[0]!.store.put(keyOf(sim), 'x'.repeat(1_100)), { code: 'FLOWCHAIN_ERR_RING_VALUE_TOO_LARGE' });
  for (let i = 0; i < 20; i++) await nodes[0]!.store.put(keyOf(sim), 'v'.repeat(900));
  sizes.length = 0;
  await nodes[1]!.node.leave(); // hands everything it owns to node 0 in bounded messages
  for (const { node } of nodes) await node.maintain();
  t.ok(sizes.every((size) => size <= 2_048), `largest replication message ${Math.max(0, ...sizes)} bytes`);
});

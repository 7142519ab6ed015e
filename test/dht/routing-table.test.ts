import fc from 'fast-check';
import t from 'tap';
import { RING, RingSpace } from '../../src/dht/ring-space.js';
import { RoutingTable } from '../../src/dht/routing-table.js';

const peer = (id: bigint) => ({ id, url: `mem://${id}` });

t.test('the successor list stops where it comes back round to this node', async (t) => {
  const table = new RoutingTable(RING, peer(10n), 4);
  // successor 20's list wraps past us (10) to a stale 30: a second lap, dropped
  table.setSuccessors([peer(20n), peer(25n), peer(10n), peer(30n)]);
  t.same(table.successors.map((p) => p.id), [20n, 25n]);
  table.setSuccessors([peer(20n), peer(20n), peer(25n), peer(26n), peer(27n), peer(28n)]);
  t.same(table.successors.map((p) => p.id), [20n, 25n, 26n, 27n], 'duplicates dropped, r kept');
});

t.test('closestPreceding picks the known node closest before the key, skipping excluded ones', async (t) => {
  const table = new RoutingTable(RING, peer(10n), 4);
  table.setSuccessors([peer(20n)]);
  table.setFinger(5, peer(50n));
  table.setFinger(6, peer(90n));
  t.equal(table.closestPreceding(100n).id, 90n);
  t.equal(table.closestPreceding(100n, new Set([90n])).id, 50n);
  t.equal(table.closestPreceding(15n).id, 10n, 'nothing between: this node');
  t.equal(table.closestPreceding(5n).id, 90n, 'across zero');
  t.equal(table.closestPreceding(10n).id, 90n, 'the key of this node itself: the whole circle but it');
  const shared = peer(70n);
  for (let i = 7; i < 12; i++) table.setFinger(i, shared);
  t.equal(table.closestPreceding(80n).id, 70n, 'a node named by several fingers');
  t.equal(table.closestPreceding(80n, new Set([70n])).id, 50n, 'excluded however many fingers name it');
});

t.test('property: closestPreceding is the known node farthest from this one strictly before the key', async (t) => {
  // A 10-bit ring, so ids collide with the key, this node and each other often.
  const space = new RingSpace(10);
  const id = fc.bigInt({ min: 0n, max: space.size - 1n });
  fc.assert(
    fc.property(id, id, fc.array(id, { maxLength: 6 }), fc.array(fc.nat(7), { minLength: 10, maxLength: 10 }), fc.array(id, { maxLength: 3 }), (self, key, known, fingerPicks, excluded) => {
      const table = new RoutingTable(space, peer(self), 4);
      const peers = known.map(peer);
      table.setSuccessors(peers.slice(0, 3));
      // Fingers name the known peers in runs (the same object several times), or nothing.
      fingerPicks.forEach((pick, i) => table.setFinger(i, peers[pick]));
      const exclude = new Set(excluded);
      const candidates = [...table.fingers, ...table.successors].filter((p) => p !== undefined && !exclude.has(p.id) && space.between(p.id, self, key));
      const farthest = candidates.reduce((best, p) => (space.distance(self, p!.id) > space.distance(self, best) ? p!.id : best), self);
      return table.closestPreceding(key, exclude).id === farthest;
    }),
    { seed: 27, numRuns: 2_000 },
  );
  t.pass('2,000 random tables agree with the definition');
});

t.test('a failed peer leaves fingers, successors and predecessor', async (t) => {
  const table = new RoutingTable(RING, peer(10n), 4);
  table.setSuccessors([peer(20n), peer(30n)]);
  table.setFinger(0, peer(20n));
  table.predecessor = peer(5n);
  table.remove(20n);
  t.same(table.successors.map((p) => p.id), [30n]);
  t.equal(table.fingers[0], undefined);
  table.remove(5n);
  t.equal(table.predecessor, undefined);
  t.ok(table.owns(999n) === false, 'with successors but no predecessor, ownership is unknown');
});

t.test('successorCandidate names the list entry covering the key, with the entry before it, skipping excluded ones', async (t) => {
  const table = new RoutingTable(RING, peer(10n), 4);
  table.setSuccessors([peer(20n), peer(30n), peer(40n)]);
  const named = (key: bigint, exclude?: Set<bigint>) => {
    const candidate = table.successorCandidate(key, exclude);
    return candidate && { owner: candidate.owner.id, after: candidate.after.id };
  };
  t.same(named(15n), { owner: 20n, after: 10n }, 'the first successor, after this node');
  t.same(named(20n), { owner: 20n, after: 10n }, 'a key on a node id is that node\'s');
  t.same(named(35n), { owner: 40n, after: 30n }, 'deeper in the list: the entry before it comes along');
  t.same(named(25n, new Set([30n])), { owner: 40n, after: 20n }, 'an excluded entry is skipped');
  t.same(named(15n, new Set([20n])), { owner: 30n, after: 10n });
  t.equal(named(45n), undefined, 'beyond the list');
  t.equal(named(5n), undefined, 'behind this node: not the list\'s to name');
  table.setSuccessors([]);
  t.equal(named(15n), undefined, 'no successors, no candidate');
});

t.test('members are this node and every peer it knows, each once', async (t) => {
  const table = new RoutingTable(RING, peer(10n), 4);
  t.same(table.members().map((p) => p.id), [10n], 'alone: itself');
  table.setSuccessors([peer(20n), peer(30n)]);
  table.setFinger(5, peer(30n));
  table.setFinger(6, peer(90n));
  table.predecessor = peer(90n);
  t.same(table.members().map((p) => p.id).sort((a, b) => (a < b ? -1 : 1)), [10n, 20n, 30n, 90n]);
});

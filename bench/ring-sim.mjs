/**
 * Chord in one process: many ChordNodes from ../dist over the in-memory transport, driven in
 * maintenance rounds (no timers), with fixed seeds so every figure is reproducible.
 *
 *   lookupHops(sizes)  average / p99 hops of random lookups against N, next to ½·log2 N
 *   restabilize()      maintenance rounds until the ring is consistent again after a join, a
 *                      crash of one node and a crash of 25 % of the nodes
 *   largeRings(sizes)  rings of thousands of nodes, built converged from the oracle: lookup
 *                      hops against ½·log2 N, maintenance's cost over eight rounds, then a simulated
 *                      minute of churn with lookups checked every round
 *
 * Every lookup is checked against an oracle (the first live id at or after the key, wrapping);
 * a wrong owner or a failed lookup is reported as a problem, which makes the run invalid.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { ChordNode } from '../dist/dht/chord-node.js';
import { MemoryNetwork } from '../dist/dht/memory-transport.js';
import { RING } from '../dist/dht/ring-space.js';
import { createRandom } from '../dist/common/random.js';
import { ManualClock } from './lib/manual-clock.mjs';

/** Bound on maintenance rounds waiting for one state (the tests use 40 too). */
const MAX_ROUNDS = 40;

const byId = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** A simulated ring: the nodes, their network, a seeded random source and the oracle. */
class Simulation {
  network = new MemoryNetwork();
  clock = new ManualClock();
  /** Live nodes, in join order (the order a round visits them). */
  nodes = [];
  #offline = new Map();

  constructor(seed, successorListSize = 4) {
    this.random = createRandom(seed);
    this.successorListSize = successorListSize;
  }

  /** A random ring id: SHA-1 of 32 seeded random bytes (a stand-in for a public key). */
  randomId() {
    const bytes = Uint8Array.from({ length: 32 }, () => Math.floor(this.random.next() * 256));
    return RING.fromBytes(sha1(bytes));
  }

  randomNode() {
    return this.nodes[Math.floor(this.random.next() * this.nodes.length)];
  }

  /** A node with a random id, listening on the network, not yet in the ring. */
  #create() {
    const self = { id: this.randomId(), url: '' };
    self.url = `mem://${RING.toHex(self.id)}`;
    const node = new ChordNode({ transport: this.network.transportFor(self), space: RING, clock: this.clock }, { self, successorListSize: this.successorListSize });
    this.#offline.set(node, this.network.listen(self.url, (request, sender) => node.handle(request, sender)));
    return node;
  }

  /** A new node joins through `bootstrap` (default: the first live node) or founds the ring. */
  async addNode(bootstrap = this.nodes[0]) {
    const node = this.#create();
    await node.join(bootstrap?.self.url);
    this.nodes.push(node);
    return node;
  }

  /**
   * `n` nodes whose routing state is set straight from the oracle, as maintenance leaves a
   * settled ring: predecessors, successor lists and every finger. Growing a ring of thousands
   * one join at a time costs O(N²) messages in one process; what is measured here starts
   * from where growing ends.
   */
  static converged(seed, n, successorListSize = 4) {
    const sim = new Simulation(seed, successorListSize);
    for (let i = 0; i < n; i++) sim.nodes.push(sim.#create());
    const ring = [...sim.nodes].sort((a, b) => byId(a.self.id, b.self.id));
    const ids = ring.map((node) => node.self.id);
    ring.forEach((node, i) => {
      node.table.predecessor = ring[(i - 1 + n) % n].self;
      node.table.setSuccessors(Array.from({ length: successorListSize }, (_, k) => ring[(i + 1 + k) % n].self));
      let owner;
      for (let f = 0; f < RING.bits; f++) {
        const start = RING.fingerStart(node.self.id, f);
        if (owner === undefined || !RING.betweenRightInclusive(start, node.self.id, owner.id)) owner = ring[Simulation.ownerIndex(ids, start)].self;
        node.table.setFinger(f, owner);
      }
    });
    return sim;
  }

  /** Leaves gracefully (hands over, tells its neighbours), then goes off the network. */
  async leave(node) {
    await node.leave();
    this.kill([node]);
  }

  /** Joins `count` nodes with one maintenance round after each, as the tests do (Chord §4.4). */
  async grow(count) {
    for (let i = 0; i < count; i++) {
      await this.addNode();
      await this.rounds(1);
    }
  }

  /** Takes nodes off the network at once, as a crash would (no leave notices). */
  kill(victims) {
    for (const node of victims) {
      this.#offline.get(node)();
      this.nodes.splice(this.nodes.indexOf(node), 1);
    }
  }

  /** `count` rounds: every live node runs one maintenance round, in join order. */
  async rounds(count) {
    for (let i = 0; i < count; i++) for (const node of [...this.nodes]) await node.maintain();
  }

  /** Live ids in ring order (recomputed per call; callers cache it while nothing changes). */
  sortedIds() {
    return this.nodes.map((n) => n.self.id).sort(byId);
  }

  /** The true owner of `key` among `sorted` live ids: the first id >= key, wrapping. */
  static owner(sorted, key) {
    return sorted[Simulation.ownerIndex(sorted, key)];
  }

  /** Where in `sorted` the true owner of `key` is. */
  static ownerIndex(sorted, key) {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo === sorted.length ? 0 : lo;
  }

  /** True when the successor pointers visit every live node once, in id order. */
  isConsistent() {
    const sorted = [...this.nodes].sort((a, b) => byId(a.self.id, b.self.id));
    return sorted.every((node, i) => node.table.successor.id === sorted[(i + 1) % sorted.length].self.id);
  }

  /** True when every live node's predecessor is the live node before it. */
  predecessorsCorrect() {
    const sorted = [...this.nodes].sort((a, b) => byId(a.self.id, b.self.id));
    return sorted.every((node, i) => node.table.predecessor?.id === sorted[(i - 1 + sorted.length) % sorted.length].self.id);
  }

  /** True when every finger of every live node is exactly successor(n + 2^i) (self: empty). */
  fingersExact() {
    const sorted = this.sortedIds();
    for (const node of this.nodes) {
      const fingers = node.table.fingers;
      for (let i = 0; i < RING.bits; i++) {
        const want = Simulation.owner(sorted, RING.fingerStart(node.self.id, i));
        const have = fingers[i]?.id;
        if (want === node.self.id ? have !== undefined : have !== want) return false;
      }
    }
    return true;
  }

  /**
   * `count` lookups of random keys from random live nodes, each checked against the oracle.
   * A failed lookup counts as wrong. Returns the hop counts and how many were wrong.
   */
  async lookups(count) {
    const sorted = this.sortedIds();
    const hops = [];
    let wrong = 0;
    let failed = 0;
    for (let i = 0; i < count; i++) {
      const key = this.randomId();
      try {
        const result = await this.randomNode().findSuccessor(key);
        if (result.owner.id !== Simulation.owner(sorted, key)) wrong++;
        hops.push(result.hops);
      } catch {
        failed++;
      }
    }
    return { hops, wrong, failed };
  }

  /** Rounds until the successor pointers form one cycle (bounded); -1 when they never do. */
  async settle(maxRounds = MAX_ROUNDS) {
    for (let round = 1; round <= maxRounds; round++) {
      await this.rounds(1);
      if (this.isConsistent()) return round;
    }
    return -1;
  }
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * Hops against N: for each size a ring grown with paced joins and settled (plus 2 rounds for
 * the fingers), then `lookups` random lookups from random nodes. Seeds are fixed per size.
 */
export async function lookupHops({ sizes, lookups, log }) {
  const rows = [];
  const problems = [];
  for (const n of sizes) {
    const started = performance.now();
    const sim = new Simulation(1000 + n);
    await sim.grow(n);
    const settleRounds = await sim.settle();
    if (settleRounds < 0) problems.push(`N=${n}: successor pointers not consistent after ${MAX_ROUNDS} rounds`);
    await sim.rounds(2);
    const fingersExact = sim.fingersExact();
    // Messages one maintenance round costs, per node (stabilize, notify, ping, fix_fingers).
    const before = sim.network.delivered;
    await sim.rounds(1);
    const maintenanceMessages = (sim.network.delivered - before) / n;
    const beforeLookups = sim.network.delivered;
    const { hops, wrong, failed } = await sim.lookups(lookups);
    const messagesPerLookup = (sim.network.delivered - beforeLookups) / lookups;
    if (wrong > 0) problems.push(`N=${n}: ${wrong} of ${lookups} lookups returned a node other than the true owner`);
    if (failed > 0) problems.push(`N=${n}: ${failed} of ${lookups} lookups failed`);
    const sorted = [...hops].sort((a, b) => a - b);
    const average = hops.reduce((a, b) => a + b, 0) / Math.max(1, hops.length);
    const paper = 0.5 * Math.log2(n);
    rows.push({
      n,
      lookups,
      average,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      max: sorted.at(-1),
      paper,
      ratio: average / paper,
      log2n: Math.log2(n),
      wrong,
      failed,
      settleRounds,
      fingersExact,
      maintenanceMessages,
      messagesPerLookup,
      seconds: (performance.now() - started) / 1000,
    });
    log(`  N=${n}: ${average.toFixed(2)} hops on average, p99 ${quantile(sorted, 0.99)}, ½·log2 N = ${paper.toFixed(2)} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  return { rows, problems };
}

/**
 * After a disturbance, rounds until (a) the successor pointers are one consistent cycle,
 * (b) the predecessors are right too, (c) a batch of lookups all return the true owner, and
 * (d) every finger is exact. Round 0 is the state right after the disturbance. Lookups are
 * only checked once (a) holds (a lookup that meets a dead node removes it from the asker's
 * table, so checking earlier would help the repair along).
 */
async function roundsUntilHealed(sim, checkLookups) {
  const at = { consistent: -1, predecessors: -1, lookups: -1, fingers: -1 };
  let lookupProblems = 0;
  for (let round = 0; round <= MAX_ROUNDS; round++) {
    if (round > 0) await sim.rounds(1);
    if (at.consistent < 0 && sim.isConsistent()) at.consistent = round;
    if (at.predecessors < 0 && sim.predecessorsCorrect()) at.predecessors = round;
    if (at.consistent >= 0 && at.lookups < 0) {
      const { wrong, failed } = await sim.lookups(checkLookups);
      if (wrong + failed === 0) at.lookups = round;
      else lookupProblems += wrong + failed;
    }
    if (at.fingers < 0 && sim.fingersExact()) at.fingers = round;
    if (Object.values(at).every((r) => r >= 0)) break;
  }
  return { ...at, lookupProblemsBeforeHealed: lookupProblems };
}

/**
 * Re-stabilization in a 64-node ring: rounds until consistent again after one node joins,
 * after one node crashes, and after 25 % crash at once (r = 12, as Chord §5.2 suggests
 * 2·log2 N). `trials` seeds each; the figures are per trial plus the worst.
 */
export async function restabilize({ n, trials, checkLookups, log }) {
  const scenarios = [
    { name: 'one node joins', r: 4, disturb: async (sim) => void (await sim.addNode(sim.randomNode())) },
    { name: 'one node crashes', r: 4, disturb: async (sim) => sim.kill([sim.randomNode()]) },
    { name: `25 % crash at once (${n / 4} of ${n})`, r: 12, disturb: async (sim) => sim.kill(shuffled(sim, sim.nodes).slice(0, n / 4)) },
  ];
  const rows = [];
  const problems = [];
  for (const scenario of scenarios) {
    const started = performance.now();
    const results = [];
    for (let trial = 0; trial < trials; trial++) {
      const sim = new Simulation(2000 + 100 * trial + rows.length, scenario.r);
      await sim.grow(n);
      if ((await sim.settle()) < 0) problems.push(`${scenario.name}, trial ${trial + 1}: the ring did not settle before the disturbance`);
      await sim.rounds(2);
      await scenario.disturb(sim);
      const healed = await roundsUntilHealed(sim, checkLookups);
      for (const [what, round] of Object.entries(healed)) {
        if (round < 0) problems.push(`${scenario.name}, trial ${trial + 1}: ${what} not reached within ${MAX_ROUNDS} rounds`);
      }
      results.push(healed);
    }
    const worst = (key) => (results.some((r) => r[key] < 0) ? -1 : Math.max(...results.map((r) => r[key])));
    rows.push({
      name: scenario.name,
      n,
      r: scenario.r,
      trials: results,
      worst: { consistent: worst('consistent'), predecessors: worst('predecessors'), lookups: worst('lookups'), fingers: worst('fingers') },
    });
    log(`  ${scenario.name}: consistent after ${results.map((r) => r.consistent).join(', ')} rounds, lookups correct after ${results.map((r) => r.lookups).join(', ')} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  return { rows, problems };
}

/** A seeded Fisher-Yates shuffle of a copy of `items`. */
function shuffled(sim, items) {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(sim.random.next() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

/** Maintenance rounds whose messages are averaged in a settled large ring. */
const MEASURED_ROUNDS = 8;

/**
 * Rings of thousands of nodes. Each size starts converged (Simulation.converged), then:
 * `lookups` random lookups from random nodes (hops against ½·log2 N, messages per lookup),
 * eight maintenance rounds on every node (messages per node per round), and `minutes` simulated minutes of
 * churn: every round (the servient's 1 s interval), `churn` of N per minute join through a
 * random live node and as many leave, alternately gracefully and by crashing; then a round of
 * maintenance and `lookupsPerRound` lookups, each checked against the oracle of that moment.
 */
export async function largeRings({ sizes, lookups, minutes, churn, lookupsPerRound, log }) {
  const rows = [];
  const problems = [];
  for (const n of sizes) {
    const started = performance.now();
    const sim = Simulation.converged(3000 + n, n);
    const before = sim.network.delivered;
    const { hops, wrong, failed } = await sim.lookups(lookups);
    const messagesPerLookup = (sim.network.delivered - before) / lookups;
    // Eight rounds: a pass over the fingers takes a few (four lookups a round), and a single
    // round right after the build would catch only its first, locally answered, fingers.
    const beforeRounds = sim.network.delivered;
    await sim.rounds(MEASURED_ROUNDS);
    const maintenanceMessages = (sim.network.delivered - beforeRounds) / (n * MEASURED_ROUNDS);
    if (wrong + failed > 0) problems.push(`N=${n}, settled: ${wrong} wrong owners and ${failed} failed lookups of ${lookups}`);
    const perRound = (n * churn) / 60;
    const during = { rounds: minutes * 60, joins: 0, leaves: 0, crashes: 0, lookups: 0, wrong: 0, failed: 0, messages: 0 };
    let owed = 0;
    const churnStarted = sim.network.delivered;
    for (let round = 0; round < during.rounds; round++) {
      owed += perRound;
      for (; owed >= 1; owed--) {
        await sim.addNode(sim.randomNode());
        during.joins++;
        const victim = sim.randomNode();
        if ((during.leaves + during.crashes) % 2 === 0) {
          await sim.leave(victim);
          during.leaves++;
        } else {
          sim.kill([victim]);
          during.crashes++;
        }
      }
      await sim.rounds(1);
      const checked = await sim.lookups(lookupsPerRound);
      during.lookups += lookupsPerRound;
      during.wrong += checked.wrong;
      during.failed += checked.failed;
    }
    during.messages = (sim.network.delivered - churnStarted) / (during.rounds * n);
    if (during.wrong > 0) problems.push(`N=${n}, churn: ${during.wrong} of ${during.lookups} lookups named a node other than the true owner`);
    const sorted = [...hops].sort((a, b) => a - b);
    const average = hops.reduce((a, b) => a + b, 0) / Math.max(1, hops.length);
    const paper = 0.5 * Math.log2(n);
    rows.push({ n, lookups, average, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1), paper, ratio: average / paper, wrong, failed, messagesPerLookup, maintenanceMessages, churn: { ...during, rate: churn, minutes, consistentAfter: sim.isConsistent() }, seconds: (performance.now() - started) / 1000 });
    log(`  N=${n}: ${average.toFixed(2)} hops (½·log2 N = ${paper.toFixed(2)}); churn ${during.joins} joins, ${during.leaves} leaves, ${during.crashes} crashes: ${during.wrong} wrong, ${during.failed} failed of ${during.lookups} lookups (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  return { rows, problems };
}

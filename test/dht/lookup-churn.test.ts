/**
 * Lookups under churn: every live node keeps looking up seeded random keys while nodes join,
 * leave gracefully and crash, with maintenance rounds running alongside (Chord §4.4: lookups
 * interleaved with joins and stabilization; §5.2: failures). Each answer is compared with an
 * oracle: the true successor of the key among the live nodes whose join has completed.
 */
import t from 'tap';
import type { ChordNode } from '../../src/dht/chord-node.js';
import { isFlowchainError } from '../../src/errors.js';
import { RingSimulation } from '../helpers/ring-simulation.js';

/** The first of `sorted` ids at or after `key`, wrapping. */
const successorAmong = (sorted: readonly bigint[], key: bigint): bigint => sorted.find((id) => id >= key) ?? sorted[0]!;

/** Counts lookups and wrong owners while the ring changes. */
class Oracle {
  lookups = 0;
  wrong = 0;
  failed = 0;
  messages = 0;
  /** Nodes whose join or leave is under way: lookups may count them in or out. */
  readonly #changing = new Set<ChordNode>();

  constructor(readonly sim: RingSimulation) {}

  /**
   * The owners a lookup may rightly name now: SUCCESSOR(key) among the nodes whose join has
   * completed and that have not left or crashed ({@link RingSimulation.nodes}), where a node
   * joining or leaving at this moment may be counted either way.
   */
  owners(key: bigint): bigint[] {
    const settled = this.sim.nodes.filter((n) => !this.#changing.has(n));
    const changing = [...this.#changing];
    const owners = new Set<bigint>();
    for (let mask = 0; mask < 1 << changing.length; mask++) {
      const members = [...settled, ...changing.filter((_, i) => mask & (1 << i))].map((n) => n.self.id);
      if (members.length > 0) owners.add(successorAmong(members.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), key));
    }
    return [...owners];
  }

  /** A node joins through the simulation; it counts either way until its join resolves. */
  async join(): Promise<ChordNode> {
    // addNode creates the node (and its store) before it joins: find it there.
    const known = new Set(this.sim.stores.keys());
    const joining = this.sim.addNode();
    const node = [...this.sim.stores.keys()].find((n) => !known.has(n))!;
    this.#changing.add(node);
    try {
      return await joining;
    } finally {
      this.#changing.delete(node);
    }
  }

  /** `node` leaves gracefully; it counts either way until it is off the network. */
  async leave(node: ChordNode): Promise<void> {
    this.#changing.add(node);
    try {
      await this.sim.leave(node);
    } finally {
      this.#changing.delete(node);
    }
  }

  /**
   * `perNode` lookups of random keys from every live node, all nodes at once. The answer must
   * be a rightful owner when the lookup started or when it ended (a change may fall between).
   * Lookups from a node that left or crashed meanwhile are not counted.
   */
  async lookupsFromEveryNode(perNode: number): Promise<void> {
    const from = async (node: ChordNode): Promise<void> => {
      for (let i = 0; i < perNode && this.sim.nodes.includes(node); i++) {
        const key = this.sim.randomId();
        const before = this.owners(key);
        try {
          const { owner, messages } = await node.findSuccessor(key);
          if (!this.sim.nodes.includes(node)) return;
          this.lookups++;
          this.messages += messages;
          if (!before.includes(owner.id) && !this.owners(key).includes(owner.id)) this.wrong++;
        } catch (err) {
          if (!isFlowchainError(err, 'FLOWCHAIN_ERR_LOOKUP_FAILED')) throw err;
          this.failed++;
        }
      }
    };
    await Promise.all(this.sim.nodes.map(from));
  }

  /**
   * Runs `change` while lookups go on from every node, then `rounds` maintenance rounds with
   * lookups alongside: the next change comes before the ring has necessarily settled.
   */
  async during(change: () => Promise<unknown>, rounds = 2): Promise<void> {
    let done = false;
    const changing = change().finally(() => (done = true));
    const traffic = (async () => {
      do await this.lookupsFromEveryNode(2);
      while (!done);
    })();
    await Promise.all([changing, traffic]);
    for (let i = 0; i < rounds; i++) await Promise.all([this.sim.rounds(1), this.lookupsFromEveryNode(2)]);
  }
}

t.test('lookups from every node while nodes join, leave and crash name no wrong owner', async (t) => {
  const sim = new RingSimulation(2024);
  await sim.grow(8);
  await sim.rounds(6);
  t.ok(sim.isConsistentRing(), 'the starting ring is one cycle');

  const oracle = new Oracle(sim);
  const pick = (): ChordNode => sim.nodes[1 + Math.floor(sim.random.next() * (sim.nodes.length - 1))]!; // never the bootstrap node
  const schedule = ['join', 'join', 'leave', 'join', 'crash', 'join', 'leave', 'join', 'two joins', 'leave', 'crash', 'join', 'join', 'leave', 'join'] as const;
  for (const step of schedule) {
    if (step === 'join') await oracle.during(() => oracle.join());
    if (step === 'two joins') await oracle.during(() => Promise.all([oracle.join(), oracle.join()]));
    if (step === 'leave') await oracle.during(() => oracle.leave(pick()));
    // Off the network between two deliveries, with lookups in flight.
    if (step === 'crash') await oracle.during(async () => sim.kill([pick()]));
  }

  t.equal(sim.nodes.length, 8 + 10 - 4 - 2);
  t.ok(oracle.lookups > 1_000, `${oracle.lookups} lookups checked`);
  t.equal(oracle.wrong, 0, `no lookup named a wrong owner (of ${oracle.lookups})`);
  t.equal(oracle.failed, 0, 'no lookup failed');
  t.ok(oracle.messages / oracle.lookups < 3, `${(oracle.messages / oracle.lookups).toFixed(2)} requests per lookup`);
  await sim.rounds(4);
  t.ok(sim.isConsistentRing(), 'the ring is one cycle again');
});

/**
 * The ring benchmarks (`node bench/run.mjs --only=ring`): lookup hops against N and
 * re-stabilization rounds in the in-memory simulation (ring-sim.mjs), then join / crash
 * re-stabilization times and lookups per second between real processes (ring-cluster.mjs).
 * Rendered as their own section of bench/RESULTS.md by {@link renderRingSection}.
 */
import { ringCluster } from './ring-cluster.mjs';
import { largeRings, lookupHops, restabilize } from './ring-sim.mjs';
import { fmt, median, readNotes, sideCells, table } from './lib/format.mjs';
import { phaseTimer } from './lib/common.mjs';

/** The maintenance interval `flowchain start` uses (src/servient.ts), for rounds -> seconds. */
const INTERVAL_S = 1;

const PLANS = {
  full: {
    sim: { sizes: [8, 16, 32, 64, 128, 256], lookups: 2_000 },
    restabilize: { n: 64, trials: 5, checkLookups: 500 },
    large: { sizes: [1_000, 10_000], lookups: 2_000, minutes: 1, churn: 0.1, lookupsPerRound: 20 },
    cluster: { processes: 4, cycles: 3, warmupS: 2, durationS: 8, sampleLookups: 200 },
  },
  quick: {
    sim: { sizes: [8, 16, 32, 64], lookups: 500 },
    restabilize: { n: 64, trials: 2, checkLookups: 200 },
    large: { sizes: [1_000], lookups: 500, minutes: 0.25, churn: 0.1, lookupsPerRound: 10 },
    cluster: { processes: 4, cycles: 1, warmupS: 1, durationS: 4, sampleLookups: 100 },
  },
};

/** Runs every ring benchmark; `problems` lists whatever makes the figures invalid. */
export async function ringBenchmarks({ quick, log }) {
  const plan = quick ? PLANS.quick : PLANS.full;
  const started = performance.now();
  const timings = {};
  const time = phaseTimer(timings);
  // The real processes first: their throughput windows are the only figures machine noise can
  // move, so they run right after the previous benchmark's quiet checks. The simulation's
  // figures depend only on seeds and code.
  log(`  ${plan.cluster.processes} real processes`);
  const cluster = await time('cluster', () => ringCluster({ ...plan.cluster, log }));
  log('  lookup hops against N (in-memory simulation)');
  const hops = await time('hops', () => lookupHops({ ...plan.sim, log }));
  log(`  re-stabilization, N = ${plan.restabilize.n} (in-memory simulation)`);
  const healing = await time('restabilize', () => restabilize({ ...plan.restabilize, log }));
  log(`  rings of ${plan.large.sizes.join(' and ')} nodes, converged, then churn (in-memory simulation)`);
  const large = await time('large', () => largeRings({ ...plan.large, log }));
  return {
    key: 'ring',
    name: 'Ring (Chord DHT)',
    plan,
    hops,
    restabilize: healing,
    large,
    cluster,
    timings,
    totalS: (performance.now() - started) / 1000,
    problems: [...hops.problems, ...healing.problems, ...large.problems, ...cluster.problems],
  };
}

const rounds = (r) => (r < 0 ? 'never' : String(r));
const seconds = (ms) => (Number.isFinite(ms) ? `${fmt(ms / 1000, 2)} s` : 'never');

/** The ring section of bench/RESULTS.md, from one run's record (`bench/out/ring.json`). */
export function renderRingSection(run) {
  const { hops, restabilize: healing, cluster, plan } = run;
  const t = cluster.throughput;
  const notes = readNotes('ring-notes.md');

  const hopsTable = table(
    ['N', 'Lookups', 'Average hops', 'p50', 'p99', 'Max', '½·log2 N', 'Average / (½·log2 N)', 'Wrong owner / failed', 'Rounds to settle', 'Messages per node per round'],
    hops.rows.map((r) => [r.n, fmt(r.lookups), fmt(r.average, 2), r.p50, r.p99, r.max, fmt(r.paper, 2), fmt(r.ratio, 3), `${r.wrong} / ${r.failed}`, rounds(r.settleRounds), fmt(r.maintenanceMessages, 1)]),
  );

  const healingTable = table(
    ['Disturbance (N = ' + healing.rows[0]?.n + ')', 'r', 'Successor cycle consistent', 'Predecessors right', 'All lookups correct', 'Every finger exact', 'Worst case at 1 s per round'],
    healing.rows.map((row) => {
      const per = (key) => `${row.trials.map((x) => rounds(x[key])).join(', ')} (worst ${rounds(row.worst[key])})`;
      const worst = Math.max(row.worst.consistent, row.worst.lookups);
      return [row.name, row.r, per('consistent'), per('predecessors'), per('lookups'), per('fingers'), row.worst.consistent < 0 || row.worst.lookups < 0 ? 'never' : `${worst * INTERVAL_S} s (consistent and lookups correct)`];
    }),
  );

  const large = run.large;
  const largeTable =
    large === undefined
      ? ''
      : table(
          ['N', 'Average hops', 'p50', 'p99', 'Max', '½·log2 N', 'Average / (½·log2 N)', 'Messages per lookup', 'Wrong / failed (settled)', 'Messages per node per round (settled / churn)', 'Churn: joins / leaves / crashes', 'Churn: wrong owners', 'Churn: failed lookups', 'Consistent at the end', 'Simulation time'],
          large.rows.map((r) => [fmt(r.n), fmt(r.average, 2), r.p50, r.p99, r.max, fmt(r.paper, 2), fmt(r.ratio, 3), fmt(r.messagesPerLookup, 1), `${r.wrong} / ${r.failed}`, `${fmt(r.maintenanceMessages, 1)} / ${fmt(r.churn.messages, 1)}`, `${r.churn.joins} / ${r.churn.leaves} / ${r.churn.crashes}`, `${r.churn.wrong} of ${fmt(r.churn.lookups)}`, `${r.churn.failed} of ${fmt(r.churn.lookups)}`, r.churn.consistentAfter ? 'yes' : 'no', `${fmt(r.seconds, 1)} s`]),
        );

  const churnRows = [];
  cluster.churn.forEach((c, i) => {
    churnRows.push([`${i + 1}`, 'a 5th process joins', `${seconds(c.join.startupMs)} (spawn -> listening, join included)`, seconds(c.join.successors), seconds(c.join.consistent), seconds(c.join.lists), fmt(c.join.lookupsChecked)]);
    churnRows.push([`${i + 1}`, 'SIGKILL of one process', '-', seconds(c.crash.successors), seconds(c.crash.consistent), seconds(c.crash.lists), fmt(c.crash.lookupsChecked)]);
  });
  const churnTable = table(['Cycle', 'Event', 'Start-up', 'Successor cycle consistent', '+ predecessors right (consistent)', 'Successor lists complete', 'Lookups checked after'], churnRows);
  const medianOf = (pick) => median(cluster.churn.map(pick).filter(Number.isFinite));

  const throughputTable = table(
    ['Variant (one node of 4, 50 connections)', 'Throughput', 'Range over windows', 'p50 / p99 latency', 'Counted', 'CPU of all 4 nodes', 'Node CPU µs/op', 'Load-gen CPU', 'Validity'],
    [sideCells(t.baseline), sideCells(t.subject)],
  );
  const ratioTable = table(
    ['Ratio lookups / health', 'Median pair ratio', 'Per-pair ratios (min - max)', 'Node CPU µs/op, lookup / health', 'Pairs used (disturbed, re-measured)'],
    [[
      fmt(t.ratio, 4),
      fmt(median(t.pairRatios), 4),
      `${fmt(Math.min(...t.pairRatios), 4)} - ${fmt(Math.max(...t.pairRatios), 4)}`,
      `${fmt(t.subject.serverCpuUsPerOp / t.baseline.serverCpuUsPerOp, 0)} x`,
      `${t.pairRatios.length} of ${t.pairs.length} (${t.pairs.filter((p) => p.disturbed).length})${t.clean ? '' : ' - NOISY: too few undisturbed pairs'}`,
    ]],
  );
  const pairsTable = table(
    ['Pair', 'Order', 'Ratio', 'Other load (cores)', 'Used'],
    t.pairs.map((p, i) => [i + 1, p.order.join(' then '), fmt(p.ratio, 4), fmt(p.foreignCores, 2), p.disturbed && t.clean ? 'no (disturbed)' : 'yes']),
  );
  const hist = Object.entries(cluster.hopsSample.histogram).map(([h, c]) => `${h} hops: ${c}`).join(', ');
  const problems = run.problems.length === 0 ? 'none: every lookup (simulated and real) returned the true owner, and every wait ended in a consistent ring' : run.problems.map((p) => `**${p}**`).join('; ');

  return `## Ring (Chord DHT)

${run.quick ? '> **Quick run (`--quick`): fewer sizes, trials and seconds; harness check only.**\n\n' : ''}- Date: ${new Date(run.startedAt).toISOString()}
- Command: \`${run.command}\` (the default \`npm run bench\` runs it too, after get, put and ws)
- Code: commit ${run.machine.revision} (dist/ compiled by the same command)
- Machine: nproc ${run.machine.nproc}, ${run.machine.cpuModel}, ${run.machine.memoryGiB} GiB RAM; Node ${run.machine.node}, autocannon ${run.machine.packages.autocannon}
- Ring bench time: ${fmt(run.totalS)} s (real processes ${fmt(run.timings.cluster)} s, simulated hops ${fmt(run.timings.hops)} s, simulated re-stabilization ${fmt(run.timings.restabilize)} s${run.timings.large === undefined ? '' : `, simulated large rings ${fmt(run.timings.large)} s`})
- Validity: ${problems}

### Lookup hops against N (in-memory simulation)

${hopsTable}

Hops are the remote routing steps of \`ChordNode.findSuccessor\` (0 when the asking node's own
successor owns the key), for ${fmt(plan.sim.lookups)} random keys each looked up from a random node. The paper's
figure (Stoica et al. 2001, §6.2 and Fig. 10a: the mean path length is about ½·log2 N) is the
baseline; a ratio below 1 is *fewer* hops than the paper's estimate. "Rounds to settle" is the
maintenance rounds after the last join until the successor pointers form one cycle; "Messages
per node per round" is what one maintenance round costs on the in-memory network (stabilize,
notify, check_predecessor, fix_fingers and the lookups it makes).

### Re-stabilization (in-memory simulation)

${healingTable}

Rounds after the disturbance, one figure per trial (a different seed each); 0 would mean the
ring was already right before any maintenance. A round is one \`maintain()\` on every live node
in turn; at the servient's 1 s maintenance interval one round is about one second (see the
notes on what that conversion hides).

${large === undefined ? '' : `### Rings of thousands of nodes (in-memory simulation)

${largeTable}

Each ring starts converged: its routing state set from the oracle as maintenance leaves a
settled ring (growing ${fmt(Math.max(...large.rows.map((r) => r.n)))} nodes one join at a time would cost O(N²) messages in
one process). Then ${fmt(plan.large.lookups)} random lookups (hops and messages per lookup, including the owner's
confirmation), eight maintenance rounds on every node (the messages per node per round are
their average; under churn, the average over the churn's rounds, joins and leaves included),
and ${fmt(plan.large.minutes)} simulated minute(s) of churn: each
round (1 s at the servient's interval), ${fmt(plan.large.churn * 100)} % of N per minute join through a random node and as
many leave, alternately with notice and by crashing; after each round of maintenance,
${plan.large.lookupsPerRound} lookups from random nodes are checked against the oracle of that moment. A wrong owner
is a lookup that named a node other than SUCCESSOR(key); a failed lookup threw
(FLOWCHAIN_ERR_LOOKUP_FAILED or a dead peer) and a caller looks again.

`}### Re-stabilization between ${cluster.processes} real processes

${churnTable}

Wall time from the event (the new process's "listening" line, which it logs once its join
returned; or the SIGKILL) until GET /ring on every live process showed the state, polled every
100 ms (so figures are rounded up to the next poll, about 0.1 s). Median over ${cluster.churn.length} cycle(s): join
consistent after ${seconds(medianOf((c) => c.join.consistent))} (start-up ${seconds(medianOf((c) => c.join.startupMs))} before that), crash healed after
${seconds(medianOf((c) => c.crash.consistent))}. The first ${cluster.processes} processes started in ${fmt(cluster.formation.startS, 1)} s (one after another, each
joining through the first) and were consistent ${seconds(cluster.formation.consistent)} after the last one listened.
Successor-list length r = ${cluster.successorListSize} (the default).

### Lookups per second between ${cluster.processes} real processes

${throughputTable}

${ratioTable}

${pairsTable}

- Hops in a sample of ${fmt(cluster.hopsSample.lookups)} lookups on the measured node after the windows: mean
  ${fmt(cluster.hopsSample.mean, 2)} (${hist}); ½·log2 ${cluster.processes} = ${fmt(0.5 * Math.log2(cluster.processes), 2)}. A sample of ${fmt(cluster.spreadSample.lookups)} spread over every node: mean
  ${fmt(cluster.spreadSample.mean, 2)}. Wrong owners: ${cluster.hopsSample.wrong + cluster.spreadSample.wrong}, failed: ${cluster.hopsSample.failed + cluster.spreadSample.failed}.
- The idle ${cluster.processes}-process ring (maintenance only, no requests) used ${fmt(t.idleCores * 100, 0)} % of a core in all.
- Windows of ${fmt(t.windowS, 1)} s, ${fmt(t.pairs.length)} pairs, after a ${plan.cluster.warmupS} s warm-up per side;
  ${t.connections} connections, pipelining 1. "CPU of all 4 nodes" sums the CPU time of every node process from
  /proc (a lookup costs CPU on every node it visits), as a share of one core.
${cluster.warnings.length > 0 ? `- Warnings the nodes logged: ${cluster.warnings.map((w) => `\`${w}\``).join(', ')}\n` : ''}
### How the ring benchmarks work

- **Simulation** (\`bench/ring-sim.mjs\`): ChordNodes from \`dist/dht/chord-node.js\` on
  \`dist/dht/memory-transport.js\` (requests are structured-cloned and delivered in a microtask;
  a removed node is unreachable at once), the 160-bit \`RING\`, a manual clock, and ids that
  are SHA-1 of 32 seeded random bytes, as in \`test/helpers/ring-simulation.ts\` (but without
  its ring store: nothing is stored here, and the store's round task then sends nothing). A ring of N
  grows one join at a time (through the first node) with one maintenance round after each join,
  then runs rounds until the successor pointers form one cycle, plus two for the fingers.
  Seeds are fixed (1000 + N for hops; 2000 + 100 x trial + scenario for re-stabilization), so
  every figure in the two simulation tables is the same on every run and machine; only the
  bench time changes. Oracle: the owner of a key is the first live id at or after it, wrapping.
- **Re-stabilization**: after the ring of 64 is settled, one node joins (through a random
  node), one random node crashes (taken off the network, no leave notices), or 16 random nodes
  (25 %) crash together with r = 12 (Chord §5.2's 2·log2 N, as in the test suite; with the
  default r = 4 a node can lose its whole successor list). After every round the harness checks
  the successor cycle and predecessors, then (once the cycle is consistent) ${fmt(plan.restabilize.checkLookups)} lookups
  against the oracle, and whether every finger is exactly successor(n + 2^i). Lookups are only
  checked once the cycle is consistent, because a lookup that meets a dead node removes it from
  the asker's table and would speed the repair up.
- **Real processes** (\`bench/ring-cluster.mjs\`): \`node dist/cli.js start --host 127.0.0.1
  --port 0 --data <temp dir> [--join ws://127.0.0.1:PORT] --log-level info\`; the JSON log line
  with \`url\` gives each address. All processes and the load generator share the machine's
  ${run.machine.nproc} cores. After the throughput windows, ${plan.cluster.cycles} cycle(s) each start a new process (joining
  through the measured node) and then SIGKILL one of the older ones, so the ring goes 4 -> 5 -> 4.
  After every state change 10 lookups per live node are checked against the ids in /ring.
- **Lookups/s**: autocannon against one node, \`GET /ring/lookup/{key}\` with keys from a fixed
  list of 4,096 seeded 40-hex keys (\`setupRequest\` sets each request's path), against
  \`GET /health\` on the same node built the same way, in alternating windows (AB BA AB BA)
  with the quiet-machine checks of the other benchmarks (node processes count as the
  benchmark's own CPU). After each window the harness waits until the nodes have finished
  lookups still in flight.

### Notes on the ring figures

${notes}
`;
}

/**
 * The broker benchmarks (`node bench/run.mjs --only=broker`): property PUT with owner
 * acknowledgement, where every write becomes a signed data transaction stored at
 * SUCCESSOR(H_DATA) before the PUT is answered, against the bare servient PUT (validation and
 * LevelDB persistence only) on the same node in the same run. The baseline is the same
 * thermostat loaded a second time as `thermostat-plain`, its targetTemperature marked
 * `"recorded": false`, so both sides run the same code up to the broker.
 *
 * Run on a ring of 1 process and of 4 (`flowchain start` children on 127.0.0.1, the default
 * `--ack owner`), load on the first node. With owner acknowledgement a PUT is answered once
 * its owner stored the transaction, so its latency is the time from PUT to stored at the
 * owner; every answer's Flowchain-Tx-Status header is counted to show it was `stored`.
 * Rendered as its own section of bench/RESULTS.md by {@link renderBrokerSection}.
 */
import { join } from 'node:path';
import { Cluster, pairedThroughput, waitConsistent } from './ring-cluster.mjs';
import { PLAIN_PROPERTY_PATH, PROPERTY_PATH, writeThings } from './lib/common.mjs';
import { fmt, median, readNotes, sideCells, table } from './lib/format.mjs';

const PLANS = {
  full: { warmupS: 2, durationS: 12 },
  quick: { warmupS: 1, durationS: 4 },
};
const RECORDED = PROPERTY_PATH;
const PLAIN = PLAIN_PROPERTY_PATH;
/** Bodies each connection alternates between: both valid (5..30, multipleOf 0.5). */
const BODIES = ['21.5', '22'];

/** PUT requests on `path`, alternating bodies; `onStatus` hears each answer's Flowchain-Tx-Status. */
function puts(path, onStatus) {
  return BODIES.map((body) => ({
    method: 'PUT',
    path,
    headers: { 'content-type': 'application/json' },
    body,
    onResponse: (status, _body, _context, headers) => {
      const key = Object.keys(headers).find((name) => name.toLowerCase() === 'flowchain-tx-status');
      onStatus(key === undefined ? 'none' : String(headers[key]));
    },
  }));
}

async function getJson(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: response.status === 200 ? await response.json() : await response.text() };
}

/** One ring of `processes`: both sides measured on its first node, then checked. */
async function measureRing(processes, plan, log) {
  const problems = [];
  const cluster = await Cluster.create();
  const killOnExit = () => {
    for (const n of cluster.nodes) if (n.alive) n.child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  try {
    const things = await writeThings(join(cluster.root, 'things'));
    cluster.extraArgs = ['--things', things];
    const target = await cluster.start();
    for (let i = 1; i < processes; i++) await cluster.start(target);
    if (processes > 1) {
      const formed = await waitConsistent(cluster.live, performance.now(), 4);
      if (Number.isNaN(formed.consistent)) problems.push(`the ${processes} processes did not form a consistent ring`);
    }
    const statuses = { plain: {}, recorded: {} };
    const count = (side) => (status) => void (statuses[side][status] = (statuses[side][status] ?? 0) + 1);
    log(`  ring of ${processes}: PUT, not recorded vs recorded with owner ack`);
    const throughput = await pairedThroughput({
      nodes: cluster.live,
      target,
      sides: [
        { label: 'bare servient PUT (not recorded)', requests: puts(PLAIN, count('plain')), expectedStatus: 204 },
        { label: 'PUT with owner ack (recorded)', requests: puts(RECORDED, count('recorded')), expectedStatus: 204 },
      ],
      ...plan,
      log,
    });
    if (Object.keys(statuses.plain).some((s) => s !== 'none')) problems.push(`unrecorded writes reported transactions: ${JSON.stringify(statuses.plain)}`);
    const notStored = Object.entries(statuses.recorded).filter(([s]) => s !== 'stored');
    if (notStored.length > 0) problems.push(`recorded writes not answered as stored: ${JSON.stringify(Object.fromEntries(notStored))}`);
    // Afterwards: nothing waits in any outbox, and the last write's receipt reads from the last node.
    const last = cluster.live.at(-1);
    for (const node of cluster.live) {
      const pending = await getJson(new URL('things/ledger/properties/outbox', node.url));
      if (pending.body !== 0) problems.push(`node ${node.url} still has ${JSON.stringify(pending.body)} transactions in its outbox`);
    }
    const history = await getJson(new URL(`${RECORDED.slice(1)}/history?limit=1`, target.url));
    const entry = Array.isArray(history.body) ? history.body[0] : undefined;
    const receipt = entry?.txId === undefined ? undefined : await getJson(new URL(`ledger/tx/${entry.txId}`, last.url));
    if (receipt?.status !== 200 || receipt.body.txId !== entry.txId) problems.push(`the last write's receipt did not read from another node (${receipt?.status ?? 'no txId in the history'})`);
    return { processes, throughput, statuses, problems: [...problems, ...throughput.baseline.problems, ...throughput.subject.problems] };
  } finally {
    process.removeListener('exit', killOnExit);
    await cluster.close();
  }
}

/** Runs the broker benchmarks; `problems` lists whatever makes the figures invalid. */
export async function brokerBenchmarks({ quick, log }) {
  const plan = quick ? PLANS.quick : PLANS.full;
  const started = performance.now();
  const rings = [];
  for (const processes of [1, 4]) rings.push(await measureRing(processes, plan, log));
  return { key: 'broker', name: 'Broker (PUT with data transactions)', plan, rings, totalS: (performance.now() - started) / 1000, problems: rings.flatMap((r) => r.problems.map((p) => `ring of ${r.processes}: ${p}`)) };
}

/** The broker section of bench/RESULTS.md, from one run's record (`bench/out/broker.json`). */
export function renderBrokerSection(run) {
  const notes = readNotes('broker-notes.md');
  const rows = run.rings.flatMap((ring) => [ring.throughput.baseline, ring.throughput.subject].map((side) => [ring.processes, ...sideCells(side, { loadCpu: false })]));
  const ratios = run.rings.map((ring) => {
    const t = ring.throughput;
    return [
      ring.processes,
      fmt(t.ratio, 3),
      fmt(median(t.pairRatios), 3),
      `${fmt(Math.min(...t.pairRatios), 3)} - ${fmt(Math.max(...t.pairRatios), 3)}`,
      `${fmt(t.subject.serverCpuUsPerOp / t.baseline.serverCpuUsPerOp, 1)} x`,
      Object.entries(ring.statuses.recorded).map(([s, n]) => `${s}: ${fmt(n)}`).join(', '),
      `${t.pairRatios.length} of ${t.pairs.length} (${t.pairs.filter((p) => p.disturbed).length})${t.clean ? '' : ' - NOISY'}`,
    ];
  });
  const problems = run.problems.length === 0 ? 'none: every recorded write was answered `stored`, every outbox was empty afterwards, and the last write\'s receipt read from another node' : run.problems.map((p) => `**${p}**`).join('; ');
  return `## Broker (property PUT with data transactions)

${run.quick ? '> **Quick run (`--quick`): short windows; harness check only.**\n\n' : ''}- Date: ${new Date(run.startedAt).toISOString()}
- Command: \`${run.command}\` (the default \`npm run bench\` runs it too)
- Code: commit ${run.machine.revision} (dist/ compiled by the same command)
- Machine: nproc ${run.machine.nproc}, ${run.machine.cpuModel}; Node ${run.machine.node}, autocannon ${run.machine.packages.autocannon}
- Broker bench time: ${fmt(run.totalS)} s
- Validity: ${problems}

${table(['Ring of', 'Variant (load on node 1, 50 connections)', 'Throughput', 'Range over windows', 'p50 / p99 latency', 'Counted', 'CPU of all nodes', 'Node CPU µs/op', 'Validity'], rows)}

${table(['Ring of', 'Ratio recorded / bare', 'Median pair ratio', 'Per-pair ratios (min - max)', 'Node CPU µs/op, recorded / bare', 'Flowchain-Tx-Status of recorded writes', 'Pairs used (disturbed, re-measured)'], ratios)}

- **Bare servient PUT**: \`PUT ${PLAIN}\`, the bundled thermostat loaded again with
  \`"recorded": false\` on targetTemperature: schema check, LevelDB write, 204. **Recorded**: \`PUT ${RECORDED}\`
  with the default \`--ack owner\`: the same, plus the signed data transaction, the history entry and
  the outbox entry, delivery to SUCCESSOR(H_DATA) (this node, or another over the peer WebSocket),
  the owner's checks, store, replication to its successors and index, then the 204 with
  \`Flowchain-Tx-Status: stored\`. Its latency is therefore the time from PUT to stored at the owner.
- Both Things live on the same node; the two request mixes alternate in windows of
  ${fmt(run.rings[0]?.throughput.windowS ?? 0, 1)} s (ABBA ABBA) after a ${run.plan.warmupS} s warm-up each. "CPU of all nodes" sums every node
  process's CPU time from /proc, as a share of one core.
${notes ? `\n${notes}\n` : ''}`;
}

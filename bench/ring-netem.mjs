/**
 * The ring over a network (`node bench/run.mjs --only=netem`): 16 node processes in 4 network
 * namespaces this benchmark creates (`ip netns`, a veth pair each, one bridge in this
 * namespace), 4 nodes in each, with `tc netem` on every namespace's link (20 ms ± 5 ms delay,
 * 0.5 % loss, on what leaves it: so between namespaces, and between this namespace and theirs)
 * where the kernel has netem. Measured:
 *
 *   1. recorded writes: sequential rounds of concurrent PUTs of the thermostat's target
 *      temperature at one node (each a signed transaction routed to SUCCESSOR(H_DATA) in
 *      whichever namespace that is); p50 and p99 of the answers, and their Flowchain-Tx-Status;
 *   2. directory propagation: a TD registered at one node until all 16 list it;
 *   3. heal: SIGKILL of 4 nodes (one per namespace), until the 12 left form one consistent
 *      ring with complete successor lists;
 *   4. afterwards every acknowledged write's receipt (GET /ledger/tx/{id}) is asked of a node
 *      that survived: an acknowledged write that none serves is lost.
 *
 * A machine that refuses namespaces (not Linux, not root, no `ip netns`) is said so, and the
 * benchmark is skipped with the reason. A kernel without netem runs the same namespaces without
 * delay or loss, and says so beside every figure. Everything made is removed at the end.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Cluster, waitConsistent } from './ring-cluster.mjs';
import { delay, INITIAL_TARGET, PROPERTY_PATH } from './lib/common.mjs';
import { fmt, median, table } from './lib/format.mjs';

const PLANS = {
  full: { namespaces: 4, perNamespace: 4, writeRounds: 40, concurrency: 10, propagationSamples: 10, killed: 4 },
  quick: { namespaces: 2, perNamespace: 2, writeRounds: 5, concurrency: 4, propagationSamples: 3, killed: 1 },
};
const NETEM = ['delay', '20ms', '5ms', 'loss', '0.5%'];
const SUBNET = '10.77.0';
const POLL_MS = 50;
/** The nodes' successor list length (`--successors`, 4 by default). */
const SUCCESSORS = 4;
/** Bounds: a ring forming or healing over the emulated network, one propagation sample. */
const HEAL_TIMEOUT_MS = 120_000;
const PROPAGATION_TIMEOUT_MS = 30_000;

const run = (command, ...args) => execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const stderrOf = (err) => String(err?.stderr ?? err?.message ?? err).trim();

/** Why this machine cannot make network namespaces, or undefined when it can. */
function namespacesRefused() {
  if (process.platform !== 'linux') return `network namespaces are Linux's (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  const probe = `fcnprobe${process.pid}`;
  try {
    run('ip', 'netns', 'add', probe);
    run('ip', 'netns', 'del', probe);
    return undefined;
  } catch (err) {
    return `the machine refuses network namespaces: ${stderrOf(err)}`;
  }
}

/**
 * Makes the bridge and the namespaces, noting each in `made` as it is made (so that what a
 * failure leaves is removed too); `made.netem` says whether delay and loss are applied, or why not.
 */
function buildNetwork(made, count) {
  const bridge = made.bridge;
  run('ip', 'link', 'add', bridge, 'type', 'bridge');
  made.bridgeMade = true;
  run('ip', 'addr', 'add', `${SUBNET}.254/24`, 'dev', bridge);
  run('ip', 'link', 'set', bridge, 'up');
  for (let i = 1; i <= count; i++) {
    const ns = `fcn${process.pid % 10_000}x${i}`;
    const veth = `fcnv${process.pid % 10_000}x${i}`;
    run('ip', 'netns', 'add', ns);
    made.namespaces.push({ ns, address: `${SUBNET}.${i}` });
    run('ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    run('ip', 'link', 'set', veth, 'master', bridge, 'up');
    run('ip', '-n', ns, 'addr', 'add', `${SUBNET}.${i}/24`, 'dev', 'eth0');
    run('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
    run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    if (made.netem.applied) {
      try {
        run('tc', '-n', ns, 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', ...NETEM);
      } catch (err) {
        made.netem = { applied: false, reason: `tc netem refused: ${stderrOf(err)}` };
      }
    }
  }
}

function removeNetwork(made) {
  for (const { ns } of made.namespaces) {
    try {
      run('ip', 'netns', 'del', ns);
    } catch {
      // already gone
    }
  }
  if (!made.bridgeMade) return;
  try {
    run('ip', 'link', 'del', made.bridge);
  } catch {
    // already gone
  }
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];

/** One recorded PUT: its latency, status and transaction id. */
async function recordedPut(node, value) {
  const since = performance.now();
  const response = await fetch(new URL(PROPERTY_PATH.slice(1), node.url), { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value), signal: AbortSignal.timeout(30_000) });
  await response.arrayBuffer();
  return { ms: performance.now() - since, code: response.status, status: response.headers.get('flowchain-tx-status'), txId: response.headers.get('flowchain-tx-id') };
}

async function lists(node, id) {
  const response = await fetch(new URL('things', node.url), { signal: AbortSignal.timeout(5_000) });
  return response.ok && (await response.json()).some((td) => td.id === id);
}

/** Runs the benchmark; `skipped` names why it did not run, `problems` what makes its figures invalid. */
export async function netemBenchmarks({ quick, log }) {
  const plan = quick ? PLANS.quick : PLANS.full;
  const refused = namespacesRefused();
  if (refused !== undefined) {
    log(`  skipped: ${refused}`);
    return { key: 'netem', name: 'Ring over a network', plan, skipped: refused, problems: [] };
  }
  const started = performance.now();
  const problems = [];
  const network = { bridge: `fcnbr${process.pid % 10_000}`, bridgeMade: false, namespaces: [], netem: { applied: true, reason: undefined } };
  let cluster;
  try {
    buildNetwork(network, plan.namespaces);
    log(network.netem.applied ? `  ${plan.namespaces} namespaces, netem ${NETEM.join(' ')}` : `  ${plan.namespaces} namespaces, NO netem: ${network.netem.reason}`);
    cluster = await Cluster.create();
    cluster.extraArgs = ['--mqtt', 'off', '--coap-port', 'off'];
    const placed = [];
    const formedSince = performance.now();
    for (let k = 0; k < plan.perNamespace; k++) {
      for (const { ns, address } of network.namespaces) {
        const node = await cluster.start(placed[0]?.node, { host: address, prefix: ['ip', 'netns', 'exec', ns] });
        placed.push({ node, ns });
      }
    }
    log(`  ${placed.length} nodes started; waiting for one consistent ring`);
    const formed = await waitConsistent(cluster.live, formedSince, SUCCESSORS, HEAL_TIMEOUT_MS);
    if (Number.isNaN(formed.consistent)) problems.push(`the ${placed.length} nodes did not form one consistent ring within ${HEAL_TIMEOUT_MS} ms`);
    // The first publications after the joins settle before anything is timed.
    await delay(5_000);

    const writer = placed[0].node;
    log(`  recorded writes: ${plan.writeRounds} rounds of ${plan.concurrency} concurrent PUTs at one node`);
    const writes = [];
    for (let round = 0; round < plan.writeRounds; round++) {
      writes.push(...(await Promise.all(Array.from({ length: plan.concurrency }, (_, i) => recordedPut(writer, INITIAL_TARGET + ((round * plan.concurrency + i) % 10) / 2).catch((err) => ({ ms: Number.NaN, code: 0, status: `error: ${err.message}`, txId: null }))))));
    }
    const latencies = writes.filter((w) => w.code === 204).map((w) => w.ms).sort((a, b) => a - b);
    const statuses = {};
    for (const w of writes) statuses[w.code === 204 ? (w.status ?? 'none') : `HTTP ${w.code}`] = (statuses[w.code === 204 ? (w.status ?? 'none') : `HTTP ${w.code}`] ?? 0) + 1;
    const acknowledged = writes.filter((w) => w.code === 204 && w.status === 'stored' && w.txId !== null).map((w) => w.txId);
    const unanswered = writes.filter((w) => w.code !== 204).length;
    if (unanswered > 0) problems.push(`${unanswered} of ${writes.length} recorded writes were not answered 204`);

    log(`  directory propagation: ${plan.propagationSamples} registrations until all ${placed.length} list each`);
    const propagation = [];
    for (let k = 0; k < plan.propagationSamples; k++) {
      const id = `urn:uuid:${randomUUID()}`;
      const td = { '@context': 'https://www.w3.org/2022/wot/td/v1.1', id, title: `netem-${k}`, securityDefinitions: { nosec_sc: { scheme: 'nosec' } }, security: 'nosec_sc', properties: { level: { type: 'number', forms: [{ href: `http://device-${k}.invalid/level` }] } } };
      const at = placed[(k * 5) % placed.length].node;
      const since = performance.now();
      const put = await fetch(new URL(`things/${encodeURIComponent(id)}`, at.url), { method: 'PUT', headers: { 'content-type': 'application/td+json' }, body: JSON.stringify(td) });
      if (put.status !== 201) {
        problems.push(`registering a TD at ${at.url} answered ${put.status}`);
        continue;
      }
      const seen = new Set();
      while (seen.size < placed.length && performance.now() - since < PROPAGATION_TIMEOUT_MS) {
        await Promise.all(placed.map(async ({ node }, i) => !seen.has(i) && (await lists(node, id).catch(() => false)) && seen.add(i)));
        if (seen.size < placed.length) await delay(POLL_MS);
      }
      if (seen.size < placed.length) problems.push(`a TD registered at ${at.url} was listed by ${seen.size} of ${placed.length} nodes after ${PROPAGATION_TIMEOUT_MS} ms`);
      else propagation.push(performance.now() - since);
    }
    propagation.sort((a, b) => a - b);

    // One node per namespace, never the writer: the ring loses a quarter of its members at once.
    const victims = network.namespaces.slice(0, plan.killed).map(({ ns }) => placed.find((p) => p.ns === ns && p.node !== writer).node);
    log(`  heal: SIGKILL of ${victims.length} nodes`);
    const killedAt = performance.now();
    await Promise.all(victims.map((node) => node.stop('SIGKILL')));
    const healed = await waitConsistent(cluster.live, killedAt, SUCCESSORS, HEAL_TIMEOUT_MS);
    if (Number.isNaN(healed.consistent)) problems.push(`the ring was not consistent again within ${HEAL_TIMEOUT_MS} ms of the kill`);

    log(`  asking the survivors for the receipts of ${acknowledged.length} acknowledged writes`);
    const survivors = cluster.live;
    let lost = 0;
    for (const [i, txId] of acknowledged.entries()) {
      const asked = survivors[i % survivors.length];
      const response = await fetch(new URL(`ledger/tx/${txId}`, asked.url), { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
      if (response?.status !== 200) lost++;
      await response?.arrayBuffer();
    }
    if (lost > 0) problems.push(`${lost} of ${acknowledged.length} acknowledged writes had no receipt at the survivors`);
    return {
      key: 'netem',
      name: 'Ring over a network',
      plan,
      netem: network.netem.applied ? NETEM.join(' ') : null,
      netemRefused: network.netem.reason ?? null,
      nodes: placed.length,
      formed: { successorsMs: formed.successors, consistentMs: formed.consistent, listsMs: formed.lists },
      writes: { count: writes.length, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), maxMs: latencies.at(-1), statuses, acknowledged: acknowledged.length, lost },
      propagation: { samples: propagation.length, p50Ms: median(propagation), p99Ms: percentile(propagation, 0.99), maxMs: propagation.at(-1) },
      heal: { killed: victims.length, successorsMs: healed.successors, consistentMs: healed.consistent, listsMs: healed.lists },
      totalS: (performance.now() - started) / 1000,
      problems,
    };
  } finally {
    await cluster?.close();
    removeNetwork(network);
  }
}

/** The section of bench/RESULTS.md, from one run's record (`bench/out/netem.json`). */
export function renderNetemSection(run) {
  const header = `## Ring over a network (${run.plan.namespaces} network namespaces, ${run.plan.namespaces * run.plan.perNamespace} processes)

${run.quick ? '> **Quick run (`--quick`): short phases; harness check only.**\n\n' : ''}- Date: ${new Date(run.startedAt).toISOString()}
- Command: \`${run.command}\`
- Code: commit ${run.machine.revision}
- Machine: nproc ${run.machine.nproc}, ${run.machine.cpuModel}; Node ${run.machine.node}`;
  if (run.skipped !== undefined) return `${header}\n- **Skipped: ${run.skipped}.** Nothing was measured.\n`;
  const link = run.netem === null ? `**none: ${run.netemRefused}** (the figures are for the bridge alone, without delay or loss)` : `\`netem ${run.netem}\` on each namespace's link`;
  const validity = run.problems.length === 0 ? 'none: every acknowledged write\'s receipt was served by a survivor, every registration was listed by every node' : run.problems.map((p) => `**${p}**`).join('; ');
  const ms = (v) => (Number.isFinite(v) ? `${fmt(v)} ms` : 'never');
  return `${header}
- Emulated network: ${link}
- Validity: ${validity}

${table(
  ['Figure', 'p50', 'p99', 'Max', 'Detail'],
  [
    [`recorded PUT at one node (${run.plan.concurrency} concurrent, ${fmt(run.writes.count)} writes)`, ms(run.writes.p50Ms), ms(run.writes.p99Ms), ms(run.writes.maxMs), Object.entries(run.writes.statuses).map(([status, n]) => `${status}: ${fmt(n)}`).join(', ')],
    [`a registration listed on all ${run.nodes} nodes (${run.propagation.samples} samples)`, ms(run.propagation.p50Ms), ms(run.propagation.p99Ms), ms(run.propagation.maxMs), 'polled every 50 ms'],
  ],
)}

${table(
  ['After', 'Successor pointers one cycle', 'Consistent (successors and predecessors)', 'Successor lists complete'],
  [
    [`forming: ${run.nodes} nodes started one after another (from the first start)`, ms(run.formed.successorsMs), ms(run.formed.consistentMs), ms(run.formed.listsMs)],
    [`SIGKILL of ${run.heal.killed} nodes (one per namespace)`, ms(run.heal.successorsMs), ms(run.heal.consistentMs), ms(run.heal.listsMs)],
  ],
)}

Acknowledged writes (answered \`stored\`): ${fmt(run.writes.acknowledged)}; without a receipt at the survivors after the kill: ${fmt(run.writes.lost)}.
`;
}

/**
 * The directory benchmarks (`node bench/run.mjs --only=directory`), on a ring of four real
 * processes (ring-cluster.mjs):
 *
 *   1. propagation: a TD registered (PUT /things/{id}) on one node, until every node's
 *      GET /things lists it, polled every 50 ms; p50 / p99 over the samples;
 *   2. listing: with 1,000 TDs registered at one node, GET /things on another node (the
 *      whole ring's, those 1,000 from the directory it holds) against GET /things?scope=local
 *      on the node they were registered at (the same 1,000, its own), in alternating windows:
 *      the same TDs listed, so the ratio is what listing them from the ring costs;
 *   3. search: a JSONPath query over the same 1,000 (GET /search/jsonpath) against the
 *      ring-wide listing it searches, in alternating windows.
 *
 * Rendered as its own section of bench/RESULTS.md by {@link renderDirectorySection}.
 */
import { randomUUID } from 'node:crypto';
import { Cluster, pairedThroughput } from './ring-cluster.mjs';
import { delay, phaseTimer } from './lib/common.mjs';
import { fmt, median, readNotes, table } from './lib/format.mjs';

const PLANS = {
  full: { processes: 4, propagationSamples: 20, registered: 1_000, warmupS: 2, durationS: 8 },
  quick: { processes: 4, propagationSamples: 5, registered: 200, warmupS: 1, durationS: 4 },
};
const POLL_MS = 50;
/** Bound on one propagation sample. */
const PROPAGATION_TIMEOUT_MS = 30_000;
const QUERY = '$[?@.title=="bench-500"].id';

/** A small valid TD 1.1 of a Thing hosted elsewhere (nothing listens at its form). */
function benchTd(i) {
  return {
    '@context': 'https://www.w3.org/2022/wot/td/v1.1',
    id: `urn:uuid:${randomUUID()}`,
    title: `bench-${i}`,
    securityDefinitions: { nosec_sc: { scheme: 'nosec' } },
    security: 'nosec_sc',
    properties: { level: { type: 'number', forms: [{ href: `http://device-${i}.invalid/level` }] } },
  };
}

async function register(node, td) {
  const response = await fetch(`${node.url}things/${encodeURIComponent(td.id)}`, { method: 'PUT', headers: { 'content-type': 'application/td+json' }, body: JSON.stringify(td) });
  if (response.status !== 201) throw new Error(`PUT of ${td.id} at ${node.url} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
}

async function lists(node, id) {
  const response = await fetch(`${node.url}things`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) return false;
  return (await response.json()).some((td) => td.id === id);
}

/** Runs every directory benchmark; `problems` lists whatever makes the figures invalid. */
export async function directoryBenchmarks({ quick, log }) {
  const plan = quick ? PLANS.quick : PLANS.full;
  const started = performance.now();
  const timings = {};
  const time = phaseTimer(timings);
  const problems = [];
  const cluster = await Cluster.create();
  try {
    const first = await cluster.start();
    for (let i = 1; i < plan.processes; i++) await cluster.start(first);
    const nodes = cluster.nodes;
    // The ring settles (joins, the first publications) before anything is timed.
    await delay(5_000);

    log(`  propagation: ${plan.propagationSamples} registrations until every node lists each`);
    const propagation = await time('propagation', async () => {
      const samples = [];
      for (let k = 0; k < plan.propagationSamples; k++) {
        const td = benchTd(`p${k}`);
        const at = nodes[k % nodes.length];
        const since = performance.now();
        await register(at, td);
        const seen = new Set();
        while (seen.size < nodes.length && performance.now() - since < PROPAGATION_TIMEOUT_MS) {
          await Promise.all(nodes.map(async (node, i) => !seen.has(i) && (await lists(node, td.id).catch(() => false)) && seen.add(i)));
          if (seen.size < nodes.length) await delay(POLL_MS);
        }
        if (seen.size < nodes.length) problems.push(`a TD registered at ${at.url} was listed by ${seen.size} of ${nodes.length} nodes after ${PROPAGATION_TIMEOUT_MS} ms`);
        else samples.push(performance.now() - since);
      }
      const sorted = [...samples].sort((a, b) => a - b);
      return { samples, p50Ms: median(sorted), p99Ms: sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)], maxMs: sorted.at(-1) };
    });

    const target = nodes[0];
    const registrar = nodes[1];
    log(`  registering ${plan.registered} TDs at one node`);
    await time('register', async () => {
      for (let i = 0; i < plan.registered; i += 20) {
        await Promise.all(Array.from({ length: Math.min(20, plan.registered - i) }, (_, j) => register(registrar, benchTd(i + j))));
      }
    });
    const count = async (node, path) => (await (await fetch(`${node.url}${path}`)).json()).length;
    const listed = { ring: await count(target, 'things'), local: await count(registrar, 'things?scope=local') };
    if (listed.ring < plan.registered) problems.push(`the ring-wide listing holds ${listed.ring} TDs, fewer than the ${plan.registered} registered`);

    // Two GETs in alternating windows, the first the baseline.
    const side = (label, path, node) => ({ label, requests: [{ method: 'GET', path }], ...(node ? { target: node } : {}) });
    const paired = (what, baseline, measured) => time(what, () => pairedThroughput({ nodes, target, sides: [baseline, measured], warmupS: plan.warmupS, durationS: plan.durationS, log }));
    const ringWide = side('GET /things at another node (from the ring)', '/things');
    log('  GET /things (ring-wide) against GET /things?scope=local where the TDs were registered');
    const listing = await paired('listing', side('GET /things?scope=local where registered', '/things?scope=local', registrar), ringWide);
    log('  JSONPath search against the ring-wide listing');
    const search = await paired('search', ringWide, side(`GET /search/jsonpath ${QUERY}`, `/search/jsonpath?query=${encodeURIComponent(QUERY)}`));
    for (const run of [listing, search]) for (const side of [run.baseline, run.subject]) problems.push(...side.problems.map((p) => `${side.label}: ${p}`));
    return { key: 'directory', name: 'Directory (ring-wide TDD)', plan, propagation, listed, listing, search, timings, totalS: (performance.now() - started) / 1000, problems };
  } finally {
    await cluster.close();
  }
}

/** The directory section of bench/RESULTS.md, from one run's record (`bench/out/directory.json`). */
export function renderDirectorySection(run) {
  const { propagation, listing, search, plan, listed } = run;
  const notes = readNotes('directory-notes.md');
  const validity = run.problems.length === 0 ? 'none: every registration was listed by every node, every request answered 200' : run.problems.map((p) => `**${p}**`).join('; ');
  const pairRow = (name, r) => [name, fmt(r.ratio, 3), r.pairRatios.map((x) => fmt(x, 3)).join(', ')];
  return `## Directory (ring-wide Thing Description Directory, ${plan.processes} processes)

${run.quick ? '> **Quick run (`--quick`): short phases; harness check only.**\n\n' : ''}- Date: ${new Date(run.startedAt).toISOString()}
- Command: \`${run.command}\`
- Code: commit ${run.machine.revision}
- Machine: nproc ${run.machine.nproc}, ${run.machine.cpuModel}; Node ${run.machine.node}
- Validity: ${validity}

### Registered on one node, listed on every node

${table(['Samples', 'p50', 'p99', 'Max'], [[propagation.samples.length, `${fmt(propagation.p50Ms)} ms`, `${fmt(propagation.p99Ms)} ms`, `${fmt(propagation.maxMs)} ms`]])}

### Listing and search with ${fmt(plan.registered)} TDs registered at one node (${fmt(listed.ring)} listed ring-wide at another, ${fmt(listed.local)} locally where registered)

${table(
  ['Request', 'Throughput', 'p50 / p99', 'Nodes CPU µs/req'],
  [listing.baseline, listing.subject, search.subject].map((side) => [side.label, `${fmt(side.rate)} req/s`, `${fmt(side.p50Ms, 1)} / ${fmt(side.p99Ms, 1)} ms`, fmt(side.serverCpuUsPerOp, 1)]),
)}

${table(['Pair', 'Ratio (second / first)', 'Per-window ratios'], [pairRow('ring-wide listing / local listing', listing), pairRow('JSONPath search / ring-wide listing', search)])}

${notes}`;
}

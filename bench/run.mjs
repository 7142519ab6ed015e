#!/usr/bin/env node
/**
 * Flowchain benchmark suite. Each benchmark measures the servient and its bare baseline in the
 * same run and reports the ratio. Run after `npm run build` (the `bench` npm script does both):
 *
 *   node bench/run.mjs [--quick] [--only=get,put,ws,mqtt,coap,broker,ring,netem,ledger,soak,directory,flows,history] [--no-write] [--strict]
 *   node bench/run.mjs --only=netem    16 processes in 4 network namespaces (root; tc netem where the kernel has it)
 *   node bench/run.mjs --only=history  a day of a 1 Hz property: aggregated against raw against LevelDB's own read
 *   node bench/run.mjs --only=flows    Node-RED: flowchain-observe -> flowchain-write against core http request
 *   node bench/run.mjs --render-only
 *
 *   --quick     short runs (1 s warm-up, 3 s measured) for checking the harness; not figures
 *   --only      run a subset
 *   --no-write  print the figures only: neither bench/RESULTS.md nor bench/out/ is written
 *   --strict    exit 1 when a target ratio is missed (invalid runs always exit 1)
 *   --render-only  measure nothing: rewrite bench/RESULTS.md from the last runs' JSON in
 *               bench/out/ (after editing bench/notes.md, broker-notes.md, ring-notes.md,
 *               ledger-notes.md or flows-notes.md)
 *
 *   BENCH_SERVER_FLAGS  Node flags for the server processes only, to profile them:
 *               BENCH_SERVER_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" node bench/run.mjs --only=put
 *
 * RESULTS.md has several parts, each from the last run that measured it: get, put and ws at
 * the top, then the broker (`broker`, see broker-bench.mjs), the ring (`ring`, see
 * ring-bench.mjs), the ring over a network (`netem`, see ring-netem.mjs) and the ledger (`ledger`, see ledger-bench.mjs) in sections of their own,
 * as are soak, directory, flows (Node-RED, see flows-bench.mjs) and history (history-bench.mjs).
 * A run that measures only some parts keeps the others as they are.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

function here(path) {
  return fileURLToPath(new URL(path, import.meta.url));
}

if (!existsSync(here('../dist/servient.js'))) {
  console.error('dist/ is missing: run `npm run build` first (or use `npm run bench`, which builds).');
  process.exit(2);
}

const { propertyGet, propertyPut } = await import('./http-bench.mjs');
const { FOREIGN_LIMIT } = await import('./lib/common.mjs');
const { fmt, median, table } = await import('./lib/format.mjs');
const { brokerBenchmarks, renderBrokerSection } = await import('./broker-bench.mjs');
const { ringBenchmarks, renderRingSection } = await import('./ring-bench.mjs');
const { netemBenchmarks, renderNetemSection } = await import('./ring-netem.mjs');
const { ledgerBenchmarks, renderLedgerSection } = await import('./ledger-bench.mjs');
const { soakBenchmarks, renderSoakSection } = await import('./soak-bench.mjs');
const { directoryBenchmarks, renderDirectorySection } = await import('./directory-bench.mjs');
const { wsFanout } = await import('./ws-fanout.mjs');
const { mqttFanout } = await import('./mqtt-fanout.mjs');
const { coapPropertyGet } = await import('./coap-bench.mjs');
const { flowsBenchmarks, renderFlowsSection } = await import('./flows-bench.mjs');
const { historyBenchmarks, renderHistorySection } = await import('./history-bench.mjs');

const RESULTS_FILE = here('./RESULTS.md');
const HTTP_JSON = here('./out/results.json');
/** The sections after the top one, in file order; each opens with its marker line. */
const SECTIONS = [
  { key: 'broker', json: here('./out/broker.json'), render: renderBrokerSection, marker: '<!-- broker section: rendered by bench/run.mjs from bench/out/broker.json (notes: bench/broker-notes.md) -->' },
  { key: 'ring', json: here('./out/ring.json'), render: renderRingSection, marker: '<!-- ring section: rendered by bench/run.mjs from bench/out/ring.json (notes: bench/ring-notes.md) -->' },
  { key: 'netem', json: here('./out/netem.json'), render: renderNetemSection, marker: '<!-- netem section: rendered by bench/run.mjs from bench/out/netem.json -->' },
  { key: 'ledger', json: here('./out/ledger.json'), render: renderLedgerSection, marker: '<!-- ledger section: rendered by bench/run.mjs from bench/out/ledger.json (notes: bench/ledger-notes.md) -->' },
  { key: 'soak', json: here('./out/soak.json'), render: renderSoakSection, marker: '<!-- soak section: rendered by bench/run.mjs from bench/out/soak.json (notes: bench/soak-notes.md) -->' },
  { key: 'directory', json: here('./out/directory.json'), render: renderDirectorySection, marker: '<!-- directory section: rendered by bench/run.mjs from bench/out/directory.json (notes: bench/directory-notes.md) -->' },
  { key: 'flows', json: here('./out/flows.json'), render: renderFlowsSection, marker: '<!-- flows section: rendered by bench/run.mjs from bench/out/flows.json (notes: bench/flows-notes.md) -->' },
  { key: 'history', json: here('./out/history.json'), render: renderHistorySection, marker: '<!-- history section: rendered by bench/run.mjs from bench/out/history.json (notes: bench/history-notes.md) -->' },
];

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    strict: { type: 'boolean', default: false },
    'render-only': { type: 'boolean', default: false },
  },
  strict: true,
});

if (flags['render-only']) {
  const http = existsSync(HTTP_JSON) ? JSON.parse(readFileSync(HTTP_JSON, 'utf8')) : undefined;
  const parts = {};
  const from = [];
  if (http !== undefined) {
    parts.top = renderMarkdown({ ...http, startedAt: new Date(http.startedAt), tables: renderTables(http.results), quick: http.flags.quick });
    from.push(`the get/put/ws run of ${http.startedAt}`);
  }
  for (const section of SECTIONS) {
    if (!existsSync(section.json)) continue;
    const run = JSON.parse(readFileSync(section.json, 'utf8'));
    parts[section.key] = section.render(run);
    from.push(`the ${section.key} run of ${run.startedAt}`);
  }
  if (from.length === 0) {
    console.error('nothing to render: no JSON in bench/out/ (run the benchmarks first)');
    process.exit(2);
  }
  writeFileSync(RESULTS_FILE, assemble(parts));
  console.log(`rewrote bench/RESULTS.md from ${from.join(' and ')}`);
  process.exit(0);
}

const BENCHMARKS = {
  get: { run: propertyGet, warmupS: 3, durationS: 20 },
  put: { run: propertyPut, warmupS: 3, durationS: 20 },
  ws: { run: wsFanout, warmupS: 2, durationS: 8 },
  mqtt: { run: mqttFanout, warmupS: 2, durationS: 8 },
  coap: { run: coapPropertyGet, warmupS: 2, durationS: 8 },
  // Not flowchain-vs-baseline throughput pairs like the others: several figures, own sections.
  broker: { run: brokerBenchmarks },
  ring: { run: ringBenchmarks },
  netem: { run: netemBenchmarks },
  ledger: { run: ledgerBenchmarks },
  soak: { run: soakBenchmarks },
  directory: { run: directoryBenchmarks },
  flows: { run: flowsBenchmarks },
  history: { run: historyBenchmarks },
};
const selected = flags.only ? flags.only.split(',').map((s) => s.trim()) : Object.keys(BENCHMARKS);
for (const key of selected) {
  if (!Object.hasOwn(BENCHMARKS, key)) {
    console.error(`unknown benchmark ${key} (known: ${Object.keys(BENCHMARKS).join(', ')})`);
    process.exit(2);
  }
}

function log(line) {
  console.error(line);
}
const startedAt = new Date();
const wallStart = performance.now();
const results = [];
/** The runs of the sectioned benchmarks, by key. */
const sectioned = {};
for (const key of selected) {
  const spec = BENCHMARKS[key];
  log(`[${key}] running`);
  if (SECTIONS.some((section) => section.key === key)) {
    sectioned[key] = await spec.run({ quick: flags.quick, log });
    continue;
  }
  const warmupS = flags.quick ? 1 : spec.warmupS;
  const durationS = flags.quick ? 3 : spec.durationS;
  results.push({ key, ...(await spec.run({ warmupS, durationS, log })) });
}
const totalS = (performance.now() - wallStart) / 1000;

const machine = describeMachine();
const args = process.argv.slice(2);
const command = process.env.npm_lifecycle_event === 'bench' ? `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}` : `node bench/run.mjs${args.map((a) => ` ${a}`).join('')}`;
const write = !flags['no-write'];
if (write) mkdirSync(here('./out'), { recursive: true });
const parts = {};
if (results.length > 0) {
  const tables = renderTables(results);
  console.log(`\n${tables}\n`);
  if (write) writeFileSync(HTTP_JSON, `${JSON.stringify({ startedAt, command, machine, flags, totalS, results }, null, 2)}\n`);
  parts.top = renderMarkdown({ startedAt, command, machine, totalS, tables, results, quick: flags.quick });
}
for (const section of SECTIONS) {
  const run = sectioned[section.key];
  if (run === undefined) continue;
  const record = { startedAt, command, machine, quick: flags.quick, ...run };
  if (write) writeFileSync(section.json, `${JSON.stringify(record, null, 2)}\n`);
  parts[section.key] = section.render(record);
  console.log(`\n${parts[section.key]}`);
}
console.log(`Total bench time ${totalS.toFixed(0)} s on ${machine.summary}.`);
if (write) {
  writeFileSync(RESULTS_FILE, assemble(parts));
  log('wrote bench/RESULTS.md');
}

const invalid = [
  ...results.filter((r) => r.baseline.problems.length + r.subject.problems.length > 0).map((r) => r.name),
  ...Object.values(sectioned).filter((run) => run.problems.length > 0).map((run) => run.name),
];
const missed = [...results, ...Object.values(sectioned)].filter((r) => Number.isFinite(r.target) && r.ratio < r.target);
if (invalid.length > 0) {
  console.error(`INVALID: ${invalid.join(', ')} (see problems above)`);
  process.exitCode = 1;
} else if (missed.length > 0 && flags.strict) {
  process.exitCode = 1;
}

/**
 * RESULTS.md from its parts (`top` and one per section); a part that is undefined is kept
 * from the current file (the text before the first marker, or from its marker to the next).
 */
function assemble(parts) {
  const current = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : '';
  const found = SECTIONS.map((section) => ({ ...section, at: current.indexOf(section.marker) })).filter((s) => s.at >= 0).sort((a, b) => a.at - b.at);
  const kept = { top: found.length === 0 ? current : current.slice(0, found[0].at) };
  found.forEach((section, i) => (kept[section.key] = current.slice(section.at + section.marker.length, found[i + 1]?.at ?? current.length)));
  const blocks = [(parts.top ?? kept.top).trimEnd()];
  for (const section of SECTIONS) {
    const text = parts[section.key] ?? kept[section.key];
    if (text !== undefined) blocks.push(`${section.marker}\n\n${text.trim()}`);
  }
  return `${blocks.join('\n\n')}\n`;
}

function describeMachine() {
  const require = createRequire(import.meta.url);
  const version = (name) => {
    try {
      return require(`${name}/package.json`).version;
    } catch {
      return 'unknown';
    }
  };
  const cpus = os.cpus();
  const nproc = os.availableParallelism();
  let revision = 'unknown';
  try {
    const git = (...args) => execFileSync('git', args, { cwd: here('..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim();
    const dirty = git('status', '--porcelain', '--', 'src', 'things', 'package.json') !== '';
    revision = `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' with uncommitted changes in src/, things/ or package.json' : ''}`;
  } catch {
    // not a git checkout
  }
  return {
    revision,
    nproc,
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    packages: { fastify: version('fastify'), '@fastify/websocket': version('@fastify/websocket'), ws: version('ws'), level: version('level'), autocannon: version('autocannon') },
    summary: `${nproc} cores (${cpus[0]?.model?.trim() ?? 'unknown CPU'}), Node ${process.version}`,
  };
}

function renderTables(results) {
  const rows = [];
  for (const r of results) {
    for (const side of [r.baseline, r.subject]) {
      const http = r.unit === 'req/s';
      rows.push([
        r.name,
        side.label,
        `${fmt(side.rate)} ${r.unit}`,
        `${fmt(side.minRate)} - ${fmt(side.maxRate)}`,
        http ? `${fmt(side.p50Ms)} / ${fmt(side.p99Ms)} ms` : `${fmt(side.broadcastsPerS, 1)} broadcasts/s`,
        fmt(side.ops),
        `${fmt(side.serverCpuPct)} %`,
        fmt(side.serverCpuUsPerOp, 2),
        `${fmt(side.loadCpuPct)} %`,
        side.problems.length === 0 ? 'ok' : side.problems.join('; '),
      ]);
    }
  }
  const main = table(
    ['Benchmark', 'Variant', 'Throughput', 'Range over windows', 'p50 / p99 latency, or rate', 'Counted', 'Server CPU', 'Server CPU µs/op', 'Load-gen CPU', 'Validity'],
    rows,
  );
  const ratios = table(
    ['Benchmark', 'Ratio flowchain / baseline', 'Median pair ratio', 'Per-pair ratios (min - max)', 'Target', 'Met', 'Server CPU µs/op, flowchain / baseline', 'Pairs used (disturbed, re-measured)'],
    results.map((r) => [
      r.name,
      fmt(r.ratio, 3),
      fmt(median(r.pairRatios), 3),
      `${fmt(Math.min(...r.pairRatios), 3)} - ${fmt(Math.max(...r.pairRatios), 3)}`,
      `>= ${r.target}`,
      r.ratio >= r.target ? 'yes' : 'NO',
      `${fmt(r.subject.serverCpuUsPerOp / r.baseline.serverCpuUsPerOp, 2)} x`,
      `${r.pairRatios.length} of ${r.pairs.length} (${r.pairs.filter((p) => p.disturbed).length})${r.clean ? '' : ' - NOISY: too few undisturbed pairs'}`,
    ]),
  );
  return `${main}\n\n${ratios}`;
}

function renderMarkdown({ startedAt, command, machine, totalS, tables, results, quick }) {
  const observations = [];
  for (const r of results) {
    for (const side of [r.baseline, r.subject]) {
      const what = `- ${r.name}, ${side.label}: the server used ${fmt(side.serverCpuPct)} % of a core and the load generator ${fmt(side.loadCpuPct)} %`;
      if (side.otherLoadCores > FOREIGN_LIMIT) {
        observations.push(`${what}, while other programs used ${fmt(side.otherLoadCores, 2)} cores on average: the machine was contended, and absolute figures understate both sides.`);
      } else if (side.serverCpuPct < 85 && side.loadCpuPct >= 85) {
        observations.push(`${what}: the load generator, not the server, was the limit, so this side's throughput understates the server and compresses the ratio toward 1.`);
      } else if (side.serverCpuPct < 85) {
        observations.push(`${what}: neither was saturated, so the server spent time waiting (for I/O or another thread) rather than computing.`);
      }
    }
  }
  const notesFile = here('./notes.md');
  const notes = existsSync(notesFile) ? readFileSync(notesFile, 'utf8').trim() : '';
  return `# Flowchain benchmark results

${quick ? '> **Quick run (`--quick`): durations too short for figures; harness check only.**\n\n' : ''}- Date: ${startedAt.toISOString()}
- Command: \`${command}\` (from a fresh clone: \`npm ci && npm run bench\`)
- Code: commit ${machine.revision ?? 'unknown'} (servient compiled to dist/ by the same command)
- Machine: nproc ${machine.nproc}, ${machine.cpuModel}, ${machine.memoryGiB} GiB RAM, ${machine.os}
- Node: ${machine.node}; ${Object.entries(machine.packages).map(([n, v]) => `${n} ${v}`).join(', ')}
- Total bench time: ${fmt(totalS)} s

## Results

${tables}

"Server CPU" is the server child's own CPU time (user + system) over the measured window, as
a share of one core; "Server CPU µs/op" divides it by requests (HTTP) or by delivered
messages (WS). "Load-gen CPU" is the same for the parent process (autocannon, or the 1,000
WebSocket clients).

## Measurement pairs

Each pair is one baseline window and one Flowchain window, back to back (order alternates).
"Other load" is CPU that programs other than the benchmark used meanwhile (from /proc/stat),
in cores; a pair above ${FOREIGN_LIMIT} is disturbed, measured again and left out of the figures
when at least two undisturbed pairs exist.

${table(
  ['Benchmark', 'Pair', 'Order', 'Ratio', 'Other load (cores)', 'Used'],
  results.flatMap((r) => r.pairs.map((p, i) => [r.name, i + 1, p.order.join(' then '), fmt(p.ratio, 3), fmt(p.foreignCores, 2), p.disturbed && r.clean ? 'no (disturbed)' : 'yes'])),
)}

## Method

- Every server runs in its own child process (\`bench/server.mjs\`); the load generator runs in
  the parent, so on a 2-core machine each gets a core. Both servers of a benchmark are up at
  once (the one not being measured idles); each is warmed up, then they are measured in
  alternating windows (AB BA AB BA ...; 8 pairs, 20 s per side for HTTP; 4 pairs, 8 s per side for WS). Only 127.0.0.1 is used.
- **Property GET**: autocannon, 50 connections, pipelining 1, warm-up then a fixed measured
  window, against \`GET /things/thermostat/properties/targetTemperature\` on a real \`Servient\`
  (bundled Things, LevelDB in a temp dir, seed 42, system clock, no logger) versus a bare fastify
  app (no logger) with one GET route at the same path returning \`21\`. Every response body is
  checked (\`expectBody\`).
- **Property PUT (not recorded)**: same load shape; each connection alternates bodies \`21.5\`
  and \`22\` (\`application/json\`), on \`thermostat-plain\`: the bundled thermostat loaded a second
  time with \`"recorded": false\` on targetTemperature. Flowchain checks the value against the TD
  schema, stores it in LevelDB before answering 204 and notifies observers; it makes no data
  transaction. What recording costs on top (signing, the outbox, delivery to the owner) is the
  broker section below. The baseline route has fastify parse the JSON and answers 204. Any
  status other than 204, error or timeout makes the run invalid; after Flowchain stops, its
  LevelDB is reopened and must hold one of the written values.
- **WS fan-out**: 1,000 clients connect with sub-protocol \`flowchain.v1\`, send
  \`observeproperty\` for environment-sensor/temperature and wait for the result. The Flowchain
  server runs with an injected manual clock; each requested change advances it one sensor
  interval, so the change goes the production way (driver report -> ExposedThing observers ->
  Fanout -> WsSession.deliver). The baseline \`ws\` server builds the same propertyChange message,
  JSON-encodes it once per broadcast and sends that buffer to every client. Messages are counted
  on arrival at the clients (lean RFC 6455 clients, see Notes); at most 32 broadcasts are in
  flight (credit-based), and after each window every produced broadcast must have reached
  every client.
${observations.length > 0 ? `\n## Observations from this run\n\n${observations.join('\n')}\n` : ''}
## Notes

${notes}
`;
}

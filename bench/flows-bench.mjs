/**
 * The flows benchmark (`node bench/run.mjs --only=flows`, issue 25): messages per second
 * through a Node-RED flow `flowchain-observe` -> `flowchain-write` onto a recorded property,
 * against the same flow with Node-RED's core `http request` node doing the PUT instead of
 * `flowchain-write`, in one run.
 *
 * The servient is the real one (../dist) in the server child process (bench/server.mjs, kind
 * `flowchain`: the bundled Things plus `thermostat-plain`, LevelDB in a temp dir, the default
 * `--ack owner`). Node-RED runs in this process from `require('node-red')` with a temp user
 * directory and Flowchain's nodes (node-red/flowchain.cjs), as `flowchain start --flows` and a
 * user's Node-RED load them.
 *
 * One flow holds both variants behind one source:
 *
 *   flowchain-observe (thermostat-plain/targetTemperature, not recorded)
 *     -> switch on global `flowsBenchSide`
 *          "A" -> flowchain-write (thermostat/targetTemperature, recorded)  -> sink A
 *          "B" -> http request, PUT msg.payload as JSON to that property's
 *                 writeproperty form URL (keep-alive on)                     -> sink B
 *
 * The driver keeps K source changes outstanding: it PUTs a new source value over HTTP each
 * time one of its values shows up on the target's SSE stream (opened here, from the target's
 * TD form). Values are the schema's grid (5 to 30 by 0.5); the outstanding ones are always
 * distinct, so each value seen at the target is matched to the change that caused it. Latency
 * runs from the source PUT being sent to the target's SSE message arriving. After each window
 * everything in flight is drained; a value that never arrived is lost, one that arrived with
 * nothing outstanding is a duplicate, and either makes the run invalid, as does an answer
 * other than `stored` (flowchain-write) or 204 (http request), or anything caught.
 *
 * The two variants are measured in alternating windows (AB BA ...) after a warm-up each,
 * first with K = 1 (the headline figure and the target), then with K = 16.
 * Rendered as its own section of bench/RESULTS.md by {@link renderFlowsSection}.
 */
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { alternatingPairs, delay, foreignCores, HOST, interleave, machineBusyUs, openSse, ownCpuUs, ServerProcess, totals } from './lib/common.mjs';
import { fmt, median, readNotes, table } from './lib/format.mjs';

const PLANS = {
  full: { warmupS: 3, windowS: 8, pairs: 4 },
  quick: { warmupS: 1, windowS: 1.5, pairs: 2 },
};
/**
 * Source changes kept outstanding; the first is the headline figure and carries the target:
 * with one in flight both variants do the same work, one PUT at a time. With 16, Node-RED's
 * http request node runs PUTs side by side while flowchain-write keeps a flow's writes in
 * order, one at a time (so the last value written is the last value sent): that figure says
 * what the ordering costs.
 */
const OUTSTANDING = [1, 16];
/** The ratio flowchain-write / http request aimed at (a first guess, see flows-notes.md). */
const TARGET_RATIO = 0.8;
const SOURCE = { thing: 'thermostat-plain', title: 'Thermostat (not recorded)', property: 'targetTemperature' };
const TARGET = { thing: 'thermostat', title: 'Thermostat', property: 'targetTemperature' };
/** Every value the property's schema takes: 5 to 30 by 0.5. */
const VALUES = Array.from({ length: 51 }, (_, i) => 5 + i / 2);
/** How long a window's stragglers may take to arrive before they count as lost. */
const DRAIN_MS = 10_000;
const GATE = 'flowsBenchSide';
const SINK_TYPE = 'flows-bench-sink';
const SINK_KEY = Symbol.for('flowchain.bench.flows.sink');
const NODES_DIR = fileURLToPath(new URL('../node-red/', import.meta.url));

function percentile(sorted, p) {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** A node type that hands what it receives to this process (the answers of both variants, and what was caught). */
const SINK_JS = `module.exports = function (RED) {
  RED.nodes.registerType('${SINK_TYPE}', function (config) {
    RED.nodes.createNode(this, config);
    const report = globalThis[Symbol.for('flowchain.bench.flows.sink')];
    this.on('input', (msg, send, done) => {
      report(config.side, msg);
      done();
    });
  });
};
`;
const SINK_HTML = `<script type="text/javascript">
  RED.nodes.registerType('${SINK_TYPE}', { category: 'bench', defaults: { side: { value: '' } }, inputs: 1, outputs: 0, label: 'bench sink' });
</script>
`;

/** The flow: one source, a gate, the two variants, their sinks, and a catch node. */
function flow({ url, sourceId, targetId, targetWriteUrl }) {
  const z = 'bench';
  return [
    { id: z, type: 'tab', label: 'flows bench' },
    { id: 'server', type: 'flowchain-server', url, name: 'bench node' },
    { id: 'observe', type: 'flowchain-observe', z, server: 'server', thing: sourceId, affordance: SOURCE.property, name: '', wires: [['gate']] },
    { id: 'gate', type: 'switch', z, name: 'variant', property: GATE, propertyType: 'global', rules: [{ t: 'eq', v: 'A', vt: 'str' }, { t: 'eq', v: 'B', vt: 'str' }], checkall: 'false', repair: false, outputs: 2, wires: [['write'], ['request']] },
    { id: 'write', type: 'flowchain-write', z, server: 'server', thing: targetId, affordance: TARGET.property, waitReceipt: false, name: '', wires: [['sinkA']] },
    {
      id: 'request',
      type: 'http request',
      z,
      name: '',
      method: 'PUT',
      ret: 'txt',
      paytoqs: 'ignore',
      url: targetWriteUrl,
      tls: '',
      persist: true,
      proxy: '',
      insecureHTTPParser: false,
      authType: '',
      senderr: true,
      headers: [{ keyType: 'other', keyValue: 'Content-Type', valueType: 'other', valueValue: 'application/json' }],
      wires: [['sinkB']],
    },
    { id: 'sinkA', type: SINK_TYPE, z, side: 'A', wires: [] },
    { id: 'sinkB', type: SINK_TYPE, z, side: 'B', wires: [] },
    // No id here equals a type or another setting's value: Node-RED would take the node for a config node.
    { id: 'catchAll', type: 'catch', z, name: '', scope: null, uncaught: false, wires: [['sinkCaught']] },
    { id: 'sinkCaught', type: SINK_TYPE, z, side: 'caught', wires: [] },
  ];
}

/**
 * Node-RED's runtime in this process, with the flow above; its warnings and errors go to
 * `onLog`, its nodes' statuses to `onStatus(id, text)`.
 */
async function startNodeRed(userDir, flowNodes, onLog, onStatus) {
  const sinkDir = join(userDir, 'bench-nodes');
  await mkdir(sinkDir, { recursive: true });
  await writeFile(join(sinkDir, `${SINK_TYPE}.js`), SINK_JS);
  await writeFile(join(sinkDir, `${SINK_TYPE}.html`), SINK_HTML);
  await writeFile(join(userDir, 'flows.json'), JSON.stringify(flowNodes, null, 2));
  const red = createRequire(import.meta.url)('node-red');
  red.events.on('node-status', ({ id, status }) => onStatus(id, status?.text));
  red.init(new EventEmitter(), {
    userDir,
    flowFile: 'flows.json',
    credentialSecret: false,
    httpAdminRoot: false,
    httpNodeRoot: false,
    nodesDir: [NODES_DIR, sinkDir],
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    editorTheme: { tours: false, projects: { enabled: false } },
    logging: {
      bench: {
        level: 'warn',
        metrics: false,
        audit: false,
        handler: () => (record) => {
          // Errors, and the nodes' warnings (the runtime's own, about projects or credentials, are routine).
          if (record.level > 30 || (record.level === 30 && record.id === undefined)) return;
          const text = typeof record.msg === 'string' ? record.msg : record.msg instanceof Error ? record.msg.message : JSON.stringify(record.msg);
          onLog(record.level, `${record.type ?? 'runtime'}${record.id === undefined ? '' : ` ${record.id}`}: ${text}`);
        },
      },
    },
  });
  await red.start();
  return red;
}

/** PUT `body` (JSON text) to `url` on a keep-alive agent; resolves with the status. */
function put(agent, url, body) {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'PUT', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** The broker benchmark's limit for recorded writes on one node, from its last run (bench/out/broker.json, else RESULTS.md). */
function brokerLimit() {
  const json = fileURLToPath(new URL('./out/broker.json', import.meta.url));
  if (existsSync(json)) {
    try {
      const run = JSON.parse(readFileSync(json, 'utf8'));
      const ring = run.rings?.find((r) => r.processes === 1);
      if (ring?.limit !== undefined) {
        return { from: `bench/out/broker.json (${run.startedAt}, ${run.machine?.cpuModel ?? 'unknown CPU'}${run.quick ? ', a quick run' : ''})`, writesPerS: ring.limit.writesPerS, perWriteUs: ring.limit.perWriteUs, recordedPutPerS: ring.throughput?.subject?.rate };
      }
    } catch {
      // fall through to RESULTS.md
    }
  }
  const results = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
  if (!existsSync(results)) return undefined;
  const text = readFileSync(results, 'utf8');
  const start = text.indexOf('<!-- broker section:');
  if (start < 0) return undefined;
  const next = text.indexOf('<!--', start + 1);
  const section = text.slice(start, next < 0 ? text.length : next);
  const date = /- Date: (\S+)/.exec(section)?.[1] ?? 'unknown date';
  const cpu = /- Machine: nproc \d+, ([^;]+);/.exec(section)?.[1] ?? 'unknown CPU';
  const lines = section.split('\n');
  const header = lines.findIndex((line) => line.includes('Writes/s cryptography and storage alone allow'));
  if (header < 0) return undefined;
  const cells = (line) => line.split('|').slice(1, -1).map((c) => c.trim());
  const row = lines.slice(header + 2).find((line) => line.startsWith('|') && cells(line)[0] === '1');
  if (row === undefined) return undefined;
  const number = (cell) => Number(/[\d,.]+/.exec(cell)?.[0].replaceAll(',', ''));
  const [, limit, from, achieved] = cells(row);
  return { from: `the broker section of bench/RESULTS.md (${date}, ${cpu})`, writesPerS: number(limit), perWriteUs: number(from), recordedPutPerS: number(achieved) };
}

/** Runs the flows benchmark; `problems` lists whatever makes the figures invalid. */
export async function flowsBenchmarks({ quick, log }) {
  const plan = quick ? PLANS.quick : PLANS.full;
  const started = performance.now();
  const problems = [];
  const server = new ServerProcess();
  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(...OUTSTANDING) });
  const userDir = await mkdtemp(join(tmpdir(), 'flowchain-flows-bench-'));
  let red;
  let sse;
  try {
    const port = await server.start('flowchain');
    const url = `http://${HOST}:${port}/`;
    const listed = await (await fetch(`${url}things`)).json();
    const idOf = (title) => listed.find((td) => td.title === title)?.id;
    const targetTd = await (await fetch(`${url}things/${TARGET.thing}`)).json();
    const forms = targetTd.properties[TARGET.property].forms;
    const base = targetTd.base ?? url;
    const writeForm = forms.find((f) => /^https?:/.test(new URL(f.href, base).protocol) && [f.op].flat().includes('writeproperty'));
    const sseForm = forms.find((f) => f.subprotocol === 'sse' && [f.op].flat().includes('observeproperty'));
    if (writeForm === undefined || sseForm === undefined) throw new Error('the target property has no HTTP writeproperty or SSE observeproperty form');
    const targetWriteUrl = new URL(writeForm.href, base).href;
    const sourceUrl = `${url}things/${SOURCE.thing}/properties/${SOURCE.property}`;

    // The driver's state: values outstanding (sent to the source, not yet seen at the target).
    const outstanding = new Map();
    let nextValue = 0;
    let seq = 0;
    let current;
    const counters = { sourceFailures: 0, stray: 0 };
    const answers = { A: { ok: 0, bad: {} }, B: { ok: 0, bad: {} }, caught: [] };
    const warnings = [];

    const inject = () => {
      // The least recently used value not outstanding: distinct from every value in flight and
      // reused only after the rest of the grid, so an arrival names its change.
      let value;
      do value = VALUES[nextValue++ % VALUES.length];
      while (outstanding.has(value));
      const entry = { seq: seq++, sentAt: performance.now(), window: current };
      outstanding.set(value, entry);
      current.injected++;
      put(agent, sourceUrl, JSON.stringify(value)).then(
        (status) => {
          if (status !== 204) counters.sourceFailures++;
        },
        () => void counters.sourceFailures++,
      );
    };
    sse = await openSse(new URL(sseForm.href, base).href, (_name, data, arrivedAt) => {
      const value = typeof data === 'number' ? data : data?.value;
      const entry = outstanding.get(value);
      if (entry === undefined) {
        if (current !== undefined) counters.stray++;
        return;
      }
      outstanding.delete(value);
      const w = entry.window;
      w.arrived++;
      if (entry.seq < w.highestSeq) w.reordered++;
      else w.highestSeq = entry.seq;
      if (w.running && arrivedAt <= w.end) {
        w.ops++;
        w.latencies?.push(arrivedAt - entry.sentAt);
        inject();
      }
    });

    globalThis[SINK_KEY] = (side, msg) => {
      if (side === 'caught') {
        answers.caught.push(`${msg.error?.source?.type ?? '?'}: ${msg.error?.code ?? ''} ${msg.error?.message ?? ''}`.trim());
        return;
      }
      const code = side === 'A' ? msg.status : msg.statusCode;
      if ((side === 'A' && code === 'stored') || (side === 'B' && code === 204)) answers[side].ok++;
      else answers[side].bad[String(code)] = (answers[side].bad[String(code)] ?? 0) + 1;
    };
    log('  starting Node-RED with the bench flow');
    const statuses = new Map();
    const flowNodes = flow({ url, sourceId: idOf(SOURCE.title), targetId: idOf(TARGET.title), targetWriteUrl });
    red = await startNodeRed(
      userDir,
      flowNodes,
      (level, text) => {
        warnings.push(text);
        if (warnings.length <= 5) log(`  node-red ${level <= 20 ? 'error' : 'warning'}: ${text}`);
      },
      (id, text) => statuses.set(id, text),
    );
    // Deployed: the observe node follows its Thing, the write node found its own.
    for (let i = 0; i < 300 && (statuses.get('observe') !== 'observing' || statuses.get('write') !== 'connected'); i++) await delay(50);
    if (statuses.get('observe') !== 'observing' || statuses.get('write') !== 'connected') throw new Error(`the bench flow did not connect within 15 s (observe: ${statuses.get('observe')}, write: ${statuses.get('write')})`);
    const nodeRedVersion = createRequire(import.meta.url)('node-red/package.json').version;
    const missing = flowNodes.filter((node) => node.type !== 'tab' && !red.nodes.getNode(node.id)).map((node) => node.id);
    if (missing.length > 0) throw new Error(`Node-RED did not start the bench flow's nodes ${missing.join(', ')}`);
    const gate = red.nodes.getNode('gate');
    const setGate = (variant) => gate.context().global.set(GATE, variant);

    const sides = [
      { key: 'B', label: 'core http request node, PUT' },
      { key: 'A', label: 'flowchain-write' },
    ];

    /**
     * One window: `k` source changes outstanding for `seconds`, then a drain. With `record`
     * off (the probe and warm-up) no latency is kept.
     */
    const runWindow = async (side, seconds, k, record) => {
      setGate(side.key);
      const answered = answers[side.key].ok;
      const w = { running: true, end: Number.POSITIVE_INFINITY, injected: 0, arrived: 0, ops: 0, reordered: 0, highestSeq: -1, latencies: record ? [] : undefined };
      current = w;
      await server.request('cpuMark');
      const cpu0 = ownCpuUs();
      const machine0 = machineBusyUs();
      const t0 = performance.now();
      w.end = t0 + seconds * 1000;
      for (let i = 0; i < k; i++) inject();
      await delay(seconds * 1000);
      w.running = false;
      const elapsed = (performance.now() - t0) / 1000;
      const loadCpuUs = ownCpuUs() - cpu0;
      const { userUs, systemUs } = await server.request('cpuRead');
      const serverCpuUs = userUs + systemUs;
      const machineUs = machineBusyUs() - machine0;
      // Drain: every value sent must reach the target, and its answer the sink.
      const deadline = performance.now() + DRAIN_MS;
      while ((w.arrived < w.injected || answers[side.key].ok - answered < w.injected) && performance.now() < deadline) await delay(5);
      const lost = w.injected - w.arrived;
      if (lost > 0) {
        problems.push(`${side.label}, ${k} outstanding: ${lost} of ${w.injected} source changes never reached the target`);
        for (const [value, entry] of outstanding) if (entry.window === w) outstanding.delete(value);
      }
      const unanswered = w.injected - (answers[side.key].ok - answered);
      if (unanswered > 0 && lost === 0) problems.push(`${side.label}, ${k} outstanding: ${unanswered} writes reached the target but no answer reached the sink within ${DRAIN_MS / 1000} s`);
      current = undefined;
      setGate('none');
      return { ops: w.ops, seconds: elapsed, serverCpuUs, loadCpuUs, foreignCores: foreignCores(machineUs, serverCpuUs + loadCpuUs, elapsed), injected: w.injected, reordered: w.reordered, latencies: w.latencies ?? [] };
    };

    // One change through each variant before anything is timed.
    for (const side of sides) {
      const probe = await runWindow(side, 0.2, 1, false);
      if (probe.ops === 0) throw new Error(`no change went through the ${side.label} variant: ${problems.join('; ')}`);
    }
    for (const side of sides) {
      log(`  ${side.label}: warm-up ${plan.warmupS}s, ${OUTSTANDING[0]} outstanding`);
      await runWindow(side, plan.warmupS, OUTSTANDING[0], false);
    }
    const strayBefore = counters.stray;
    const runs = [];
    for (const k of OUTSTANDING) {
      log(`  ${k} source change${k === 1 ? '' : 's'} outstanding`);
      const { windows, pairRatios, pairs, clean } = await interleave(sides, plan.windowS, (side, seconds) => runWindow(side, seconds, k, true), log, { plan: alternatingPairs(plan.pairs) });
      const [baseline, subject] = windows.map((ws, i) => {
        // Latencies from the windows the figures use (a disturbed pair measured again is left out).
        const sorted = ws.flatMap((w) => w.latencies).sort((a, b) => a - b);
        const sum = (key) => ws.reduce((s, w) => s + w[key], 0);
        const sums = totals(ws);
        return { label: sides[i].label, ...sums, loadCpuUsPerOp: sum('loadCpuUs') / Math.max(1, sums.ops), p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), reordered: sum('reordered'), injected: sum('injected') };
      });
      log(`  ${k} outstanding: ratio ${fmt(subject.rate / baseline.rate, 3)} (${fmt(subject.rate)} / ${fmt(baseline.rate)} msg/s)`);
      runs.push({ outstanding: k, baseline, subject, ratio: subject.rate / baseline.rate, pairRatios, pairs, clean });
    }
    if (counters.stray > strayBefore) problems.push(`${counters.stray - strayBefore} values arrived at the target with no change outstanding (duplicates)`);
    if (counters.sourceFailures > 0) problems.push(`${counters.sourceFailures} source PUTs failed or were not answered 204`);
    for (const key of ['A', 'B']) {
      const bad = Object.entries(answers[key].bad);
      if (bad.length > 0) problems.push(`${key === 'A' ? 'flowchain-write' : 'http request'} answers other than ${key === 'A' ? '`stored`' : '204'}: ${bad.map(([c, n]) => `${c} x ${n}`).join(', ')}`);
    }
    if (answers.caught.length > 0) problems.push(`${answers.caught.length} errors caught in the flow (first: ${answers.caught[0]})`);
    if (sse.ended) problems.push('the target\'s SSE stream was ended by the server (a slow reader)');
    return {
      key: 'flows',
      name: 'Flows (Node-RED observe -> write)',
      plan,
      nodeRed: nodeRedVersion,
      targetRatio: TARGET_RATIO,
      // The headline (first K) for run.mjs's --strict.
      ratio: runs[0].ratio,
      target: TARGET_RATIO,
      runs,
      limit: brokerLimit(),
      warnings: warnings.slice(0, 20),
      warningCount: warnings.length,
      totalS: (performance.now() - started) / 1000,
      problems,
    };
  } finally {
    await sse?.close();
    await red?.stop().catch(() => undefined);
    delete globalThis[SINK_KEY];
    agent.destroy();
    await server.stop();
    await rm(userDir, { recursive: true, force: true });
  }
}

/** The flows section of bench/RESULTS.md, from one run's record (`bench/out/flows.json`). */
export function renderFlowsSection(run) {
  const notes = readNotes('flows-notes.md');
  const validity = run.problems.length === 0 ? 'none: every source change reached the target exactly once, every write was answered (`stored`, 204), nothing was caught' : run.problems.map((p) => `**${p}**`).join('; ');
  const rows = run.runs.flatMap((r) =>
    [r.baseline, r.subject].map((side) => [
      r.outstanding,
      side.label,
      `${fmt(side.rate)} msg/s`,
      `${fmt(side.minRate)} - ${fmt(side.maxRate)}`,
      `${fmt(side.p50Ms, 1)} / ${fmt(side.p99Ms, 1)} ms`,
      fmt(side.ops),
      `${fmt(side.serverCpuPct)} %`,
      fmt(side.serverCpuUsPerOp, 1),
      `${fmt(side.loadCpuPct)} %`,
      fmt(side.loadCpuUsPerOp, 1),
      `${fmt(side.reordered)} (${fmt((100 * side.reordered) / Math.max(1, side.injected), 1)} %)`,
    ]),
  );
  const ratios = run.runs.map((r) => [
    r.outstanding,
    fmt(r.ratio, 3),
    fmt(median(r.pairRatios), 3),
    `${fmt(Math.min(...r.pairRatios), 3)} - ${fmt(Math.max(...r.pairRatios), 3)}`,
    r.outstanding === run.runs[0].outstanding ? `>= ${run.targetRatio}` : '-',
    r.outstanding === run.runs[0].outstanding ? (r.ratio >= run.targetRatio ? 'yes' : 'NO') : '-',
    `${fmt(r.subject.serverCpuUsPerOp / r.baseline.serverCpuUsPerOp, 2)} x`,
    `${r.pairRatios.length} of ${r.pairs.length} (${r.pairs.filter((p) => p.disturbed).length})${r.clean ? '' : ' - NOISY'}`,
  ]);
  const head = run.runs[0];
  const limit = run.limit;
  const limitBlock =
    limit === undefined || !Number.isFinite(limit.writesPerS)
      ? 'No broker run to compare with (neither bench/out/broker.json nor a broker section in RESULTS.md): `node bench/run.mjs --only=broker` prints the limit the cryptography and storage set on recorded writes.'
      : `**The limit on recorded writes** (not measured here: from ${limit.from}). Each message of either variant is one recorded write, so neither can pass this.

${table(
          ['Recorded writes/s cryptography and storage alone allow (one node)', 'From', 'Recorded PUTs achieved there (50 connections)', `flowchain-write here (${head.outstanding} outstanding)`, 'Achieved / limit', `http request here (${head.outstanding} outstanding)`, 'Achieved / limit'],
          [[`${fmt(limit.writesPerS)} writes/s`, `${fmt(limit.perWriteUs)} µs of CPU per write on 1 core`, Number.isFinite(limit.recordedPutPerS) ? `${fmt(limit.recordedPutPerS)} writes/s` : '-', `${fmt(head.subject.rate)} msg/s`, fmt(head.subject.rate / limit.writesPerS, 3), `${fmt(head.baseline.rate)} msg/s`, fmt(head.baseline.rate / limit.writesPerS, 3)]],
        )}`;
  return `## Flows (Node-RED: thing observe -> thing write, against the core http request node)

${run.quick ? '> **Quick run (`--quick`): short windows; harness check only.**\n\n' : ''}- Date: ${new Date(run.startedAt).toISOString()}
- Command: \`${run.command}\`
- Code: commit ${run.machine.revision} (dist/ compiled by the same command)
- Machine: nproc ${run.machine.nproc}, ${run.machine.cpuModel}; Node ${run.machine.node}, Node-RED ${run.nodeRed}
- Flows bench time: ${fmt(run.totalS)} s
- Validity: ${validity}${run.warningCount > 0 ? `\n- Node-RED logged ${fmt(run.warningCount)} warnings or errors (first: ${run.warnings[0]})` : ''}

${table(['Outstanding', 'Variant', 'Throughput', 'Range over windows', 'p50 / p99 source change -> target written', 'Counted', 'Servient CPU', 'Servient CPU µs/msg', 'Node-RED process CPU', 'Node-RED µs/msg', 'Reached the target out of order'], rows)}

${table(['Outstanding', 'Ratio flowchain-write / http request', 'Median pair ratio', 'Per-pair ratios (min - max)', 'Target', 'Met', 'Servient CPU µs/msg, flowchain / http request', 'Pairs used (disturbed, re-measured)'], ratios)}

${limitBlock}

- **The flow**: \`flowchain-observe\` (thermostat-plain's targetTemperature, not recorded) -> a
  core \`switch\` on a global context value that picks the variant -> either \`flowchain-write\`
  (thermostat's targetTemperature, recorded, \`--ack owner\`: answered once the data transaction
  is stored at its owner) or a core \`http request\` node (PUT, the payload as JSON, to the URL
  of that property's writeproperty form, keep-alive on). The source, the gate and the servient's
  work per write are the same for both; what differs is the node that writes.
- **The load**: ${run.runs.map((r) => r.outstanding).join(' and ')} source changes outstanding: a new source value is PUT each
  time a value reaches the target's SSE stream; windows of ${fmt(run.plan.windowS, 1)} s, ${run.plan.pairs} pairs (AB BA ...)
  per level after a ${run.plan.warmupS} s warm-up each, everything in flight drained after each window.
  Latency is from the source PUT being sent to the target's SSE message. "Node-RED process CPU"
  is this benchmark's own process: Node-RED with both flows and the driver (source PUTs, the SSE
  reader); the servient is the server child process.
${notes ? `\n${notes}\n` : ''}`;
}

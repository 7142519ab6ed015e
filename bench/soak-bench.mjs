/**
 * The soak benchmark (`node bench/run.mjs --only=soak`): one node started as `npm start` starts
 * it (the bundled sample Things, its V8 flags), first left idle, then kept busy the way the
 * adversarial tester did: 100 Server-Sent Event streams open the whole time and 50 requests
 * per second (reads, recorded writes, TD listings, receipts, histories). The load runs for a
 * warm-up of six minutes and then for the ten measured minutes, without a pause. Every ten
 * seconds the node's RSS and CPU time are read from /proc. The baseline is the same node idle
 * in the same run: the figures are the idle RSS and CPU, then how far RSS and latency move
 * over the ten measured minutes, as ratios (the last minute against the first). The warm-up's
 * own rise (the V8 heap growing to its first full collections, the process's code and its
 * allocators' arenas paged in) is reported beside them, not hidden.
 *
 * Disk: the data directory's growth while idle is measured apart, once LevelDB has compacted
 * what was written (the write-ahead log holds up to 4 MB uncompressed before a compaction, so
 * a short run's `du` says more about the log than about what stays): fresh nodes with the same
 * seed, stopped at two times, each then compacted and measured; the difference, per hour: idle
 * before retention applies, and idle and under load with retention reached (a minute's
 * retention, pruned at the end). `du` of the soak's own running node is reported beside them.
 *
 * Rendered as its own section of bench/RESULTS.md by {@link renderSoakSection}.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Level } from 'level';
import { fmt, median, readNotes, table } from './lib/format.mjs';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
/** From "listening" to the first idle sample. */
const SETTLE_MS = 20_000;

const PLANS = {
  full: { idleS: 120, warmupS: 360, loadS: 600, sampleS: 10, diskIdleS: 600 },
  quick: { idleS: 15, warmupS: 10, loadS: 40, sampleS: 5, diskIdleS: 30 },
};
const STREAMS = 100;
const RATE = 50;
const TICK_US = 10_000;
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** RSS (kB) and CPU time (µs) of a process, from /proc. */
function sample(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1]);
  const rssKb = kb('VmRSS');
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Anonymous memory (heaps, malloc arenas) and file-backed pages (the node binary, mapped files).
  return { rssKb, anonKb: kb('RssAnon'), fileKb: kb('RssFile'), cpuUs: (Number(fields[11]) + Number(fields[12])) * TICK_US };
}

/** Bytes on disk under `dir` (the node's data directory: its LevelDB and membership). */
function diskBytes(dir) {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

/** The data directory's size once its database is compacted (the node stopped): what stays on disk. */
async function compactedBytes(dir) {
  const db = new Level(join(dir, 'db'));
  await db.open();
  await db.compactRange('\u0000', '\uffff');
  await db.close();
  return diskBytes(dir);
}

/** How often the sample environment sensor reads (ms), from its bundled TD. */
const SENSOR_INTERVAL_MS = JSON.parse(readFileSync(new URL('../things/environment-sensor.td.json', import.meta.url), 'utf8')).driver.options.intervalMs;

/** Keeps history and transactions for a minute (the ring's copies expire after two). */
const SHORT_RETENTION = ['--retain-history', '1m', '--retain-ledger', '1m'];

/**
 * The compacted size of a fresh node's data directory after it ran `runS` past settling, idle
 * or under the soak's request mix (`loaded`); seed 1, its own CoAP and MQTT ports, so several
 * run at once. With `restart`, it is started once more and stopped: its start-up retention
 * pass prunes, and stopping waits for that pass.
 */
async function sizeAfter(runS, { extraArgs = [], restart = false, loaded = false } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'flowchain-soak-disk-'));
  const args = ['--seed', '1', '--coap-port', '0', '--mqtt-port', '0', ...extraArgs];
  try {
    const node = await startNode(dir, args);
    await delay(SETTLE_MS);
    const load = loaded ? startLoad(node.url) : undefined;
    await delay(runS * 1000);
    await load?.stop();
    await stopNode(node.child);
    if (restart) await stopNode((await startNode(dir, args)).child);
    return await compactedBytes(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Growth on disk, compacted, per hour, measured on fresh nodes stopped `spanS` apart: idle
 * before retention applies (one stopped once settled, the defaults' 30 and 90 days being far
 * off), then idle and under the soak's load once it applies (a minute's retention, each node
 * pruned at the end). The six run at once: their figures are bytes, not time.
 */
export async function diskGrowth(spanS) {
  const from = Math.max(spanS / 2, 150);
  const retained = { extraArgs: SHORT_RETENTION, restart: true };
  const sizes = await Promise.all([
    sizeAfter(0),
    sizeAfter(spanS),
    sizeAfter(from, retained),
    sizeAfter(from + spanS, retained),
    sizeAfter(from, { ...retained, loaded: true }),
    sizeAfter(from + spanS, { ...retained, loaded: true }),
  ]);
  const pair = (early, late) => ({ earlyBytes: early, lateBytes: late, bytesPerHour: ((late - early) / spanS) * 3600 });
  return { spanS, retainedFromS: from, idle: pair(sizes[0], sizes[1]), retainedIdle: pair(sizes[2], sizes[3]), retainedLoad: pair(sizes[4], sizes[5]) };
}

/** Bytes per hour between two samples. */
function bytesPerHour(from, to) {
  return ((to.diskBytes - from.diskBytes) / (to.at - from.at)) * 3_600_000;
}

/** Starts `flowchain start` as `npm start` does; resolves with the child and its URL. */
async function startNode(dir, extraArgs = []) {
  const child = spawn(process.execPath, ['--max-semi-space-size=2', CLI, 'start', '--host', '127.0.0.1', '--port', '0', '--peer-port', '0', '--data', dir, '--log-level', 'info', ...extraArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk.toString();
      for (let i; (i = buffered.indexOf('\n')) >= 0; ) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        try {
          const entry = JSON.parse(line);
          if (String(entry.msg).startsWith('Flowchain node listening')) resolve(entry.url);
        } catch {
          // a line that is not JSON
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`node exited with ${code}`)));
  });
  child.stdout.resume();
  return { child, url };
}

/**
 * The soak's request mix at RATE requests a second: GET property, recorded PUT, GET /things,
 * GET receipt, GET history. Its `latencies` and `failed` fill as answers come; `stop()` ends
 * it once every request in flight is answered.
 */
function startLoad(url) {
  const base = new URL(url);
  let latestTx;
  let n = 0;
  const requests = [
    () => ['GET', 'things/thermostat/properties/targetTemperature'],
    () => ['PUT', 'things/thermostat/properties/targetTemperature', String(5 + (n % 51) / 2)],
    () => ['GET', 'things'],
    () => ['GET', latestTx === undefined ? 'health' : `ledger/tx/${latestTx}`],
    () => ['GET', 'things/thermostat/properties/targetTemperature/history?limit=10'],
  ];
  const load = { latencies: [], failed: 0, stop: undefined };
  const one = () =>
    new Promise((resolve) => {
      const [method, path, body] = requests[n++ % requests.length]();
      const started = performance.now();
      const req = request(new URL(path, base), { method, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode >= 300) load.failed++;
          const id = res.headers['flowchain-tx-id'];
          if (typeof id === 'string') latestTx = id;
          load.latencies.push({ at: performance.now(), ms: performance.now() - started });
          resolve();
        });
      });
      req.on('error', () => {
        load.failed++;
        resolve();
      });
      req.end(body);
    });
  const pending = new Set();
  const ticker = setInterval(() => {
    const p = one();
    pending.add(p);
    void p.then(() => pending.delete(p));
  }, 1000 / RATE);
  load.stop = async () => {
    clearInterval(ticker);
    await Promise.all(pending);
  };
  return load;
}

/** Stops a node as a service manager would (SIGTERM) and waits for it to exit. */
async function stopNode(child) {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

/** Opens an SSE stream and counts its events; `close()` ends it. */
function stream(url) {
  const counter = { events: 0, open: true, close: () => undefined };
  const req = request(url, { headers: { accept: 'text/event-stream' } }, (res) => {
    res.on('data', (chunk) => (counter.events += (chunk.toString().match(/\nevent:/g) ?? []).length));
    res.on('close', () => (counter.open = false));
  });
  req.on('error', () => (counter.open = false));
  req.end();
  counter.close = () => req.destroy();
  return counter;
}

/** Runs the soak, then the idle disk measurement; `problems` lists what makes the figures invalid. */
export async function soakBenchmarks({ quick, log }) {
  const plan = quick ? PLANS.quick : PLANS.full;
  const run = await loadSoak(plan, log);
  log(`  soak: disk growth, six fresh nodes (four with a minute's retention, two of them under load) stopped ${plan.diskIdleS} s apart, each compacted`);
  return { ...run, disk: { ...run.disk, growth: await diskGrowth(plan.diskIdleS) } };
}

/** The node idle, then under load: RSS, CPU, latency, streams, and `du` of its data directory. */
async function loadSoak(plan, log) {
  const dir = await mkdtemp(join(tmpdir(), 'flowchain-soak-'));
  const problems = [];
  const { child, url } = await startNode(dir);
  try {
    log(`  soak: idle ${plan.idleS} s, then ${plan.warmupS} s of warm-up and ${plan.loadS} s measured, under ${STREAMS} SSE streams and ${RATE} req/s`);
    // Start-up work is not idle time: schema compilation, the first publication, and the first
    // full collection of the start-up heap, which a CPU profile puts 7 to 10 s after listening.
    await delay(SETTLE_MS);
    const samples = [];
    const take = (phase) => samples.push({ phase, at: performance.now(), ...sample(child.pid), diskBytes: diskBytes(dir) });
    take('idle');
    for (let t = 0; t < plan.idleS; t += plan.sampleS) {
      await delay(plan.sampleS * 1000);
      take('idle');
    }
    const streams = Array.from({ length: STREAMS }, () => stream(`${url}things/environment-sensor/properties/temperature/sse`));
    const requests = startLoad(url);
    for (let t = 0; t < plan.warmupS; t += plan.sampleS) {
      await delay(plan.sampleS * 1000);
      take('warmup');
    }
    const loadStart = performance.now();
    for (let t = 0; t < plan.loadS; t += plan.sampleS) {
      await delay(plan.sampleS * 1000);
      take('load');
    }
    await requests.stop();
    const { latencies, failed } = requests;
    const openStreams = streams.filter((s) => s.open).length;
    const events = streams.map((s) => s.events);
    for (const s of streams) s.close();
    if (failed > 0) problems.push(`${failed} requests failed or answered >= 300`);
    if (openStreams < STREAMS) problems.push(`${STREAMS - openStreams} SSE streams ended during the soak`);
    // Each stream gets a temperature at every reading: a stream far below that fell behind.
    if (Math.min(...events) < ((plan.warmupS + plan.loadS) * 1000 / SENSOR_INTERVAL_MS) * 0.8) problems.push(`a stream got only ${Math.min(...events)} events in ${plan.warmupS + plan.loadS} s`);
    let outbox;
    for (let i = 0; i < 40 && outbox !== 0; i++) {
      outbox = await (await fetch(`${url}things/ledger/properties/outbox`)).json();
      if (outbox !== 0) await delay(250);
    }
    if (outbox !== 0) problems.push(`${outbox} transactions still in the outbox after the soak`);
    const idle = samples.filter((s) => s.phase === 'idle');
    const warmup = samples.filter((s) => s.phase === 'warmup');
    const load = samples.filter((s) => s.phase === 'load');
    const idleCpuPct = ((idle.at(-1).cpuUs - idle[0].cpuUs) / ((idle.at(-1).at - idle[0].at) * 1000)) * 100;
    const loadCpuPct = ((load.at(-1).cpuUs - warmup.at(-1).cpuUs) / ((load.at(-1).at - warmup.at(-1).at) * 1000)) * 100;
    const minute = (from, to) => latencies.filter((l) => l.at - loadStart >= from * 1000 && l.at - loadStart < to * 1000).map((l) => l.ms).sort((a, b) => a - b);
    const window = Math.min(60, plan.loadS / 4);
    const first = minute(0, window);
    const last = minute(plan.loadS - window, plan.loadS);
    const q = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
    const rss = (list) => median(list.map((s) => s.rssKb / 1024));
    const perWindow = Math.max(1, Math.round(window / plan.sampleS));
    const firstRss = rss(load.slice(0, perWindow));
    const lastRss = rss(load.slice(-perWindow));
    const tail = load.slice(Math.floor(load.length / 2)).map((s) => s.rssKb / 1024);
    return {
      key: 'soak',
      name: 'Soak (RSS and latency under 10 minutes of load)',
      plan,
      settleS: SETTLE_MS / 1000,
      idleRssMb: rss(idle),
      idleCpuPct,
      loadCpuPct,
      disk: { duIdleBytesPerHour: bytesPerHour(idle[0], idle.at(-1)), loadBytesPerHour: bytesPerHour(warmup.at(-1), load.at(-1)), startBytes: idle[0].diskBytes, endBytes: load.at(-1).diskBytes },
      warmupRssMb: { first: rss(warmup.slice(0, perWindow)), last: rss(warmup.slice(-perWindow)) },
      firstRssMb: firstRss,
      lastRssMb: lastRss,
      maxRssMb: Math.max(...load.map((s) => s.rssKb / 1024)),
      tailSpread: (Math.max(...tail) - Math.min(...tail)) / median(tail),
      latency: { windowS: window, first: { p50: q(first, 0.5), p99: q(first, 0.99), count: first.length }, last: { p50: q(last, 0.5), p99: q(last, 0.99), count: last.length } },
      requests: latencies.length,
      events: { min: Math.min(...events), median: median(events) },
      samples: samples.map((s) => ({ phase: s.phase, s: Math.round((s.at - samples[0].at) / 1000), rssMb: +(s.rssKb / 1024).toFixed(1), anonMb: +(s.anonKb / 1024).toFixed(1), fileMb: +(s.fileKb / 1024).toFixed(1) })),
      problems,
    };
  } finally {
    await stopNode(child);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Where RSS was anonymous and where file-backed: the first measured sample, the largest, the last. */
function split(samples) {
  const load = samples.filter((s) => s.phase === 'load' && s.anonMb !== undefined);
  if (load.length === 0) return '';
  const largest = load.reduce((a, b) => (b.rssMb > a.rssMb ? b : a));
  const at = (s) => `${s.s} s: ${s.rssMb} MB, ${s.anonMb} anonymous and ${s.fileMb} file-backed`;
  return `\n\nRSS split under the measured load (anonymous: V8's heap, malloc arenas; file-backed: the node binary and other mapped files) at its first sample ${at(load[0])}; at the largest ${at(largest)}; at the last ${at(load.at(-1))}.`;
}

/** The disk rows of the soak's table: compacted growth idle and under load, before and after retention applies; \`du\` of the soak's node. */
function diskRows({ growth, duIdleBytesPerHour, loadBytesPerHour, startBytes, endBytes }) {
  const mb = (bytes) => fmt(bytes / 1e6, 2);
  const minutes = (s) => fmt(s / 60, 1);
  const pair = (p, from) => `${mb(p.bytesPerHour)} MB/h once compacted (${mb(p.earlyBytes)} MB after ${minutes(from)} minutes, ${mb(p.lateBytes)} MB ${minutes(growth.spanS)} minutes later)`;
  return [
    ['Data directory growth, before retention applies', `${pair(growth.idle, 0)}; \`du\` of the running node: ${mb(duIdleBytesPerHour)} MB/h`, '', `${fmt(loadBytesPerHour / 1e6, 1)} MB/h over the measured load, \`du\` of the running node (${fmt(startBytes / 1e6, 1)} MB at the first idle sample, ${fmt(endBytes / 1e6, 1)} MB at the end)`, '', 'idle ≤ 2 MB/h'],
    ['Data directory growth, retention reached (history and transactions kept 1 minute)', pair(growth.retainedIdle, growth.retainedFromS), '', `under the same load: ${pair(growth.retainedLoad, growth.retainedFromS)}`, '', 'flat'],
  ];
}

/** The soak section of bench/RESULTS.md. */
export function renderSoakSection(run) {
  const notes = readNotes('soak-notes.md');
  const problems = run.problems.length === 0 ? 'none: every request answered, every stream stayed open and current, the outbox drained' : run.problems.map((p) => `**${p}**`).join('; ');
  return `## Soak (one node, idle, then ${fmt(run.plan.warmupS / 60, 1)} minutes of warm-up and ${fmt(run.plan.loadS / 60, 1)} measured minutes of load)

${run.quick ? '> **Quick run (`--quick`): short phases; harness check only.**\n\n' : ''}- Date: ${new Date(run.startedAt).toISOString()}
- Command: \`${run.command}\`
- Code: commit ${run.machine.revision}
- Machine: nproc ${run.machine.nproc}, ${run.machine.cpuModel}; Node ${run.machine.node}
- Idle: the node with its sample Things and no requests, sampled ${run.settleS === undefined ? '5' : fmt(run.settleS)} s after it listened (start-up is not idle), for ${fmt(run.plan.idleS)} s
- Load: ${STREAMS} SSE streams (environment-sensor temperature, one event per reading, every ${fmt(SENSOR_INTERVAL_MS / 1000)} s) open throughout, and ${RATE} requests/s cycling through GET property, recorded PUT, GET /things, GET receipt, GET history (${fmt(run.requests)} requests)
- Validity: ${problems}
${run.disk?.growth?.command === undefined ? '' : `- Disk growth rows: measured apart, \`${run.disk.growth.command}\` at ${run.disk.growth.at}\n`}
${table(
  ['Figure', 'Idle (baseline)', 'Measured load: first ' + fmt(run.latency.windowS) + ' s', 'Measured load: last ' + fmt(run.latency.windowS) + ' s', 'Ratio last / first', 'Target'],
  [
    ['RSS (median of samples)', `${fmt(run.idleRssMb, 1)} MB`, `${fmt(run.firstRssMb, 1)} MB`, `${fmt(run.lastRssMb, 1)} MB`, fmt(run.lastRssMb / run.firstRssMb, 3), 'idle < 100 MB; flat: within ±10 %'],
    ['RSS spread over the second half of the measured load', '', '', `${fmt(run.tailSpread * 100, 1)} % of its median (max ${fmt(run.maxRssMb, 1)} MB)`, '', '≤ 20 % (±10 %)'],
    ['Latency p50 / p99', '', `${fmt(run.latency.first.p50, 1)} / ${fmt(run.latency.first.p99, 1)} ms`, `${fmt(run.latency.last.p50, 1)} / ${fmt(run.latency.last.p99, 1)} ms`, fmt(run.latency.last.p99 / run.latency.first.p99, 2), 'no growth'],
    ['Node CPU', `${fmt(run.idleCpuPct, 2)} % of a core`, '', `${fmt(run.loadCpuPct, 1)} % of a core over the measured load`, '', 'idle ≤ 1 %'],
    ...(run.disk?.growth === undefined ? [] : diskRows(run.disk)),
  ],
)}

The warm-up before the measured minutes (the same load): RSS ${fmt(run.warmupRssMb.first, 1)} MB in its first ${fmt(run.latency.windowS)} s, ${fmt(run.warmupRssMb.last, 1)} MB in its last (ratio ${fmt(run.warmupRssMb.last / run.warmupRssMb.first, 3)}).

RSS samples (s since the first sample: MB): ${run.samples.map((s) => `${s.s}: ${s.rssMb}${s.phase === 'load' ? '' : ` (${s.phase})`}`).join(', ')}.${split(run.samples)}
${notes ? `\n${notes}\n` : ''}`;
}

/**
 * The ring between real processes: `node dist/cli.js start` four times on 127.0.0.1 (ports 0,
 * a temp data directory each, every node admitted by the cluster's own ring authority before it
 * starts; the first founds the ring, the others join through it), then
 *
 *   1. lookups per second: GET /ring/lookup/{random key} on one node with autocannon, against
 *      GET /health on the same node as the same-run baseline (the HTTP cost alone), in
 *      alternating windows; mean hops and correctness from a sample of lookups afterwards;
 *   2. join: wall time until a newly started fifth process is part of a consistent ring;
 *   3. crash: wall time until the ring is consistent again after SIGKILL of one process.
 *
 * "Consistent" is read from GET /ring of every live process, polled every 100 ms: successor
 * pointers visit every live node once in id order and every predecessor is the node before
 * it. Every wait is bounded; every process is stopped and the temp directory removed.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { sha1 } from '@noble/hashes/legacy.js';
import { RING } from '../dist/dht/ring-space.js';
import { admitNodeData } from '../dist/membership/admit-node.js';
import { RingAuthority } from '../dist/membership/ring-authority.js';
import { createRandom } from '../dist/common/random.js';
import { delay, HOST, interleave, machineBusyUs, ownCpuUs, PAIRS, problemsOf, totals, windowFigures } from './lib/common.mjs';
import { median } from './lib/format.mjs';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
/** Connections of every load in the ring benchmarks (and the broker's, which use this cluster). */
export const CONNECTIONS = 50;
const POLL_MS = 100;
/** Bound on one wait for the ring to become consistent. */
const CONSISTENT_TIMEOUT_MS = 20_000;
/** Bound on a process's start-up (until its "listening" log line). */
const START_TIMEOUT_MS = 30_000;
/** Linux reports CPU times in /proc/<pid>/stat in ticks of 1/100 s. */
const TICK_US = 10_000;

/** One `flowchain start` child process. */
class NodeProcess {
  /** Log lines at warn or above, for the report (bounded). */
  warnings = [];

  constructor(child, spawnedAt) {
    this.child = child;
    this.spawnedAt = spawnedAt;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      if (stderr.length < 4_000) stderr += chunk.toString();
    });
    this.listening = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node did not listen within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      let buffered = '';
      child.stdout.on('data', (chunk) => {
        buffered += chunk.toString();
        let newline;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          let entry;
          try {
            entry = JSON.parse(line);
          } catch {
            continue;
          }
          if (typeof entry.url === 'string' && this.url === undefined) {
            clearTimeout(timer);
            this.url = entry.url;
            this.listeningAt = performance.now();
            resolve(entry.url);
          }
          if (entry.level >= 40 && this.warnings.length < 20) this.warnings.push(entry.msg);
        }
      });
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`node exited (code ${code}, signal ${signal}) before listening: ${stderr.trim()}`));
      });
    });
    this.listening.catch(() => undefined);
  }

  get pid() {
    return this.child.pid;
  }

  get alive() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }


  /** CPU time (user + system) the process has used so far, in µs. */
  cpuUs() {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) * TICK_US;
    } catch {
      return Number.NaN;
    }
  }

  /** Sends `signal` and waits (bounded) for the exit; SIGKILL if it does not come. */
  async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
    if (!this.alive) return this.exited;
    this.child.kill(signal);
    const exited = await Promise.race([this.exited, delay(timeoutMs).then(() => undefined)]);
    if (exited !== undefined) return exited;
    this.child.kill('SIGKILL');
    return this.exited;
  }
}

/** A ring of node processes sharing one temp directory. */
export class Cluster {
  nodes = [];
  #root;
  #count = 0;
  /** Further arguments of every `flowchain start` (a `--things` directory, say). */
  extraArgs = [];

  /** Kills every node left running should the benchmark exit without close(). */
  #killOnExit = () => {
    for (const n of this.nodes) if (n.alive) n.child.kill('SIGKILL');
  };

  static async create() {
    const cluster = new Cluster();
    process.once('exit', cluster.#killOnExit);
    cluster.#root = await mkdtemp(join(tmpdir(), 'flowchain-ring-bench-'));
    cluster.#authority = RingAuthority.create(join(cluster.#root, 'authority'), { now: () => new Date(), randomBytes: (n) => new Uint8Array(randomBytes(n)) });
    return cluster;
  }

  #authority;

  /** The cluster's temp directory (removed by close()). */
  get root() {
    return this.#root;
  }

  /**
   * Starts a node, joining through `via` (a NodeProcess) or founding the ring; on `host`
   * (default 127.0.0.1), run through `prefix` (a command such as `ip netns exec NS`) if given.
   */
  async start(via, { host = HOST, prefix = [] } = {}) {
    const data = join(this.#root, `node-${this.#count++}`);
    await admitNodeData(this.#authority, data);
    // As `npm start` runs a node (its V8 flags too); BENCH_SERVER_FLAGS adds Node flags, e.g.
    // "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile every node.
    const flags = (process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter((flag) => flag !== '');
    const args = ['--max-semi-space-size=2', ...flags, CLI, 'start', '--host', host, '--port', '0', '--peer-port', '0', '--data', data, '--log-level', 'info', ...this.extraArgs];
    if (via !== undefined) args.push('--join', via.url);
    const [command, ...before] = [...prefix, process.execPath];
    const node = new NodeProcess(spawn(command, [...before, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }), performance.now());
    this.nodes.push(node);
    await node.listening;
    return node;
  }

  get live() {
    return this.nodes.filter((n) => n.alive);
  }

  /** Stops every live node gracefully (bounded, then SIGKILL) and removes the temp directory. */
  async close() {
    process.removeListener('exit', this.#killOnExit);
    await Promise.all(this.nodes.map((n) => n.stop('SIGTERM').catch(() => undefined)));
    if (this.#root !== undefined) await rm(this.#root, { recursive: true, force: true });
  }
}

async function getJson(url, timeoutMs = 2_000) {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return response.json();
}

/** The routing state of every given node, or undefined for a node that did not answer. */
function describeAll(nodes) {
  return Promise.all(nodes.map((n) => getJson(`${n.url}ring`).catch(() => undefined)));
}

/**
 * How consistent the ring is, from the /ring of every live node: `successors` when the
 * successor pointers visit every node once in id order, `predecessors` when every predecessor
 * is the node before, `lists` when every successor list holds the next min(r, N - 1) nodes.
 */
function assess(states, r) {
  if (states.some((s) => s === undefined)) return { successors: false, predecessors: false, lists: false };
  const sorted = [...states].sort((a, b) => (a.id < b.id ? -1 : 1));
  const n = sorted.length;
  const at = (i) => sorted[((i % n) + n) % n].id;
  return {
    successors: sorted.every((s, i) => s.successors[0]?.id === at(i + 1)),
    predecessors: sorted.every((s, i) => s.predecessor?.id === at(i - 1)),
    lists: sorted.every((s, i) => s.successors.length === Math.min(r, n - 1) && s.successors.every((p, k) => p.id === at(i + 1 + k))),
  };
}

/**
 * Polls /ring on `nodes` every 100 ms from `since` (a performance.now() time) until the ring is
 * consistent (successors and predecessors) and every successor list is complete, or the time
 * limit. Returns the ms from `since` at which each held first (NaN if never).
 */
export async function waitConsistent(nodes, since, r, timeoutMs = CONSISTENT_TIMEOUT_MS) {
  const first = { successors: Number.NaN, predecessors: Number.NaN, consistent: Number.NaN, lists: Number.NaN };
  let polls = 0;
  while (performance.now() - since < timeoutMs) {
    polls++;
    const polledAt = performance.now() - since;
    const state = assess(await describeAll(nodes), r);
    state.consistent = state.successors && state.predecessors;
    for (const key of Object.keys(first)) if (state[key] && Number.isNaN(first[key])) first[key] = polledAt;
    if (state.consistent && state.lists) break;
    await delay(POLL_MS);
  }
  return { ...first, polls };
}

/**
 * `count` lookups of seeded random keys on each of `nodes`, each checked against the oracle:
 * the first id at or after the key, wrapping, among every live node of `cluster`.
 */
async function checkLookups(cluster, nodes, keys, count) {
  const ids = (await describeAll(cluster.live)).map((s) => s?.id).filter((id) => id !== undefined).sort();
  const owner = (key) => ids.find((id) => id >= key) ?? ids[0];
  const hops = [];
  let wrong = 0;
  let failed = 0;
  for (const [i, node] of nodes.entries()) {
    for (let k = 0; k < count; k++) {
      const key = keys[(i * count + k) % keys.length];
      try {
        const result = await getJson(`${node.url}ring/lookup/${key}`, 5_000);
        if (result.owner?.id !== owner(key)) wrong++;
        hops.push(result.hops);
      } catch {
        failed++;
      }
    }
  }
  return { hops, wrong, failed, lookups: nodes.length * count };
}

/** Seeded 40-hex keys: SHA-1 of seeded random bytes, like node ids. */
function seededKeys(seed, count) {
  const random = createRandom(seed);
  return Array.from({ length: count }, () => RING.toHex(RING.fromBytes(sha1(Uint8Array.from({ length: 32 }, () => Math.floor(random.next() * 256))))));
}

/** Problems that make an autocannon run invalid (empty when valid). */
/**
 * Lookups/s on `target` versus GET /health on the same node, in alternating windows. The CPU
 * figures are the sum over every node process (a lookup costs CPU on the nodes it visits).
 */
async function lookupThroughput({ cluster, target, keys, warmupS, durationS, log }) {
  let next = 0;
  // Both sides build each request the same way; only the path differs.
  const get = (path) => [{ method: 'GET', setupRequest: (request) => ({ ...request, path: path() }) }];
  return pairedThroughput({
    nodes: cluster.live,
    target,
    sides: [
      { label: 'GET /health (baseline)', requests: get(() => '/health') },
      { label: 'GET /ring/lookup/{key}', requests: get(() => `/ring/lookup/${keys[next++ % keys.length]}`) },
    ],
    warmupS,
    durationS,
    log,
  });
}

/**
 * Measures two request mixes against one node of a cluster in alternating windows (the
 * first side is the baseline), with the CPU of every node. A side is { label, requests
 * (autocannon request specs), expectedStatus? }.
 */
export async function pairedThroughput({ nodes, target, sides: specs, warmupS, durationS, log }) {
  const sides = specs.map((spec) => ({ ...spec, problems: [] }));
  // A side may name its own node (`side.target`); otherwise both load `target`.
  const cannon = (side, duration) =>
    autocannon({ url: `http://${HOST}:${new URL((side.target ?? target).url).port}`, connections: CONNECTIONS, pipelining: 1, timeout: 10, duration, requests: side.requests });
  for (const side of sides) {
    log(`  ${side.label}: warm-up ${warmupS}s`);
    side.problems.push(...problemsOf(await cannon(side, warmupS), side.expectedStatus).map((p) => `warm-up: ${p}`));
  }
  const nodesCpuUs = () => nodes.reduce((sum, n) => sum + n.cpuUs(), 0);
  // What the idle ring costs (maintenance every second on every node), and a wait for the
  // nodes to finish work still in flight when a window ends, so none spills into the next.
  const coresOver = async (ms) => {
    const before = nodesCpuUs();
    const started = performance.now();
    await delay(ms);
    return (nodesCpuUs() - before) / ((performance.now() - started) * 1000);
  };
  const idleCores = await coresOver(3_000);
  const drain = async () => {
    for (let i = 0; i < 25 && (await coresOver(200)) > idleCores + 0.2; i++);
  };
  await drain();
  const windowS = durationS / PAIRS.length;
  const { windows, pairRatios, pairs, clean } = await interleave(
    sides,
    windowS,
    async (side, seconds) => {
      const nodesBefore = nodesCpuUs();
      const loadBefore = process.cpuUsage();
      const machineBefore = machineBusyUs();
      const result = await cannon(side, seconds);
      const machineUs = machineBusyUs() - machineBefore;
      const load = process.cpuUsage(loadBefore);
      const serverCpuUs = nodesCpuUs() - nodesBefore;
      const loadCpuUs = load.user + load.system;
      side.problems.push(...problemsOf(result, side.expectedStatus));
      await drain();
      return windowFigures(result, { serverCpuUs, loadCpuUs, machineUs });
    },
    log,
    // The node processes are the benchmark's too: their CPU is not "other load".
    { ownCpu: () => ownCpuUs() + nodesCpuUs() },
  );
  const report = (side, i) => ({
    label: side.label,
    ...totals(windows[i]),
    p50Ms: median(windows[i].map((w) => w.p50)),
    p99Ms: Math.max(...windows[i].map((w) => w.p99)),
    windows: windows[i],
    problems: [...new Set(side.problems)],
  });
  const baseline = report(sides[0], 0);
  const subject = report(sides[1], 1);
  return { baseline, subject, ratio: subject.rate / baseline.rate, pairRatios, pairs, clean, connections: CONNECTIONS, idleCores, windowS };
}

/**
 * The whole real-process part. `cycles` join/crash cycles follow the throughput run: each
 * starts a fifth node (joining through the target) and then SIGKILLs one of the others.
 */
export async function ringCluster({ processes, cycles, warmupS, durationS, sampleLookups, log }) {
  const problems = [];
  const keys = seededKeys(7, 4096);
  const sampleKeys = seededKeys(8, 4096);
  const r = 4; // the default successor-list length of `flowchain start`
  const cluster = await Cluster.create();
  try {
    const formation = performance.now();
    const target = await cluster.start();
    for (let i = 1; i < processes; i++) await cluster.start(target);
    const startedAll = performance.now();
    const formed = await waitConsistent(cluster.live, startedAll, r);
    if (Number.isNaN(formed.consistent)) problems.push(`the first ${processes} processes did not form a consistent ring within ${CONSISTENT_TIMEOUT_MS / 1000} s`);
    log(`  ${processes} processes up in ${((startedAll - formation) / 1000).toFixed(1)} s; ring consistent ${fmtMs(formed.consistent)} after the last listened`);

    const throughput = await lookupThroughput({ cluster, target, keys, warmupS, durationS, log });
    for (const side of [throughput.baseline, throughput.subject]) problems.push(...side.problems.map((p) => `${side.label}: ${p}`));
    const sample = await checkLookups(cluster, [target], sampleKeys, sampleLookups);
    if (sample.wrong + sample.failed > 0) problems.push(`lookup sample on the target: ${sample.wrong} wrong owners, ${sample.failed} failed of ${sample.lookups}`);
    const spread = await checkLookups(cluster, cluster.live, sampleKeys, Math.ceil(sampleLookups / processes));
    if (spread.wrong + spread.failed > 0) problems.push(`lookup sample on every node: ${spread.wrong} wrong owners, ${spread.failed} failed of ${spread.lookups}`);
    const meanHops = (hops) => hops.reduce((a, b) => a + b, 0) / Math.max(1, hops.length);
    log(`  lookups ${throughput.subject.rate.toFixed(0)}/s vs /health ${throughput.baseline.rate.toFixed(0)}/s (${throughput.ratio.toFixed(3)}); mean hops ${meanHops(sample.hops).toFixed(2)}`);

    const churn = [];
    for (let cycle = 0; cycle < cycles; cycle++) {
      // Join: a new process joins through the target; timed from its spawn and from its
      // "listening" line (it logs that after join() returned).
      const joiner = await cluster.start(target);
      const joined = await waitConsistent(cluster.live, joiner.listeningAt, r);
      const joinCheck = await checkLookups(cluster, cluster.live, sampleKeys, 10);
      if (Number.isNaN(joined.consistent)) problems.push(`cycle ${cycle + 1}: the ring was not consistent within ${CONSISTENT_TIMEOUT_MS / 1000} s of the join`);
      if (joinCheck.wrong + joinCheck.failed > 0) problems.push(`cycle ${cycle + 1}, after the join: ${joinCheck.wrong} wrong owners, ${joinCheck.failed} failed lookups of ${joinCheck.lookups}`);
      // Crash: SIGKILL one of the others (never the target, which the joins go through).
      const candidates = cluster.live.filter((n) => n !== target && n !== joiner);
      const victim = candidates[cycle % candidates.length];
      const killedAt = performance.now();
      victim.child.kill('SIGKILL');
      await victim.exited;
      const healed = await waitConsistent(cluster.live, killedAt, r);
      const crashCheck = await checkLookups(cluster, cluster.live, sampleKeys, 10);
      if (Number.isNaN(healed.consistent)) problems.push(`cycle ${cycle + 1}: the ring was not consistent within ${CONSISTENT_TIMEOUT_MS / 1000} s of the SIGKILL`);
      if (crashCheck.wrong + crashCheck.failed > 0) problems.push(`cycle ${cycle + 1}, after the crash: ${crashCheck.wrong} wrong owners, ${crashCheck.failed} failed lookups of ${crashCheck.lookups}`);
      churn.push({
        join: { startupMs: joiner.listeningAt - joiner.spawnedAt, ...joined, lookupsChecked: joinCheck.lookups },
        crash: { ...healed, lookupsChecked: crashCheck.lookups },
      });
      log(`  cycle ${cycle + 1}: join consistent after ${fmtMs(joined.consistent)} (+${fmtMs(joiner.listeningAt - joiner.spawnedAt)} start-up), crash healed after ${fmtMs(healed.consistent)}`);
    }
    const warnings = cluster.nodes.flatMap((n) => n.warnings);
    return {
      processes,
      successorListSize: r,
      formation: { startS: (startedAll - formation) / 1000, ...formed },
      throughput,
      hopsSample: { lookups: sample.lookups, mean: meanHops(sample.hops), max: Math.max(...sample.hops), histogram: histogram(sample.hops), wrong: sample.wrong, failed: sample.failed },
      spreadSample: { lookups: spread.lookups, mean: meanHops(spread.hops), wrong: spread.wrong, failed: spread.failed },
      churn,
      warnings: [...new Set(warnings)],
      problems,
    };
  } finally {
    await cluster.close();
  }
}

function histogram(values) {
  const counts = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

function fmtMs(ms) {
  return Number.isNaN(ms) ? 'never' : `${(ms / 1000).toFixed(2)} s`;
}

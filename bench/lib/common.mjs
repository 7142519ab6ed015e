/**
 * Shared by the benchmark parent and the server child: constants, and a handle on a server
 * child process (bench/server.mjs) driven over IPC with a time limit on every request.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export const HOST = '127.0.0.1';
/** The property the HTTP benchmarks read and write. */
export const PROPERTY_PATH = '/things/thermostat/properties/targetTemperature';
/** The same property on `thermostat-plain`, which does not record it (see {@link writeThings}). */
export const PLAIN_PROPERTY_PATH = '/things/thermostat-plain/properties/targetTemperature';
/** targetTemperature in the bundled thermostat TD's driver options. */
export const INITIAL_TARGET = 21;
export const WS_PATH = '/ws';
export const WS_SUBPROTOCOL = 'flowchain.v1';

const SERVER_SCRIPT = fileURLToPath(new URL('../server.mjs', import.meta.url));

/** A server child process. */
export class ServerProcess {
  #child;
  #nextId = 1;
  /** @type {Map<number, { resolve: (v: any) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }>} */
  #pending = new Map();
  #exited;
  /** The child's temp directory, removed here too in case the child could not. */
  #dataDir;

  constructor() {
    // BENCH_SERVER_FLAGS: Node flags for the server only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it.
    const execArgv = (process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter((flag) => flag !== '');
    this.#child = fork(SERVER_SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    this.#exited = new Promise((resolve) => this.#child.once('exit', (code, signal) => resolve({ code, signal })));
    this.#child.on('message', (message) => {
      const waiter = this.#pending.get(message.id);
      if (waiter === undefined) return;
      this.#pending.delete(message.id);
      clearTimeout(waiter.timer);
      if (message.error !== undefined) waiter.reject(new Error(`server: ${message.error}`));
      else waiter.resolve(message);
    });
    void this.#exited.then(({ code, signal }) => {
      for (const [id, waiter] of this.#pending) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(`server exited (code ${code}, signal ${signal}) before answering request ${id}`));
      }
      this.#pending.clear();
    });
  }

  get pid() {
    return this.#child.pid;
  }

  /** Sends one command and waits (at most `timeoutMs`) for its answer. */
  request(cmd, payload = {}, timeoutMs = 15_000) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`server did not answer ${cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      try {
        this.#child.send({ id, cmd, ...payload });
      } catch (err) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(err);
      }
    });
  }

  /** Starts a server of `kind` in the child; resolves with its port. */
  async start(kind, options = {}) {
    const { port, data } = await this.request('start', { kind, ...options }, 30_000);
    this.#dataDir = data;
    return port;
  }

  /** Asks the child to close everything and exit; kills it if it does not within the limit. */
  async stop(timeoutMs = 20_000) {
    let result = {};
    try {
      if (this.#child.connected) result = await this.request('stop', {}, timeoutMs);
    } finally {
      const exited = await Promise.race([this.#exited, delay(5_000).then(() => undefined)]);
      if (exited === undefined) {
        this.#child.kill('SIGKILL');
        await this.#exited;
      }
      if (this.#dataDir !== undefined) await rm(this.#dataDir, { recursive: true, force: true });
    }
    return result;
  }
}

/**
 * Subscribes to an SSE stream; `onEvent(name, data, arrivedAt)` per message. `ended` says
 * whether the server ended the stream before `close()` (a slow reader's stream is ended).
 */
export async function openSse(url, onEvent) {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = false;
  const reading = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          ended = true;
          return;
        }
        const arrivedAt = performance.now();
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = 'message';
          const data = [];
          for (const line of message.split('\n')) {
            if (line.startsWith('event:')) name = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if (data.length > 0) onEvent(name, JSON.parse(data.join('\n')), arrivedAt);
        }
      }
    } catch {
      if (!controller.signal.aborted) ended = true;
    }
  })();
  return {
    get ended() {
      return ended;
    },
    close: async () => {
      controller.abort();
      await reading;
    },
  };
}

/** GET `url`: its status, and its body as JSON when 200 (as text otherwise). */
export async function getJson(url, timeoutMs = 5_000) {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: response.status === 200 ? await response.json() : await response.text() };
}

export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * CPU time the whole machine has spent busy (user, nice, system, irq, softirq, steal), in µs,
 * from /proc/stat; NaN where that is not available. Subtracting the benchmark's own processes
 * from it gives the load other programs put on the machine during a window.
 */
export function machineBusyUs() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal = 0] = fields;
    return ((user + nice + system + irq + softirq + steal) * 1e6) / USER_HZ;
  } catch {
    return Number.NaN;
  }
}

/** Linux reports /proc/stat in USER_HZ ticks, 100 per second on every mainstream platform. */
const USER_HZ = 100;

/** Cores' worth of CPU other programs used during a window, from machine and own CPU time. */
export function foreignCores(machineUs, ownUs, seconds) {
  return Math.max(0, (machineUs - ownUs) / (seconds * 1e6));
}

/**
 * A window in which other programs used more than this many cores is "disturbed": on a
 * 2-core machine the server and the load generator already use both.
 */
export const FOREIGN_LIMIT = 0.15;

/** Time the whole run may spend waiting for other programs to go quiet. */
let quietBudgetMs = 30_000;

/** CPU time this process has used so far, in µs. */
export function ownCpuUs() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/**
 * Waits, in 250 ms samples, until other programs use less than {@link FOREIGN_LIMIT} cores,
 * or until the run's waiting budget is spent. Call it when the benchmark itself is idle.
 * `ownCpu` tells the CPU time (µs) of the benchmark's own processes, when more than this one
 * counts as the benchmark (the ring benchmark's node processes). Resolves with whether the
 * machine was quiet.
 */
export async function waitForQuiet(log, ownCpu = ownCpuUs) {
  let said = false;
  while (quietBudgetMs > 0) {
    const machineBefore = machineBusyUs();
    const ownBefore = ownCpu();
    const started = performance.now();
    await delay(250);
    const seconds = (performance.now() - started) / 1000;
    const foreign = foreignCores(machineBusyUs() - machineBefore, ownCpu() - ownBefore, seconds);
    if (Number.isNaN(foreign) || foreign <= FOREIGN_LIMIT) return true;
    quietBudgetMs -= seconds * 1000;
    if (!said) log(`  other programs are using ${foreign.toFixed(2)} cores; waiting for quiet (${Math.max(0, quietBudgetMs / 1000).toFixed(0)} s of waiting left)`);
    said = true;
  }
  return false;
}

/**
 * The order the two sides are measured in: pairs of one baseline (0) and one subject (1)
 * window, alternating AB BA AB BA, so a slow drift of the machine hits both sides alike. Each
 * pair gives one ratio.
 */
export const PAIRS = alternatingPairs(4);

/** `n` pairs in the order AB BA AB BA ... */
export function alternatingPairs(n) {
  return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? [0, 1] : [1, 0]));
}

/**
 * Measures `sides` round by round, each round in one order of `plan` (lists of side indices),
 * with `measure(side, round)` returning a result with `foreignCores`. Before each round
 * `beforeRound()` runs and the machine is left to go quiet ({@link waitForQuiet}, with
 * `ownCpu`). A round in which other programs used more than {@link FOREIGN_LIMIT} cores in
 * any measurement is measured again in the same order, at most `maxRetries` times in all.
 * The figures come from the undisturbed rounds when at least two exist, otherwise from every
 * round (and `clean` is false). `noun` and `detail` name a round in the log.
 */
export async function measureRounds(sides, plan, measure, log, { maxRetries = 2, ownCpu = ownCpuUs, beforeRound = () => undefined, noun = 'round', detail = '' } = {}) {
  const orders = [...plan];
  const rounds = [];
  for (let r = 0; r < orders.length && r < plan.length + maxRetries; r++) {
    beforeRound();
    await waitForQuiet(log, ownCpu);
    const results = [];
    for (const index of orders[r]) {
      log(`  ${sides[index].label}: ${noun} ${r + 1}${detail}`);
      results[index] = await measure(sides[index], r);
    }
    const measuredForeign = results.map((x) => x.foreignCores).filter(Number.isFinite);
    const foreign = measuredForeign.length > 0 ? Math.max(...measuredForeign) : Number.NaN;
    const disturbed = foreign > FOREIGN_LIMIT;
    rounds.push({ order: orders[r].map((i) => sides[i].label), results, foreignCores: foreign, disturbed });
    if (disturbed) {
      log(`  ${noun} ${r + 1} disturbed: other programs used ${foreign.toFixed(2)} cores; measuring it again`);
      orders.push(orders[r]);
    }
  }
  const undisturbed = rounds.filter((round) => !round.disturbed);
  const clean = undisturbed.length >= 2;
  return { rounds, used: clean ? undisturbed : rounds, clean };
}

/**
 * Measures two prepared sides in `plan` order ({@link PAIRS} unless given), `windowS` seconds per window, with
 * `measureWindow(side, seconds)` returning `{ ops, seconds, serverCpuUs, loadCpuUs,
 * foreignCores, ... }`, by the rules of {@link measureRounds}. Each pair gives the ratio of
 * the subject's rate to the baseline's. `ownCpu` is passed to {@link waitForQuiet}.
 */
export async function interleave(sides, windowS, measureWindow, log, { maxRetries = 2, ownCpu = ownCpuUs, plan = PAIRS } = {}) {
  const rate = (window) => window.ops / window.seconds;
  const { rounds, used, clean } = await measureRounds(sides, plan, (side) => measureWindow(side, windowS), log, { maxRetries, ownCpu, noun: 'pair', detail: `, ${windowS}s` });
  return {
    windows: [used.map((pair) => pair.results[0]), used.map((pair) => pair.results[1])],
    pairRatios: used.map((pair) => rate(pair.results[1]) / rate(pair.results[0])),
    pairs: rounds.map(({ order, results, foreignCores, disturbed }) => ({ order, ratio: rate(results[1]) / rate(results[0]), foreignCores, disturbed })),
    clean,
  };
}

/** Totals over a side's windows: rate from summed ops and time, CPU shares and per-op cost. */
export function totals(windows) {
  const sum = (key) => windows.reduce((s, w) => s + (w[key] ?? 0), 0);
  const ops = sum('ops');
  const seconds = sum('seconds');
  const serverCpuUs = sum('serverCpuUs');
  const loadCpuUs = sum('loadCpuUs');
  const rates = windows.map((w) => w.ops / w.seconds);
  const foreign = windows.map((w) => w.foreignCores).filter((f) => Number.isFinite(f));
  return {
    /** Mean CPU, in cores, that other programs used during these windows. */
    otherLoadCores: foreign.length > 0 ? foreign.reduce((a, b) => a + b, 0) / foreign.length : Number.NaN,
    ops,
    seconds,
    rate: ops / seconds,
    minRate: Math.min(...rates),
    maxRate: Math.max(...rates),
    serverCpuPct: (100 * serverCpuUs) / (seconds * 1e6),
    serverCpuUsPerOp: serverCpuUs / Math.max(1, ops),
    loadCpuPct: (100 * loadCpuUs) / (seconds * 1e6),
  };
}

/**
 * Problems that make an autocannon run invalid (empty when valid). With `expectedStatus`, any
 * other status code is one too.
 */
export function problemsOf(result, expectedStatus) {
  const problems = [];
  if (result.requests.total === 0) problems.push('no request completed');
  if (result.errors > 0) problems.push(`${result.errors} connection errors`);
  if (result.timeouts > 0) problems.push(`${result.timeouts} timeouts`);
  if (result.non2xx > 0) problems.push(`${result.non2xx} non-2xx responses`);
  if (result.mismatches > 0) problems.push(`${result.mismatches} response bodies differed from the expected one`);
  if (expectedStatus === undefined) return problems;
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) {
    if (Number(code) !== expectedStatus) problems.push(`${count} responses with status ${code} (expected only ${expectedStatus})`);
  }
  return problems;
}

/** One measured window of an autocannon run, in the shape {@link interleave} expects. */
export function windowFigures(result, { serverCpuUs, loadCpuUs, machineUs }) {
  return {
    ops: result.requests.total,
    seconds: result.duration,
    serverCpuUs,
    loadCpuUs,
    foreignCores: foreignCores(machineUs, serverCpuUs + loadCpuUs, result.duration),
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

/**
 * Writes the bundled Things into `dir`, plus `thermostat-plain`: the thermostat again with
 * targetTemperature marked `"recorded": false`, so a PUT on it is the bare servient PUT
 * (validation and persistence, no data transaction). Returns `dir`.
 */
export async function writeThings(dir) {
  const bundled = fileURLToPath(new URL('../../things/', import.meta.url));
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(bundled)) if (name.endsWith('.td.json')) await copyFile(join(bundled, name), join(dir, name));
  const td = JSON.parse(await readFile(join(bundled, 'thermostat.td.json'), 'utf8'));
  td.title = `${td.title} (not recorded)`;
  td.properties.targetTemperature.recorded = false;
  await writeFile(join(dir, 'thermostat-plain.td.json'), JSON.stringify(td, null, 2));
  return dir;
}

/** A stopwatch for a benchmark's phases: `time(name, task)` runs `task` and keeps its seconds in `timings[name]`. */
export function phaseTimer(timings) {
  return async (name, task) => {
    const t = performance.now();
    const result = await task();
    timings[name] = (performance.now() - t) / 1000;
    return result;
  };
}

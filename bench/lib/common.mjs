/**
 * Shared by the benchmark parent and the server child: constants, and a handle on a server
 * child process (bench/server.mjs) driven over IPC with a time limit on every request.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const HOST = '127.0.0.1';
/** The property the HTTP benchmarks read and write. */
export const PROPERTY_PATH = '/things/thermostat/properties/targetTemperature';
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

  constructor() {
    this.#child = fork(SERVER_SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
    const { port } = await this.request('start', { kind, ...options }, 30_000);
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
    }
    return result;
  }
}

export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The order the two sides are measured in: baseline (0) and subject (1) alternate as ABBA
 * ABBA, so a slow drift of the machine (other load, CPU frequency) hits both sides alike.
 * Each consecutive pair holds one window of each side and gives one ratio.
 */
export const INTERLEAVE = [0, 1, 1, 0, 0, 1, 1, 0];

/**
 * Measures two prepared sides in {@link INTERLEAVE} order, `windowS` seconds per window, with
 * `measureWindow(side, seconds)` returning `{ ops, seconds, serverCpuUs, loadCpuUs, ... }`.
 * Returns every window per side and the per-pair ratios subject/baseline of ops per second.
 */
export async function interleave(sides, windowS, measureWindow, log) {
  const windows = [[], []];
  const pairRatios = [];
  let pending;
  for (const [i, index] of INTERLEAVE.entries()) {
    log(`  ${sides[index].label}: window ${i + 1}/${INTERLEAVE.length} (${windowS}s)`);
    const window = await measureWindow(sides[index], windowS);
    windows[index].push(window);
    if (i % 2 === 0) pending = { index, rate: window.ops / window.seconds };
    else {
      const rate = window.ops / window.seconds;
      pairRatios.push(index === 1 ? rate / pending.rate : pending.rate / rate);
    }
  }
  return { windows, pairRatios };
}

/** Totals over a side's windows: rate from summed ops and time, CPU shares and per-op cost. */
export function totals(windows) {
  const sum = (key) => windows.reduce((s, w) => s + (w[key] ?? 0), 0);
  const ops = sum('ops');
  const seconds = sum('seconds');
  const serverCpuUs = sum('serverCpuUs');
  const loadCpuUs = sum('loadCpuUs');
  const rates = windows.map((w) => w.ops / w.seconds);
  return {
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

/**
 * WebSocket fan-out: 1,000 subscribers observe environment-sensor/temperature over
 * flowchain.v1; the server child produces changes on request (the servient by advancing its
 * injected manual clock, so the sensor driver reports through the normal ExposedThing ->
 * Fanout -> WsSession path). The baseline is a plain `ws` server that builds the same message,
 * encodes it once per broadcast and sends it to every subscriber.
 *
 * Throughput is messages received by the clients per second (counted here, not sent counts).
 * The clients are lean RFC 6455 parsers (lib/lean-ws-client.mjs), so that 1,000 of them in one
 * process cost less CPU than the server they measure.
 * Flow control: at most WINDOW broadcasts are produced and not yet received by every client,
 * so neither side is measured on how much it can queue, and the servient's slow-consumer
 * limit (1 MiB per socket) is never approached (WINDOW x ~170 B per socket).
 */
import { performance } from 'node:perf_hooks';
import { openLeanClient } from './lib/lean-ws-client.mjs';
import { delay, foreignCores, HOST, interleave, machineBusyUs, PAIRS, ServerProcess, totals, WS_PATH, WS_SUBPROTOCOL } from './lib/common.mjs';

const CLIENTS = 1_000;
const CONNECT_CONCURRENCY = 100;
/** Broadcasts asked for per IPC request. */
const BATCH = 8;
/** Broadcasts that may be in flight (produced, not yet received by all clients). */
const WINDOW = 32;
/** Parse and check one message in this many (plus every client's first notification). */
const SAMPLE_EVERY = 997;
/** Pumping before a window's clock starts, so the pipeline is full when counting begins. */
const RAMP_MS = 300;

const OBSERVE = JSON.stringify({ id: 1, op: 'observeproperty', thingID: 'environment-sensor', name: 'temperature' });

/** Opens one subscriber; resolves once its observeproperty got its result. */
async function openClient(port, stats) {
  let firstSeen = false;
  const { client, reply } = await openLeanClient({
    host: HOST,
    port,
    path: WS_PATH,
    protocol: WS_SUBPROTOCOL,
    request: OBSERVE,
    // Every client's first notification and one in SAMPLE_EVERY overall are decoded and checked.
    wantPayload: () => !firstSeen || (stats.received + 1) % SAMPLE_EVERY === 0,
    onMessage: (payload) => {
      stats.received++;
      if (stats.received >= stats.pumpAt) stats.pump();
      if (payload !== undefined) {
        firstSeen = true;
        checkNotification(payload, stats);
      }
    },
    onBad: () => void stats.bad++,
    onClose: () => void stats.closed++,
  });
  let parsed;
  try {
    parsed = JSON.parse(reply);
  } catch {
    parsed = undefined;
  }
  if (parsed?.type !== 'result' || parsed.id !== 1 || typeof parsed.value !== 'number') {
    client.destroy();
    throw new Error(`unexpected reply to observeproperty: ${reply}`);
  }
  return client;
}

function checkNotification(text, stats) {
  stats.checked++;
  try {
    const m = JSON.parse(text);
    const ok = m.type === 'propertyChange' && m.name === 'temperature' && typeof m.value === 'number' && typeof m.thingID === 'string' && !Number.isNaN(Date.parse(m.timestamp));
    if (!ok) stats.bad++;
  } catch {
    stats.bad++;
  }
}

/** Opens CLIENTS subscribers into `sockets`; on failure every opened one is still in `sockets`. */
async function connectAll(port, stats, sockets) {
  let next = 0;
  let error;
  const worker = async () => {
    while (next < CLIENTS && error === undefined) {
      next++;
      try {
        sockets.push(await openClient(port, stats));
      } catch (err) {
        error ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
  if (error !== undefined) throw error;
}

/** Closes every subscriber, waiting at most a few seconds before cutting the rest. */
async function closeAll(clients) {
  const all = Promise.all(clients.map((client) => client.close()));
  if ((await Promise.race([all.then(() => true), delay(5_000).then(() => false)])) === false) {
    for (const client of clients) client.destroy();
    await Promise.race([all, delay(2_000)]);
  }
}

/** One side of the comparison: a server child and its 1,000 subscribers, pumped on demand. */
class FanoutSide {
  label;
  problems = [];
  #kind;
  #serverOptions;
  #server = new ServerProcess();
  #sockets = [];
  #stats = { received: 0, bad: 0, checked: 0, closed: 0, pumpAt: Infinity, pump: () => undefined };
  /** Broadcasts the server has acknowledged producing. */
  #produced = 0;
  /** Broadcasts asked for and not yet acknowledged. */
  #requested = 0;
  #inFlight = 0;
  #pumping = false;
  #shortfall = 0;
  #failure;

  constructor(label, kind, serverOptions = {}) {
    this.label = label;
    this.#kind = kind;
    this.#serverOptions = serverOptions;
    this.#stats.pump = () => this.#pump();
  }

  get clients() {
    return this.#sockets.length;
  }

  async open(log) {
    const port = await this.#server.start(this.#kind, this.#serverOptions);
    log(`  ${this.label}: connecting ${CLIENTS} subscribers`);
    const started = performance.now();
    await connectAll(port, this.#stats, this.#sockets);
    this.connectMs = performance.now() - started;
  }

  /** Credit-based pump: at most WINDOW broadcasts outstanding, BATCH per request, 2 requests in flight. */
  #pump() {
    const stats = this.#stats;
    while (this.#pumping && this.#failure === undefined && this.#inFlight < 2 && this.#produced + this.#requested - stats.received / CLIENTS <= WINDOW - BATCH) {
      this.#inFlight++;
      this.#requested += BATCH;
      this.#server.request('emit', { n: BATCH }).then(
        ({ emitted }) => {
          this.#inFlight--;
          this.#requested -= BATCH;
          this.#produced += emitted;
          this.#shortfall += BATCH - emitted;
          this.#pump();
        },
        (err) => {
          this.#inFlight--;
          this.#requested -= BATCH;
          this.#failure ??= err;
        },
      );
    }
    // Look again once enough has arrived to open room for one more batch.
    stats.pumpAt = this.#inFlight >= 2 || !this.#pumping ? Infinity : (this.#produced + this.#requested - WINDOW + BATCH) * CLIENTS;
  }

  /** Stops asking for broadcasts and waits (bounded) until every produced one has arrived everywhere. */
  async #drain() {
    this.#pumping = false;
    this.#stats.pumpAt = Infinity;
    for (let waited = 0; waited < 10_000 && (this.#inFlight > 0 || this.#stats.received < this.#produced * CLIENTS); waited += 10) await delay(10);
    const missing = this.#produced * CLIENTS - this.#stats.received;
    if (missing > 0) this.problems.push(`${missing} of ${this.#produced * CLIENTS} notifications never arrived`);
    if (missing < 0) this.problems.push(`${-missing} more notifications arrived than were produced`);
  }

  /** Pumps for a short ramp, then measures `seconds` of delivered messages, then drains. */
  async measureWindow(seconds) {
    this.#pumping = true;
    this.#pump();
    await delay(RAMP_MS);
    await this.#server.request('cpuMark');
    const loadBefore = process.cpuUsage();
    const machineBefore = machineBusyUs();
    const r0 = this.#stats.received;
    const t0 = performance.now();
    await delay(seconds * 1000);
    const r1 = this.#stats.received;
    const t1 = performance.now();
    const machineUs = machineBusyUs() - machineBefore;
    const load = process.cpuUsage(loadBefore);
    const cpu = await this.#server.request('cpuRead');
    await this.#drain();
    const serverCpuUs = cpu.userUs + cpu.systemUs;
    const loadCpuUs = load.user + load.system;
    const elapsed = (t1 - t0) / 1000;
    return { ops: r1 - r0, seconds: elapsed, serverCpuUs, loadCpuUs, foreignCores: foreignCores(machineUs, serverCpuUs + loadCpuUs, elapsed) };
  }

  /** Problems seen so far, beyond lost messages (recorded by each drain). */
  finalProblems() {
    const problems = [...this.problems];
    if (this.#failure !== undefined) problems.push(`emit failed: ${this.#failure.message}`);
    if (this.#stats.bad > 0) problems.push(`${this.#stats.bad} malformed or binary notifications`);
    if (this.#stats.closed > 0) problems.push(`${this.#stats.closed} subscribers were disconnected during the run`);
    if (this.#shortfall > 0) problems.push(`server produced ${this.#shortfall} fewer broadcasts than asked`);
    return problems;
  }

  get checked() {
    return this.#stats.checked;
  }

  get produced() {
    return this.#produced;
  }

  /** Closes the subscribers and stops the server. */
  async close() {
    this.#pumping = false;
    this.#stats.pumpAt = Infinity;
    await closeAll(this.#sockets);
    await this.#server.stop();
  }
}

/** Benchmark 3: WebSocket fan-out to 1,000 subscribers, servient vs bare `ws`. */
export async function wsFanout({ warmupS, durationS, log }) {
  const sides = [new FanoutSide('bare ws', 'bare-ws'), new FanoutSide('flowchain', 'flowchain', { clock: 'manual' })];
  try {
    for (const side of sides) await side.open(log);
    for (const side of sides) {
      log(`  ${side.label}: warm-up ${warmupS}s`);
      await side.measureWindow(warmupS);
    }
    const windowS = durationS / PAIRS.length;
    const { windows, pairRatios, pairs, clean } = await interleave(sides, windowS, (side, seconds) => side.measureWindow(seconds), log);
    const reports = sides.map((side, i) => ({
      label: side.label,
      ...totals(windows[i]),
      clients: side.clients,
      connectMs: side.connectMs,
      broadcastsPerS: totals(windows[i]).rate / CLIENTS,
      produced: side.produced,
      sampledAndChecked: side.checked,
      windows: windows[i],
      problems: side.finalProblems(),
    }));
    const [baseline, subject] = reports;
    return { name: `WS fan-out (${CLIENTS} subscribers)`, unit: 'msg/s', baseline, subject, ratio: subject.rate / baseline.rate, pairRatios, pairs, clean, target: 0.8 };
  } finally {
    for (const side of sides) await side.close();
  }
}

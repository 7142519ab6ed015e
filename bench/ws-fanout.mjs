/**
 * WebSocket fan-out: 1,000 subscribers observe environment-sensor/temperature over
 * flowchain.v1; the server child produces changes on request (the servient by advancing its
 * injected manual clock, so the sensor driver reports through the normal ExposedThing ->
 * Fanout -> WsSession path). The baseline is a plain `ws` server that builds the same message,
 * encodes it once per broadcast and sends it to every subscriber.
 *
 * Throughput is messages received by the clients per second (counted here, not sent counts).
 * Flow control: at most WINDOW broadcasts are produced and not yet received by every client,
 * so neither side is measured on how much it can queue, and the servient's slow-consumer
 * limit (1 MiB per socket) is never approached (WINDOW x ~170 B per socket).
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { delay, HOST, INTERLEAVE, interleave, ServerProcess, totals, WS_PATH, WS_SUBPROTOCOL } from './lib/common.mjs';

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

/** Opens one subscriber; resolves once its observeproperty got its result. */
function openClient(url, stats) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, WS_SUBPROTOCOL, { perMessageDeflate: false, skipUTF8Validation: true, handshakeTimeout: 10_000 });
    let subscribed = false;
    let firstSeen = false;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('subscriber not ready within 15 s'));
    }, 15_000);
    ws.on('open', () => ws.send(JSON.stringify({ id: 1, op: 'observeproperty', thingID: 'environment-sensor', name: 'temperature' })));
    ws.on('message', (data, isBinary) => {
      if (subscribed) {
        stats.received++;
        if (stats.received >= stats.pumpAt) stats.pump();
        if (isBinary) stats.bad++;
        else if (!firstSeen || stats.received % SAMPLE_EVERY === 0) {
          firstSeen = true;
          checkNotification(data, stats);
        }
        return;
      }
      const reply = JSON.parse(data.toString());
      if (reply.type !== 'result' || reply.id !== 1 || typeof reply.value !== 'number') {
        clearTimeout(timer);
        ws.terminate();
        reject(new Error(`unexpected reply to observeproperty: ${data.toString()}`));
        return;
      }
      subscribed = true;
      clearTimeout(timer);
      resolve(ws);
    });
    ws.on('close', () => {
      if (subscribed) stats.closed++;
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function checkNotification(data, stats) {
  stats.checked++;
  try {
    const m = JSON.parse(data.toString());
    const ok = m.type === 'propertyChange' && m.name === 'temperature' && typeof m.value === 'number' && typeof m.thingID === 'string' && !Number.isNaN(Date.parse(m.timestamp));
    if (!ok) stats.bad++;
  } catch {
    stats.bad++;
  }
}

/** Opens CLIENTS subscribers into `sockets`; on failure every opened one is still in `sockets`. */
async function connectAll(url, stats, sockets) {
  let next = 0;
  let error;
  const worker = async () => {
    while (next < CLIENTS && error === undefined) {
      next++;
      try {
        sockets.push(await openClient(url, stats));
      } catch (err) {
        error ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
  if (error !== undefined) throw error;
}

/** Closes every socket, waiting at most a few seconds before cutting the rest. */
async function closeAll(sockets) {
  const closed = sockets.map((ws) => (ws.readyState === WebSocket.CLOSED ? undefined : new Promise((resolve) => ws.once('close', resolve))));
  for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) ws.close(1000);
  const all = Promise.all(closed);
  if ((await Promise.race([all.then(() => true), delay(5_000).then(() => false)])) === false) {
    for (const ws of sockets) ws.terminate();
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
    await connectAll(`ws://${HOST}:${port}${WS_PATH}`, this.#stats, this.#sockets);
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
    if (missing !== 0) this.problems.push(`${missing} of ${this.#produced * CLIENTS} notifications never arrived`);
  }

  /** Pumps for a short ramp, then measures `seconds` of delivered messages, then drains. */
  async measureWindow(seconds) {
    this.#pumping = true;
    this.#pump();
    await delay(RAMP_MS);
    await this.#server.request('cpuMark');
    const loadBefore = process.cpuUsage();
    const r0 = this.#stats.received;
    const t0 = performance.now();
    await delay(seconds * 1000);
    const r1 = this.#stats.received;
    const t1 = performance.now();
    const load = process.cpuUsage(loadBefore);
    const cpu = await this.#server.request('cpuRead');
    await this.#drain();
    return { ops: r1 - r0, seconds: (t1 - t0) / 1000, serverCpuUs: cpu.userUs + cpu.systemUs, loadCpuUs: load.user + load.system };
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
    const windowS = durationS / (INTERLEAVE.length / 2);
    const { windows, pairRatios } = await interleave(sides, windowS, (side, seconds) => side.measureWindow(seconds), log);
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
    return { name: `WS fan-out (${CLIENTS} subscribers)`, unit: 'msg/s', baseline, subject, ratio: subject.rate / baseline.rate, pairRatios, target: 0.8 };
  } finally {
    for (const side of sides) await side.close();
  }
}

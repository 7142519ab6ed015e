/**
 * CoAP property GET: confirmable GETs of thermostat/targetTemperature over the node's CoAP
 * binding (src/bindings/coap/: route matching, the Thing's read handler, the JSON answer),
 * against a bare `coap` server answering the same JSON at the same path, measured in the same
 * run in interleaved windows (ABBA ABBA). The ratio is what the binding and the Thing add in
 * front of the library's own request handling.
 *
 * Load: CONCURRENCY requests outstanding at all times from one `coap` Agent (one UDP socket);
 * each answer is checked (2.05 and the expected payload) and counted, then the next is sent.
 *
 * One process holds the node, the bare server and the load generator: "server CPU" is that
 * process's (the load generator's is in it), shared alike by both sides.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent, createServer, request } from 'coap';
import { delay, foreignCores, HOST, interleave, machineBusyUs, ownCpuUs, PROPERTY_PATH, totals, writeThings } from './lib/common.mjs';
import { median } from './lib/format.mjs';

const CONCURRENCY = 32;

function percentile(sorted, p) {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** A bare `coap` server answering `payload` at `path` (4.04 elsewhere). */
async function bareServer(path, payload) {
  const segments = path.split('/').filter((s) => s !== '');
  const server = createServer({ type: 'udp4', reuseAddr: false }, (req, res) => {
    const asked = req.url.split('?')[0].split('/').filter((s) => s !== '');
    if (req.method !== 'GET' || asked.length !== segments.length || asked.some((s, i) => s !== segments[i])) {
      res.code = '4.04';
      return res.end();
    }
    res.setOption('Content-Format', 'application/json');
    res.end(payload);
  });
  await new Promise((resolve) => server.listen(0, HOST, resolve));
  return { server, port: server._sock.address().port };
}

/** Runs the benchmark: `warmupS` per side, then interleaved windows of `durationS`. */
export async function coapPropertyGet({ warmupS, durationS, log }) {
  const { createServient } = await import('../dist/index.js');
  const data = mkdtempSync(join(tmpdir(), 'flowchain-coap-bench-'));
  const things = await writeThings(join(data, 'things'));
  const servient = await createServient({ config: { host: HOST, port: 0, peerPort: 0, coapPort: 0, mqtt: 'off', data: join(data, 'node'), things, logLevel: 'warn' } });
  const socket = createSocket({ type: 'udp4' });
  const agent = new Agent({ type: 'udp4', socket });
  let bare;
  try {
    const { url } = await servient.start();
    const td = await (await fetch(`${url}${PROPERTY_PATH.slice(1).replace(/\/properties\/.*$/, '')}`)).json();
    const form = td.properties.targetTemperature.forms.find((f) => f.href.startsWith('coap:') && [f.op].flat().includes('readproperty'));
    const subjectPort = Number(new URL(form.href).port);
    const expected = JSON.stringify(await (await fetch(`${url}${PROPERTY_PATH.slice(1)}`)).json());
    bare = await bareServer(PROPERTY_PATH, expected);

    const get = (port) =>
      new Promise((resolve) => {
        const t0 = performance.now();
        const req = request({ hostname: HOST, port, pathname: PROPERTY_PATH, method: 'GET', agent, confirmable: true });
        req.on('response', (res) => resolve({ ok: res.code === '2.05' && res.payload.toString() === expected, ms: performance.now() - t0, code: res.code }));
        req.on('error', (err) => resolve({ ok: false, ms: performance.now() - t0, code: err.message }));
        req.on('timeout', () => resolve({ ok: false, ms: performance.now() - t0, code: 'timeout' }));
        req.end();
      });

    const sides = [
      { label: 'bare coap server, same path and payload', port: bare.port, problems: [], latencies: [] },
      { label: 'flowchain CoAP binding', port: subjectPort, problems: [], latencies: [] },
    ];
    for (const side of sides) {
      const first = await get(side.port);
      if (!first.ok) throw new Error(`${side.label} answered ${first.code}, expected 2.05 ${expected}`);
    }
    /** Keeps CONCURRENCY GETs outstanding for `seconds`; counts the checked answers. */
    const run = async (side, seconds, record = true) => {
      const end = performance.now() + seconds * 1000;
      let ops = 0;
      let failed = 0;
      const cpu0 = ownCpuUs();
      const machine0 = machineBusyUs();
      const t0 = performance.now();
      const worker = async () => {
        while (performance.now() < end) {
          const answer = await get(side.port);
          if (!answer.ok) failed++;
          else ops++;
          if (record) side.latencies.push(answer.ms);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      const elapsed = (performance.now() - t0) / 1000;
      const serverCpuUs = ownCpuUs() - cpu0;
      if (failed > 0 && record) side.problems.push(`${failed} failed or wrong answers`);
      return { ops, seconds: elapsed, serverCpuUs, loadCpuUs: 0, foreignCores: foreignCores(machineBusyUs() - machine0, serverCpuUs, elapsed) };
    };
    for (const side of sides) {
      log(`  ${side.label}: warm-up ${warmupS}s`);
      await run(side, warmupS, false);
    }
    await delay(100);
    const { windows, pairRatios, pairs, clean } = await interleave(sides, durationS / 4, (side, seconds) => run(side, seconds), log);
    const [baseline, subject] = windows.map((w, i) => {
      const sorted = [...sides[i].latencies].sort((a, b) => a - b);
      return { label: sides[i].label, ...totals(w), p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), problems: sides[i].problems };
    });
    log(`  median pair ratio ${median(pairRatios).toFixed(3)}`);
    return { name: `CoAP property GET (${CONCURRENCY} outstanding, one process)`, unit: 'req/s', baseline, subject, ratio: subject.rate / baseline.rate, pairRatios, pairs, clean, target: 0.5 };
  } finally {
    agent.close();
    socket.close();
    if (bare !== undefined) await new Promise((resolve) => bare.server.close(resolve));
    await servient.stop();
    rmSync(data, { recursive: true, force: true });
  }
}

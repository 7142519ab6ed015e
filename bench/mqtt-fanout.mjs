/**
 * MQTT observe fan-out: 1,000 subscribers observe one property of a Thing over the node's
 * MQTT binding (its embedded broker, aedes), against the same publishes made straight to the
 * same broker by a plain mqtt.js client. The subject's changes go the normal way: the Thing's
 * emitPropertyChange -> ExposedThing observers -> MqttServerBinding -> its broker connection;
 * the baseline publishes the same payload (retained, QoS 0) to a topic of its own. What the
 * ratio measures is what the binding adds in front of the broker's fan-out.
 *
 * Throughput is messages received by the subscribers per second (counted at the clients).
 * Flow control: at most WINDOW broadcasts are produced and not yet received by every
 * subscriber, so neither side is measured on how much it can queue. WINDOW is 1: the binding
 * conflates a topic's values (at most one publish per 10 ms, with the last value), so changes
 * made faster than the subscribers take them would reach them as fewer messages. With one change
 * ahead of the subscribers, no two are merged: both sides deliver every change, each a full
 * fan-out.
 *
 * One process holds the node, the broker and the subscribers: "server CPU" is that process's
 * (load-generator CPU is in it), which both sides share alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect } from 'mqtt';
import { delay, foreignCores, HOST, interleave, machineBusyUs, ownCpuUs, totals } from './lib/common.mjs';

const CLIENTS = 1_000;
const CONNECT_CONCURRENCY = 100;
/** Broadcasts that may be in flight (produced, not yet received by every subscriber); see above. */
const WINDOW = 1;
const BASELINE_TOPIC = 'bench/baseline/level';

/** Connects `CLIENTS` subscribers to both topics; `onMessage(topic)` counts each delivery. */
async function subscribers(port, topics, onMessage) {
  const clients = [];
  for (let i = 0; i < CLIENTS; i += CONNECT_CONCURRENCY) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(CONNECT_CONCURRENCY, CLIENTS - i) }, async () => {
        const client = connect(`mqtt://${HOST}:${port}`, { protocolVersion: 4, reconnectPeriod: 0 });
        await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject));
        client.on('message', (topic) => onMessage(topic));
        await client.subscribeAsync(topics, { qos: 0 });
        return client;
      }),
    );
    clients.push(...batch);
  }
  return clients;
}

/** Runs the benchmark: `warmupS` per side, then interleaved windows of `durationS`. */
export async function mqttFanout({ warmupS, durationS, log }) {
  const { createServient } = await import('../dist/index.js');
  const data = mkdtempSync(join(tmpdir(), 'flowchain-mqtt-bench-'));
  const servient = await createServient({ config: { host: HOST, port: 0, peerPort: 0, data, mqtt: undefined, mqttPort: 0, logLevel: 'warn' } });
  const clients = [];
  let publisher;
  try {
    const thing = await servient.produce({ '@context': ['https://www.w3.org/2022/wot/td/v1.1', 'https://w3id.org/flowchain/v1'], title: 'Bench', properties: { level: { type: 'integer', readOnly: true, observable: true, recorded: false } } });
    await thing.expose();
    const { url } = await servient.start();
    const td = await (await fetch(`${url}things/bench`)).json();
    const form = td.properties.level.forms.find((f) => f.href.startsWith('mqtt:'));
    const port = Number(new URL(form.href).port);
    const subjectTopic = form['mqv:filter'];

    const received = { [subjectTopic]: 0, [BASELINE_TOPIC]: 0 };
    let waiting;
    const onMessage = (topic) => {
      received[topic]++;
      if (waiting !== undefined && received[waiting.topic] >= waiting.until) waiting.resolve();
    };
    log(`  connecting ${CLIENTS} subscribers`);
    clients.push(...(await subscribers(port, [subjectTopic, BASELINE_TOPIC], onMessage)));
    publisher = connect(`mqtt://${HOST}:${port}`, { protocolVersion: 4, reconnectPeriod: 0 });
    await new Promise((resolve, reject) => publisher.once('connect', resolve).once('error', reject));

    let value = 0;
    const sides = [
      { label: 'mqtt.js straight to the broker', topic: BASELINE_TOPIC, produce: () => publisher.publish(BASELINE_TOPIC, JSON.stringify(++value), { retain: true, qos: 0 }) },
      { label: 'flowchain MQTT binding', topic: subjectTopic, produce: () => void thing.emitPropertyChange('level', ++value) },
    ];
    // The retained value each subscriber got on subscribing counts as one broadcast already.
    const produced = { [subjectTopic]: 1, [BASELINE_TOPIC]: 0 };
    /** Keeps WINDOW broadcasts in flight until `seconds` have passed; resolves with what was received meanwhile. */
    const run = async (side, seconds) => {
      const end = performance.now() + seconds * 1000;
      const start = received[side.topic];
      const cpu0 = ownCpuUs();
      const machine0 = machineBusyUs();
      const t0 = performance.now();
      while (performance.now() < end) {
        while (produced[side.topic] - received[side.topic] / CLIENTS < WINDOW) {
          produced[side.topic]++;
          side.produce();
        }
        await new Promise((resolve) => {
          waiting = { topic: side.topic, until: (produced[side.topic] - WINDOW / 2) * CLIENTS, resolve };
          setTimeout(resolve, 100);
        });
      }
      const elapsed = (performance.now() - t0) / 1000;
      const ops = received[side.topic] - start;
      const serverCpuUs = ownCpuUs() - cpu0;
      // Drain what is in flight before the next window.
      await new Promise((resolve) => {
        waiting = { topic: side.topic, until: produced[side.topic] * CLIENTS, resolve };
        setTimeout(resolve, 2_000);
      });
      waiting = undefined;
      return { ops, seconds: elapsed, serverCpuUs, loadCpuUs: 0, foreignCores: foreignCores(machineBusyUs() - machine0, serverCpuUs, elapsed) };
    };
    for (const side of sides) {
      log(`  ${side.label}: warm-up ${warmupS}s`);
      await run(side, warmupS);
    }
    await delay(100);
    const { windows, pairRatios, pairs, clean } = await interleave(sides, durationS, run, log);
    const [baseline, subject] = windows.map((w, i) => ({ label: sides[i].label, ...totals(w), broadcastsPerS: totals(w).rate / CLIENTS, problems: [] }));
    return { name: `MQTT observe fan-out (${CLIENTS} subscribers, one process)`, unit: 'msg/s', baseline, subject, ratio: subject.rate / baseline.rate, pairRatios, pairs, clean, target: 0.8 };
  } finally {
    await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
    await publisher?.endAsync(true).catch(() => undefined);
    await servient.stop();
    rmSync(data, { recursive: true, force: true });
  }
}

/**
 * The machine this runs on, as a Thing: its load average, free memory and uptime, read from
 * the operating system every few seconds, and a `highLoad` event when the one-minute load
 * rises through a threshold that consumers can set. Every reading and every change of the
 * threshold is recorded on the ring, with a receipt.
 *
 *   npm run example:host-monitor
 *
 * HOST (127.0.0.1), PORT (8090), PEER_PORT (PORT + 1000), DATA (data/host-monitor) and
 * SAMPLE_MS (5000) change the defaults.
 */
import { freemem, hostname, loadavg, totalmem, uptime } from 'node:os';
import { createServient } from 'flowchain';

const port = Number(process.env.PORT ?? 8090);
const peerPort = Number(process.env.PEER_PORT ?? (port === 0 ? 0 : port + 1000));
const sampleMs = Number(process.env.SAMPLE_MS ?? 5_000);
// This machine only, unless HOST says otherwise (0.0.0.0: every interface).
const servient = await createServient({ config: { host: process.env.HOST ?? '127.0.0.1', port, peerPort, data: process.env.DATA ?? 'data/host-monitor' } });

const host = await servient.produce({
  title: `Host ${hostname()}`,
  description: 'Load, memory and uptime of the machine running this node.',
  properties: {
    load1: { title: 'Load (1 min)', type: 'number', minimum: 0, readOnly: true, observable: true },
    freeMemory: { title: 'Free memory', type: 'integer', minimum: 0, maximum: totalmem(), unit: 'byte', readOnly: true, observable: true },
    uptime: { title: 'Uptime', type: 'integer', minimum: 0, unit: 's', readOnly: true },
    loadThreshold: { title: 'High-load threshold', type: 'number', minimum: 0, observable: true },
  },
  events: {
    highLoad: { title: 'Load rose through the threshold', data: { type: 'object', properties: { load1: { type: 'number' }, threshold: { type: 'number' } } } },
  },
});

const load1 = (): number => Math.round(loadavg()[0]! * 100) / 100;
let threshold = (host.lastValue('loadThreshold') as number | undefined) ?? 2;
host.setPropertyReadHandler('load1', load1);
host.setPropertyReadHandler('freeMemory', () => freemem());
host.setPropertyReadHandler('uptime', () => Math.floor(uptime()));
host.setPropertyReadHandler('loadThreshold', () => threshold);
// The event fires as the load rises through the threshold, not at every sample above it; a
// new threshold re-arms it.
let above = false;
host.setPropertyWriteHandler('loadThreshold', async (value) => {
  threshold = (await value.value()) as number;
  above = false;
});
const sample = async (): Promise<void> => {
  const load = load1();
  await host.emitPropertyChange('load1', load);
  await host.emitPropertyChange('freeMemory', freemem());
  if (load >= threshold && !above) host.emitEvent('highLoad', { load1: load, threshold });
  above = load >= threshold;
};
const timer = setInterval(() => sample().catch((err: unknown) => console.error('a sample was not taken:', err)), sampleMs);

await host.expose();
const { url } = await servient.start();
console.log(`host monitor on ${url}things/${host.slug} (dashboard: ${url})`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    clearInterval(timer);
    void servient.stop().then(() => process.exit(0));
  });
}

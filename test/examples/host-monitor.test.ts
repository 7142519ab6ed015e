/**
 * examples/host-monitor, run as a user runs it: its Thing reports what the operating system
 * says, records its readings with receipts, and raises highLoad when the load rises through a
 * threshold a consumer sets.
 */
import { createServer } from 'node:net';
import { freemem, totalmem, uptime } from 'node:os';
import t from 'tap';
import { runScript } from '../helpers/node-process.js';
import { tempDir } from '../helpers/test-servient.js';

t.test('the host monitor exposes this machine and raises highLoad when the load crosses the threshold', async (t) => {
  const peerPort = await freePort();
  const monitor = runScript(t, 'examples/dist/host-monitor/main.js', [], { PORT: '0', PEER_PORT: String(peerPort), SAMPLE_MS: '200', DATA: tempDir(t) });
  const [, thingUrl, base] = await monitor.line(/^host monitor on (\S+) \(dashboard: (\S+)\)$/);
  t.match(thingUrl, /^http:\/\/127\.0\.0\.1:\d+\//, 'it listens on this machine only unless HOST says otherwise');
  t.equal(new URL(((await (await fetch(`${base}ring`)).json()) as { url: string }).url).port, String(peerPort), 'its peer port is PEER_PORT');
  const td = (await (await fetch(thingUrl!)).json()) as { properties: Record<string, unknown>; events: Record<string, unknown> };
  t.same(Object.keys(td.properties).sort(), ['freeMemory', 'load1', 'loadThreshold', 'uptime']);
  const read = async (name: string): Promise<number> => (await (await fetch(`${thingUrl}/properties/${name}`)).json()) as number;
  const free = await read('freeMemory');
  t.ok(free > 0 && free <= totalmem(), `free memory ${free} of ${totalmem()}`);
  t.ok(Math.abs(free - freemem()) < totalmem() / 4, 'close to what the OS says now');
  t.ok(Math.abs((await read('uptime')) - uptime()) <= 5, 'the machine\'s uptime');
  t.ok((await read('load1')) >= 0);

  // Follow the event over SSE, then set a threshold every load is above.
  const events = await fetch(`${thingUrl}/events/highLoad/sse`);
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
  const put = await fetch(`${thingUrl}/properties/loadThreshold`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '0' });
  t.equal(put.status, 204);
  const receipt = /<([^>]+)>/.exec(put.headers.get('link') ?? '')?.[1];
  t.match(receipt, new RegExp(`^${base}ledger/tx/`), 'the threshold change has a receipt');
  t.equal((await fetch(receipt!)).status, 200);
  // A loaded machine (load ≥ 2, the default threshold) may raise one before the PUT: each
  // event is a real crossing, and one for the new threshold follows.
  let text = '';
  let data: { load1: number; threshold: number } | undefined;
  while (data?.threshold !== 0) {
    while (!/\ndata: .*\n/.test(text)) text += (await reader.read()).value ?? '';
    const match = /\ndata: (.*)\n/.exec(text)!;
    text = text.slice(match.index + match[0].length);
    data = JSON.parse(match[1]!) as { load1: number; threshold: number };
    t.ok(data.load1 >= data.threshold, `highLoad at load ${data.load1} for threshold ${data.threshold}`);
    if (data.threshold !== 0) t.equal(data.threshold, 2, 'before the PUT: the default threshold');
  }
  t.equal(data.threshold, 0);
  await reader.cancel();
  t.equal(await monitor.stop(), 0, 'stops cleanly on SIGTERM');
});

/** A TCP port free a moment ago on the loopback interface. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

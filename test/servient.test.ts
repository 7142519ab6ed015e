import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadBundledContexts } from '../src/bundled.js';
import { expandThingDescription } from '../src/td/json-ld.js';
import { BUNDLED_THINGS } from '../src/bundled.js';
import { blockHash, type DataTransaction } from '../src/broker/data-transaction.js';
import { transactionId } from '../src/broker/data-transaction.js';
import type { LedgerPlugin } from '../src/broker/ledger-sink.js';
import { FlowchainError } from '../src/errors.js';
import { createServient as createPublicServient } from '../src/index.js';
import type { ThingDescription, ThingFragment } from '../src/td/thing-description.js';
import { TdValidator } from '../src/td/td-validator.js';
import { createServient, tempDir } from './helpers/test-servient.js';
import { W3C_TD_SCHEMA } from './helpers/w3c-spec.js';

const json = (value: unknown): string => JSON.stringify(value);
const sensorFile = (overrides: Record<string, unknown> = {}) =>
  json({
    '@context': ['https://www.w3.org/2022/wot/td/v1.1', 'https://w3id.org/flowchain/v1'],
    title: 'Sensor',
    driver: { type: 'environment-sensor' },
    properties: { temperature: { type: 'number', readOnly: true, observable: true }, humidity: { type: 'number', readOnly: true } },
    events: { overheat: {} },
    ...overrides,
  });

t.test('every TD the node serves validates against the W3C TD 1.1 schema and expands offline', async (t) => {
  for (const authToken of [undefined, 'a-long-enough-token-1234']) {
    const { servient } = await createServient(t, authToken ? { authToken } : {});
    const listing = (await servient.app.inject('/things')).json() as ThingDescription[];
    const node = (await servient.app.inject('/.well-known/wot')).json() as ThingDescription;
    t.same(listing.map((td) => td.title).sort(), ['Alerts', 'Environment sensor', 'Ledger', 'Smart plug', 'Thermostat']);
    const validator = new TdValidator(W3C_TD_SCHEMA());
    for (const td of [...listing, node]) {
      t.doesNotThrow(() => validator.assertValid(td, td.title), `${td.title} validates`);
      const expanded = await expandThingDescription(td, loadBundledContexts());
      t.equal(expanded.length, 1, `${td.title} expands`);
    }
  }
});

t.test('TD ids are stable across restarts and differ between nodes', async (t) => {
  const data = tempDir(t);
  const idsOf = async (servient: Awaited<ReturnType<typeof createServient>>['servient']) =>
    ((await servient.app.inject('/things')).json() as ThingDescription[]).map((td) => td.id);
  const first = await createServient(t, { data });
  const ids = await idsOf(first.servient);
  await first.servient.stop();
  const second = await createServient(t, { data });
  t.same(await idsOf(second.servient), ids);
  t.equal(second.servient.nodeId, first.servient.nodeId);
  const other = await createServient(t);
  t.notSame(await idsOf(other.servient), ids);
});

t.test('accepted writes survive a restart; rejected ones never land', async (t) => {
  const data = tempDir(t);
  const put = (servient: Awaited<ReturnType<typeof createServient>>['servient'], path: string, body: unknown) =>
    servient.app.inject({ method: 'PUT', url: path, payload: json(body), headers: { 'content-type': 'application/json' } });
  const first = await createServient(t, { data });
  t.equal((await put(first.servient, '/things/thermostat/properties/targetTemperature', 23.5)).statusCode, 204);
  t.equal((await put(first.servient, '/things/thermostat/properties', { mode: 'cool' })).statusCode, 204);
  t.equal((await put(first.servient, '/things/smart-plug/properties/on', true)).statusCode, 204);
  t.equal((await put(first.servient, '/things/thermostat/properties/targetTemperature', 99)).statusCode, 400);
  await first.servient.stop();

  const second = await createServient(t, { data });
  const props = (await second.servient.app.inject('/things/thermostat/properties')).json();
  t.match(props, { targetTemperature: 23.5, mode: 'cool' });
  t.equal((await second.servient.app.inject('/things/smart-plug/properties/on')).json(), true);
});

t.test('start-up fails on a bad TD file, naming the file and the field', async (t) => {
  const cases: [string, string, string, string][] = [
    ['not JSON', '{', 'FLOWCHAIN_ERR_TD_INVALID', '/'],
    ['a driver naming neither type nor module', sensorFile({ driver: {} }), 'FLOWCHAIN_ERR_TD_INVALID', '/driver'],
    ['a driver naming both', sensorFile({ driver: { type: 'thermostat', module: './x.js' } }), 'FLOWCHAIN_ERR_TD_INVALID', '/driver'],
    ['a module that is not there', sensorFile({ driver: { module: './missing.js' } }), 'FLOWCHAIN_ERR_DRIVER_FAILED', '/driver/module'],
    ['no context', json({ title: 'x' }), 'FLOWCHAIN_ERR_TD_INVALID', '/'],
    ['unknown driver', sensorFile({ driver: { type: 'toaster' } }), 'FLOWCHAIN_ERR_DRIVER_UNKNOWN', '/driver/type'],
    ['driver options not an object', sensorFile({ driver: { type: 'environment-sensor', options: 3 } }), 'FLOWCHAIN_ERR_TD_INVALID', '/driver/options'],
    ['bad driver option', sensorFile({ driver: { type: 'environment-sensor', options: { intervalMs: 'x' } } }), 'FLOWCHAIN_ERR_TD_INVALID', '/driver/options/intervalMs'],
    ['missing affordance', sensorFile({ events: {} }), 'FLOWCHAIN_ERR_TD_INVALID', '/events/overheat'],
    ['schema violation', sensorFile({ title: 7 }), 'FLOWCHAIN_ERR_TD_INVALID', '/title'],
    ['schema violation in a property', sensorFile({ properties: { temperature: { type: 'number', observable: 'yes' }, humidity: {} } }), 'FLOWCHAIN_ERR_TD_INVALID', '/properties/temperature/observable'],
    ['unknown context', sensorFile({ '@context': ['https://www.w3.org/2022/wot/td/v1.1', 'https://example.org/private'] }), 'FLOWCHAIN_ERR_TD_CONTEXT_UNKNOWN', '@context'],
  ];
  for (const [label, text, code, field] of cases) {
    const things = t.testdir({ 'sensor.td.json': text });
    await t.rejects(createServient(t, { things }), { code, field, message: /sensor\.td\.json/ }, label);
  }
  const badName = t.testdir({ 'Bad Name.td.json': sensorFile() });
  await t.rejects(createServient(t, { things: badName }), { code: 'FLOWCHAIN_ERR_TD_INVALID', message: /Bad Name\.td\.json/ });
  await t.rejects(createServient(t, { things: '/nonexistent/things' }), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'things' });
});

t.test('a user adds a device by dropping a TD file into the things directory', async (t) => {
  const things = t.testdir({ 'greenhouse.td.json': sensorFile({ title: 'Greenhouse' }), 'notes.txt': 'ignored' });
  const { servient } = await createServient(t, { things });
  const listing = (await servient.app.inject('/things')).json() as ThingDescription[];
  t.same(listing.map((td) => td.title), ['Greenhouse', 'Ledger', 'Alerts'], 'the dropped-in Thing, and the ledger and alerts Things every node has');
  t.equal((await servient.app.inject('/things/greenhouse/properties/temperature')).statusCode, 200);
});

t.test("a TD file's own id is the Thing's id everywhere; two files with one id are refused", async (t) => {
  const things = t.testdir({ 'greenhouse.td.json': sensorFile({ id: 'urn:dev:greenhouse-7' }) });
  const { servient } = await createServient(t, { things });
  t.equal((await servient.app.inject('/things/greenhouse')).json().id, 'urn:dev:greenhouse-7');
  const byId = await servient.app.inject(`/things/${encodeURIComponent('urn:dev:greenhouse-7')}`);
  t.equal(byId.statusCode, 200, 'found by its own id');
  t.equal(servient.registry.get('urn:dev:greenhouse-7').slug, 'greenhouse');
  const twins = t.testdir({ 'a.td.json': sensorFile({ id: 'urn:dev:same' }), 'b.td.json': sensorFile({ id: 'urn:dev:same' }) });
  await t.rejects(createServient(t, { things: twins }), { code: 'FLOWCHAIN_ERR_TD_INVALID', field: '/id' });
});

t.test('start listens on an ephemeral port and stop closes everything', async (t) => {
  const { servient } = await createServient(t);
  const address = await servient.start();
  t.ok(address.port > 0);
  const health = await fetch(`${address.url}health`);
  t.match(await health.json(), { status: 'ok', things: 5 });
  await servient.stop();
  await t.rejects(fetch(`${address.url}health`));
});

// ---------------------------------------------------------------------------------------------
// The public API: createServient, produce, devices from modules, plugins
// ---------------------------------------------------------------------------------------------

t.test('createServient with no configuration: the defaults, no TD files, only the ledger and alerts Things', async (t) => {
  const servient = await createPublicServient({ config: { host: '127.0.0.1', port: 0, peerPort: 0, data: tempDir(t) } });
  t.teardown(() => servient.stop());
  t.same(servient.things.map((thing) => thing.slug), ['ledger', 'alerts']);
  const { url } = await servient.start();
  t.equal(servient.url, url);
  t.match(await (await fetch(`${url}health`)).json(), { things: 2 });
});

t.test('produce() refuses a fragment that would not make a valid Thing, naming the field', async (t) => {
  const { servient } = await createServient(t, { things: t.testdir() });
  const cases: [string, unknown, string][] = [
    ['not an object', [], '/'],
    ['no title', { properties: {} }, '/title'],
    ['a blank title', { title: '  ' }, '/title'],
    ['a schema violation', { title: 'Lamp', properties: { on: { type: 'boolean', observable: 'yes' } } }, '/properties/on/observable'],
    ['a slug that is not one', { title: 'Lamp' }, '/title'],
    ['the reserved name', { title: 'Ledger' }, '/title'],
  ];
  for (const [what, fragment, field] of cases) {
    const options = what === 'a slug that is not one' ? { slug: 'Not A Slug' } : {};
    await t.rejects(servient.produce(fragment as ThingFragment, options), { code: 'FLOWCHAIN_ERR_TD_INVALID', field }, what);
  }
  await servient.produce({ title: 'Lamp', id: 'urn:dev:lamp-1' });
  await t.rejects(servient.produce({ title: 'Lamp' }), { code: 'FLOWCHAIN_ERR_TD_INVALID', field: '/title', message: /slug lamp/ }, 'a second Thing with the same slug');
  await t.rejects(servient.produce({ title: 'Other lamp', id: 'urn:dev:lamp-1' }), { code: 'FLOWCHAIN_ERR_TD_INVALID', field: '/id' }, 'a second Thing with the same id');
  t.same(servient.things.map((thing) => thing.slug), ['ledger', 'alerts'], 'nothing produced is exposed before expose()');
});

t.test('over HTTP, a handler that throws, times out or answers invalid values is a problem+json with its code, and the node goes on', async (t) => {
  const { servient, clock } = await createServient(t, { things: t.testdir() });
  const probe = await servient.produce({
    title: 'Probe',
    properties: { broken: { type: 'number' }, slow: { type: 'number' }, liar: { type: 'number', readOnly: true }, refusing: { type: 'integer' } },
  });
  probe.setPropertyReadHandler('broken', () => {
    throw new Error('i2c bus stuck at /dev/i2c-1');
  });
  probe.setPropertyReadHandler('slow', () => new Promise<number>(() => undefined));
  probe.setPropertyReadHandler('liar', () => 'not a number');
  probe.setPropertyWriteHandler('refusing', () => {
    throw new FlowchainError('FLOWCHAIN_ERR_VALUE_INVALID', 'the valve is at its end stop', { field: 'refusing' });
  });
  await probe.expose();
  const get = (name: string) => servient.app.inject({ method: 'GET', url: `/things/probe/properties/${name}` });
  const broken = await get('broken');
  t.equal(broken.statusCode, 500);
  t.match(broken.headers['content-type'], /^application\/problem\+json/);
  t.match(broken.json(), { code: 'FLOWCHAIN_ERR_HANDLER_FAILED', status: 500 });
  t.notMatch(broken.body, /i2c|at .*\.ts/, 'no message or stack of the handler\'s own');
  t.match((await get('liar')).json(), { code: 'FLOWCHAIN_ERR_HANDLER_OUTPUT_INVALID', status: 500, field: 'liar' });
  const refused = await servient.app.inject({ method: 'PUT', url: '/things/probe/properties/refusing', payload: '3', headers: { 'content-type': 'application/json' } });
  t.match(refused.json(), { code: 'FLOWCHAIN_ERR_VALUE_INVALID', status: 400, detail: /end stop/ });
  const slow = get('slow');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal((await servient.app.inject('/health')).statusCode, 200, 'the node answers while a handler hangs');
  clock.advance(10_000);
  t.match((await slow).json(), { code: 'FLOWCHAIN_ERR_HANDLER_TIMEOUT', status: 504 });
});

t.test('a TD file\'s driver module is loaded from the things directory and runs the Thing', async (t) => {
  const module = `export default function probe(thing, { options, clock }) {
    let level = options.start;
    thing.setPropertyReadHandler('level', () => level);
    thing.setPropertyWriteHandler('level', async (value) => { level = await value.value(); });
    let timer;
    return { start: () => { timer = clock.every(1000, () => thing.emitPropertyChange('level', level + 1).then(() => { level += 1; })); }, stop: () => timer.cancel() };
  }\n`;
  const file = JSON.stringify({ '@context': 'https://www.w3.org/2022/wot/td/v1.1', title: 'Probe', driver: { module: './devices/probe.mjs', options: { start: 7 } }, properties: { level: { type: 'integer', observable: true } } });
  /** A things directory of its own (module URLs are cached: each variant needs its own path). */
  const thingsWith = (device: string): string => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'devices'));
    writeFileSync(join(dir, 'probe.td.json'), file);
    writeFileSync(join(dir, 'devices', 'probe.mjs'), device);
    return dir;
  };
  const { servient, clock } = await createServient(t, { things: thingsWith(module) });
  const level = async (): Promise<unknown> => (await servient.app.inject('/things/probe/properties/level')).json();
  t.equal(await level(), 7, 'the module\'s read handler answers');
  await servient.start();
  clock.advance(1_000);
  for (let turn = 0; turn < 1_000 && (await level()) !== 8; turn++) await new Promise((resolve) => setImmediate(resolve));
  t.equal(await level(), 8, 'and its timer runs once the node is started');

  await t.rejects(createServient(t, { things: thingsWith('export const notADevice = 1;\n') }), { code: 'FLOWCHAIN_ERR_DRIVER_FAILED', field: '/driver/module', message: /probe\.td\.json.*exports no device factory/ });
  await t.rejects(createServient(t, { things: thingsWith('throw new Error("no such bus");\n') }), { code: 'FLOWCHAIN_ERR_DRIVER_FAILED', message: /probe\.td\.json.*no such bus/ });
});

t.test('devices given to createServient add to the built-in ones', async (t) => {
  const calls: string[] = [];
  const things = t.testdir({
    'plug.td.json': JSON.stringify({ '@context': 'https://www.w3.org/2022/wot/td/v1.1', title: 'Plug', driver: { type: 'smart-plug' }, properties: { on: { type: 'boolean' }, power: { type: 'number', readOnly: true } }, actions: { toggle: {} } }),
    'lamp.td.json': JSON.stringify({ '@context': 'https://www.w3.org/2022/wot/td/v1.1', title: 'Lamp', driver: { type: 'lamp' }, properties: { on: { type: 'boolean' } } }),
  });
  const { servient } = await createServient(t, { things, devices: { lamp: (thing) => void calls.push(thing.slug) } });
  t.same(calls, ['lamp']);
  t.same(servient.things.map((thing) => thing.slug).sort(), ['alerts', 'lamp', 'ledger', 'plug']);
});

t.test('a ledger plugin given to createServient receives every recorded transaction', async (t) => {
  const admitted: DataTransaction[] = [];
  const ledger: LedgerPlugin = {
    async admit(txs, owner, now) {
      admitted.push(...txs);
      const block = { number: 0, openedAt: now, nonce: '00'.repeat(16) };
      const hBlock = blockHash(block.number, block.openedAt, block.nonce);
      return txs.map((tx) => ({ txId: transactionId(hBlock, tx.hData), hBlock, block, owner, storedAt: now, status: 'pending' as const, tx }));
    },
    backlog: () => 0,
    proof: async () => undefined,
    onEvent: () => () => undefined,
    verify: async () => ({ blocks: 0, transactions: admitted.length }),
    start: async () => undefined,
    stop: async () => undefined,
  };
  const servient = await createPublicServient({ config: { host: '127.0.0.1', port: 0, peerPort: 0, data: tempDir(t), things: BUNDLED_THINGS }, ledger });
  t.teardown(() => servient.stop());
  const { url } = await servient.start();
  const res = await fetch(`${url}things/thermostat/properties/targetTemperature`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '23' });
  t.equal(res.status, 204);
  t.ok(admitted.some((tx) => tx.data.property === 'targetTemperature' && tx.data.value === 23), 'the write reached the plugin');
  t.equal((await fetch(`${url}ledger/blocks`)).status, 404, 'the chain views belong to the default ledger');
});

t.test('a Thing produced while the node runs is on every binding once exposed, and on none once destroyed', async (t) => {
  const { servient } = await createServient(t, { things: t.testdir() });
  const { url } = await servient.start();
  const listed = async (): Promise<string[]> => ((await (await fetch(`${url}things`)).json()) as ThingDescription[]).map((td) => td.title);
  const linked = async (): Promise<string[]> => (((await (await fetch(`${url}.well-known/wot`)).json()) as ThingDescription).links ?? []).map((link) => String(link.href));
  t.same(await listed(), ['Ledger', 'Alerts']);

  const lamp = await servient.produce({ title: 'Lamp', properties: { on: { type: 'boolean', observable: true } }, events: { blinked: {} } });
  t.same(await listed(), ['Ledger', 'Alerts'], 'produced is not exposed');
  await lamp.expose();
  t.same((await listed()).sort(), ['Alerts', 'Lamp', 'Ledger']);
  t.ok((await linked()).some((href) => href.endsWith('things/lamp')), 'the node\'s TD links it');
  const put = await fetch(`${url}things/lamp/properties/on`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: 'true' });
  t.equal(put.status, 204);
  t.match(put.headers.get('link'), /ledger\/tx\//, 'its writes are recorded with receipts');
  t.equal(await (await fetch(`${url}things/lamp/properties/on`)).json(), true);

  // Streams of every kind are open when it is destroyed: each ends.
  const sse = await fetch(`${url}things/lamp/properties/on/sse`);
  const events = await fetch(`${url}things/lamp/events`, { headers: { accept: 'text/event-stream' } });
  const poll = fetch(`${url}things/lamp/events/blinked/longpoll`);
  const ended = (response: Response): Promise<string> => response.text();
  await lamp.destroy();
  t.match(await ended(sse), /data: true/, 'the SSE stream sent the value, then ended');
  t.equal(typeof (await ended(events)), 'string', 'the all-events stream ended');
  t.equal((await poll).status, 404, 'the pending long-poll is answered: the Thing is gone');
  t.same(await listed(), ['Ledger', 'Alerts']);
  t.notOk((await linked()).some((href) => href.endsWith('things/lamp')));
  const gone = await fetch(`${url}things/lamp/properties/on`);
  t.equal(gone.status, 404);
  t.match(await gone.json(), { code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' });
  await t.rejects(lamp.writeProperty('on', false), { code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' }, 'and the destroyed object refuses too');
  await t.rejects(lamp.expose(), { code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' });

  const again = await servient.produce({ title: 'Lamp', properties: { on: { type: 'boolean', observable: true } } });
  t.equal(again.lastValue('on'), true, 'a Thing produced again under its slug starts from its stored values');
});

t.test('in library mode a handler that throws is logged to stderr with its Thing, handler and error, and stays off the wire', async (t) => {
  const data = tempDir(t);
  const script = `
    import { createServient } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
    const servient = await createServient({ config: { port: 0, peerPort: 0, host: '127.0.0.1', data: ${JSON.stringify(data)} } });
    const probe = await servient.produce({ title: 'Probe', actions: { boom: {} } });
    probe.setActionHandler('boom', () => { throw new Error('disk on fire'); });
    await probe.expose();
    const { url } = await servient.start();
    const res = await fetch(url + 'things/probe/actions/boom', { method: 'POST' });
    console.log(JSON.stringify({ status: res.status, body: await res.text() }));
    await servient.stop();`;
  const { execFile } = await import('node:child_process');
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 }, (err, out, errOut) => (err ? reject(err) : resolve({ stdout: out, stderr: errOut }))),
  );
  const answer = JSON.parse(stdout.trim().split('\n').at(-1)!) as { status: number; body: string };
  t.equal(answer.status, 500, 'the consumer gets a failure');
  t.match(JSON.parse(answer.body), { code: 'FLOWCHAIN_ERR_HANDLER_FAILED' }, 'with its code');
  t.notMatch(answer.body, /disk on fire/, 'and not what the handler threw');
  const logged = stderr.split('\n').filter((line) => line.includes('disk on fire')).map((line) => JSON.parse(line) as { level: number; thing: string; handler: string; err: { message: string } });
  t.match(logged, [{ level: 40, thing: 'probe', handler: 'action handler of boom', err: { message: 'disk on fire' } }], 'stderr has one warning naming the Thing, the handler and the error');
});

t.test('a device samples only while someone watches: an SSE observer runs the observe handler, closing it the unobserve handler', async (t) => {
  const { servient } = await createServient(t);
  const sensor = await servient.produce({ title: 'Sampler', properties: { level: { type: 'number', readOnly: true, observable: true } } });
  const calls: string[] = [];
  sensor.setPropertyObserveHandler('level', () => void calls.push('observe'));
  sensor.setPropertyUnobserveHandler('level', () => void calls.push('unobserve'));
  await sensor.expose();
  const { url } = await servient.start();
  const waitFor = async (count: number) => {
    for (let i = 0; i < 200 && calls.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  t.same(calls, [], 'nobody watches yet (the node keeps its replay log all the same)');
  const controller = new AbortController();
  const stream = await fetch(`${url}things/sampler/properties/level/sse`, { signal: controller.signal });
  t.match(stream.headers.get('content-type'), /^text\/event-stream/);
  await waitFor(1);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(calls, ['observe'], 'an observer came');
  controller.abort();
  await stream.body?.cancel().catch(() => undefined);
  await waitFor(2);
  t.same(calls, ['observe', 'unobserve'], 'and left');
});

t.test('--handler-timeout bounds how long a Thing\'s handler may take', async (t) => {
  const { servient, clock } = await createServient(t, { handlerTimeoutMs: 2_000 });
  const slow = await servient.produce({ title: 'Slow', actions: { wait: {} } });
  slow.setActionHandler('wait', () => new Promise(() => undefined));
  await slow.expose();
  const answer = servient.app.inject({ method: 'POST', url: '/things/slow/actions/wait' });
  await new Promise((resolve) => setTimeout(resolve, 50));
  clock.advance(1_999);
  await new Promise((resolve) => setTimeout(resolve, 20));
  clock.advance(1);
  const res = await answer;
  t.equal(res.statusCode, 504);
  t.match(res.json(), { code: 'FLOWCHAIN_ERR_HANDLER_TIMEOUT', detail: /within 2000 ms/ });
});

import t from 'tap';
import { loadBundledContexts } from '../src/bundled.js';
import { expandThingDescription } from '../src/td/json-ld.js';
import type { ThingDescription } from '../src/td/thing-description.js';
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
    t.same(listing.map((td) => td.title).sort(), ['Environment sensor', 'Ledger', 'Smart plug', 'Thermostat']);
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
    ['no driver', json({ title: 'x' }), 'FLOWCHAIN_ERR_TD_INVALID', '/driver'],
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
  t.same(listing.map((td) => td.title), ['Greenhouse', 'Ledger'], 'the dropped-in Thing, and the ledger Thing every node has');
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
  t.match(await health.json(), { status: 'ok', things: 4 });
  await servient.stop();
  await t.rejects(fetch(`${address.url}health`));
});

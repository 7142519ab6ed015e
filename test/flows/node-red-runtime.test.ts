/**
 * Node-RED inside a node (`--flows`), on the real runtime: the editor and its admin API at
 * /flows beside the node's own routes, its comms WebSocket beside the node's, flows kept in the
 * data directory, an open node refused flows unless it listens on loopback, a flows directory
 * that cannot be written refused at start naming it, and a
 * second start in one process refused (Node-RED cannot start twice in a process). The editor
 * behind the node's credentials is in node-red-auth.test.ts (Node-RED runs once per process).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import WebSocket from 'ws';
import { createServient, tempDir } from '../helpers/test-servient.js';

t.test('the editor at /flows, beside the node: admin API, comms, flows in the data directory', async (t) => {
  const { servient, config } = await createServient(t, { flows: true });
  const { url } = await servient.start();

  const bare = await fetch(`${url}flows`, { redirect: 'manual' });
  t.equal(bare.status, 308, '/flows moves to /flows/, where the editor\'s relative links work');
  t.equal(bare.headers.get('location'), '/flows/');
  const editor = await fetch(`${url}flows/`);
  t.equal(editor.status, 200);
  t.match(await editor.text(), /Node-RED/, 'the editor\'s page');
  const settings = (await (await fetch(`${url}flows/settings`)).json()) as { version: string };
  t.match(settings.version, /^5\./, 'its admin API: Node-RED 5');

  const missing = await fetch(`${url}flows/no-such-thing`);
  t.equal(missing.status, 404);
  t.equal(missing.headers.get('content-type'), 'application/problem+json');
  t.match(await missing.json(), { code: 'FLOWCHAIN_ERR_ROUTE_NOT_FOUND', instance: '/flows/no-such-thing' }, 'what Node-RED does not answer is a problem with its code');

  // The node's own routes and WebSocket still answer.
  t.equal((await fetch(`${url}things/thermostat`)).status, 200);
  const opened = async (address: string, protocol?: string) => {
    const ws = new WebSocket(address, protocol);
    t.teardown(() => ws.terminate());
    await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return ws;
  };
  const comms = await opened(`${url.replace('http', 'ws')}flows/comms`);
  t.equal(comms.readyState, WebSocket.OPEN, 'the editor\'s comms socket opens');
  const own = await opened(`${url.replace('http', 'ws')}ws`, 'flowchain.v1');
  t.equal(own.protocol, 'flowchain.v1', 'and so does the node\'s');

  // A flow deployed through the admin API is kept in the data directory.
  const flow = [{ id: 'tab1', type: 'tab', label: 'Test' }, { id: 'inject1', type: 'inject', z: 'tab1', name: 'kept', repeat: '', once: false, wires: [] }];
  const deployed = await fetch(`${url}flows/flows`, { method: 'POST', headers: { 'content-type': 'application/json', 'node-red-deployment-type': 'full' }, body: JSON.stringify(flow) });
  t.equal(deployed.status, 204, 'deployed');
  const file = join(config.data, 'flows', 'flows.json');
  t.ok(existsSync(file), 'flows.json is in the data directory\'s flows/');
  t.match(JSON.parse(readFileSync(file, 'utf8')), [{ id: 'tab1' }, { id: 'inject1', name: 'kept' }]);

  await servient.stop();
});

t.test('an open node (no credentials) runs flows only on loopback: whoever reaches the editor runs code', async (t) => {
  await t.rejects(createServient(t, { flows: true, host: '0.0.0.0' }), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'flows', message: /--auth-token-file.*--host 127\.0\.0\.1/ });
  await t.resolves(createServient(t, { flows: true, host: '0.0.0.0', authToken: 'a-token-of-sixteen-chars' }), 'with credentials it may listen anywhere');
});

t.test('a flows directory that cannot be written stops start-up, naming it', async (t) => {
  const data = tempDir(t);
  writeFileSync(join(data, 'flows'), 'not a directory');
  const { servient } = await createServient(t, { flows: true, data });
  await t.rejects(servient.start(), { code: 'FLOWCHAIN_ERR_STORE_ACCESS_DENIED', message: new RegExp(`${join(data, 'flows')}.*cannot be written`) });
});

t.test('Node-RED runs once per process: a second node with flows is refused, saying why', async (t) => {
  const { servient } = await createServient(t, { flows: true });
  await t.rejects(servient.start(), { code: 'FLOWCHAIN_ERR_FLOWS_UNAVAILABLE', message: /one node per process/ });
});

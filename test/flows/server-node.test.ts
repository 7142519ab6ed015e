/**
 * The flowchain-server config node: its URL and credentials, the directory listing it shares
 * (kept for a few seconds on its clock), Things found by TD id or TD URL, and credentials from
 * Node-RED's credential store reaching a node whose writes need them.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { DEFAULT_FLOWS_COMPONENTS } from '../../src/flows/flows-context.js';
import { credentialsOf, FlowchainServer, serverUrl } from '../../src/flows/server-node.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { createServient } from '../helpers/test-servient.js';
import { catchNode, flowchainNodes, helper, loadFlow, messages, serverNode, thingIdOf } from './fixtures.js';

t.test('the URL must be http or https; a trailing slash is added', async (t) => {
  t.equal(serverUrl('http://localhost:8080'), 'http://localhost:8080/');
  t.equal(serverUrl(' https://node.example/base/ '), 'https://node.example/base/');
  for (const bad of ['ftp://x/', 'localhost:8080', '', 42, undefined]) t.throws(() => serverUrl(bad), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'url' }, String(bad));
});

t.test('credentials: a token, else a user name and password, else none', async (t) => {
  t.same(credentialsOf({ token: 'secret', username: 'u' }), { token: 'secret' });
  t.same(credentialsOf({ token: '', username: 'u', password: 'p' }), { username: 'u', password: 'p' });
  t.equal(credentialsOf({}), undefined);
  t.equal(credentialsOf(undefined), undefined);
});

t.test('finds Things by TD id or TD URL; the listing is kept for a while on its clock', async (t) => {
  const { servient } = await createServient(t, { things: t.testdir() });
  const { url } = await servient.start();
  const clock = new ManualClock();
  const server = new FlowchainServer({ url }, { ...DEFAULT_FLOWS_COMPONENTS, clock });
  t.teardown(() => server.close());
  t.same((await server.listing()).map((td) => td.title), ['Ledger', 'Alerts']);
  const lamp = await servient.produce({ title: 'Lamp', properties: { on: { type: 'boolean' } } });
  await lamp.expose();
  t.same((await server.listing()).map((td) => td.title), ['Ledger', 'Alerts'], 'the same listing within its lifetime');
  clock.advance(DEFAULT_FLOWS_COMPONENTS.listingTtlMs);
  t.same((await server.listing()).map((td) => td.title).sort(), ['Alerts', 'Lamp', 'Ledger'], 'a fresh one after it');
  const id = await thingIdOf(url, 'Lamp');
  t.equal((await server.thing(id)).td.title, 'Lamp', 'by TD id');
  t.equal((await server.thing(`${url}things/lamp`)).td.title, 'Lamp', 'by TD URL');
  await t.rejects(server.thing('urn:uuid:00000000-0000-4000-8000-000000000000'), { code: 'FLOWCHAIN_ERR_THING_NOT_FOUND', field: 'thing' });
  await t.rejects(server.thing(''), { code: 'FLOWCHAIN_ERR_THING_NOT_FOUND', field: 'thing' });
  t.same((await server.search('$[?@.title=="Lamp"]')).map((td) => td.title), ['Lamp'], 'search through the directory\'s action');
});

t.test('a token from the credential store reaches a node that requires one; without it, the node\'s code reaches catch', async (t) => {
  const { servient } = await createServient(t, { authToken: 'secret' });
  const { url } = await servient.start();
  const plug = await thingIdOf(url, 'Smart plug');
  await loadFlow(
    t,
    [flowchainNodes()],
    [
      serverNode(url, 'with'),
      serverNode(url, 'without'),
      { id: 'write', type: 'flowchain-write', server: 'with', thing: plug, affordance: 'on', wires: [['out']] },
      { id: 'anonymous', type: 'flowchain-write', server: 'without', thing: plug, affordance: 'on', wires: [['out']] },
      { id: 'out', type: 'helper' },
      catchNode('caught'),
      { id: 'caught', type: 'helper' },
    ],
    { with: { token: 'secret' } },
  );
  const out = messages('out');
  helper.getNode('write').receive({ payload: true });
  t.equal((await out)[0]!.status, 'stored');
  t.equal(await servient.registry.get('smart-plug').readProperty('on'), true);
  const caught = messages('caught');
  helper.getNode('anonymous').receive({ payload: false });
  t.match((await caught)[0]!.error, { code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
  t.equal(await servient.registry.get('smart-plug').readProperty('on'), true, 'unchanged');
});

t.test('a flow naming no deployed server: the node says so and reports each message', async (t) => {
  await loadFlow(t, [flowchainNodes()], [{ id: 'read', type: 'flowchain-read', server: 'missing', thing: 'x', affordance: 'y', wires: [['out']] }, { id: 'out', type: 'helper' }, catchNode('caught'), { id: 'caught', type: 'helper' }]);
  const caught = messages('caught');
  helper.getNode('read').receive({});
  const [msg] = await caught;
  t.match(msg!.error, { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' });
  t.equal(msg!.field, 'server');
});

t.test("the server's credentials go to its own origin only, never to a TD elsewhere that asks for them", async (t) => {
  const { servient } = await createServient(t, { authToken: 'secret-token-of-the-node' });
  const { url } = await servient.start();
  // Another origin, whose TD names a bearer scheme to be handed a token.
  const seen: (string | undefined)[] = [];
  const trap = createServer((request, response) => {
    seen.push(request.headers.authorization);
    const base = `http://127.0.0.1:${(trap.address() as AddressInfo).port}/`;
    const td = { '@context': 'https://www.w3.org/2022/wot/td/v1.1', title: 'Trap', securityDefinitions: { bearer_sc: { scheme: 'bearer' } }, security: 'bearer_sc', properties: { x: { type: 'integer', forms: [{ href: `${base}x` }] } } };
    request.resume().on('end', () => response.writeHead(request.method === 'GET' ? 200 : 204, { 'content-type': 'application/json' }).end(request.method === 'GET' ? JSON.stringify(td) : undefined));
  });
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
  t.teardown(() => void trap.close());
  const server = new FlowchainServer({ url, credentials: { token: 'secret-token-of-the-node' } }, DEFAULT_FLOWS_COMPONENTS);
  t.teardown(() => server.close());
  const { thing } = await server.thing(`http://127.0.0.1:${(trap.address() as AddressInfo).port}/td`);
  await thing.writeProperty('x', 1).catch(() => undefined);
  t.ok(seen.length >= 1, 'the other origin was asked');
  t.notOk(seen.some((header) => header?.includes('secret-token-of-the-node')), 'and never saw the token');
  // The server's own origin still gets it: a write there is accepted.
  const plug = await server.thing(`${url}things/smart-plug`);
  t.equal((await plug.thing.writeProperty('on', true)).status, 'stored');
});

/**
 * The affordance nodes (read, write, invoke, observe, event) in the real Node-RED runtime
 * against real servients: values in and out, a payload refused by the schema before it is
 * sent, missing Things and affordances, and an unreachable node (disconnected, tried again with
 * backoff on a manual clock, then delivered or reported to a catch node with its code).
 */
import t, { type Test } from 'tap';
import type { NodeMessage, NodeStatus } from '../../src/flows/node-red-api.js';
import { remoteLampTd } from '../bindings/http/fixtures.js';
import { closedPort, rawServer } from '../client/fixtures.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { createServient } from '../helpers/test-servient.js';
import { catchNode, drive, flowchainNodes, helper, loadFlow, messages, serverNode, statusOf, thingIdOf } from './fixtures.js';

const random = { next: () => 0.5 };
const isText = (text: string) => (status: NodeStatus) => status.text === text;

/** A started servient of the sample Things and the TD ids of its Things by title. */
async function ring(t: Test) {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  const ids = { plug: await thingIdOf(url, 'Smart plug'), thermostat: await thingIdOf(url, 'Thermostat'), sensor: await thingIdOf(url, 'Environment sensor') };
  return { servient, url, ids };
}

t.test('read sends the property\'s value', async (t) => {
  const { servient, url, ids } = await ring(t);
  const expected = await servient.registry.get('thermostat').readProperty('targetTemperature');
  await loadFlow(t, [flowchainNodes()], [serverNode(url), { id: 'read', type: 'flowchain-read', server: 'server', thing: ids.thermostat, affordance: 'targetTemperature', wires: [['out']] }, { id: 'out', type: 'helper' }]);
  const out = messages('out');
  helper.getNode('read').receive({ payload: 'go', topic: 'x' });
  const [msg] = await out;
  t.equal(msg!.payload, expected, 'msg.payload is the value');
  t.equal(msg!.topic, 'x', 'the rest of the message is kept');
});

t.test('write sends the payload and answers its transactions; the plug is switched', async (t) => {
  const { servient, url, ids } = await ring(t);
  await loadFlow(t, [flowchainNodes()], [serverNode(url), { id: 'write', type: 'flowchain-write', server: 'server', thing: ids.plug, affordance: 'on', waitReceipt: false, wires: [['out']] }, { id: 'out', type: 'helper' }]);
  const stored = statusOf('write', isText('stored'));
  const out = messages('out');
  helper.getNode('write').receive({ payload: true });
  const [msg] = await out;
  t.equal(msg!.payload, true, 'the payload is unchanged');
  t.equal(msg!.status, 'stored');
  t.match(msg!.transactions, [{ property: 'on', receipt: new RegExp(`^${url}ledger/tx/`), txId: /^[0-9a-f]{64}$/ }]);
  t.same(await stored, { fill: 'green', shape: 'dot', text: 'stored' });
  t.equal(await servient.registry.get('smart-plug').readProperty('on'), true, 'the plug is on');
});

t.test('a TD URL names a Thing as well as its id does', async (t) => {
  const { servient, url } = await ring(t);
  await loadFlow(t, [flowchainNodes()], [serverNode(url), { id: 'write', type: 'flowchain-write', server: 'server', thing: `${url}things/smart-plug`, affordance: 'on', wires: [['out']] }, { id: 'out', type: 'helper' }]);
  const out = messages('out');
  helper.getNode('write').receive({ payload: true });
  await out;
  t.equal(await servient.registry.get('smart-plug').readProperty('on'), true);
});

t.test('a payload the schema refuses reaches the catch node with its code and field, and nothing is written', async (t) => {
  const { servient, url, ids } = await ring(t);
  const before = await servient.registry.get('thermostat').readProperty('targetTemperature');
  await loadFlow(t, [flowchainNodes()], [
    serverNode(url),
    { id: 'write', type: 'flowchain-write', server: 'server', thing: ids.thermostat, affordance: 'targetTemperature', wires: [['out']] },
    { id: 'out', type: 'helper' },
    catchNode('caught'),
    { id: 'caught', type: 'helper' },
  ]);
  let sent = 0;
  helper.getNode('out').on('input', () => sent++);
  const caught = messages('caught');
  helper.getNode('write').receive({ payload: 99 });
  const [msg] = await caught;
  t.match(msg!.error, { code: 'FLOWCHAIN_ERR_VALUE_INVALID', source: { id: 'write' } }, 'msg.error.code is the Flowchain code');
  t.equal(msg!.field, 'targetTemperature', 'msg.field names the field');
  t.equal(msg!.payload, 99, 'the message is the one that failed');
  t.equal(sent, 0, 'nothing was sent on');
  t.equal(await servient.registry.get('thermostat').readProperty('targetTemperature'), before, 'the Thing is unchanged');
});

for (const [what, thing, affordance, code, field] of [
  ['a Thing the directory does not list', 'urn:uuid:00000000-0000-4000-8000-000000000000', 'on', 'FLOWCHAIN_ERR_THING_NOT_FOUND', 'thing'],
  ['an affordance the Thing does not have', 'PLUG', 'colour', 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', 'affordance'],
] as const) {
  t.test(`${what}: an error status on deploy, and each message goes to catch with ${code}`, async (t) => {
    const { url, ids } = await ring(t);
    const nodes = [flowchainNodes()];
    const flow = [
      serverNode(url),
      { id: 'write', type: 'flowchain-write', server: 'server', thing: thing === 'PLUG' ? ids.plug : thing, affordance, wires: [['out']] },
      { id: 'out', type: 'helper' },
      catchNode('caught'),
      { id: 'caught', type: 'helper' },
    ];
    // The status listener must be in place before the deploy check ends: watch the prototype's calls.
    const statuses: NodeStatus[] = [];
    await loadFlow(t, nodes, flow);
    helper.getNode('write').on('call:status', (call) => statuses.push(call.args[0]));
    let sent = 0;
    helper.getNode('out').on('input', () => sent++);
    const caught = messages('caught');
    helper.getNode('write').receive({ payload: true });
    const [msg] = await caught;
    t.match(msg!.error, { code });
    t.equal(msg!.field, field);
    t.equal(sent, 0, 'nothing was sent on');
    t.ok(statuses.some((s) => s.fill === 'red' && s.text === `refused: ${code}`), 'the node shows the code');
  });
}

t.test('an unreachable node: disconnected, tried again with backoff, then reported as unreachable; never sent', async (t) => {
  const port = await closedPort();
  const clock = new ManualClock();
  await loadFlow(t, [flowchainNodes({ clock, random, attempts: 3 })], [
    serverNode(`http://127.0.0.1:${port}/`),
    { id: 'write', type: 'flowchain-write', server: 'server', thing: `http://127.0.0.1:${port}/things/smart-plug`, affordance: 'on', wires: [['out']] },
    { id: 'out', type: 'helper' },
    catchNode('caught'),
    { id: 'caught', type: 'helper' },
  ]);
  const disconnected = statusOf('write', isText('disconnected'));
  let caught: NodeMessage | undefined;
  helper.getNode('caught').on('input', (msg) => void (caught = msg));
  helper.getNode('write').receive({ payload: true });
  t.same(await disconnected, { fill: 'red', shape: 'ring', text: 'disconnected' });
  await drive(clock, () => caught !== undefined);
  t.match(caught!.error, { code: 'FLOWCHAIN_ERR_REMOTE_UNREACHABLE' }, 'reported once the tries ran out');
});

t.test('a write accepted while its node is down is delivered once the node is up', async (t) => {
  const port = await closedPort();
  const clock = new ManualClock();
  await loadFlow(t, [flowchainNodes({ clock, random })], [
    serverNode(`http://127.0.0.1:${port}/`),
    { id: 'write', type: 'flowchain-write', server: 'server', thing: `http://127.0.0.1:${port}/things/smart-plug`, affordance: 'on', wires: [['out']] },
    { id: 'out', type: 'helper' },
  ]);
  const disconnected = statusOf('write', isText('disconnected'));
  let delivered: NodeMessage | undefined;
  helper.getNode('out').on('input', (msg) => void (delivered = msg));
  helper.getNode('write').receive({ payload: true });
  await disconnected;
  const { servient } = await createServient(t, { port });
  await servient.start();
  await drive(clock, () => delivered !== undefined);
  t.equal(delivered!.status, 'stored', 'delivered');
  t.equal(await servient.registry.get('smart-plug').readProperty('on'), true, 'the plug is on');
});

t.test('a write that went out unanswered is FLOWCHAIN_ERR_OUTCOME_UNKNOWN and is never sent again', async (t) => {
  const { url } = await ring(t);
  // A Thing of another servient, registered in the ring's directory, whose server hangs up once it has the request.
  const dropping = await rawServer(t, 'hang-up');
  const id = 'urn:uuid:6f1c1a52-34a4-4c55-9d8f-1f2a43b4c001';
  const td = remoteLampTd(id, { properties: { on: { type: 'boolean', forms: [{ href: `http://127.0.0.1:${dropping.port}/on` }] } } });
  const put = await fetch(`${url}things/${encodeURIComponent(id)}`, { method: 'PUT', headers: { 'content-type': 'application/td+json' }, body: JSON.stringify(td) });
  t.equal(put.status, 201, 'registered');
  const clock = new ManualClock();
  await loadFlow(t, [flowchainNodes({ clock, random })], [
    serverNode(url),
    { id: 'write', type: 'flowchain-write', server: 'server', thing: id, affordance: 'on', wires: [['out']] },
    { id: 'out', type: 'helper' },
    catchNode('caught'),
    { id: 'caught', type: 'helper' },
  ]);
  const caught = messages('caught');
  helper.getNode('write').receive({ payload: true });
  const [msg] = await caught;
  t.match(msg!.error, { code: 'FLOWCHAIN_ERR_OUTCOME_UNKNOWN' });
  t.equal(clock.pending, 0, 'no retry is scheduled');
  t.equal(dropping.received().match(/^PUT \/on /gm)?.length, 1, 'the write went out once');
});

t.test('invoke sends the action\'s output; an input the schema refuses goes to catch', async (t) => {
  const { servient, url, ids } = await ring(t);
  await loadFlow(t, [flowchainNodes()], [
    serverNode(url),
    { id: 'toggle', type: 'flowchain-invoke', server: 'server', thing: ids.plug, affordance: 'toggle', wires: [['out']] },
    { id: 'boost', type: 'flowchain-invoke', server: 'server', thing: ids.thermostat, affordance: 'boost', wires: [['out']] },
    { id: 'out', type: 'helper' },
    catchNode('caught'),
    { id: 'caught', type: 'helper' },
  ]);
  const before = await servient.registry.get('smart-plug').readProperty('on');
  const out = messages('out');
  helper.getNode('toggle').receive({});
  const [msg] = await out;
  t.same(msg!.payload, { on: !before }, 'the output');
  t.equal(await servient.registry.get('smart-plug').readProperty('on'), !before);
  const caught = messages('caught');
  helper.getNode('boost').receive({ payload: { minutes: 0, delta: 1 } });
  t.match((await caught)[0]!.error, { code: 'FLOWCHAIN_ERR_VALUE_INVALID' });
});

t.test('observe sends the current value, then each change, with the property as topic', async (t) => {
  const { servient, url, ids } = await ring(t);
  await loadFlow(t, [flowchainNodes()], [serverNode(url), { id: 'observe', type: 'flowchain-observe', server: 'server', thing: ids.sensor, affordance: 'temperature', wires: [['out']] }, { id: 'out', type: 'helper' }]);
  const [first] = await messages('out');
  t.equal(first!.topic, 'temperature');
  t.type(first!.payload, 'number', 'the current value first');
  const next = messages('out');
  await servient.registry.get('environment-sensor').emitPropertyChange('temperature', 27);
  t.same((await next)[0], { payload: 27, topic: 'temperature', _msgid: (await next)[0]!._msgid }, 'then the change');
});

t.test('event sends each event\'s data', async (t) => {
  const { servient, url, ids } = await ring(t);
  await loadFlow(t, [flowchainNodes()], [serverNode(url), { id: 'event', type: 'flowchain-event', server: 'server', thing: ids.sensor, affordance: 'overheat', wires: [['out']] }, { id: 'out', type: 'helper' }]);
  await statusOf('event', isText('observing'));
  const out = messages('out');
  servient.registry.get('environment-sensor').emitEvent('overheat', { temperature: 31, threshold: 30 });
  const [msg] = await out;
  t.same(msg!.payload, { temperature: 31, threshold: 30 });
  t.equal(msg!.topic, 'overheat');
});

t.test('observe of a missing affordance shows the code and sends nothing', async (t) => {
  const { url, ids } = await ring(t);
  await loadFlow(t, [flowchainNodes()], [serverNode(url), { id: 'observe', type: 'flowchain-observe', server: 'server', thing: ids.sensor, affordance: 'pressure', wires: [['out']] }, { id: 'out', type: 'helper' }]);
  let sent = 0;
  helper.getNode('out').on('input', () => sent++);
  t.same(await statusOf('observe', (s) => s.fill === 'red'), { fill: 'red', shape: 'dot', text: 'refused: FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' });
  t.equal(sent, 0);
});

t.test('observe while the node is down shows disconnected, and observes once it is up', async (t) => {
  const port = await closedPort();
  const clock = new ManualClock();
  await loadFlow(t, [flowchainNodes({ clock, random })], [serverNode(`http://127.0.0.1:${port}/`), { id: 'observe', type: 'flowchain-observe', server: 'server', thing: `http://127.0.0.1:${port}/things/environment-sensor`, affordance: 'temperature', wires: [['out']] }, { id: 'out', type: 'helper' }]);
  await statusOf('observe', isText('disconnected'));
  let observing = false;
  void statusOf('observe', isText('observing')).then(() => (observing = true));
  const { servient } = await createServient(t, { port });
  await servient.start();
  await drive(clock, () => observing);
  // The current value may come first; the change follows it.
  const out = messages('out', 1, (msg) => msg.payload === 25.125);
  await servient.registry.get('environment-sensor').emitPropertyChange('temperature', 25.125);
  t.same((await out).map((msg) => msg.topic), ['temperature'], 'the change arrives');
});

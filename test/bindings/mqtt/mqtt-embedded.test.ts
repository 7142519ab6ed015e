/**
 * The broker a node embeds when it is given none (aedes 2, MQTT 5 and 3.1.1): the TD's MQTT
 * forms name it under the host the TD was asked for; Mosquitto's clients read, observe, write
 * (answered on the MQTT 5 response topic, or on the request topic's /reply for a 3.1.1 client,
 * which cannot name one) and subscribe through it; no other client may publish a value or an
 * event of the node's; consume() reads and writes over it, writes recorded with their receipts;
 * a port already taken leaves the node running without MQTT.
 */
import { createServer } from 'node:net';
import t from 'tap';
import type { Form } from '../../../src/td/thing-description.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { lampNode, memoryLog, servedTd } from './fixtures.js';
import { mosquittoPub, mosquittoSub } from './mosquitto.js';

const EMBEDDED = { mqtt: undefined, mqttPort: 0 } as const;
const v311 = { v5: false } as const;

t.test("the embedded broker's forms name the host the TD was requested under, and its own port", async (t) => {
  const { servient } = await lampNode(t, EMBEDDED);
  await servient.start();
  const td = await servedTd(servient, 'node.example:8080');
  const port = new URL((td.properties!.level!.forms!.find((f: Form) => f.href.startsWith('mqtt:')))!.href).port;
  t.not(port, '0');
  t.same(td.properties!.level!.forms!.filter((f: Form) => f.href.startsWith('mqtt:')).map((f) => f.href), [
    `mqtt://node.example:${port}/flowchain/lamp/properties/level`,
    `mqtt://node.example:${port}/flowchain/lamp/properties/level`,
    `mqtt://node.example:${port}/flowchain/lamp/properties/level/set`,
  ]);
});

t.test('Mosquitto clients read (retained), write (answered on the response topic), invoke and subscribe through the embedded broker over MQTT 5', async (t) => {
  const { servient, lamp } = await lampNode(t, EMBEDDED);
  const { url } = await servient.start();
  const td = await servedTd(servient);
  const port = Number(new URL(td.properties!.level!.forms!.find((f: Form) => f.href.startsWith('mqtt:'))!.href).port);
  t.match(await mosquittoSub(t, port, 'flowchain/lamp/properties/level').messages, [{ retained: true, payload: '10' }], 'readproperty');

  const answers = mosquittoSub(t, port, 'test/answers', { count: 3 });
  await answers.ready;
  await mosquittoPub(port, 'flowchain/lamp/properties/level/set', '55', { responseTopic: 'test/answers', correlation: 'write-1' });
  await mosquittoPub(port, 'flowchain/lamp/actions/blink', '4', { responseTopic: 'test/answers', correlation: 'call-2', qos: 0 });
  await mosquittoPub(port, 'flowchain/lamp/properties/level/set', '-1', { responseTopic: 'test/answers', correlation: 'bad-3' });
  // Each answers when it is done (a write once recorded): told apart by their correlation data.
  const byCorrelation = new Map((await answers.messages).map((message) => [message.correlation, message]));
  t.same([...byCorrelation.keys()].sort(), ['bad-3', 'call-2', 'write-1'], 'the correlation data comes back');
  const [written, invoked, refused] = [byCorrelation.get('write-1'), byCorrelation.get('call-2'), byCorrelation.get('bad-3')];
  const body = JSON.parse(written!.payload) as { status: string; transactions: { txId: string; receipt: string }[] };
  t.equal(body.status, 'stored');
  t.equal((await fetch(body.transactions[0]!.receipt)).status, 200, `its receipt is served at ${url}ledger/tx/…`);
  t.match(invoked, { correlation: 'call-2', payload: '"blinked 4 times"' });
  t.match(refused, { correlation: 'bad-3', contentType: 'application/problem+json' });
  t.equal((JSON.parse(refused!.payload) as { code: string }).code, 'FLOWCHAIN_ERR_VALUE_INVALID', 'bad input: the code, nothing changed');
  t.equal(await lamp.readProperty('level'), 55);

  const events = mosquittoSub(t, port, 'flowchain/lamp/events/rang');
  await events.ready;
  lamp.emitEvent('rang', 'ding');
  t.match(await events.messages, [{ payload: '"ding"' }]);
});

t.test('an MQTT 3.1.1 client, which cannot name a response topic, reads and is answered on the request topic + /reply', async (t) => {
  const { servient, lamp } = await lampNode(t, EMBEDDED);
  await servient.start();
  const td = await servedTd(servient);
  const port = Number(new URL(td.properties!.level!.forms!.find((f: Form) => f.href.startsWith('mqtt:'))!.href).port);
  t.match(await mosquittoSub(t, port, 'flowchain/lamp/properties/level', v311).messages, [{ retained: true, payload: '10' }], 'readproperty');
  const reply = mosquittoSub(t, port, 'flowchain/lamp/properties/level/set/reply', { ...v311, count: 2 });
  await reply.ready;
  await mosquittoPub(port, 'flowchain/lamp/properties/level/set', '55', v311);
  await mosquittoPub(port, 'flowchain/lamp/properties/level/set', '-1', v311);
  // The refusal may come first: the write answers once recorded.
  const bodies = (await reply.messages).map((message) => JSON.parse(message.payload) as { status: unknown; code?: string });
  t.same(bodies.map((body) => body.code ?? body.status).sort(), ['FLOWCHAIN_ERR_VALUE_INVALID', 'stored']);
  t.equal(await lamp.readProperty('level'), 55);
});

t.test('values are conflated: a change goes out in its turn, then one publish per 10 ms window carries the last value', async (t) => {
  const clock = new ManualClock();
  const { servient, lamp } = await lampNode(t, EMBEDDED, { clock });
  await servient.start();
  const td = await servedTd(servient);
  const port = Number(new URL(td.properties!.label!.forms!.find((f: Form) => f.href.startsWith('mqtt:'))!.href).port);
  const sub = mosquittoSub(t, port, 'flowchain/lamp/properties/label', { ...v311, count: 3 });
  await sub.ready;
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  clock.advance(10);
  // Three changes in one turn: the last goes out at the end of the turn.
  await Promise.all(['a', 'b', 'c'].map((label) => lamp.emitPropertyChange('label', label)));
  await turn();
  // Two more in later turns but within the window that publish opened: only the last, when it closes.
  await lamp.emitPropertyChange('label', 'd');
  await turn();
  await lamp.emitPropertyChange('label', 'e');
  await turn();
  clock.advance(10);
  t.same((await sub.messages).map((m) => [m.retained, m.payload]), [[true, '"desk lamp"'], [false, '"c"'], [false, '"e"']], 'the retained value, the burst\'s last, the window\'s last');
  t.match(await mosquittoSub(t, port, 'flowchain/lamp/properties/label', v311).messages, [{ retained: true, payload: '"e"' }], 'a late subscriber gets the latest');
});

t.test("no other client may publish a value, an event or an answer under the node's prefix", async (t) => {
  const { servient } = await lampNode(t, EMBEDDED);
  await servient.start();
  const td = await servedTd(servient);
  const port = Number(new URL(td.properties!.level!.forms!.find((f: Form) => f.href.startsWith('mqtt:'))!.href).port);
  // aedes refuses the publish (and drops the connection): mosquitto_pub may or may not say so.
  await mosquittoPub(port, 'flowchain/lamp/properties/level', '99', { ...v311, qos: 1 }).catch(() => undefined);
  t.match(await mosquittoSub(t, port, 'flowchain/lamp/properties/level', v311).messages, [{ retained: true, payload: '10' }], 'the retained value is still the node\'s');
});

t.test('consume() reads and writes over the embedded broker through its MQTT forms alone; the write is recorded with its receipt', async (t) => {
  const { servient, lamp } = await lampNode(t, EMBEDDED);
  await servient.start();
  const td = await servedTd(servient);
  const mqttOnly = await servient.consume(td, { bindings: ['mqtt'] });
  t.teardown(() => mqttOnly.close());
  t.equal(await (await mqttOnly.readProperty('level')).value(), 10);
  const written = await mqttOnly.writeProperty('level', 20);
  t.equal(await lamp.readProperty('level'), 20);
  const receipt = written?.transactions?.[0]?.receipt;
  t.type(receipt, 'string', 'the write names its receipt');
  t.equal((await fetch(receipt!)).status, 200);
});

t.test('an embedded broker whose port is taken leaves the node running without MQTT, and says so', async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const port = (taken.address() as { port: number }).port;
  const log = memoryLog();
  const { servient } = await lampNode(t, { mqtt: undefined, mqttPort: port }, { log });
  await servient.start();
  t.ok(log.lines.some((line) => line.level === 'warn' && /runs without MQTT/.test(line.msg ?? '')));
  const td = await servedTd(servient);
  t.same(td.properties!.level!.forms!.filter((f: Form) => f.href.startsWith('mqtt:')), [], 'no MQTT forms');
  t.notOk(JSON.stringify(td['@context']).includes('mqv'), 'nor the mqv prefix');
});

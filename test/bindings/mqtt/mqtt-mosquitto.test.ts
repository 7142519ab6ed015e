/**
 * The MQTT binding against Debian's Mosquitto (MQTT 5), started by the test: the node
 * publishes its Things' values retained and its events, takes writes (recorded, answered with
 * their receipts) and invocations on the MQTT 5 response topic with the correlation data, and
 * answers bad input with the error's code; `mosquitto_pub` and `mosquitto_sub` are the
 * independent clients. consume() follows the MQTT forms; a node that requires credentials is
 * read-only over MQTT; a broker unreachable at start-up fails it, one lost later is reconnected.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Form } from '../../../src/td/thing-description.js';
import { lampNode, memoryLog, servedTd, until } from './fixtures.js';
import { selfSignedCertificate } from '../../helpers/self-signed.js';
import { tempDir } from '../../helpers/test-servient.js';
import { freePort, mosquittoPub, mosquittoSub, startMosquitto } from './mosquitto.js';

const mqttForms = (forms: readonly Form[] | undefined): Form[] => (forms ?? []).filter((form) => form.href.startsWith('mqtt'));

t.test('the TD carries MQTT forms on the broker --mqtt names, with the topic in the href and in mqv:topic / mqv:filter, and the mqv prefix', async (t) => {
  const broker = await startMosquitto(t);
  const { servient } = await lampNode(t, { mqtt: broker.url });
  await servient.start();
  const td = await servedTd(servient, 'node.example:8080');
  t.same((td['@context'] as unknown[]).at(-1), { mqv: 'https://www.w3.org/2019/wot/mqtt#' });
  const level = mqttForms(td.properties!.level!.forms);
  t.same(level, [
    { href: `mqtt://127.0.0.1:${broker.port}/flowchain/lamp/properties/level`, op: ['readproperty', 'observeproperty'], contentType: 'application/json', 'mqv:filter': 'flowchain/lamp/properties/level', 'mqv:controlPacket': 'mqv:subscribe', 'mqv:retain': true, 'mqv:qos': '0' },
    { href: `mqtt://127.0.0.1:${broker.port}/flowchain/lamp/properties/level`, op: ['unobserveproperty'], contentType: 'application/json', 'mqv:filter': 'flowchain/lamp/properties/level', 'mqv:controlPacket': 'mqv:unsubscribe' },
    { href: `mqtt://127.0.0.1:${broker.port}/flowchain/lamp/properties/level/set`, op: ['writeproperty'], contentType: 'application/json', 'mqv:topic': 'flowchain/lamp/properties/level/set', 'mqv:controlPacket': 'mqv:publish', 'mqv:qos': '1', 'mqv:retain': false },
  ]);
  t.same(mqttForms(td.actions!.blink!.forms).map((f) => [f.op, f['mqv:topic']]), [[['invokeaction'], 'flowchain/lamp/actions/blink']]);
  t.same(mqttForms(td.events!.rang!.forms).map((f) => [f.op, f['mqv:filter']]), [[['subscribeevent'], 'flowchain/lamp/events/rang'], [['unsubscribeevent'], 'flowchain/lamp/events/rang']]);
  t.same(mqttForms(td.properties!.label!.forms).map((f) => f.op), [['readproperty', 'observeproperty'], ['unobserveproperty']], 'a read-only property: no write form');
});

t.test('read and observe: the value is retained, so a late subscriber gets it at once, then each change', async (t) => {
  const broker = await startMosquitto(t);
  const { servient, lamp } = await lampNode(t, { mqtt: broker.url });
  await servient.start();
  const first = mosquittoSub(t, broker.port, 'flowchain/lamp/properties/level');
  t.match(await first.messages, [{ retained: true, payload: '10' }], 'readproperty: the retained value');
  t.match(await mosquittoSub(t, broker.port, 'flowchain/lamp/properties/label').messages, [{ retained: true, payload: '"desk lamp"' }], 'a read handler\'s value');

  const observe = mosquittoSub(t, broker.port, 'flowchain/lamp/properties/level', { count: 2 });
  await observe.ready;
  await lamp.writeProperty('level', 42);
  t.match(await observe.messages, [{ retained: true, payload: '10' }, { retained: false, payload: '42' }], 'observeproperty: the retained value, then the change');
});

t.test('a write over MQTT is recorded as HTTP writes are: the answer on the response topic, with the correlation data, names its transaction, whose receipt the node serves', async (t) => {
  const broker = await startMosquitto(t);
  const { servient, lamp } = await lampNode(t, { mqtt: broker.url });
  const { url } = await servient.start();
  const answer = mosquittoSub(t, broker.port, 'test/answers');
  await answer.ready;
  await mosquittoPub(broker.port, 'flowchain/lamp/properties/level/set', '64', { responseTopic: 'test/answers', correlation: 'write-1' });
  const [message] = await answer.messages;
  t.equal(message!.correlation, 'write-1', 'the correlation data comes back');
  t.equal(message!.contentType, 'application/json');
  const body = JSON.parse(message!.payload) as { status: string; transactions: { property: string; txId: string; receipt: string; status: string }[] };
  t.equal(body.status, 'stored');
  t.equal(body.transactions.length, 1);
  const [tx] = body.transactions;
  t.equal(tx!.property, 'level');
  t.match(tx!.txId, /^[0-9a-f]{64}$/);
  t.equal(tx!.receipt, `${url}ledger/tx/${tx!.txId}`);
  const receipt = (await (await fetch(tx!.receipt)).json()) as { txId: string; tx: { data: { property: string; value: unknown; origin: string } } };
  t.equal(receipt.txId, tx!.txId, 'GET /ledger/tx/{id} answers the receipt');
  t.same(receipt.tx.data, { thing: lamp.id, property: 'level', value: 64, origin: 'consumer' });
  t.equal(await lamp.readProperty('level'), 64);
  t.match(await mosquittoSub(t, broker.port, 'flowchain/lamp/properties/level').messages, [{ retained: true, payload: '64' }], 'the retained value follows');
});

t.test('invokeaction and subscribeevent over MQTT', async (t) => {
  const broker = await startMosquitto(t);
  const { servient, lamp } = await lampNode(t, { mqtt: broker.url });
  await servient.start();
  const answer = mosquittoSub(t, broker.port, 'test/answers');
  await answer.ready;
  await mosquittoPub(broker.port, 'flowchain/lamp/actions/blink', '3', { responseTopic: 'test/answers', correlation: 'call-7', qos: 0 });
  t.match(await answer.messages, [{ correlation: 'call-7', contentType: 'application/json', payload: '"blinked 3 times"' }]);

  const events = mosquittoSub(t, broker.port, 'flowchain/lamp/events/rang', { count: 2 });
  await events.ready;
  lamp.emitEvent('rang', 'ding');
  lamp.emitEvent('rang', 'dong');
  t.match(await events.messages, [{ retained: false, payload: '"ding"' }, { retained: false, payload: '"dong"' }], 'plain publishes, in order');
});

t.test('bad input is answered with the error code on the response topic and changes nothing', async (t) => {
  const broker = await startMosquitto(t);
  const { servient, lamp } = await lampNode(t, { mqtt: broker.url });
  await servient.start();
  const cases: [string, string, string][] = [
    ['flowchain/lamp/properties/level/set', 'not json', 'FLOWCHAIN_ERR_REQUEST_MALFORMED'],
    ['flowchain/lamp/properties/level/set', '150', 'FLOWCHAIN_ERR_VALUE_INVALID'],
    ['flowchain/lamp/properties/level/set', '"high"', 'FLOWCHAIN_ERR_VALUE_INVALID'],
    ['flowchain/lamp/properties/label/set', '"x"', 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY'],
    ['flowchain/lamp/properties/nope/set', '1', 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND'],
    ['flowchain/no-such-thing/properties/level/set', '1', 'FLOWCHAIN_ERR_THING_NOT_FOUND'],
    ['flowchain/lamp/actions/blink', '99', 'FLOWCHAIN_ERR_VALUE_INVALID'],
    ['flowchain/lamp/actions/nope', '', 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND'],
  ];
  for (const [index, [topic, payload, code]] of cases.entries()) {
    const answer = mosquittoSub(t, broker.port, 'test/problems');
    await answer.ready;
    await mosquittoPub(broker.port, topic, payload, { responseTopic: 'test/problems', correlation: `bad-${index}` });
    const [message] = await answer.messages;
    t.equal(message!.contentType, 'application/problem+json', `${topic} ${payload}`);
    t.equal(message!.correlation, `bad-${index}`);
    t.equal((JSON.parse(message!.payload) as { code: string }).code, code, `${topic} ${JSON.stringify(payload)}: ${code}`);
  }
  t.equal(await lamp.readProperty('level'), 10, 'nothing changed');
  const history = (await (await fetch(`${servient.url}things/lamp/properties/level/history`)).json()) as { value: unknown }[];
  t.same(history.map((entry) => entry.value), [10], 'and nothing was recorded');
});

t.test('a retained request (an old one the broker hands every new subscriber) is not carried out', async (t) => {
  const broker = await startMosquitto(t);
  await mosquittoPub(broker.port, 'flowchain/lamp/properties/level/set', '99', { retain: true });
  const { servient, lamp } = await lampNode(t, { mqtt: broker.url });
  await servient.start();
  const answer = mosquittoSub(t, broker.port, 'test/answers');
  await answer.ready;
  // Delivered after the retained one: once it is answered, the retained one was seen first.
  await mosquittoPub(broker.port, 'flowchain/lamp/properties/level/set', '20', { responseTopic: 'test/answers', correlation: 'later' });
  t.match(await answer.messages, [{ correlation: 'later' }]);
  const history = (await (await fetch(`${servient.url}things/lamp/properties/level/history`)).json()) as { value: unknown }[];
  t.same(history.map((entry) => entry.value), [20, 10], 'no 99 ever');
  t.equal(await lamp.readProperty('level'), 20);
});

t.test('consume() follows the MQTT forms: read, write (with its transaction), invoke, observe, subscribe', async (t) => {
  const broker = await startMosquitto(t);
  const { servient, lamp } = await lampNode(t, { mqtt: broker.url });
  await servient.start();
  const remote = await servient.consume(await servedTd(servient), { bindings: ['mqtt'] });
  t.teardown(() => remote.close());
  t.equal(await (await remote.readProperty('level')).value(), 10);
  const changes: unknown[] = [];
  const observation = await remote.observeProperty('level', async (value) => void changes.push(await value.value()));
  const events: unknown[] = [];
  const subscription = await remote.subscribeEvent('rang', async (value) => void events.push(await value.value()));
  const written = await remote.writeProperty('level', 77);
  t.equal(written?.status, 'stored');
  t.match(written?.transactions, [{ property: 'level', txId: /^[0-9a-f]{64}$/ }]);
  t.equal(await lamp.readProperty('level'), 77);
  t.equal(await (await remote.invokeAction('blink', 2))?.value(), 'blinked 2 times');
  lamp.emitEvent('rang', 'ding');
  t.ok(await until(() => changes.includes(77) && events.includes('ding')), 'the change and the event arrive');
  await observation.stop();
  await subscription.stop();
  await t.rejects(remote.writeProperty('level', 500), { code: 'FLOWCHAIN_ERR_VALUE_INVALID' }, "the node's code comes back");
});

t.test('with credentials required, MQTT is read-only: no write or invoke form, and a publish to a request topic changes nothing', async (t) => {
  const broker = await startMosquitto(t);
  const log = memoryLog();
  const token = 'a-token-of-at-least-16-chars';
  const { servient, lamp } = await lampNode(t, { mqtt: broker.url }, { authToken: token, log });
  const { url } = await servient.start();
  const td = await servedTd(servient);
  const ops = [...Object.values(td.properties!), ...Object.values(td.actions!)].flatMap((a) => mqttForms(a.forms).flatMap((f) => f.op as string[]));
  t.notOk(ops.includes('writeproperty') || ops.includes('invokeaction'), 'only read, observe and subscribe forms');
  t.ok(ops.includes('readproperty'));
  t.ok(log.lines.some((line) => /MQTT is read-only/.test(line.msg ?? '')), 'and the node says so');

  await mosquittoPub(broker.port, 'flowchain/lamp/properties/level/set', '77', { responseTopic: 'test/answers', correlation: 'x' });
  const observe = mosquittoSub(t, broker.port, 'flowchain/lamp/properties/level', { count: 2 });
  await observe.ready;
  const put = await fetch(`${url}things/lamp/properties/level`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '33' });
  t.equal(put.status, 204);
  t.match(await observe.messages, [{ payload: '10' }, { payload: '33' }], 'the MQTT write never happened; the HTTP one with credentials did');
  t.equal(await lamp.readProperty('level'), 33);
});

t.test('a broker unreachable at start-up fails it, naming the broker; one lost later is reconnected, the outage logged and the retained values published again', async (t) => {
  const port = await freePort();
  const { servient: failing } = await lampNode(t, { mqtt: `mqtt://127.0.0.1:${port}` });
  await t.rejects(failing.start(), { code: 'FLOWCHAIN_ERR_MQTT_BROKER_UNREACHABLE', message: new RegExp(`mqtt://127\\.0\\.0\\.1:${port}`) });

  const broker = await startMosquitto(t, { port });
  const log = memoryLog();
  const { servient } = await lampNode(t, { mqtt: broker.url }, { log });
  await servient.start();
  await broker.stop();
  t.ok(await until(() => log.lines.some((line) => line.level === 'warn' && /lost the MQTT broker/.test(line.msg ?? ''))), 'the outage is logged');
  // Persistence is off: the restarted broker holds no retained value until the node publishes it again.
  const again = await startMosquitto(t, { port });
  t.ok(await until(() => log.lines.some((line) => /reconnected to the MQTT broker/.test(line.msg ?? '')), 10_000), 'and its end');
  t.match(await mosquittoSub(t, again.port, 'flowchain/lamp/properties/level').messages, [{ retained: true, payload: '10' }]);
});


t.test('a broker that wants a user name and password: the node connects with --mqtt-username and --mqtt-password-file; a wrong password fails start-up naming the broker', async (t) => {
  const broker = await startMosquitto(t, { user: { name: 'node', password: 'a-password-of-the-node' } });
  const dir = tempDir(t);
  const good = join(dir, 'good');
  const bad = join(dir, 'bad');
  writeFileSync(good, 'a-password-of-the-node\n');
  writeFileSync(bad, 'not-the-password\n');
  const { servient } = await lampNode(t, { mqtt: broker.url, mqttUsername: 'node', mqttPasswordFile: good });
  await servient.start();
  t.match(await mosquittoSub(t, broker.port, 'flowchain/lamp/properties/level').messages.catch((err: Error) => err.message), /exited/, 'an anonymous client is refused by this broker');
  const { servient: refused } = await lampNode(t, { mqtt: broker.url, mqttUsername: 'node', mqttPasswordFile: bad });
  await t.rejects(refused.start(), { code: 'FLOWCHAIN_ERR_MQTT_BROKER_UNREACHABLE', message: new RegExp(broker.url.replace(/[.]/g, '\\.')) });
  const { servient: missing } = await lampNode(t, { mqtt: broker.url, mqttUsername: 'node', mqttPasswordFile: join(dir, 'none') });
  await t.rejects(missing.start(), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'mqtt-password-file' });
  t.equal((await servient.consume(await servedTd(servient), { bindings: ['http'] }).then((thing) => thing.readProperty('level')).then((out) => out.value())), 10, 'the node with the right password serves');
});

t.test('an mqtts:// broker: the node checks its certificate against --mqtt-ca-file (a broker it cannot trust fails start-up), and its forms say mqtts', async (t) => {
  const tls = selfSignedCertificate('ecdsa');
  const broker = await startMosquitto(t, { tls });
  const ca = join(tempDir(t), 'ca.pem');
  writeFileSync(ca, tls.cert);
  const { servient: untrusting } = await lampNode(t, { mqtt: broker.url });
  await t.rejects(untrusting.start(), { code: 'FLOWCHAIN_ERR_MQTT_BROKER_UNREACHABLE' }, 'not signed by a CA the system trusts');
  const { servient } = await lampNode(t, { mqtt: broker.url, mqttCaFile: ca });
  await servient.start();
  t.equal(mqttForms((await servedTd(servient)).properties!.level!.forms)[0]!.href, `mqtts://127.0.0.1:${broker.port}/flowchain/lamp/properties/level`);
  t.match(await mosquittoSub(t, broker.port, 'flowchain/lamp/properties/level', { cafile: ca }).messages, [{ retained: true, payload: '10' }]);
});

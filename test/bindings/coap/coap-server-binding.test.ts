/**
 * The CoAP binding's server against an independent client: libcoap's `coap-client-notls`
 * (Debian libcoap3-bin) talks to a real servient (LevelDB, the bundled Things) whose CoAP
 * binding listens on a free UDP port of loopback.
 */
import { execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import t, { type Test } from 'tap';
import type { ThingDescription } from '../../../src/td/thing-description.js';
import { createServient } from '../../helpers/test-servient.js';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** One coap-client-notls run, awaited (the server answers on this process's event loop). */
function coapClient(args: readonly string[], timeoutMs = 15_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile('coap-client-notls', [...args], { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

/** A started node with CoAP on a free port: its HTTP base and its CoAP origin. */
async function coapNode(t: Test, options: { authToken?: string } = {}) {
  const node = await createServient(t, { coapPort: 0, ...options });
  const address = await node.servient.start();
  const td = (await (await fetch(`${address.url}things/smart-plug`)).json()) as ThingDescription;
  const form = td.properties!.on!.forms!.find((f) => f.href.startsWith('coap:'))!;
  const coap = `coap://${new URL(form.href).host}`;
  return { ...node, http: address.url, coap, thing: (slug: string) => node.servient.things.find((thing) => thing.slug === slug)! };
}

const diagnostic = (run: Run): string => `${run.stdout}${run.stderr}`;

t.test('GET reads, PUT -e writes, POST invokes, over coap-client', async (t) => {
  const { coap, http } = await coapNode(t);
  const on = `${coap}/things/smart-plug/properties/on`;
  t.same(JSON.parse((await coapClient(['-m', 'get', on])).stdout), false, 'the plug starts off');
  const written = await coapClient(['-m', 'put', '-t', '50', '-e', 'true', on]);
  t.equal(written.code, 0);
  const answer = JSON.parse(written.stdout) as { status: string; transactions: { property: string; status: string; txId: string; receipt: string }[] };
  t.equal(answer.status, 'stored', 'the answer says what became of the transaction');
  t.equal(answer.transactions.length, 1);
  t.equal(answer.transactions[0]!.property, 'on');
  t.match(answer.transactions[0]!.txId, /^[0-9a-f]{64}$/);
  t.equal(answer.transactions[0]!.receipt, `${http}ledger/tx/${answer.transactions[0]!.txId}`, 'the receipt is on the node\'s HTTP side');
  const receipt = await fetch(answer.transactions[0]!.receipt);
  t.equal(receipt.status, 200, 'the receipt the CoAP answer names is served over HTTP');
  t.match(await receipt.text(), answer.transactions[0]!.txId, 'for that transaction');
  t.same(JSON.parse((await coapClient(['-m', 'get', on])).stdout), true, 'the write took');
  t.same(await (await fetch(`${http}things/smart-plug/properties/on`)).json(), true, 'and HTTP sees it');

  const toggled = await coapClient(['-m', 'post', `${coap}/things/smart-plug/actions/toggle`]);
  t.equal(toggled.code, 0);
  t.same(JSON.parse(toggled.stdout), { on: false }, 'POST answers the action\'s output');
  t.same(JSON.parse((await coapClient(['-m', 'get', `${coap}/things/smart-plug/properties`])).stdout), { on: false, power: 0 }, 'readallproperties');
});

t.test('-s observes a property for a duration (RFC 7641)', async (t) => {
  const { coap, thing } = await coapNode(t);
  const observe = (path: string, change: () => Promise<void>): Promise<string> =>
    new Promise((resolve, reject) => {
      const child = spawn('coap-client-notls', ['-m', 'get', '-s', '3', `${coap}${path}`]);
      let out = '';
      let changed = false;
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        // The registration's answer has arrived: now the change is a notification.
        if (!changed) {
          changed = true;
          void change().catch(reject);
        }
      });
      child.on('error', reject);
      child.on('close', () => resolve(out));
    });

  const before = await thing('thermostat').readProperty('mode');
  const next = before === 'cool' ? 'heat' : 'cool';
  // coap-client prints each payload as it comes, with no separator: JSON strings keep them apart.
  const out = await observe('/things/thermostat/properties/mode', async () => void (await thing('thermostat').writeProperty('mode', next)));
  t.same(out.trim().match(/"[^"]*"/g)?.map((text) => JSON.parse(text) as unknown), [before, next], 'the value at registration, then the change as a notification');
});

t.test('-s subscribes to an event: the event is the notification', async (t) => {
  const { coap, thing } = await coapNode(t);
  const sensor = thing('environment-sensor');
  // The Thing hears of the subscription when the CoAP registration reaches it.
  const subscribed = new Promise<void>((resolve) => sensor.setEventSubscribeHandler('overheat', () => resolve()));
  const child = spawn('coap-client-notls', ['-m', 'get', '-s', '3', `${coap}/things/environment-sensor/events/overheat`]);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const closed = new Promise((resolve) => child.on('close', resolve));
  await subscribed;
  sensor.emitEvent('overheat', { temperature: 90, threshold: 80 });
  await closed;
  t.same(out.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as unknown), [{ temperature: 90, threshold: 80 }], 'the registration answer is empty; the event arrives as a notification');
});

t.test('-b block-wise transfer (RFC 7959) serves a TD whole, and /.well-known/core lists the TDs', async (t) => {
  const { coap, http } = await coapNode(t);
  const viaHttp = (await (await fetch(`${http}things/thermostat`)).json()) as ThingDescription;
  const text = JSON.stringify(viaHttp);
  t.ok(text.length > 1024, 'the TD is larger than one block');
  const blocks = await coapClient(['-m', 'get', '-b', '64', `${coap}/things/thermostat`]);
  t.equal(blocks.code, 0);
  t.same(JSON.parse(blocks.stdout), viaHttp, 'in 64-byte blocks, the same TD as over HTTP');
  const defaults = await coapClient(['-m', 'get', '-B', '10', `${coap}/things/thermostat`]);
  t.same(JSON.parse(defaults.stdout), viaHttp, 'in the server\'s own blocks too');
  t.ok(viaHttp.properties!.targetTemperature!.forms!.some((form) => form.href === `${coap}/things/thermostat/properties/targetTemperature` && form['cov:method'] === 'PUT'), 'the TD has the CoAP forms');
  t.same((viaHttp['@context'] as unknown[]).at(-1), { cov: 'http://www.example.org/coap-binding#' }, 'and declares the cov prefix');

  const core = await coapClient(['-m', 'get', `${coap}/.well-known/core`]);
  t.equal(core.code, 0);
  const links = core.stdout.trim().split(',');
  for (const slug of ['environment-sensor', 'smart-plug', 'thermostat', 'ledger']) {
    t.ok(links.some((link) => link.startsWith(`</things/${slug}>;rt="wot.thing";ct=432`)), `${slug}'s TD is listed`);
  }
  t.ok(links.includes('</things/smart-plug/properties/on>;rt="wot.property";ct=50;obs'), 'observable properties say obs');
});

t.test('bad input is answered 4.xx with the code as diagnostic payload, and changes nothing', async (t) => {
  const { coap, thing } = await coapNode(t);
  const target = `${coap}/things/thermostat/properties/targetTemperature`;
  const before = await thing('thermostat').readProperty('targetTemperature');
  const cases: [string, string[], string, string][] = [
    ['a malformed payload', ['-m', 'put', '-t', '50', '-e', '{"', target], '4.00', 'FLOWCHAIN_ERR_REQUEST_MALFORMED'],
    ['a value outside the schema', ['-m', 'put', '-t', '50', '-e', '99', target], '4.00', 'FLOWCHAIN_ERR_VALUE_INVALID'],
    ['another Content-Format', ['-m', 'put', '-t', '0', '-e', '21', target], '4.15', 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED'],
    ['no payload', ['-m', 'put', target], '4.00', 'FLOWCHAIN_ERR_REQUEST_MALFORMED'],
    ['a write to an unknown property', ['-m', 'put', '-t', '50', '-e', '1', `${coap}/things/thermostat/properties/nope`], '4.04', 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND'],
    ['a read of an unknown property', ['-m', 'get', `${coap}/things/thermostat/properties/nope`], '4.04', 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND'],
    ['an unknown Thing', ['-m', 'get', `${coap}/things/nope/properties/on`], '4.04', 'FLOWCHAIN_ERR_THING_NOT_FOUND'],
    ['an unknown action', ['-m', 'post', `${coap}/things/thermostat/actions/nope`], '4.04', 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND'],
    ['a write to a read-only property', ['-m', 'put', '-t', '50', '-e', '20', `${coap}/things/thermostat/properties/currentTemperature`], '4.05', 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY'],
    ['a method the resource does not take', ['-m', 'delete', target], '4.05', 'FLOWCHAIN_ERR_METHOD_NOT_ALLOWED'],
    ['no such resource', ['-m', 'get', `${coap}/nothing/here`], '4.04', 'FLOWCHAIN_ERR_ROUTE_NOT_FOUND'],
  ];
  for (const [what, args, code, problem] of cases) {
    const run = await coapClient(args);
    t.match(diagnostic(run), new RegExp(`${code.replace('.', '\\.')} ${problem}`), `${what}: ${code} ${problem}`);
  }
  t.equal(await thing('thermostat').readProperty('targetTemperature'), before, 'nothing changed');
});

t.test('with credentials required, CoAP is read-only: no write forms, writes refused 4.01', async (t) => {
  const { coap, http, thing } = await coapNode(t, { authToken: 'a-long-enough-token-for-the-plug' });
  const td = (await (await fetch(`${http}things/smart-plug`)).json()) as ThingDescription;
  const coapOps = (forms: ThingDescription['forms']) => (forms ?? []).filter((form) => form.href.startsWith('coap:')).flatMap((form) => [form.op].flat());
  t.same(coapOps(td.properties!.on!.forms), ['readproperty', 'observeproperty', 'unobserveproperty'], 'a writable property has only read and observe CoAP forms');
  t.same(coapOps(td.actions!.toggle!.forms), [], 'an action has no CoAP form');
  t.ok(td.properties!.on!.forms!.some((form) => !form.href.startsWith('coap:') && form.subprotocol === undefined && [form.op].flat().includes('writeproperty') && form.security !== undefined), 'HTTP still takes the write, with credentials');

  const put = await coapClient(['-m', 'put', '-t', '50', '-e', 'true', `${coap}/things/smart-plug/properties/on`]);
  t.match(diagnostic(put), /4\.01 FLOWCHAIN_ERR_AUTH_REQUIRED/);
  const post = await coapClient(['-m', 'post', `${coap}/things/smart-plug/actions/toggle`]);
  t.match(diagnostic(post), /4\.01 FLOWCHAIN_ERR_AUTH_REQUIRED/);
  t.equal(await thing('smart-plug').readProperty('on'), false, 'nothing changed');
  t.same(JSON.parse((await coapClient(['-m', 'get', `${coap}/things/smart-plug/properties/on`])).stdout), false, 'reads stay open');
});

t.test('a CoAP port in use: the node starts without CoAP, and its TDs offer no CoAP form', async (t) => {
  const taken = createSocket({ type: 'udp4', reuseAddr: false });
  await new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', resolve));
  t.teardown(() => taken.close());
  const { servient } = await createServient(t, { coapPort: taken.address().port });
  const address = await servient.start();
  const td = (await (await fetch(`${address.url}things/smart-plug`)).json()) as ThingDescription;
  t.notOk(JSON.stringify(td).includes('coap:'), 'no CoAP form');
});

t.test('a produced Thing: an asynchronous action is HTTP only, a property that is not observable answers Observe plainly', async (t) => {
  const { coap, servient, http } = await coapNode(t);
  const lamp = await servient.produce({ title: 'Lamp', properties: { level: { type: 'integer' } }, actions: { fade: { synchronous: false }, blink: { output: { type: 'string' } } } });
  lamp.setActionHandler('fade', async () => undefined).setActionHandler('blink', () => 'blinked');
  await lamp.expose();
  const td = (await (await fetch(`${http}things/lamp`)).json()) as ThingDescription;
  t.notOk(td.actions!.fade!.forms!.some((form) => form.href.startsWith('coap:')), 'no CoAP form for the asynchronous action');
  t.match(diagnostic(await coapClient(['-m', 'post', `${coap}/things/lamp/actions/fade`])), /4\.05 FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED/);
  t.same(JSON.parse((await coapClient(['-m', 'post', `${coap}/things/lamp/actions/blink`])).stdout), 'blinked');
  // RFC 7641 §4.1: a plain answer, no registration; coap-client then stops waiting at once.
  const plain = await coapClient(['-m', 'get', '-s', '30', `${coap}/things/lamp/properties/level`], 10_000);
  t.equal(plain.code, 0, 'the client is told it was not registered and exits');
  t.same(JSON.parse(plain.stdout), null, 'with the value');
});

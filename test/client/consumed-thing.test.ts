/**
 * A ConsumedThing drives a Thing through its served TD's forms alone, over each binding a
 * Flowchain node offers: plain HTTP and the flowchain.v1 WebSocket for reads, writes and
 * actions; SSE, long-poll and the WebSocket for observations and events. Real node, real
 * sockets.
 */
import t, { type Test } from 'tap';
import { DEFAULT_CONSUME_TIMEOUT_MS } from '../../src/client/consumed-thing.js';
import type { Binding } from '../../src/client/forms.js';
import type { Servient } from '../../src/servient.js';
import type { Form, ThingDescription, ThingFragment } from '../../src/td/thing-description.js';
import { DEFAULT_HANDLER_TIMEOUT_MS, type ExposedThing } from '../../src/thing/exposed-thing.js';
import type { InteractionOutput } from '../../src/thing/interaction-output.js';
import { remoteLampTd, until } from '../bindings/http/fixtures.js';
import { createServient } from '../helpers/test-servient.js';
import { closedPort, rawServer, untrustedTlsServer } from './fixtures.js';

const LAMP: ThingFragment = {
  title: 'Lamp',
  properties: {
    on: { type: 'boolean', observable: true },
    brightness: { type: 'integer', minimum: 0, maximum: 100 },
  },
  actions: { blink: { input: { type: 'integer', minimum: 1 }, output: { type: 'string' } } },
  events: { blinked: { data: { type: 'integer' } } },
};

/** A node exposing a lamp whose handlers the test can see. */
async function lampNode(t: Test, options: { authToken?: string } = {}): Promise<{ servient: Servient; lamp: ExposedThing; url: string; state: { on: boolean; listeners: number } }> {
  const { servient } = await createServient(t, { things: t.testdir(), ...options });
  const lamp = await servient.produce(LAMP);
  const state = { on: false, listeners: 0 };
  // Counts the node's own listeners, so a test knows when a stream has reached the Thing.
  for (const method of ['observeProperty', 'subscribeEvent'] as const) {
    const original = lamp[method].bind(lamp) as (name: string, listener: (x: never) => void) => () => void;
    lamp[method] = ((name: string, listener: (x: never) => void) => {
      const off = original(name, listener);
      state.listeners++;
      return () => {
        state.listeners--;
        off();
      };
    }) as never;
  }
  lamp.setPropertyReadHandler('on', () => state.on);
  lamp.setPropertyWriteHandler('on', async (value) => void (state.on = (await value.value()) as boolean));
  lamp.setActionHandler('blink', async (params) => {
    const times = (await params.value()) as number;
    lamp.emitEvent('blinked', times);
    return `blinked ${times} times`;
  });
  await lamp.expose();
  const { url } = await servient.start();
  return { servient, lamp, url, state };
}

for (const binding of ['http', 'ws'] as const) {
  t.test(`reads, writes and actions over ${binding}`, async (t) => {
    const { servient, url, state } = await lampNode(t);
    const td = await servient.requestThingDescription(`${url}things/lamp`);
    const lamp = await servient.consume(td, { bindings: [binding] });
    t.teardown(() => lamp.close());
    const written = await lamp.writeProperty('on', true);
    t.equal(state.on, true, 'the write handler ran');
    t.equal(written.status, 'stored', 'the owner stored the transaction');
    t.equal(written.transactions.length, 1);
    const receipt = written.transactions[0]!;
    t.equal(receipt.property, 'on');
    t.match(receipt.receipt, new RegExp(`^${url}ledger/tx/[0-9a-f]{64}$`));
    t.equal((await fetch(receipt.receipt)).status, 200, 'the receipt link answers');
    t.equal(await (await lamp.readProperty('on')).value(), true);
    await lamp.writeMultipleProperties({ brightness: 40, on: false });
    const all = await lamp.readAllProperties();
    t.same(Object.fromEntries(await Promise.all([...all].map(async ([name, output]) => [name, await output.value()]))), { on: false, brightness: 40 });
    const output = await lamp.invokeAction('blink', 3);
    t.equal(await output?.value(), 'blinked 3 times');
    await t.rejects(lamp.writeProperty('brightness', 101), { code: 'FLOWCHAIN_ERR_VALUE_INVALID', field: 'brightness' }, 'checked before it is sent');
    await t.rejects(lamp.readProperty('colour'), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', field: 'colour' });
    await t.rejects(lamp.invokeAction('blink', 0), { code: 'FLOWCHAIN_ERR_VALUE_INVALID' });
    t.equal(await (await lamp.readProperty('brightness')).value(), 40, 'nothing refused reached the Thing');
  });
}

for (const binding of ['sse', 'longpoll', 'ws'] as const) {
  t.test(`observations and events over ${binding}`, async (t) => {
    const { servient, url, state } = await lampNode(t);
    const lamp = await servient.consume(await servient.requestThingDescription(`${url}things/lamp`), { bindings: [binding, 'http'] as Binding[] });
    t.teardown(() => lamp.close());
    const values: unknown[] = [];
    const events: unknown[] = [];
    const errors: unknown[] = [];
    // The node's replay log listens on the Thing from the start; each stream adds a listener.
    const before = state.listeners;
    const observation = await lamp.observeProperty('on', async (output) => void values.push(await output.value()), (err) => errors.push(err));
    const subscription = await lamp.subscribeEvent('blinked', async (output) => void events.push(await output.value()), (err) => errors.push(err));
    await until(() => state.listeners === before + 2, `both streams to reach the Thing over ${binding}`);
    await lamp.writeProperty('on', true);
    await until(() => values.includes(true), `the change over ${binding}`);
    await lamp.invokeAction('blink', 2);
    await until(() => events.includes(2), `the event over ${binding}`);
    t.equal(observation.active, true);
    await observation.stop();
    await subscription.stop();
    t.equal(observation.active, false);
    await until(() => state.listeners === before, 'the node to drop both streams');
    const seen = values.length;
    await lamp.writeProperty('on', false);
    t.equal(values.length, seen, 'nothing arrives after stop()');
    t.same(errors, []);
  });
}

t.test('a form the consumer cannot follow, and credentials', async (t) => {
  const token = 'a-long-enough-token-for-the-lamp';
  const { servient, url, state } = await lampNode(t, { authToken: token });
  const td = await servient.requestThingDescription(`${url}things/lamp`);
  const onlySse = await servient.consume(td, { bindings: ['sse'] });
  await t.rejects(onlySse.readProperty('on'), { code: 'FLOWCHAIN_ERR_FORM_NOT_FOUND', field: 'properties/on' });
  const anonymous = await servient.consume(td);
  await t.rejects(anonymous.writeProperty('on', true), { code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' }, 'the node\'s own code comes back');
  t.equal(state.on, false);
  const trusted = await servient.consume(td, { credentials: { token } });
  await trusted.writeProperty('on', true);
  t.equal(state.on, true);
  await t.rejects(servient.consume({ nope: 1 } as unknown as ThingDescription), { code: 'FLOWCHAIN_ERR_TD_INVALID' });
  await t.rejects(servient.requestThingDescription(`${url}health`), { code: 'FLOWCHAIN_ERR_TD_INVALID' });
});

t.test('an observation the Thing refuses rejects with the remote code', async (t) => {
  const { servient, url } = await lampNode(t);
  const td = await servient.requestThingDescription(`${url}things/lamp`);
  // brightness is not observable, so its TD has no observe form: point one at it by hand.
  const forged = { ...td, properties: { ...td.properties, brightness: { ...td.properties!.brightness!, observable: true, forms: [{ href: 'things/lamp/properties/brightness/sse', op: 'observeproperty', subprotocol: 'sse' }] } } } as ThingDescription;
  const lamp = await servient.consume(forged, { bindings: ['sse'] });
  await t.rejects(lamp.observeProperty('brightness', () => undefined), { code: 'FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED' });
});

for (const binding of ['http', 'ws'] as const) {
  t.test(`an asynchronous action over ${binding}: invokeAction waits for its output; startAction gives an invocation to query and cancel`, async (t) => {
    const { servient } = await createServient(t, { things: t.testdir() });
    const kettle = await servient.produce({ title: 'Kettle', actions: { boil: { synchronous: false, input: { type: 'integer', minimum: 1 }, output: { type: 'string' } } } });
    const waiting: ((output: string) => void)[] = [];
    kettle.setActionHandler('boil', async (params, { signal }) => {
      const degrees = (await params.value()) as number;
      return new Promise<string>((resolve, reject) => {
        waiting.push(() => resolve(`boiled at ${degrees}`));
        signal.addEventListener('abort', () => reject(signal.reason));
      });
    });
    await kettle.expose();
    const { url } = await servient.start();
    const consumed = await servient.consume(await servient.requestThingDescription(`${url}things/kettle`), { bindings: [binding], actionPollMs: 5 });
    t.teardown(() => consumed.close());

    const output = consumed.invokeAction('boil', 90);
    while (waiting.length === 0) await new Promise((resolve) => setImmediate(resolve));
    waiting.shift()!('');
    t.equal(await (await output)!.value(), 'boiled at 90');

    const invocation = await consumed.startAction('boil', 70);
    t.match(invocation.status, { status: 'pending' });
    while (waiting.length === 0) await new Promise((resolve) => setImmediate(resolve));
    t.match(await invocation.query(), { id: invocation.id, status: 'running' });
    await invocation.cancel();
    await t.rejects(invocation.done(), { code: 'FLOWCHAIN_ERR_ACTION_CANCELLED' }, 'a failed invocation rejects with its code');
    await t.rejects(invocation.cancel(), { code: 'FLOWCHAIN_ERR_ACTION_FINISHED' });
    await t.rejects(consumed.startAction('boil', 0), { code: 'FLOWCHAIN_ERR_VALUE_INVALID' }, 'checked before it is sent');
  });
}

t.test('errors name the affordance kind, and a write to a read-only property says so before anything is sent', async (t) => {
  const { servient, url } = await lampNode(t);
  const td = await servient.requestThingDescription(`${url}things/lamp`);
  const readOnly = { ...td, properties: { ...td.properties, on: { ...td.properties!.on!, readOnly: true, forms: td.properties!.on!.forms!.filter((form) => ![form.op ?? []].flat().includes('writeproperty')) } } } as ThingDescription;
  const lamp = await servient.consume(readOnly);
  await t.rejects(lamp.readProperty('nope'), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', field: 'nope', message: 'Lamp has no property named nope' });
  await t.rejects(lamp.invokeAction('nope'), { message: 'Lamp has no action named nope' });
  await t.rejects(lamp.subscribeEvent('nope', () => undefined), { message: 'Lamp has no event named nope' });
  await t.rejects(lamp.writeProperty('on', true), { code: 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY', field: 'on' });
  await t.rejects(lamp.writeMultipleProperties({ brightness: 3, on: true }), { code: 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY', field: 'on' });
  const writeOnly = { ...td, properties: { ...td.properties, brightness: { ...td.properties!.brightness!, writeOnly: true } } } as ThingDescription;
  await t.rejects((await servient.consume(writeOnly)).readProperty('brightness'), { code: 'FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY', field: 'brightness' });
});

t.test('an output\'s data is a stream of its JSON bytes; value() after the stream was read fails with FLOWCHAIN_ERR_OUTPUT_NOT_READABLE', async (t) => {
  const { servient, url } = await lampNode(t);
  const lamp = await servient.consume(await servient.requestThingDescription(`${url}things/lamp`));
  const output = (await lamp.invokeAction('blink', 2))!;
  t.equal(output.dataUsed, false);
  const stream = output.data;
  t.equal(output.data, stream, 'one stream');
  t.equal(output.dataUsed, false, 'taking the stream is not reading it');
  const text = await new Response(stream).text();
  t.equal(text, '"blinked 2 times"');
  t.equal(output.dataUsed, true);
  await t.rejects(output.value(), { code: 'FLOWCHAIN_ERR_OUTPUT_NOT_READABLE' });
  await t.rejects(output.arrayBuffer(), { code: 'FLOWCHAIN_ERR_OUTPUT_NOT_READABLE' });
  const locked = await lamp.readProperty('on');
  const reader = locked.data.getReader();
  await t.rejects(locked.value(), { code: 'FLOWCHAIN_ERR_OUTPUT_NOT_READABLE' }, 'a reader holds it');
  reader.releaseLock();
  const read = await lamp.readProperty('on');
  t.equal(await read.value(), false);
  t.equal(await read.value(), false, 'value() twice is fine');
  t.equal(new TextDecoder().decode(await read.arrayBuffer()), 'false');
});

t.test('formIndex follows exactly the form it names', async (t) => {
  const { servient, url } = await lampNode(t);
  const td = await servient.requestThingDescription(`${url}things/lamp`);
  const lamp = await servient.consume(td, { bindings: ['http', 'ws'] });
  t.teardown(() => lamp.close());
  const forms = td.properties!.on!.forms!;
  const wsIndex = forms.findIndex((form) => form.subprotocol === 'flowchain.v1');
  t.ok(wsIndex > 0, 'the HTTP form comes first');
  t.equal((await lamp.readProperty('on', { formIndex: wsIndex })).form, forms[wsIndex], 'the WebSocket form was followed');
  t.equal((await lamp.readProperty('on')).form, forms[0], 'without it, the preferred binding');
  await t.rejects(lamp.readProperty('on', { formIndex: forms.length }), { code: 'FLOWCHAIN_ERR_FORM_INDEX_INVALID' });
  const sse = forms.findIndex((form) => form.subprotocol === 'sse');
  await t.rejects(lamp.readProperty('on', { formIndex: sse }), { code: 'FLOWCHAIN_ERR_FORM_INDEX_INVALID', field: `properties/on/forms/${sse}` });
});

/**
 * A node with a Probe whose action and write handlers wait until the test releases them,
 * counting every run: what tells a request that ran once from one that ran twice.
 */
async function probeNode(t: Test) {
  const { servient, clock } = await createServient(t, { things: t.testdir() });
  const probe = await servient.produce({
    title: 'Probe',
    properties: { setpoint: { type: 'integer' }, level: { type: 'integer', readOnly: true } },
    actions: { calibrate: { input: { type: 'integer' }, output: { type: 'string' } } },
  });
  const runs = { calibrate: 0, setpoint: 0 };
  const held: (() => void)[] = [];
  const hold = () => new Promise<void>((resolve) => held.push(resolve));
  probe.setActionHandler('calibrate', async (params) => {
    runs.calibrate++;
    await hold();
    return `calibrated to ${String(await params.value())}`;
  });
  probe.setPropertyWriteHandler('setpoint', async () => {
    runs.setpoint++;
    await hold();
  });
  probe.setPropertyReadHandler('level', () => 7);
  await probe.expose();
  const { url } = await servient.start();
  const td = await servient.requestThingDescription(`${url}things/probe`);
  /** Lets every waiting handler finish. */
  const release = (): void => {
    for (const go of held.splice(0)) go();
  };
  t.teardown(release);
  /**
   * Runs `operation` to its end, releasing handlers as they wait: every request already sent
   * (the node runs writes in arrival order) has run by the time it resolves.
   */
  const settle = async <T>(operation: Promise<T>): Promise<T> => {
    let settled = false;
    const done = operation.finally(() => (settled = true));
    await until(() => {
      release();
      return settled;
    }, 'the operation to end');
    return done;
  };
  return { servient, clock, url, td, runs, held, release, settle };
}

/** `td` with `extra` forms placed before those of one affordance. */
function withFormsFirst(td: ThingDescription, kind: 'properties' | 'actions', name: string, extra: readonly Form[]): ThingDescription {
  const affordances = td[kind] as Record<string, { forms?: readonly Form[] }>;
  return { ...td, [kind]: { ...affordances, [name]: { ...affordances[name], forms: [...extra, ...(affordances[name]!.forms ?? [])] } } } as ThingDescription;
}

for (const bindings of [['http', 'ws'], ['ws', 'http']] as const) {
  t.test(`a slow action and a slow write sent over ${bindings[0]} run once: no answer in time is FLOWCHAIN_ERR_OUTCOME_UNKNOWN, never a second request over ${bindings[1]}`, async (t) => {
    const node = await probeNode(t);
    const probe = await node.servient.consume(node.td, { bindings, timeoutMs: 150 });
    t.teardown(() => probe.close());
    const invoked = await probe.invokeAction('calibrate', 3).then(() => undefined, (err: unknown) => err);
    t.match(invoked, { code: 'FLOWCHAIN_ERR_OUTCOME_UNKNOWN', message: /calibrate was invoked once and not again.*offers no queryaction or queryallactions form/ });
    const written = await probe.writeProperty('setpoint', 5).then(() => undefined, (err: unknown) => err);
    t.match(written, { code: 'FLOWCHAIN_ERR_OUTCOME_UNKNOWN', message: /The write of setpoint was sent once and not again.*read setpoint/ });

    // The other binding works: the same requests through it, waited for, each run once more.
    const other = await node.servient.consume(node.td, { bindings: [bindings[1]] });
    t.teardown(() => other.close());
    t.equal(await (await node.settle(other.invokeAction('calibrate', 4)))!.value(), 'calibrated to 4');
    await node.settle(other.writeProperty('setpoint', 6));
    t.same(node.runs, { calibrate: 2, setpoint: 2 }, 'each handler ran once per call, not once per form');
    t.equal(await (await other.readProperty('setpoint')).value(), 6);
  });
}

t.test('an invocation and a write move on to the next form when the connection was refused or its TLS handshake failed, and run once', async (t) => {
  const node = await probeNode(t);
  const refused = await closedPort();
  const tls = await untrustedTlsServer(t);
  const dead = (path: string, op: string): Form[] => [
    { href: `http://127.0.0.1:${refused}/${path}`, op },
    { href: `https://127.0.0.1:${tls.port}/${path}`, op },
  ];
  let td = withFormsFirst(node.td, 'actions', 'calibrate', dead('things/probe/actions/calibrate', 'invokeaction'));
  td = withFormsFirst(td, 'properties', 'setpoint', dead('things/probe/properties/setpoint', 'writeproperty'));
  const probe = await node.servient.consume(td, { bindings: ['http'] });
  const output = await node.settle(probe.invokeAction('calibrate', 8));
  t.equal(await output!.value(), 'calibrated to 8');
  t.equal(output!.form, td.actions!.calibrate!.forms![2], 'answered through the third form');
  await node.settle(probe.writeProperty('setpoint', 9));
  t.same(node.runs, { calibrate: 1, setpoint: 1 });
  t.equal(tls.requests(), 0, 'nothing reached the server whose certificate was refused');
});

t.test('after a request went out unanswered or its connection dropped, an invocation and a write stop there; a read moves on', async (t) => {
  const node = await probeNode(t);
  const silent = await rawServer(t, 'silent');
  const dropping = await rawServer(t, 'hang-up');
  let td = withFormsFirst(node.td, 'actions', 'calibrate', [{ href: `http://127.0.0.1:${dropping.port}/things/probe/actions/calibrate`, op: 'invokeaction' }]);
  td = withFormsFirst(td, 'properties', 'setpoint', [{ href: `http://127.0.0.1:${silent.port}/things/probe/properties/setpoint`, op: 'writeproperty' }]);
  td = withFormsFirst(td, 'properties', 'level', [{ href: `http://127.0.0.1:${silent.port}/things/probe/properties/level`, op: 'readproperty' }]);
  const probe = await node.servient.consume(td, { bindings: ['http', 'ws'], timeoutMs: 150 });
  t.teardown(() => probe.close());
  await t.rejects(probe.invokeAction('calibrate', 1), { code: 'FLOWCHAIN_ERR_OUTCOME_UNKNOWN', message: /connection failed before an answer/ });
  await t.rejects(probe.writeProperty('setpoint', 2), { code: 'FLOWCHAIN_ERR_OUTCOME_UNKNOWN', message: /no answer within 150 ms/ });
  t.match(dropping.received(), /^POST \/things\/probe\/actions\/calibrate /, 'the invocation went out');
  t.match(silent.received(), /^PUT \/things\/probe\/properties\/setpoint /, 'the write went out');
  t.equal(await (await probe.readProperty('level')).value(), 7, 'the read moved on to the node');
  t.same(node.runs, { calibrate: 0, setpoint: 0 }, 'the node behind the next forms never ran them');
  const onlySilent = await node.servient.consume(td, { bindings: ['http'], timeoutMs: 150 });
  await t.rejects(onlySilent.readProperty('level', { formIndex: 0 }), { code: 'FLOWCHAIN_ERR_REMOTE_UNREACHABLE' }, 'a read no form answered: unreachable, no outcome to be unsure of');
});

for (const binding of ['http', 'ws'] as const) {
  t.test(`with the default timeouts the node's own 504 reaches the consumer over ${binding} before it gives up`, async (t) => {
    t.ok(DEFAULT_CONSUME_TIMEOUT_MS > DEFAULT_HANDLER_TIMEOUT_MS, `the consumer waits ${DEFAULT_CONSUME_TIMEOUT_MS} ms, a handler may take ${DEFAULT_HANDLER_TIMEOUT_MS} ms`);
    const node = await probeNode(t);
    const probe = await node.servient.consume(node.td, { bindings: [binding, binding === 'http' ? 'ws' : 'http'] });
    t.teardown(() => probe.close());
    const invoked = probe.invokeAction('calibrate', 1);
    await until(() => node.runs.calibrate === 1, 'the handler to run');
    node.clock.advance(DEFAULT_HANDLER_TIMEOUT_MS);
    await t.rejects(invoked, { code: 'FLOWCHAIN_ERR_HANDLER_TIMEOUT' });
    const written = probe.writeProperty('setpoint', 1);
    await until(() => node.runs.setpoint === 1, 'the write handler to run');
    node.clock.advance(DEFAULT_HANDLER_TIMEOUT_MS);
    await t.rejects(written, { code: 'FLOWCHAIN_ERR_HANDLER_TIMEOUT' });
    node.release();
    t.same(node.runs, { calibrate: 1, setpoint: 1 }, 'the node said what happened; nothing was sent again');
  });
}

t.test('the node\'s own directory actions work through consume(): uriVariables, a GET input as URI variables, and a PUT with both', async (t) => {
  const { servient, url } = await lampNode(t);
  const lampId = (await servient.requestThingDescription(`${url}things/lamp`)).id!;
  const directory = await servient.consume(await servient.requestThingDescription(`${url}.well-known/wot`));
  const titles = async (output: Promise<InteractionOutput | undefined>) => ((await (await output)!.value()) as string[]).sort();
  t.ok((await titles(directory.invokeAction('searchJSONPath', undefined, { uriVariables: { query: '$[*].title' } }))).includes('Lamp'));
  t.same(await titles(directory.invokeAction('searchJSONPath', { query: `$[?@.id=="${lampId}"].title` })), ['Lamp'], 'the input of a GET form fills in its URI variables');
  t.match(await (await directory.invokeAction('retrieveThing', undefined, { uriVariables: { id: lampId } }))!.value(), { id: lampId, title: 'Lamp' });
  await t.rejects(directory.invokeAction('searchJSONPath'), { code: 'FLOWCHAIN_ERR_URI_VARIABLE_MISSING', field: 'uriVariables/query' });
  await t.rejects(directory.invokeAction('searchJSONPath', undefined, { uriVariables: { query: 5 } }), { code: 'FLOWCHAIN_ERR_URI_VARIABLE_INVALID', field: 'uriVariables/query' });
  await t.rejects(directory.invokeAction('searchJSONPath', undefined, { uriVariables: { query: '$[' } }), { code: 'FLOWCHAIN_ERR_DIRECTORY_QUERY_INVALID' }, 'the node checks the expression itself');

  const created: unknown[] = [];
  const id = 'urn:uuid:0f8b9d3e-7c1a-4b7e-9a55-2d6c1e4f8a10';
  const subscription = await directory.subscribeEvent('thingCreated', async (output) => void created.push(await output.value()), () => undefined, { uriVariables: { diff: true } });
  t.teardown(() => subscription.stop());
  await directory.invokeAction('createThing', remoteLampTd(id, { title: 'Porch lamp' }), { uriVariables: { id } });
  await until(() => created.some((data) => (data as { id?: string }).id === id), 'the thingCreated notification');
  t.match(created.find((data) => (data as { id?: string }).id === id), { id, title: 'Porch lamp' }, 'with diff, the whole TD');
  t.match(await (await directory.invokeAction('retrieveThing', undefined, { uriVariables: { id } }))!.value(), { id, title: 'Porch lamp' });
  await directory.invokeAction('deleteThing', undefined, { uriVariables: { id } });
  await t.rejects(directory.invokeAction('retrieveThing', undefined, { uriVariables: { id } }), { code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' });
});

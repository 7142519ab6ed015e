/**
 * A ConsumedThing drives a Thing through its served TD's forms alone, over each binding a
 * Flowchain node offers: plain HTTP and the flowchain.v1 WebSocket for reads, writes and
 * actions; SSE, long-poll and the WebSocket for observations and events. Real node, real
 * sockets.
 */
import t, { type Test } from 'tap';
import type { Binding } from '../../src/client/forms.js';
import type { Servient } from '../../src/servient.js';
import type { ThingDescription, ThingFragment } from '../../src/td/thing-description.js';
import type { ExposedThing } from '../../src/thing/exposed-thing.js';
import { until } from '../http/fixtures.js';
import { createServient } from '../helpers/test-servient.js';

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

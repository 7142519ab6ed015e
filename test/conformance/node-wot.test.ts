/**
 * Interoperability with Eclipse Thingweb node-wot 0.9.2, an independent WoT implementation:
 * Flowchain's ConsumedThing drives a Thing that node-wot's HTTP server exposes, and node-wot's
 * HTTP client drives a Thing a Flowchain node exposes through produce(), each through the
 * other's TD alone: read, write, observe, invoke, subscribe.
 */
import bindingHttp from '@node-wot/binding-http';
import wotCore from '@node-wot/core';
import t from 'tap';
import { consumeThing } from '../../src/client/consumed-thing.js';
import type { ThingDescription } from '../../src/td/thing-description.js';
import { until } from '../bindings/http/fixtures.js';
import { createServient } from '../helpers/test-servient.js';

// CommonJS packages: their exports are the default export's members.
const { HttpClientFactory, HttpServer } = bindingHttp;
const { Servient: WotServient } = wotCore;

const COUNTER = {
  title: 'Counter',
  properties: {
    count: { type: 'integer', minimum: 0, observable: true },
    label: { type: 'string' },
  },
  actions: { increment: { input: { type: 'integer', minimum: 1 }, output: { type: 'integer' } } },
  events: { reached: { data: { type: 'integer' } } },
} as const;

/** Values as node-wot hands them over (its InteractionOutput). */
type WotOutput = { value(): Promise<unknown> };

t.test('Flowchain consumes a Thing node-wot exposes', async (t) => {
  const wot = new WotServient();
  const server = new HttpServer({ port: 0, address: '127.0.0.1' });
  wot.addServer(server);
  const WoT = await wot.start();
  t.teardown(() => wot.shutdown());
  // node-wot writes every interface's address into its forms, also those it does not listen
  // on; its baseUri names the one it does (known once it listens on port 0).
  (server as unknown as { baseUri: string }).baseUri = `http://127.0.0.1:${server.getPort()}`;
  let count = 0;
  let label = 'start';
  const thing = await WoT.produce(COUNTER as never);
  thing.setPropertyReadHandler('count', async () => count);
  thing.setPropertyReadHandler('label', async () => label);
  thing.setPropertyWriteHandler('label', async (value: WotOutput) => void (label = (await value.value()) as string));
  thing.setActionHandler('increment', async (params: WotOutput) => {
    count += (await params.value()) as number;
    await thing.emitPropertyChange('count');
    thing.emitEvent('reached', count);
    return count;
  });
  await thing.expose();
  const td = (await (await fetch(`http://127.0.0.1:${server.getPort()}/counter`)).json()) as ThingDescription;

  const counter = await consumeThing(td);
  t.equal(await (await counter.readProperty('count')).value(), 0);
  const written = await counter.writeProperty('label', 'kitchen');
  t.equal(label, 'kitchen', 'the write reached node-wot\'s handler');
  t.equal(written.status, undefined, 'a Thing that is not Flowchain\'s has no transactions to report');
  t.equal(await (await counter.readProperty('label')).value(), 'kitchen');
  const changes: unknown[] = [];
  const events: unknown[] = [];
  const observation = await counter.observeProperty('count', async (output) => void changes.push(await output.value()));
  const subscription = await counter.subscribeEvent('reached', async (output) => void events.push(await output.value()));
  // node-wot's observations are long-polls, which cannot say when they are in place: invoke until one is seen.
  for (let i = 0; i < 50 && (changes.length === 0 || events.length === 0); i++) {
    t.equal(typeof (await (await counter.invokeAction('increment', 1))!.value()), 'number');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.ok(changes.length > 0, `observed count change(s): ${JSON.stringify(changes)}`);
  t.ok(events.length > 0, `received reached event(s): ${JSON.stringify(events)}`);
  t.equal(changes.at(-1), count, 'the last change is the current count');
  await observation.stop();
  await subscription.stop();
  await t.rejects(counter.invokeAction('increment', 0), { code: 'FLOWCHAIN_ERR_VALUE_INVALID' }, 'checked against node-wot\'s TD before it is sent');
});

t.test('node-wot consumes a Thing a Flowchain node exposes through produce()', async (t) => {
  const { servient } = await createServient(t, { things: t.testdir() });
  const counter = await servient.produce(COUNTER as never);
  let count = 0;
  counter.setPropertyReadHandler('count', () => count);
  counter.setActionHandler('increment', async (params) => {
    count += (await params.value()) as number;
    await counter.emitPropertyChange('count', count);
    counter.emitEvent('reached', count);
    return count;
  });
  await counter.expose();
  const { url } = await servient.start();
  const td = (await (await fetch(`${url}things/counter`)).json()) as ThingDescription;

  const wot = new WotServient();
  wot.addClientFactory(new HttpClientFactory());
  const WoT = await wot.start();
  t.teardown(() => wot.shutdown());
  const consumed = await WoT.consume(td as never);
  t.equal(await ((await consumed.readProperty('count')) as WotOutput).value(), 0);
  await consumed.writeProperty('label', 'hall');
  t.equal(await counter.readProperty('label'), 'hall', 'the write was accepted (and recorded) by Flowchain');
  t.equal(await ((await consumed.readProperty('label')) as WotOutput).value(), 'hall');
  const changes: unknown[] = [];
  const events: unknown[] = [];
  const observation = await consumed.observeProperty('count', async (output: WotOutput) => void changes.push(await output.value()));
  const subscription = await consumed.subscribeEvent('reached', async (output: WotOutput) => void events.push(await output.value()));
  for (let i = 0; i < 50 && (changes.length === 0 || events.length === 0); i++) {
    const output = (await consumed.invokeAction('increment', 2)) as WotOutput;
    t.equal(typeof (await output.value()), 'number');
    await until(() => true);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.ok(changes.includes(count) || changes.length > 0, `observed count: ${JSON.stringify(changes)}`);
  t.ok(events.length > 0, `received reached: ${JSON.stringify(events)}`);
  await observation.stop();
  await subscription.stop();
});

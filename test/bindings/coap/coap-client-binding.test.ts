/**
 * consume() over CoAP forms alone: the CoAP client binding against a real servient's CoAP
 * server (a free UDP port on loopback).
 */
import t from 'tap';
import type { InteractionOutput } from '../../../src/thing/interaction-output.js';
import { createServient } from '../../helpers/test-servient.js';

t.test('consume() reads, writes, invokes, observes and subscribes over CoAP forms only', async (t) => {
  const { servient } = await createServient(t, { coapPort: 0 });
  const address = await servient.start();
  const valueOf = async (output: InteractionOutput | undefined) => output?.value();

  const plug = await servient.consume(await servient.requestThingDescription(`${address.url}things/smart-plug`), { bindings: ['coap'] });
  t.teardown(() => plug.close());
  t.equal(await valueOf(await plug.readProperty('on')), false);
  const written = await plug.writeProperty('on', true);
  t.equal(written.status, 'stored', 'the write says what became of its transaction');
  t.equal(written.transactions.length, 1);
  const [receipt] = written.transactions;
  t.match(receipt!.txId, /^[0-9a-f]{64}$/);
  t.equal((await fetch(receipt!.receipt)).status, 200, 'its receipt answers over HTTP');
  t.equal(await valueOf(await plug.readProperty('on')), true);
  t.same(await valueOf(await plug.invokeAction('toggle')), { on: false }, 'an action\'s output');

  const values: unknown[] = [];
  const errors: unknown[] = [];
  const thing = servient.things.find((exposed) => exposed.slug === 'smart-plug')!;
  const watched = new Promise<void>((resolve) => thing.setPropertyObserveHandler('on', () => resolve()));
  const observation = await plug.observeProperty('on', async (output) => void values.push(await output.value()), (err) => errors.push(err));
  await watched;
  await thing.writeProperty('on', true);
  while (!values.includes(true)) await new Promise((resolve) => setImmediate(resolve));
  t.same(values, [true], 'a change, not the value at registration');
  const unwatched = new Promise<void>((resolve) => thing.setPropertyUnobserveHandler('on', () => resolve()));
  await observation.stop();
  await unwatched;
  t.pass('stop() deregisters (RFC 7641 §3.6): the Thing hears of it');

  const sensor = await servient.consume(await servient.requestThingDescription(`${address.url}things/environment-sensor`), { bindings: ['coap'] });
  t.teardown(() => sensor.close());
  const device = servient.things.find((exposed) => exposed.slug === 'environment-sensor')!;
  const subscribed = new Promise<void>((resolve) => device.setEventSubscribeHandler('overheat', () => resolve()));
  const events: unknown[] = [];
  const subscription = await sensor.subscribeEvent('overheat', async (output) => void events.push(await output.value()), (err) => errors.push(err));
  await subscribed;
  device.emitEvent('overheat', { temperature: 91, threshold: 80 });
  while (events.length === 0) await new Promise((resolve) => setImmediate(resolve));
  t.same(events, [{ temperature: 91, threshold: 80 }]);
  await subscription.stop();
  t.same(errors, []);

  await t.rejects(plug.writeProperty('power', 3), { code: 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY' }, 'a read-only property is refused before anything is sent');
});

t.test('the remote code comes back over CoAP, and a node requiring credentials offers no CoAP write', async (t) => {
  const { servient } = await createServient(t, { coapPort: 0, authToken: 'a-long-enough-token-for-the-plug' });
  const address = await servient.start();
  const td = await servient.requestThingDescription(`${address.url}things/thermostat`);
  const thermostat = await servient.consume(td, { bindings: ['coap'] });
  t.teardown(() => thermostat.close());
  await t.rejects(thermostat.writeProperty('targetTemperature', 21), { code: 'FLOWCHAIN_ERR_FORM_NOT_FOUND' }, 'no CoAP form takes the write');
  // A form written by hand to the same resource: the node refuses it.
  const forged = { ...td, properties: { ...td.properties, targetTemperature: { ...td.properties!.targetTemperature!, forms: [{ ...td.properties!.targetTemperature!.forms!.find((form) => form.href.startsWith('coap:'))!, op: ['writeproperty'], 'cov:method': 'PUT' }] } } };
  const forger = await servient.consume(forged, { bindings: ['coap'] });
  t.teardown(() => forger.close());
  await t.rejects(forger.writeProperty('targetTemperature', 21), { code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' }, '4.01 with the node\'s code');
  await t.rejects(thermostat.readProperty('nope'), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' });
});

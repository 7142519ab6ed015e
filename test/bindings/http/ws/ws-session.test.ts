import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import t from 'tap';
import { WebSocket as RawSocket } from 'ws';
import type { WsEvent, WsPropertyChange, WsServerMessage } from '../../../../src/bindings/http/ws/ws-protocol.js';
import { CLOSE_SLOW_CONSUMER } from '../../../../src/bindings/http/ws/ws-session.js';
import type { ErrorCode } from '../../../../src/errors.js';
import type { Servient } from '../../../../src/servient.js';
import { createServient, startPosition } from '../../../helpers/test-servient.js';
import {
  advanceUntilEvent,
  AUTH_TOKEN,
  body,
  customThings,
  expectError,
  expectResult,
  jsonRequest,
  openWs,
  stateOf,
  SubscriptionSpy,
  type WsClient,
} from '../fixtures.js';

const isChange = (name?: string) => (m: WsServerMessage): m is WsPropertyChange => m.type === 'propertyChange' && (name === undefined || m.name === name);
const isEvent = (m: WsServerMessage): m is WsEvent => m.type === 'event';

/** Takes the next property change named `name`. */
async function nextChange(client: WsClient, name?: string): Promise<WsPropertyChange> {
  return (await client.next(isChange(name))) as WsPropertyChange;
}

/** The TCP socket under a ws client, to stall it like a consumer that stopped reading. */
function tcpOf(client: WsClient): Socket {
  return (client.socket as unknown as { _socket: Socket })._socket;
}

t.test('property operations', async (t) => {
  t.test('readproperty answers the value with the request id, by slug or TD id', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const ws = await openWs(t, url);
    const reply = await ws.request({ id: 'r-1', op: 'readproperty', thingID: 'thermostat', name: 'targetTemperature' });
    t.same(reply, { type: 'result', id: 'r-1', value: 21 });
    const byId = await ws.request({ op: 'readproperty', thingID: servient.registry.get('thermostat').id, name: 'mode' });
    t.equal(expectResult(t, byId), 'heat');
  });

  t.test('writeproperty answers a result naming its stored transaction, and the value is written', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const ws = await openWs(t, url);
    const reply = await ws.request({ id: 7, op: 'writeproperty', thingID: 'thermostat', name: 'targetTemperature', value: 23.5 });
    t.match(reply, { type: 'result', id: 7, transactions: [{ key: /^[0-9a-f]{40}$/, property: 'targetTemperature', txId: /^[0-9a-f]{64}$/, status: 'stored' }] });
    t.notOk('value' in (reply as object), 'a write answers no value');
    t.equal(body(await servient.app.inject({ method: 'GET', url: '/things/thermostat/properties/targetTemperature' })), 23.5);
  });

  t.test('readallproperties answers every readable property', async (t) => {
    const { servient } = await createServient(t, { things: customThings(t) });
    const { url } = await servient.start();
    const ws = await openWs(t, url);
    t.match(expectResult(t, await ws.request({ op: 'readallproperties', thingID: 'thermostat' })), { targetTemperature: 21, mode: 'heat', currentTemperature: Number });
    const lamp = expectResult(t, await ws.request({ op: 'readallproperties', thingID: 'lamp' })) as Record<string, unknown>;
    t.notOk('secret' in lamp, 'writeOnly properties are left out');
  });

  t.test('readmultipleproperties answers the named properties', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const ws = await openWs(t, url);
    t.same(expectResult(t, await ws.request({ op: 'readmultipleproperties', thingID: 'thermostat', names: ['mode', 'targetTemperature'] })), {
      mode: 'heat',
      targetTemperature: 21,
    });
    expectError(t, await ws.request({ id: 3, op: 'readmultipleproperties', thingID: 'thermostat', names: ['mode', 'fanSpeed'] }), {
      id: 3,
      code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND',
      field: 'fanSpeed',
    });
  });

  t.test('writemultipleproperties writes all values', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const ws = await openWs(t, url);
    const written = (await ws.request({ id: 1, op: 'writemultipleproperties', thingID: 'thermostat', values: { targetTemperature: 19, mode: 'cool' } })) as unknown as { transactions: { property: string; status: string }[] };
    t.same(written.transactions.map((tx) => [tx.property, tx.status]), [['targetTemperature', 'stored'], ['mode', 'stored']], 'one transaction per written property');
    t.same(await servient.registry.get('thermostat').readMultipleProperties(['targetTemperature', 'mode']), { targetTemperature: 19, mode: 'cool' });
  });

  t.test('writemultipleproperties with one bad value fails with FLOWCHAIN_ERR_VALUE_INVALID and writes nothing', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const ws = await openWs(t, url);
    expectError(t, await ws.request({ id: 2, op: 'writemultipleproperties', thingID: 'thermostat', values: { targetTemperature: 19, mode: 'turbo' } }), {
      id: 2,
      code: 'FLOWCHAIN_ERR_VALUE_INVALID',
      field: 'mode',
    });
    t.same(await servient.registry.get('thermostat').readMultipleProperties(['targetTemperature', 'mode']), { targetTemperature: 21, mode: 'heat' });
  });
});

t.test('invokeaction', async (t) => {
  t.test('boost is asynchronous: the result is its invocation status, then actionStatus messages follow it to its end', async (t) => {
    const { servient, clock } = await createServient(t);
    const { url } = await servient.start();
    const ws = await openWs(t, url);
    const thingID = servient.registry.get('thermostat').id;
    const reply = await ws.request({ id: 'b', op: 'invokeaction', thingID: 'thermostat', name: 'boost', input: { minutes: 10, delta: 1 } });
    const started = expectResult(t, reply, 'b') as { id: string; status: string };
    t.match(started, { action: 'boost', status: 'pending', timeRequested: new Date(clock.now()).toISOString() });
    const isStatus = (wanted: string) => (m: WsServerMessage) => m.type === 'actionStatus' && m.status.status === wanted;
    t.match(await ws.next(isStatus('running')), { type: 'actionStatus', thingID, name: 'boost', status: { id: started.id } });
    t.match(expectResult(t, await ws.request({ op: 'queryaction', thingID: 'thermostat', name: 'boost', actionID: started.id })), { id: started.id, status: 'running' });
    clock.advance(600_000);
    t.match(await ws.next(isStatus('completed')), { status: { id: started.id, output: { targetTemperature: 22, until: new Date(clock.now()).toISOString() } } });
  });

  t.test('cancelaction ends a running boost; a second cancel fails with FLOWCHAIN_ERR_ACTION_FINISHED, an unknown id with FLOWCHAIN_ERR_ACTION_NOT_FOUND', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const ws = await openWs(t, url);
    const started = expectResult(t, await ws.request({ op: 'invokeaction', thingID: 'thermostat', name: 'boost', input: { minutes: 10 } })) as { id: string };
    await ws.next((m) => m.type === 'actionStatus' && m.status.status === 'running');
    const cancel = { op: 'cancelaction', thingID: 'thermostat', name: 'boost', actionID: started.id };
    t.equal(expectResult(t, await ws.request({ id: 'c', ...cancel }), 'c'), undefined);
    t.match(await ws.next((m) => m.type === 'actionStatus' && m.status.status === 'failed'), { status: { error: { code: 'FLOWCHAIN_ERR_ACTION_CANCELLED' } } });
    expectError(t, await ws.request({ id: 'd', ...cancel }), { id: 'd', code: 'FLOWCHAIN_ERR_ACTION_FINISHED', field: 'id' });
    expectError(t, await ws.request({ id: 'e', ...cancel, actionID: 'nope' }), { id: 'e', code: 'FLOWCHAIN_ERR_ACTION_NOT_FOUND', field: 'id' });
    expectError(t, await ws.request({ id: 'f', op: 'queryaction', thingID: 'thermostat', name: 'boost' }), { id: 'f', code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: '/actionID' });
  });

  t.test('toggle needs no input and answers the new state', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const ws = await openWs(t, url);
    t.same(expectResult(t, await ws.request({ op: 'invokeaction', thingID: 'smart-plug', name: 'toggle' })), { on: true });
    t.same(expectResult(t, await ws.request({ op: 'invokeaction', thingID: 'smart-plug', name: 'toggle', input: null })), { on: false });
  });

  t.test('boost with invalid input fails with FLOWCHAIN_ERR_VALUE_INVALID naming the member, and does nothing', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const ws = await openWs(t, url);
    expectError(t, await ws.request({ id: 4, op: 'invokeaction', thingID: 'thermostat', name: 'boost', input: { delta: 1 } }), {
      id: 4,
      code: 'FLOWCHAIN_ERR_VALUE_INVALID',
      field: 'boost/minutes',
    });
    expectError(t, await ws.request({ id: 5, op: 'invokeaction', thingID: 'thermostat', name: 'boost' }), { id: 5, code: 'FLOWCHAIN_ERR_VALUE_INVALID', field: 'boost' });
    t.equal(await servient.registry.get('thermostat').readProperty('targetTemperature'), 21);
  });
});

t.test('observeproperty and unobserveproperty', async (t) => {
  t.test('observeproperty answers the current value, then sends propertyChange for every reading', async (t) => {
    const { servient, clock } = await createServient(t);
    const { url } = await servient.start();
    const sensor = servient.registry.get('environment-sensor');
    const ws = await openWs(t, url);
    const position = startPosition(servient);
    t.same(await ws.request({ id: 1, op: 'observeproperty', thingID: 'environment-sensor', name: 'temperature' }), { type: 'result', id: 1, value: 24, position }, 'the current value, and the position it follows from');
    let previous = '';
    for (let i = 0; i < 3; i++) {
      clock.advance(1_000);
      const change = await nextChange(ws, 'temperature');
      t.match(change.notificationId, /^2026-01-01T00:00:0\d\.\d{6}Z$/, 'the notification id its SSE stream carries too');
      t.ok(change.notificationId > previous, 'ids rise');
      previous = change.notificationId;
      t.same(change, {
        type: 'propertyChange',
        thingID: sensor.id,
        name: 'temperature',
        value: await sensor.readProperty('temperature'),
        timestamp: new Date(clock.now()).toISOString(),
        notificationId: change.notificationId,
      });
    }
  });

  t.test('a write by anyone is notified to the observer', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const ws = await openWs(t, url);
    expectResult(t, await ws.request({ op: 'observeproperty', thingID: 'thermostat', name: 'mode' }));
    await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/mode', 'auto'));
    t.match(await nextChange(ws, 'mode'), { thingID: servient.registry.get('thermostat').id, value: 'auto' });
  });

  t.test('unobserveproperty stops the notifications and releases the subscription', async (t) => {
    const { servient, clock } = await createServient(t);
    const { url } = await servient.start();
    const spy = new SubscriptionSpy(servient.registry.get('environment-sensor'));
    const ws = await openWs(t, url);
    expectResult(t, await ws.request({ op: 'observeproperty', thingID: 'environment-sensor', name: 'temperature' }));
    clock.advance(1_000);
    await nextChange(ws, 'temperature');
    t.same(await ws.request({ id: 'u', op: 'unobserveproperty', thingID: 'environment-sensor', name: 'temperature' }), { type: 'result', id: 'u' });
    t.equal(spy.active, 0, 'the Thing has no observer left');
    clock.advance(5_000);
    // Replies come in order: anything sent during those readings would arrive before this one.
    expectResult(t, await ws.request({ op: 'readproperty', thingID: 'environment-sensor', name: 'temperature' }));
    t.same(ws.queued(isChange()), [], 'no propertyChange after unobserve');
  });

  t.test('observing twice on one socket sends each change once', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const ws = await openWs(t, url);
    expectResult(t, await ws.request({ op: 'observeproperty', thingID: 'thermostat', name: 'mode' }));
    expectResult(t, await ws.request({ op: 'observeproperty', thingID: 'thermostat', name: 'mode' }));
    await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/mode', 'off'));
    await nextChange(ws, 'mode');
    expectResult(t, await ws.request({ op: 'readproperty', thingID: 'thermostat', name: 'mode' }));
    t.same(ws.queued(isChange()), [], 'no duplicate');
  });

  t.test('unobserving what is not observed is harmless', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const ws = await openWs(t, url);
    t.same(await ws.request({ id: 9, op: 'unobserveproperty', thingID: 'thermostat', name: 'mode' }), { type: 'result', id: 9 });
  });

  t.test('sockets observing the same property share one subscription on the Thing and all get each change', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const spy = new SubscriptionSpy(servient.registry.get('thermostat'));
    const clients = await Promise.all([openWs(t, url), openWs(t, url), openWs(t, url)]);
    for (const ws of clients) expectResult(t, await ws.request({ op: 'observeproperty', thingID: 'thermostat', name: 'mode' }));
    t.equal(spy.active, 1, 'one subscription for three sockets');
    await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/mode', 'cool'));
    for (const ws of clients) t.match(await nextChange(ws, 'mode'), { value: 'cool' });
    await clients[0]?.close();
    await clients[1]?.close();
    t.equal(spy.active, 1, 'still followed by the third');
    await clients[2]?.close();
    await spy.when((s) => s.active === 0);
    t.pass('the last socket out released the subscription');
  });

  t.test('a socket that closes releases its subscriptions', async (t) => {
    const { servient } = await createServient(t, { things: customThings(t) });
    const { url } = await servient.start();
    const spy = new SubscriptionSpy(servient.registry.get('hot-sensor'));
    const ws = await openWs(t, url);
    expectResult(t, await ws.request({ op: 'observeproperty', thingID: 'hot-sensor', name: 'temperature' }));
    expectResult(t, await ws.request({ op: 'observeproperty', thingID: 'hot-sensor', name: 'humidity' }));
    expectResult(t, await ws.request({ op: 'subscribeevent', thingID: 'hot-sensor', name: 'overheat' }));
    t.equal(spy.active, 3);
    await ws.close();
    await spy.when((s) => s.active === 0);
    t.pass('all three released');
  });

  t.test('observeproperty on a property that is not observable fails with FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED', async (t) => {
    const { servient } = await createServient(t, { things: customThings(t) });
    const { url } = await servient.start();
    const ws = await openWs(t, url);
    expectError(t, await ws.request({ id: 1, op: 'observeproperty', thingID: 'lamp', name: 'level' }), {
      id: 1,
      code: 'FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED',
      field: 'level',
    });
  });

  t.test('observeproperty on a writeOnly property fails with FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY and never sends its values', async (t) => {
    const { servient } = await createServient(t, { things: customThings(t) });
    const { url } = await servient.start();
    const spy = new SubscriptionSpy(servient.registry.get('lamp'));
    const ws = await openWs(t, url);
    expectError(t, await ws.request({ id: 1, op: 'observeproperty', thingID: 'lamp', name: 'secret' }), {
      id: 1,
      code: 'FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY',
      field: 'secret',
    });
    t.equal(spy.active, 0, 'a refused observation leaves no subscription behind');
    await servient.app.inject(jsonRequest('PUT', '/things/lamp/properties/secret', 'hunter2'));
    expectResult(t, await ws.request({ op: 'readproperty', thingID: 'lamp', name: 'on' }));
    t.same(ws.queued(isChange('secret')), [], 'the written secret is not disclosed');
  });
});

t.test('subscribeevent and unsubscribeevent', async (t) => {
  t.test('subscribeevent answers a result, then sends an event message for every occurrence', async (t) => {
    const { servient, clock } = await createServient(t, { things: customThings(t) });
    const { url } = await servient.start();
    const sensor = servient.registry.get('hot-sensor');
    const ws = await openWs(t, url);
    t.match(await ws.request({ id: 's', op: 'subscribeevent', thingID: 'hot-sensor', name: 'overheat' }), { type: 'result', id: 's', position: /^2026-01-01T/ });
    const overheat = advanceUntilEvent(clock, sensor, 'overheat');
    const event = (await ws.next(isEvent)) as WsEvent;
    t.same(event, {
      type: 'event',
      thingID: sensor.id,
      name: 'overheat',
      data: overheat.data,
      timestamp: new Date(overheat.timestamp).toISOString(),
      notificationId: event.notificationId,
    });
  });

  t.test('unsubscribeevent releases the subscription and no more events are sent', async (t) => {
    const { servient, clock } = await createServient(t, { things: customThings(t) });
    const { url } = await servient.start();
    const sensor = servient.registry.get('hot-sensor');
    const spy = new SubscriptionSpy(sensor);
    const ws = await openWs(t, url);
    expectResult(t, await ws.request({ op: 'subscribeevent', thingID: 'hot-sensor', name: 'overheat' }));
    t.equal(spy.active, 1);
    t.same(await ws.request({ id: 'x', op: 'unsubscribeevent', thingID: 'hot-sensor', name: 'overheat' }), { type: 'result', id: 'x' });
    t.equal(spy.active, 0);
    advanceUntilEvent(clock, sensor, 'overheat');
    expectResult(t, await ws.request({ op: 'readproperty', thingID: 'hot-sensor', name: 'temperature' }));
    t.same(ws.queued(isEvent), [], 'the overheat after unsubscribing was not sent');
  });

  t.test('subscribeevent on an unknown event fails with FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND and subscribes nothing', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const spy = new SubscriptionSpy(servient.registry.get('environment-sensor'));
    const ws = await openWs(t, url);
    expectError(t, await ws.request({ id: 1, op: 'subscribeevent', thingID: 'environment-sensor', name: 'temperature' }), {
      id: 1,
      code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND',
      field: 'temperature',
    });
    t.equal(spy.active, 0);
  });
});

t.test('requests pipelined on one socket take effect in order: a read sent after a write sees the write', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  const ws = await openWs(t, url);
  ws.send({ id: 1, op: 'writeproperty', thingID: 'thermostat', name: 'mode', value: 'off' });
  ws.send({ id: 2, op: 'readproperty', thingID: 'thermostat', name: 'mode' });
  const first = await ws.next();
  const second = await ws.next();
  t.match([first, second], [
    { type: 'result', id: 1, transactions: [{ property: 'mode', status: 'stored' }] },
    { type: 'result', id: 2, value: 'off' },
  ]);
});

t.test('many Things over one socket', async (t) => {
  const { servient, clock } = await createServient(t);
  const { url } = await servient.start();
  const ws = await openWs(t, url);
  // Requests to three Things in flight at once; replies are matched by id.
  const [a, b, c] = await Promise.all([
    ws.request({ id: 'plug', op: 'invokeaction', thingID: 'smart-plug', name: 'toggle' }),
    ws.request({ id: 'mode', op: 'readproperty', thingID: 'thermostat', name: 'mode' }),
    ws.request({ id: 'all', op: 'readallproperties', thingID: 'environment-sensor' }),
  ]);
  t.same(a, { type: 'result', id: 'plug', value: { on: true } });
  t.same(b, { type: 'result', id: 'mode', value: 'heat' });
  t.same(c, { type: 'result', id: 'all', value: { temperature: 24, humidity: 45 } });

  const followed = [
    ['environment-sensor', 'temperature'],
    ['thermostat', 'currentTemperature'],
    ['smart-plug', 'power'],
  ] as const;
  for (const [thingID, name] of followed) expectResult(t, await ws.request({ op: 'observeproperty', thingID, name }));
  clock.advance(1_000);
  for (const [slug, name] of followed) {
    const thing = servient.registry.get(slug);
    const change = await nextChange(ws, name);
    t.equal(change.thingID, thing.id, `${slug}: notified with its TD id`);
    t.equal(change.value, await thing.readProperty(name), `${slug}: the new ${name}`);
  }
});

t.test('errors carry a code and the request id, and the socket stays usable', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  const ws = await openWs(t, url);
  const alive = async (): Promise<void> => {
    t.equal(expectResult(t, await ws.request({ op: 'readproperty', thingID: 'thermostat', name: 'targetTemperature' })), 21, 'still serving');
  };

  t.test('an unknown Thing fails with FLOWCHAIN_ERR_THING_NOT_FOUND', async (t) => {
    expectError(t, await ws.request({ id: 1, op: 'readproperty', thingID: 'toaster', name: 'mode' }), { id: 1, code: 'FLOWCHAIN_ERR_THING_NOT_FOUND', field: 'thing' });
    expectError(t, await ws.request({ id: 'w', op: 'readallproperties', thingID: 'urn:uuid:00000000-0000-5000-8000-000000000000' }), {
      id: 'w',
      code: 'FLOWCHAIN_ERR_THING_NOT_FOUND',
    });
    await alive();
  });

  t.test('an unknown affordance fails with FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND for every operation', async (t) => {
    const ops = ['readproperty', 'writeproperty', 'observeproperty', 'invokeaction', 'subscribeevent'];
    for (const [i, op] of ops.entries()) {
      expectError(t, await ws.request({ id: 100 + i, op, thingID: 'thermostat', name: 'fanSpeed', value: 1 }), {
        id: 100 + i,
        code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND',
        field: 'fanSpeed',
      });
    }
    await alive();
  });

  t.test('an invalid value fails with FLOWCHAIN_ERR_VALUE_INVALID naming the property, and writes nothing', async (t) => {
    for (const [id, value] of [[11, 4], [12, 21.3], [13, 'warm'], [14, null], [15, undefined]] as const) {
      expectError(t, await ws.request({ id, op: 'writeproperty', thingID: 'thermostat', name: 'targetTemperature', value }), {
        id,
        code: 'FLOWCHAIN_ERR_VALUE_INVALID',
        field: 'targetTemperature',
      });
    }
    expectError(t, await ws.request({ id: 16, op: 'writeproperty', thingID: 'thermostat', name: 'mode', value: 'turbo' }), {
      id: 16,
      code: 'FLOWCHAIN_ERR_VALUE_INVALID',
      field: 'mode',
    });
    await alive();
  });

  t.test('writing a readOnly property fails with FLOWCHAIN_ERR_PROPERTY_READ_ONLY', async (t) => {
    expectError(t, await ws.request({ id: 20, op: 'writeproperty', thingID: 'thermostat', name: 'currentTemperature', value: 20 }), {
      id: 20,
      code: 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY',
      field: 'currentTemperature',
    });
  });

  t.test('an unknown op fails with FLOWCHAIN_ERR_OPERATION_UNKNOWN and keeps the id', async (t) => {
    expectError(t, await ws.request({ id: 30, op: 'explode', thingID: 'thermostat' }), { id: 30, code: 'FLOWCHAIN_ERR_OPERATION_UNKNOWN', field: '/op' });
    expectError(t, await ws.request({ id: 'p', op: '__proto__', thingID: 'thermostat', name: 'x' }), { id: 'p', code: 'FLOWCHAIN_ERR_OPERATION_UNKNOWN' });
    await alive();
  });

  t.test('malformed JSON fails with FLOWCHAIN_ERR_REQUEST_MALFORMED and id null', async (t) => {
    ws.send('{"id": 40, "op": "readproperty",');
    expectError(t, await ws.next((m) => m.type === 'error' && m.id === null), { id: null, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: '/' });
    ws.send('[1, 2, 3]');
    expectError(t, await ws.next((m) => m.type === 'error' && m.id === null), { id: null, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: '/' });
    await alive();
  });

  t.test('a binary frame fails with FLOWCHAIN_ERR_REQUEST_MALFORMED', async (t) => {
    ws.send(Buffer.from(JSON.stringify({ id: 50, op: 'readproperty', thingID: 'thermostat', name: 'mode' })), true);
    const reply = await ws.next((m) => m.type === 'error');
    if (reply.type === 'error') t.equal(reply.error.code, 'FLOWCHAIN_ERR_REQUEST_MALFORMED');
    else t.fail('a binary frame was executed');
    await alive();
  });

  t.test('missing members fail with FLOWCHAIN_ERR_REQUEST_MALFORMED naming them, with the id when there is one', async (t) => {
    ws.send({ op: 'readproperty', thingID: 'thermostat', name: 'mode' });
    expectError(t, await ws.next((m) => m.type === 'error' && m.id === null), { id: null, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: '/id' });
    const cases: [Record<string, unknown>, string][] = [
      [{ id: 61, thingID: 'thermostat', name: 'mode' }, '/op'],
      [{ id: 62, op: 'readproperty', name: 'mode' }, '/thingID'],
      [{ id: 63, op: 'readproperty', thingID: 'thermostat' }, '/name'],
      [{ id: 64, op: 'invokeaction', thingID: 'smart-plug' }, '/name'],
      [{ id: 65, op: 'readmultipleproperties', thingID: 'thermostat' }, '/names'],
      [{ id: 66, op: 'writemultipleproperties', thingID: 'thermostat', values: [21] }, '/values'],
    ];
    for (const [message, field] of cases) {
      expectError(t, await ws.request(message), { id: message.id as number, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field });
    }
    await alive();
  });

  t.test('no error left the Thing changed', async (t) => {
    t.same(await servient.registry.get('thermostat').readMultipleProperties(['targetTemperature', 'mode']), { targetTemperature: 21, mode: 'heat' });
  });
});

t.test('a frame larger than bodyLimit closes that socket with 1009 and the node keeps serving the others', async (t) => {
  const { servient } = await createServient(t, { things: customThings(t), bodyLimit: 4096 });
  const { url } = await servient.start();
  const spy = new SubscriptionSpy(servient.registry.get('lamp'));
  const big = await openWs(t, url);
  const other = await openWs(t, url);
  expectResult(t, await big.request({ op: 'observeproperty', thingID: 'lamp', name: 'on' }));
  big.send({ id: 1, op: 'writeproperty', thingID: 'lamp', name: 'label', value: 'x'.repeat(8192) });
  const closed = await big.closed;
  t.equal(closed.code, 1009, 'message too big');
  t.equal(await servient.registry.get('lamp').readProperty('label'), null, 'the oversized write was not applied');
  await spy.when((s) => s.active === 0);
  t.equal(expectResult(t, await other.request({ op: 'readproperty', thingID: 'lamp', name: 'on' })), false, 'another socket is still served');
  t.match(await other.request({ id: 2, op: 'writeproperty', thingID: 'lamp', name: 'label', value: 'x'.repeat(1000) }), { type: 'result', id: 2, transactions: [{ status: 'stored' }] }, 'a value near the body limit still fits a transaction');
  const late = await openWs(t, url);
  t.equal(expectResult(t, await late.request({ op: 'readproperty', thingID: 'lamp', name: 'label' })), 'x'.repeat(1000), 'and new sockets are accepted');
});

t.test('a consumer that stops reading is closed with 4008 FLOWCHAIN_ERR_WS_SLOW_CONSUMER while a healthy one keeps receiving', async (t) => {
  const { servient } = await createServient(t, { things: customThings(t), wsBufferLimit: 16_384, bodyLimit: 1024 * 1024 });
  const { url } = await servient.start();
  const spy = new SubscriptionSpy(servient.registry.get('lamp'));
  const slow = await openWs(t, url);
  const healthy = await openWs(t, url);
  for (const ws of [slow, healthy]) expectResult(t, await ws.request({ op: 'observeproperty', thingID: 'lamp', name: 'label' }));
  // The stalled socket alone also follows `on`: that subscription ends when the node drops it.
  expectResult(t, await slow.request({ op: 'observeproperty', thingID: 'lamp', name: 'on' }));
  t.equal(spy.active, 2);

  tcpOf(slow).pause();
  const big = 'y'.repeat(60_000);
  // Each write is one ~60 kB notification to both sockets; the healthy one reads it before the
  // next write, the stalled one's data piles up in the kernel and then in the send buffer.
  // Writes until the node drops the stalled socket, and no more than it takes to exceed the
  // largest socket buffers the kernel could give the stalled pair (tcp_rmem + tcp_wmem maxima)
  // plus the 16 kB limit: by then it must have been dropped. (Writing on after the drop would
  // leave the node's close frame waiting behind the backlog for longer than the close
  // handshake's 30 s on a loaded machine.)
  const kernelMax = (file: string) => Number(readFileSync(`/proc/sys/net/ipv4/${file}`, 'utf8').trim().split(/\s+/)[2]);
  const total = Math.ceil((kernelMax('tcp_rmem') + kernelMax('tcp_wmem') + 16_384) / big.length) + 1;
  for (let writes = 1; writes <= total && spy.active === 2; writes++) {
    const value = `${writes}:${big}`;
    t.equal((await servient.app.inject(jsonRequest('PUT', '/things/lamp/properties/label', value))).statusCode, 204);
    const change = await nextChange(healthy, 'label');
    if (change.value !== value) t.fail(`healthy consumer got a stale value after write ${writes}`);
  }
  t.equal(spy.active, 1, 'the stalled consumer was dropped; the healthy one still follows the property');

  tcpOf(slow).resume();
  const closed = await slow.closed;
  t.equal(closed.code, CLOSE_SLOW_CONSUMER);
  t.equal(closed.code, 4008);
  t.equal(closed.reason, 'FLOWCHAIN_ERR_WS_SLOW_CONSUMER');

  await servient.app.inject(jsonRequest('PUT', '/things/lamp/properties/label', 'after'));
  t.match(await nextChange(healthy, 'label'), { value: 'after' }, 'the healthy consumer keeps receiving');
  t.equal(expectResult(t, await healthy.request({ op: 'readproperty', thingID: 'lamp', name: 'label' })), 'after');
});

t.test('with a token configured', async (t) => {
  t.test('a session without credentials reads and observes, but writes and actions fail with FLOWCHAIN_ERR_AUTH_REQUIRED', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const { url } = await servient.start();
    const ws = await openWs(t, url);
    t.equal(expectResult(t, await ws.request({ op: 'readproperty', thingID: 'thermostat', name: 'mode' })), 'heat');
    t.ok(expectResult(t, await ws.request({ op: 'readallproperties', thingID: 'thermostat' })));
    t.ok(expectResult(t, await ws.request({ op: 'readmultipleproperties', thingID: 'thermostat', names: ['mode'] })));
    expectResult(t, await ws.request({ op: 'observeproperty', thingID: 'thermostat', name: 'mode' }));
    expectError(t, await ws.request({ id: 1, op: 'writeproperty', thingID: 'thermostat', name: 'mode', value: 'off' }), { id: 1, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
    expectError(t, await ws.request({ id: 2, op: 'writemultipleproperties', thingID: 'thermostat', values: { mode: 'off' } }), {
      id: 2,
      code: 'FLOWCHAIN_ERR_AUTH_REQUIRED',
    });
    expectError(t, await ws.request({ id: 3, op: 'invokeaction', thingID: 'smart-plug', name: 'toggle' }), { id: 3, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
    t.equal(await servient.registry.get('thermostat').readProperty('mode'), 'heat');
    t.equal(await servient.registry.get('smart-plug').readProperty('on'), false);
    t.same(ws.queued(isChange()), [], 'nothing changed, so nothing was notified');
  });

  t.test('credentials are checked before the request: an unauthenticated write to an unknown Thing is AUTH_REQUIRED', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const { url } = await servient.start();
    const ws = await openWs(t, url);
    expectError(t, await ws.request({ id: 1, op: 'writeproperty', thingID: 'toaster', name: 'x', value: 1 }), { id: 1, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
  });

  for (const [how, options] of [
    ['a bearer header', { token: AUTH_TOKEN }],
    ['the access_token query parameter', { accessToken: AUTH_TOKEN }],
  ] as const) {
    t.test(`a session opened with the token in ${how} may write and invoke`, async (t) => {
      const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
      const { url } = await servient.start();
      const ws = await openWs(t, url, options);
      t.match(await ws.request({ id: 1, op: 'writeproperty', thingID: 'thermostat', name: 'mode', value: 'off' }), { type: 'result', id: 1, transactions: [{ status: 'stored' }] });
      t.match(await ws.request({ id: 2, op: 'writemultipleproperties', thingID: 'thermostat', values: { targetTemperature: 20 } }), { type: 'result', id: 2, transactions: [{ status: 'stored' }] });
      t.same(expectResult(t, await ws.request({ op: 'invokeaction', thingID: 'smart-plug', name: 'toggle' })), { on: true });
      t.same(await servient.registry.get('thermostat').readMultipleProperties(['mode', 'targetTemperature']), { mode: 'off', targetTemperature: 20 });
    });
  }
});

t.test('a client that floods requests faster than they are served is closed with 1008 FLOWCHAIN_ERR_WS_TOO_MANY_REQUESTS', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  const socket = new RawSocket(new URL('ws', url).href.replace('http', 'ws'), 'flowchain.v1');
  await new Promise((resolve) => socket.once('open', resolve));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const frames = Array.from({ length: 2_000 }, (_, i) => JSON.stringify({ id: i, op: 'writeproperty', thingID: 'thermostat', name: 'targetTemperature', value: 20 + (i % 2) }));
  for (const frame of frames) socket.send(frame);
  t.same(await closed, { code: 1008, reason: 'FLOWCHAIN_ERR_WS_TOO_MANY_REQUESTS' });
  t.equal((await servient.app.inject('/health')).statusCode, 200, 'the node keeps serving');
});

/** Listens without starting the ring or the broker, so nothing leaves the outbox behind the test's back. */
async function listening(servient: Servient): Promise<string> {
  await servient.app.listen({ port: 0, host: '127.0.0.1' });
  const address = servient.app.server.address() as AddressInfo;
  return `http://127.0.0.1:${address.port}/`;
}

t.test('a rejected write or action over the WebSocket changes no value, history or outbox', async (t) => {
  const { servient } = await createServient(t);
  const ws = await openWs(t, await listening(servient));
  const before = await stateOf(servient);
  const rejections: [Record<string, unknown>, ErrorCode][] = [
    [{ op: 'writeproperty', thingID: 'thermostat', name: 'targetTemperature', value: 21.7 }, 'FLOWCHAIN_ERR_VALUE_INVALID'],
    [{ op: 'writeproperty', thingID: 'thermostat', name: 'targetTemperature' }, 'FLOWCHAIN_ERR_VALUE_INVALID'],
    [{ op: 'writeproperty', thingID: 'thermostat', name: 'currentTemperature', value: 20 }, 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY'],
    [{ op: 'writeproperty', thingID: 'toaster', name: 'mode', value: 'cool' }, 'FLOWCHAIN_ERR_THING_NOT_FOUND'],
    [{ op: 'writemultipleproperties', thingID: 'thermostat', values: { mode: 'cool', targetTemperature: 99 } }, 'FLOWCHAIN_ERR_VALUE_INVALID'],
    [{ op: 'writemultipleproperties', thingID: 'thermostat', values: { mode: 'cool', currentTemperature: 1 } }, 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY'],
    [{ op: 'writemultipleproperties', thingID: 'thermostat', values: [['mode', 'cool']] }, 'FLOWCHAIN_ERR_REQUEST_MALFORMED'],
    [{ op: 'invokeaction', thingID: 'thermostat', name: 'boost', input: { minutes: 0 } }, 'FLOWCHAIN_ERR_VALUE_INVALID'],
    [{ op: 'invokeaction', thingID: 'smart-plug', name: 'nope' }, 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND'],
    [{ op: 'writeProperty', thingID: 'thermostat', name: 'mode', value: 'cool' }, 'FLOWCHAIN_ERR_OPERATION_UNKNOWN'],
  ];
  let id = 0;
  for (const [message, code] of rejections) {
    const reply = await ws.request({ ...message, id: ++id });
    expectError(t, reply, { id, code });
    t.same(await stateOf(servient), before, `${JSON.stringify(message)}: nothing changed`);
  }
  ws.send('{"id": 99, "op": "writeproperty", "thingID": "thermostat", "name": "mode", "value": "cool"', false);
  expectError(t, await ws.next((m) => m.type === 'error' && m.id === null), { id: null, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' });
  ws.send(Buffer.from(JSON.stringify({ id: 100, op: 'writeproperty', thingID: 'thermostat', name: 'mode', value: 'cool' })), true);
  // A binary frame is not read at all, so its error cannot name the request id.
  expectError(t, await ws.next((m) => m.type === 'error' && m.id === null), { id: null, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' });
  t.same(await stateOf(servient), before, 'a truncated or binary frame changed nothing');
  t.match(await ws.request({ op: 'writeproperty', thingID: 'thermostat', name: 'mode', value: 'cool' }), { type: 'result' });
  t.notSame(await stateOf(servient), before, 'an accepted write does change them');
  await ws.close();
});

t.test('writes and actions of a session without credentials change no value, history or outbox', async (t) => {
  const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
  const ws = await openWs(t, await listening(servient));
  const before = await stateOf(servient);
  expectError(t, await ws.request({ id: 1, op: 'writeproperty', thingID: 'thermostat', name: 'mode', value: 'off' }), { id: 1, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
  expectError(t, await ws.request({ id: 2, op: 'writemultipleproperties', thingID: 'thermostat', values: { mode: 'off' } }), { id: 2, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
  expectError(t, await ws.request({ id: 3, op: 'invokeaction', thingID: 'smart-plug', name: 'toggle' }), { id: 3, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
  t.same(await stateOf(servient), before);
  await ws.close();
});

t.test('resuming with since', async (t) => {
  t.test('an observation or subscription made again with since replays what the client missed, then follows live', async (t) => {
    const { servient, clock } = await createServient(t, { things: customThings(t) });
    const { url } = await servient.start();
    const first = await openWs(t, url);
    expectResult(t, await first.request({ op: 'observeproperty', thingID: 'thermostat', name: 'mode' }));
    const subscribed = await first.request({ op: 'subscribeevent', thingID: 'hot-sensor', name: 'overheat' });
    await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/mode', 'cool'));
    const seen = await nextChange(first, 'mode');
    await first.close();
    for (const mode of ['off', 'auto']) await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/mode', mode));
    const overheat = advanceUntilEvent(clock, servient.registry.get('hot-sensor'), 'overheat');

    const again = await openWs(t, url);
    const reply = await again.request({ op: 'observeproperty', thingID: 'thermostat', name: 'mode', since: seen.notificationId });
    t.same(again.received.map((m) => (m.type === 'propertyChange' ? m.value : m.type)), ['off', 'auto', 'result'], 'the missed changes, before the reply');
    t.same([(await nextChange(again, 'mode')).value, (await nextChange(again, 'mode')).value], ['off', 'auto']);
    t.equal(expectResult(t, reply), 'auto', 'the reply carries the current value as always');
    await again.request({ op: 'subscribeevent', thingID: 'hot-sensor', name: 'overheat', since: (subscribed as { position: string }).position });
    const events = again.received.filter(isEvent);
    t.equal(events.length, 1, 'the event raised while the client was away');
    t.same(events[0]!.data, overheat.data);
    await again.next(isEvent);
    await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/mode', 'heat'));
    t.equal((await nextChange(again, 'mode')).value, 'heat', 'then live');
  });

  t.test('a since that is not an id the node issued (another shape, a number, the future) is ignored: the observation starts live', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/mode', 'cool'));
    const ws = await openWs(t, url);
    for (const since of ['2099-01-01T00:00:00.000000Z', 'yesterday', 42, null, { at: 1 }]) {
      const reply = await ws.request({ op: 'observeproperty', thingID: 'thermostat', name: 'mode', since });
      t.equal(expectResult(t, reply), 'cool', JSON.stringify(since));
      expectResult(t, await ws.request({ op: 'unobserveproperty', thingID: 'thermostat', name: 'mode' }));
    }
    t.same(ws.received.filter(isChange()), [], 'nothing replayed');
  });
});

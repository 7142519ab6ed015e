/**
 * consume() against a broker that speaks only MQTT 3.1.1 (aedes 1, which refuses MQTT 5
 * connections as such brokers do): the client falls back to 3.1.1, so reads and observations
 * work; a write, which needs an MQTT 5 response topic for its answer, is not sent at all and
 * rejects with FLOWCHAIN_ERR_REMOTE_UNREACHABLE, so a consumer may follow another form.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes-311';
import { connectAsync } from 'mqtt';
import t from 'tap';
import { consumeThing, mqttClient, type ThingDescription } from '../../../../src/index.js';

t.test('a 3.1.1-only broker: reads over 3.1.1, and a write is not sent', async (t) => {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => broker.close(() => server.close(() => resolve()))));
  const origin = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;

  const device = await connectAsync(origin, { protocolVersion: 4 });
  t.teardown(() => device.endAsync());
  await device.publishAsync('dev/level', '7', { retain: true, qos: 1 });
  const requests: string[] = [];
  await device.subscribeAsync('dev/level/set', { qos: 1 });
  device.on('message', (topic) => void requests.push(topic));
  await t.rejects(connectAsync(origin, { protocolVersion: 5, reconnectPeriod: 0 }), 'the broker refuses MQTT 5');

  const td: ThingDescription = {
    '@context': 'https://www.w3.org/2022/wot/td/v1.1',
    title: 'Device',
    securityDefinitions: { nosec_sc: { scheme: 'nosec' } },
    security: 'nosec_sc',
    properties: {
      level: {
        type: 'integer',
        observable: true,
        forms: [
          { href: `${origin}/dev/level`, op: ['readproperty', 'observeproperty'], 'mqv:filter': 'dev/level', 'mqv:retain': true },
          { href: `${origin}/dev/level/set`, op: 'writeproperty', 'mqv:topic': 'dev/level/set' },
        ],
      },
    },
  } as ThingDescription;
  const thing = await consumeThing(td, { clientBindings: [mqttClient], timeoutMs: 2_000 });
  t.teardown(() => thing.close());
  t.equal(await (await thing.readProperty('level')).value(), 7, 'the retained value, read over 3.1.1');
  await t.rejects(thing.writeProperty('level', 8), { code: 'FLOWCHAIN_ERR_REMOTE_UNREACHABLE' });
  // The device round trip below is ordered after anything the consumer's client had published.
  await device.publishAsync('dev/ping', '', { qos: 1 });
  t.same(requests, [], 'nothing was published');
});

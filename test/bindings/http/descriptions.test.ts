import t from 'tap';
import type { Form, ThingDescription } from '../../../src/td/thing-description.js';
import { alertsActionInput } from '../../helpers/alerts-script.js';
import { createServient } from '../../helpers/test-servient.js';
import { allForms, assertProblem, body, customThings, jsonRequest, opsOf } from './fixtures.js';

const get = (host?: string) => ({ method: 'GET' as const, url: '/things', ...(host === undefined ? {} : { headers: { host } }) });
const wsForms = (td: ThingDescription): Form[] => allForms(td).filter((f) => f.subprotocol === 'flowchain.v1');

t.test("a TD's base follows the Host the client used", async (t) => {
  const { servient } = await createServient(t);
  for (const [host, base, ws] of [
    ['example.org:9000', 'http://example.org:9000/', 'ws://example.org:9000/ws'],
    ['192.168.1.20:8080', 'http://192.168.1.20:8080/', 'ws://192.168.1.20:8080/ws'],
    ['[::1]:8080', 'http://[::1]:8080/', 'ws://[::1]:8080/ws'],
    ['flowchain.local', 'http://flowchain.local/', 'ws://flowchain.local/ws'],
  ]) {
    const tds = body<ThingDescription[]>(await servient.app.inject(get(host)));
    for (const td of tds) {
      t.equal(td.base, base, `${host}: ${td.title} base`);
      t.ok(wsForms(td).length > 0 && wsForms(td).every((f) => f.href === ws), `${host}: ${td.title} WebSocket forms point at ${ws}`);
    }
    const node = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: '/.well-known/wot', headers: { host: host as string } }));
    t.equal(node.base, base, `${host}: node TD base`);
  }
});

t.test('a Host header that is not a host name is refused with 400 naming host, never written into a TD', async (t) => {
  const { servient } = await createServient(t);
  for (const host of ['evil.example/path', 'a b', 'host:port', 'x"onload="', 'example.org:123456', '127.0.0.1:99999']) {
    const res = await servient.app.inject({ method: 'GET', url: '/things/thermostat', headers: { host } });
    assertProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: 'host' });
    t.notMatch(res.body, /onload|evil/, JSON.stringify(host));
  }
});

t.test('a configured public URL overrides the Host header, and https gives wss WebSocket forms', async (t) => {
  const { servient } = await createServient(t, { publicUrl: 'https://flowchain.example/node/' });
  const tds = body<ThingDescription[]>(await servient.app.inject(get('example.org:9000')));
  for (const td of tds) {
    t.equal(td.base, 'https://flowchain.example/node/');
    t.ok(wsForms(td).every((f) => f.href === 'wss://flowchain.example/node/ws'), `${td.title}: wss forms`);
  }
});

t.test('TDs for many different hosts stay correct (the per-base cache is bounded, not stale)', async (t) => {
  const { servient } = await createServient(t);
  for (let i = 0; i < 40; i++) {
    const td = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: '/things/smart-plug', headers: { host: `host-${i}.example` } }));
    t.equal(td.base, `http://host-${i}.example/`);
  }
  const first = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: '/things/smart-plug', headers: { host: 'host-0.example' } }));
  t.equal(first.base, 'http://host-0.example/');
});

t.test('the served TD keeps the source members and adds id, base, security and forms, but not driver', async (t) => {
  const { servient } = await createServient(t);
  const td = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: '/things/thermostat' }));
  t.same(td['@context'], ['https://www.w3.org/2019/wot/td/v1', 'https://www.w3.org/2022/wot/td/v1.1', { flowchain: 'https://w3id.org/flowchain#', recorded: 'flowchain:recorded' }, { om: 'http://www.ontology-of-units-of-measure.org/resource/om-2/', saref: 'https://saref.etsi.org/core/' }]);
  t.equal(td.id, servient.registry.get('thermostat').id);
  t.equal(td.title, 'Thermostat');
  t.equal(td.security, 'nosec_sc');
  t.notOk('driver' in td);
  t.match(td.properties?.targetTemperature, { type: 'number', minimum: 5, maximum: 30, multipleOf: 0.5, unit: 'om:degreeCelsius' });
  t.match(td.actions?.boost, { input: { required: ['minutes'] }, safe: false, idempotent: false });
});

t.test('property forms follow each property: readOnly, writeOnly and not observable', async (t) => {
  const { servient } = await createServient(t, { things: customThings(t) });
  const lamp = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: '/things/lamp' }));
  const ops = (name: string, subprotocol?: string) =>
    (lamp.properties?.[name]?.forms ?? []).filter((f) => f.subprotocol === subprotocol).flatMap(opsOf).sort();

  t.same(ops('on'), ['readproperty', 'writeproperty'], 'on over HTTP');
  t.same(ops('on', 'flowchain.v1'), ['observeproperty', 'readproperty', 'unobserveproperty', 'writeproperty'], 'on over WebSocket');
  t.same(ops('on', 'longpoll'), ['observeproperty']);
  t.same(ops('on', 'sse'), ['observeproperty', 'unobserveproperty']);

  t.same(ops('power'), ['readproperty'], 'readOnly power cannot be written');
  t.same(ops('power', 'flowchain.v1'), ['observeproperty', 'readproperty', 'unobserveproperty']);

  t.same(ops('secret'), ['writeproperty'], 'writeOnly secret cannot be read');
  t.same(ops('secret', 'flowchain.v1'), ['writeproperty'], 'nor observed');
  t.same(ops('secret', 'longpoll'), []);
  t.same(ops('secret', 'sse'), []);

  t.same(ops('level', 'longpoll'), [], 'level is not observable');
  t.same(ops('level', 'sse'), []);
  t.same(ops('level', 'flowchain.v1'), ['readproperty', 'writeproperty']);

  const onForms = lamp.properties?.on?.forms ?? [];
  t.match(onForms.find((f) => f.subprotocol === 'longpoll'), { href: 'things/lamp/properties/on/longpoll', contentType: 'application/json' });
  t.match(onForms.find((f) => f.subprotocol === 'sse'), { href: 'things/lamp/properties/on/sse', contentType: 'application/json' }, 'SSE forms name the media type of the data (HTTP SSE Profile)');
});

t.test('event forms offer long-poll, SSE and WebSocket subscription', async (t) => {
  const { servient } = await createServient(t);
  const td = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: '/things/environment-sensor' }));
  const forms = td.events?.overheat?.forms ?? [];
  t.match(forms, [
    { href: 'things/environment-sensor/events/overheat/longpoll', op: ['subscribeevent'], subprotocol: 'longpoll' },
    { href: 'things/environment-sensor/events/overheat/sse', op: ['subscribeevent', 'unsubscribeevent'], subprotocol: 'sse', contentType: 'application/json' },
    { op: ['subscribeevent', 'unsubscribeevent'], subprotocol: 'flowchain.v1' },
  ]);
});

t.test('Thing-level forms: read all, read multiple by POST, and write multiple only when something is writable', async (t) => {
  const { servient } = await createServient(t);
  const thermostat = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: '/things/thermostat' }));
  const http = (thermostat.forms ?? []).filter((f) => f.subprotocol === undefined);
  t.match(http, [
    { href: 'things/thermostat/properties', op: ['readallproperties'] },
    { href: 'things/thermostat/properties', op: ['readmultipleproperties'], 'htv:methodName': 'POST' },
    { href: 'things/thermostat/properties', op: ['writemultipleproperties'] },
  ]);
  const sensor = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: '/things/environment-sensor' }));
  t.notOk((sensor.forms ?? []).some((f) => opsOf(f).includes('writemultipleproperties')), 'a Thing with only readOnly properties offers no write-multiple');
});

t.test('Thing-level SSE forms: observe all properties at the properties URL, subscribe to all events at events, only where there are some', async (t) => {
  const { servient } = await createServient(t);
  const sse = (td: ThingDescription) => (td.forms ?? []).filter((f) => f.subprotocol === 'sse');
  const sensor = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: '/things/environment-sensor' }));
  t.same(sse(sensor), [
    { href: 'things/environment-sensor/properties', op: ['observeallproperties', 'unobserveallproperties'], contentType: 'application/json', subprotocol: 'sse' },
    { href: 'things/environment-sensor/events', op: ['subscribeallevents', 'unsubscribeallevents'], contentType: 'application/json', subprotocol: 'sse' },
  ]);
  const thermostat = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: '/things/thermostat' }));
  t.same(sse(thermostat).flatMap(opsOf), ['observeallproperties', 'unobserveallproperties'], 'the thermostat has no events, so no subscribeallevents');
});

t.test('served Things name the HTTP Basic and HTTP SSE profiles, and each action says whether it is synchronous', async (t) => {
  const { servient } = await createServient(t);
  const synchronous: Record<string, boolean> = { toggle: true, boost: false, createRule: true, deleteRule: true, acknowledge: true, clear: true };
  for (const td of body<ThingDescription[]>(await servient.app.inject({ method: 'GET', url: '/things' }))) {
    t.same(td.profile, ['https://www.w3.org/2022/wot/profile/http-basic/v1', 'https://www.w3.org/2022/wot/profile/http-sse/v1'], td.title);
    for (const [name, action] of Object.entries(td.actions ?? {})) t.equal(action.synchronous, synchronous[name], `${td.title}.${name}`);
  }
  const node = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: '/.well-known/wot' }));
  t.equal(node.profile, undefined, 'the node TD follows neither (its listing is application/ld+json)');
});

t.test('every HTTP form of every TD leads to a route that performs its operation', async (t) => {
  const { servient } = await createServient(t, { things: customThings(t) });
  // Started: the alerts Thing's rules watch (and raise the alert its acknowledge and clear take) only on a running node.
  await servient.start();
  const tds = body<ThingDescription[]>(await servient.app.inject({ method: 'GET', url: '/things' }));
  let checked = 0;
  /** The invocation the last invokeaction of an asynchronous action started. */
  let invocation: string | undefined;
  for (const td of tds) {
    for (const form of allForms(td)) {
      const url = new URL(form.href, td.base);
      if (url.protocol !== 'http:' || form.subprotocol !== undefined) continue;
      const path = url.pathname;
      const slug = path.split('/')[2] as string;
      const thing = servient.registry.get(slug);
      for (const op of opsOf(form)) {
        const name = decodeURIComponent(path.split('/')[4] ?? '');
        let status: number;
        switch (op) {
          case 'readproperty': {
            const res = await servient.app.inject({ method: 'GET', url: path });
            status = res.statusCode;
            t.same(body(res), await thing.readProperty(name), `${path}: the value`);
            break;
          }
          case 'writeproperty': {
            // Properties the driver never sets start as null; write a valid value to those.
            const fresh: Record<string, unknown> = { secret: 'hunter2', label: 'kitchen', level: 50 };
            const value = name in fresh ? fresh[name] : await thing.readProperty(name);
            status = (await servient.app.inject(jsonRequest('PUT', path, value))).statusCode;
            t.equal(status, 204, `${path}: write`);
            continue;
          }
          case 'readallproperties':
            status = (await servient.app.inject({ method: 'GET', url: path })).statusCode;
            break;
          case 'readmultipleproperties':
            t.equal(form['htv:methodName'], 'POST');
            status = (await servient.app.inject(jsonRequest('POST', path, []))).statusCode;
            break;
          case 'writemultipleproperties':
            status = (await servient.app.inject(jsonRequest('PUT', path, {}))).statusCode;
            t.equal(status, 204, `${path}: write multiple`);
            continue;
          case 'invokeaction': {
            const input = name === 'boost' ? { minutes: 1 } : slug === 'alerts' ? await alertsActionInput(thing, name) : undefined;
            const res = await servient.app.inject(input === undefined ? { method: 'POST', url: path } : jsonRequest('POST', path, input));
            // An asynchronous action answers 201 and the URL its queryaction and cancelaction take.
            const asynchronous = td.actions?.[name]?.synchronous === false;
            t.equal(res.statusCode, asynchronous ? 201 : 200, `${op} at ${path}`);
            if (asynchronous) invocation = new URL(res.headers.location as string).pathname;
            checked++;
            continue;
          }
          case 'queryaction':
            status = (await servient.app.inject({ method: 'GET', url: invocation! })).statusCode;
            break;
          case 'cancelaction':
            status = (await servient.app.inject({ method: 'DELETE', url: invocation! })).statusCode;
            t.equal(status, 204, `${op} at ${invocation}`);
            checked++;
            continue;
          case 'queryallactions':
            status = (await servient.app.inject({ method: 'GET', url: path })).statusCode;
            break;
          default:
            continue;
        }
        t.equal(status, 200, `${op} at ${path}`);
        checked++;
      }
    }
  }
  t.ok(checked >= 15, `${checked} forms followed`);
});

// CORS (WHATWG Fetch §3.2) for browser consumers on other origins: off unless configured,
// only the allowed origins, preflights for writes, and writes still need the token.
import t from 'tap';
import { createServient } from '../../helpers/test-servient.js';
import { Cors } from '../../../src/bindings/http/cors.js';
import { assertProblem, AUTH_TOKEN, openSse } from './fixtures.js';

const PLAYGROUND = 'https://playground.example';

t.test('without corsOrigins a cross-origin request gets no Access-Control-Allow-Origin', async (t) => {
  const { servient } = await createServient(t);
  const res = await servient.app.inject({ method: 'GET', url: '/things', headers: { origin: PLAYGROUND } });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['access-control-allow-origin'], undefined);
});

t.test('an allowed origin reads TDs (and errors) with Access-Control-Allow-Origin; another origin does not', async (t) => {
  const { servient } = await createServient(t, { corsOrigins: [PLAYGROUND] });
  const res = await servient.app.inject({ method: 'GET', url: '/things/thermostat', headers: { origin: PLAYGROUND } });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['access-control-allow-origin'], PLAYGROUND);
  t.match(res.headers.vary, /origin/i, 'caches keep answers to different origins apart');
  const missing = await servient.app.inject({ method: 'GET', url: '/things/nope', headers: { origin: PLAYGROUND } });
  t.equal(missing.headers['access-control-allow-origin'], PLAYGROUND, 'the problem is readable too');
  const other = await servient.app.inject({ method: 'GET', url: '/things', headers: { origin: 'https://evil.example' } });
  t.equal(other.headers['access-control-allow-origin'], undefined);
});

t.test('a preflight for a directory write names the methods and headers; the write itself still needs the token', async (t) => {
  const { servient } = await createServient(t, { corsOrigins: [PLAYGROUND], authToken: AUTH_TOKEN });
  const preflight = await servient.app.inject({
    method: 'OPTIONS',
    url: '/things/urn%3Aexample%3Alamp',
    headers: { origin: PLAYGROUND, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization, content-type' },
  });
  t.equal(preflight.statusCode, 204);
  t.equal(preflight.headers['access-control-allow-origin'], PLAYGROUND);
  t.match(preflight.headers['access-control-allow-methods'], /PUT/);
  t.match(preflight.headers['access-control-allow-methods'], /PATCH/);
  t.match(preflight.headers['access-control-allow-headers'], /authorization/);
  const td = { '@context': 'https://www.w3.org/2022/wot/td/v1.1', title: 'Lamp', securityDefinitions: { nosec_sc: { scheme: 'nosec' } }, security: 'nosec_sc' };
  const write = (headers: Record<string, string>) => servient.app.inject({ method: 'PUT', url: '/things/urn%3Aexample%3Alamp', payload: JSON.stringify(td), headers: { origin: PLAYGROUND, 'content-type': 'application/td+json', ...headers } });
  const refused = await write({});
  assertProblem(t, refused, { status: 401, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
  t.equal(refused.headers['access-control-allow-origin'], PLAYGROUND);
  const accepted = await write({ authorization: `Bearer ${AUTH_TOKEN}` });
  t.equal(accepted.statusCode, 201);
  t.match(accepted.headers['access-control-expose-headers'], /location/, 'the browser may read the Location');
  assertProblem(t, await servient.app.inject({ method: 'PUT', url: '/things/thermostat/properties/targetTemperature', payload: '22', headers: { origin: PLAYGROUND, 'content-type': 'application/json' } }), { status: 401, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
});

t.test('* allows any origin; SSE streams carry the CORS headers too', async (t) => {
  const { servient } = await createServient(t, { corsOrigins: ['*'] });
  const res = await servient.app.inject({ method: 'GET', url: '/.well-known/wot', headers: { origin: 'https://anywhere.example' } });
  t.equal(res.headers['access-control-allow-origin'], '*');
  const { url } = await servient.start();
  const sse = await openSse(t, `${url}events`, { origin: 'https://anywhere.example' });
  t.equal(sse.status, 200);
  t.equal(sse.headers['access-control-allow-origin'], '*', 'a hijacked stream keeps the header');
  sse.close();
});

// The policy itself, with a reply that records headers: the ring's member origins are looked
// up only for an Origin that is not configured, and a failed lookup allows nothing.
t.test('Cors: configured origins at once, ring members after a lookup, nothing when the lookup fails', async (t) => {
  const MEMBER = 'http://10.0.0.2:8080';
  let lookups = 0;
  let members: Promise<ReadonlySet<string>> = Promise.resolve(new Set([MEMBER]));
  const policy = new Cors({
    configured: [PLAYGROUND],
    more: () => {
      lookups++;
      return members;
    },
  });
  const call = async (headers: Record<string, string>, method = 'GET', cors = policy) => {
    const set: Record<string, string> = {};
    const reply = { header: (name: string, value: string) => ((set[name] = value), reply) };
    await cors.decorate({ method, headers } as never, reply as never);
    return set;
  };
  t.same(await call({}), { vary: 'origin' }, 'no Origin: only Vary');
  t.equal(lookups, 0, 'and no lookup');
  const configured = await call({ origin: PLAYGROUND });
  t.equal(configured['access-control-allow-origin'], PLAYGROUND);
  t.match(configured['access-control-expose-headers'], /flowchain-tx-id/);
  t.equal(lookups, 0, 'a configured origin needs no lookup');
  t.equal((await call({ origin: MEMBER }))['access-control-allow-origin'], MEMBER, "a ring member's origin is allowed");
  t.equal((await call({ origin: 'https://evil.example' }))['access-control-allow-origin'], undefined);
  const preflight = await call({ origin: MEMBER, 'access-control-request-method': 'PUT' }, 'OPTIONS');
  t.match(preflight['access-control-allow-methods'], /PUT/);
  t.match(preflight['access-control-allow-headers'], /authorization/);
  t.equal(preflight['access-control-max-age'], '600');
  members = Promise.reject(new Error('the ring is unreachable'));
  t.equal((await call({ origin: MEMBER }))['access-control-allow-origin'], undefined, 'a failed lookup allows nothing');
  const any = await call({ origin: 'https://anywhere.example' }, 'GET', new Cors({ configured: ['*'] }));
  t.same(Object.keys(any).sort(), ['access-control-allow-origin', 'access-control-expose-headers'], '* needs no Vary');
  t.equal(any['access-control-allow-origin'], '*');
});

t.test('an answer that depends on Accept as well varies by both', async (t) => {
  const { servient } = await createServient(t, { corsOrigins: [PLAYGROUND] });
  const res = await servient.app.inject({ method: 'GET', url: '/things/thermostat/properties', headers: { origin: PLAYGROUND } });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['access-control-allow-origin'], PLAYGROUND);
  t.same(String(res.headers.vary).split(/,\s*/).sort(), ['accept', 'origin']);
});

// CORS (WHATWG Fetch §3.2) for browser consumers on other origins: off unless configured,
// only the allowed origins, preflights for writes, and writes still need the token.
import t from 'tap';
import { createServient } from '../helpers/test-servient.js';
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

import fc from 'fast-check';
import t from 'tap';
import { isFlowchainError } from '../../../src/errors.js';
import { requestAuthority } from '../../../src/bindings/http/host.js';
import { createServient } from '../../helpers/test-servient.js';
import { assertProblem, body, jsonRequest, stateOf } from './fixtures.js';

const request = (host: string | undefined, rawHeaders?: string[]) => ({ headers: host === undefined ? {} : { host }, ...(rawHeaders ? { rawHeaders } : {}) });

t.test('a valid Host is normalised: lower case, the default port dropped, IPv6 kept bracketed', async (t) => {
  t.equal(requestAuthority(request('localhost'), 'http'), 'localhost');
  t.equal(requestAuthority(request('127.0.0.1:8080'), 'http'), '127.0.0.1:8080');
  t.equal(requestAuthority(request('Plant.Example:80'), 'http'), 'plant.example');
  t.equal(requestAuthority(request('[::1]:65535'), 'http'), '[::1]:65535');
  t.equal(requestAuthority(request('node_1:1'), 'http'), 'node_1:1', 'docker service names may hold underscores');
});

t.test('a missing, repeated, malformed or out-of-range Host fails with FLOWCHAIN_ERR_REQUEST_MALFORMED naming host', async (t) => {
  const cases: [string, ReturnType<typeof request>][] = [
    ['missing', request(undefined)],
    ['empty', request('')],
    ['port 0', request('127.0.0.1:0')],
    ['port 99999', request('127.0.0.1:99999')],
    ['port 65536', request('localhost:65536')],
    ['empty port', request('localhost:')],
    ['userinfo', request('user@localhost')],
    ['a path', request('localhost/x')],
    ['spaces', request('local host')],
    ['an IPv4 address out of range', request('999.1.1.1')],
    ['a broken IPv6 literal', request('[::1')],
    ['too long', request(`${'a'.repeat(300)}.example`)],
    ['repeated', request('a', ['Host', 'a', 'host', 'b'])],
  ];
  for (const [what, req] of cases) t.throws(() => requestAuthority(req, 'http'), { code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: 'host' }, what);
});

t.test('whatever the Host, requestAuthority either fails with the catalogue code or returns an authority a URL can hold', async (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (host) => {
      try {
        const authority = requestAuthority(request(host), 'http');
        return new URL(`http://${authority}/`).host === authority;
      } catch (err) {
        return isFlowchainError(err, 'FLOWCHAIN_ERR_REQUEST_MALFORMED') && err.field === 'host';
      }
    }),
    { seed: 20_260_101, numRuns: 2_000 },
  );
});

t.test('requests with a Host out of range get 400 naming host before any route runs', async (t) => {
  const { servient } = await createServient(t);
  const host = { host: '127.0.0.1:99999' };
  for (const url of ['/things', '/things/thermostat', '/.well-known/wot', '/things/thermostat/validation', '/health', '/nowhere']) {
    assertProblem(t, await servient.app.inject({ method: 'GET', url, headers: host }), { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: 'host', instance: url });
  }
});

t.test('a TD follows a valid Host, normalised', async (t) => {
  const { servient } = await createServient(t);
  const td = body<{ base: string }>(await servient.app.inject({ method: 'GET', url: '/things/thermostat', headers: { host: 'Plant.Example:8080' } }));
  t.equal(td.base, 'http://plant.example:8080/');
});

t.test('a PUT with a Host out of range is refused with 400 and changes no value, history or outbox', async (t) => {
  const { servient } = await createServient(t);
  const before = await stateOf(servient);
  const res = await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/targetTemperature', 25, { host: '127.0.0.1:99999' }));
  assertProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: 'host' });
  t.same(await stateOf(servient), before);
});

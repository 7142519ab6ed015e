import t from 'tap';
import { isFlowchainError } from '../../src/errors.js';
import { BearerAuth } from '../../src/http/auth.js';
import type { ThingDescription } from '../../src/td/thing-description.js';
import { createServient } from '../helpers/test-servient.js';
import { AUTH_TOKEN, allForms, assertProblem, body, jsonRequest, opsOf } from './fixtures.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const WRONG = 'a-wrong-token-of-some-length';

t.test('BearerAuth.check', async (t) => {
  const auth = new BearerAuth(AUTH_TOKEN);

  t.test('no Authorization header and no access_token is none', async (t) => {
    t.equal(auth.check(undefined), 'none');
    t.equal(auth.check(undefined, undefined), 'none');
  });

  t.test('the configured token is valid, whatever the case of the scheme', async (t) => {
    t.equal(auth.check(`Bearer ${AUTH_TOKEN}`), 'valid');
    t.equal(auth.check(`bearer ${AUTH_TOKEN}`), 'valid');
    t.equal(auth.check(`BEARER   ${AUTH_TOKEN}  `), 'valid');
  });

  t.test('any other token is invalid, including prefixes and extensions of the right one', async (t) => {
    t.equal(auth.check(`Bearer ${WRONG}`), 'invalid');
    t.equal(auth.check(`Bearer ${AUTH_TOKEN.slice(0, -1)}`), 'invalid');
    t.equal(auth.check(`Bearer ${AUTH_TOKEN}x`), 'invalid');
  });

  t.test('another scheme or a bare scheme presents no bearer token', async (t) => {
    t.equal(auth.check(`Basic ${Buffer.from('user:pass').toString('base64')}`), 'none');
    t.equal(auth.check('Bearer'), 'none');
    t.equal(auth.check('Bearer '), 'none');
    t.equal(auth.check(AUTH_TOKEN), 'none');
  });

  t.test('an access_token is used when there is no bearer header (RFC 6750 §2.3)', async (t) => {
    t.equal(auth.check(undefined, AUTH_TOKEN), 'valid');
    t.equal(auth.check(undefined, WRONG), 'invalid');
  });

  t.test('the header wins over the access_token', async (t) => {
    t.equal(auth.check(`Bearer ${WRONG}`, AUTH_TOKEN), 'invalid');
    t.equal(auth.check(`Bearer ${AUTH_TOKEN}`, WRONG), 'valid');
  });
});

t.test('BearerAuth.assert throws FLOWCHAIN_ERR_AUTH_REQUIRED for none and FLOWCHAIN_ERR_AUTH_INVALID for invalid', async (t) => {
  t.throws(() => BearerAuth.assert('none'), { code: 'FLOWCHAIN_ERR_AUTH_REQUIRED', status: 401 });
  t.throws(() => BearerAuth.assert('invalid'), { code: 'FLOWCHAIN_ERR_AUTH_INVALID', status: 401 });
  t.doesNotThrow(() => BearerAuth.assert('valid'));
});

t.test('with a token configured', async (t) => {
  t.test('PUT without a token fails with 401 FLOWCHAIN_ERR_AUTH_REQUIRED, WWW-Authenticate Bearer realm, and changes nothing', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const res = await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/targetTemperature', 25));
    assertProblem(t, res, { status: 401, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
    t.equal(res.headers['www-authenticate'], 'Bearer realm="flowchain"');
    t.equal(await servient.registry.get('thermostat').readProperty('targetTemperature'), 21);
  });

  t.test('PUT with a wrong token fails with 401 FLOWCHAIN_ERR_AUTH_INVALID and error="invalid_token", and changes nothing', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const res = await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/targetTemperature', 25, bearer(WRONG)));
    assertProblem(t, res, { status: 401, code: 'FLOWCHAIN_ERR_AUTH_INVALID' });
    t.equal(res.headers['www-authenticate'], 'Bearer realm="flowchain", error="invalid_token"');
    t.equal(await servient.registry.get('thermostat').readProperty('targetTemperature'), 21);
  });

  t.test('PUT with the right token is 204 and writes', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const res = await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/targetTemperature', 25, bearer(AUTH_TOKEN)));
    t.equal(res.statusCode, 204);
    t.equal(await servient.registry.get('thermostat').readProperty('targetTemperature'), 25);
  });

  t.test('writemultipleproperties needs the token too', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const values = { targetTemperature: 22, mode: 'cool' };
    const none = await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties', values));
    assertProblem(t, none, { status: 401, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
    const wrong = await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties', values, bearer(WRONG)));
    assertProblem(t, wrong, { status: 401, code: 'FLOWCHAIN_ERR_AUTH_INVALID' });
    t.same(await servient.registry.get('thermostat').readMultipleProperties(['targetTemperature', 'mode']), { targetTemperature: 21, mode: 'heat' });
    const ok = await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties', values, bearer(AUTH_TOKEN)));
    t.equal(ok.statusCode, 204);
    t.same(await servient.registry.get('thermostat').readMultipleProperties(['targetTemperature', 'mode']), values);
  });

  t.test('POST to an action without or with a wrong token is 401 and does not run it; with the token it runs', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const none = await servient.app.inject({ method: 'POST', url: '/things/smart-plug/actions/toggle' });
    assertProblem(t, none, { status: 401, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
    t.equal(none.headers['www-authenticate'], 'Bearer realm="flowchain"');
    const wrong = await servient.app.inject({ method: 'POST', url: '/things/smart-plug/actions/toggle', headers: bearer(WRONG) });
    assertProblem(t, wrong, { status: 401, code: 'FLOWCHAIN_ERR_AUTH_INVALID' });
    t.equal(await servient.registry.get('smart-plug').readProperty('on'), false, 'the plug was not toggled');
    const ok = await servient.app.inject({ method: 'POST', url: '/things/smart-plug/actions/toggle', headers: bearer(AUTH_TOKEN) });
    t.equal(ok.statusCode, 200);
    t.same(body(ok), { on: true });
  });

  t.test('credentials are checked before the body: an unauthenticated malformed write is 401, not 400', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const res = await servient.app.inject({
      method: 'PUT',
      url: '/things/thermostat/properties/targetTemperature',
      payload: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    assertProblem(t, res, { status: 401, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
  });

  t.test('reads, read multiple, TDs and health stay open without a token', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const inject = servient.app.inject.bind(servient.app);
    t.equal((await inject({ method: 'GET', url: '/things/thermostat/properties/targetTemperature' })).statusCode, 200);
    t.equal((await inject({ method: 'GET', url: '/things/thermostat/properties' })).statusCode, 200);
    const multiple = await inject(jsonRequest('POST', '/things/thermostat/properties', ['mode']));
    t.equal(multiple.statusCode, 200);
    t.same(body(multiple), { mode: 'heat' });
    t.equal((await inject({ method: 'GET', url: '/things' })).statusCode, 200);
    t.equal((await inject({ method: 'GET', url: '/things/thermostat' })).statusCode, 200);
    t.equal((await inject({ method: 'GET', url: '/.well-known/wot' })).statusCode, 200);
    t.equal((await inject({ method: 'GET', url: '/health' })).statusCode, 200);
  });

  t.test('a wrong token on a read is ignored: reads are open', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const res = await servient.app.inject({ method: 'GET', url: '/things/thermostat/properties/targetTemperature', headers: bearer(WRONG) });
    t.equal(res.statusCode, 200);
    t.equal(body(res), 21);
  });

  t.test('TDs declare bearer_sc and every write, write-multiple and invoke form requires it; read forms stay open', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const tds = body<ThingDescription[]>(await servient.app.inject({ method: 'GET', url: '/things' }));
    t.equal(tds.length, 4);
    const protectedOps = new Set(['writeproperty', 'writemultipleproperties', 'invokeaction']);
    let guarded = 0;
    for (const td of tds) {
      t.match(td.securityDefinitions, { nosec_sc: { scheme: 'nosec' }, bearer_sc: { scheme: 'bearer', in: 'header', name: 'Authorization' } }, `${td.title}: security definitions`);
      t.equal(td.security, 'nosec_sc', `${td.title}: reads are open by default`);
      for (const form of allForms(td)) {
        const ops = opsOf(form);
        const writes = ops.filter((op) => protectedOps.has(op));
        if (writes.length > 0) {
          guarded++;
          t.same(form.security, ['bearer_sc'], `${td.title} ${form.href} ${ops.join(',')} requires the bearer token`);
          t.equal(writes.length, ops.length, `${form.href}: protected and open operations are not mixed in one form`);
        } else {
          t.equal(form.security, undefined, `${td.title} ${form.href} ${ops.join(',')} is open`);
        }
      }
    }
    t.ok(guarded > 0, 'some forms are protected');
    const thermostat = tds.find((td) => td.title === 'Thermostat');
    const writeForms = (thermostat?.properties?.targetTemperature?.forms ?? []).filter((f) => opsOf(f).includes('writeproperty'));
    t.ok(writeForms.length >= 2, 'targetTemperature has protected HTTP and WebSocket write forms');
    const boostForms = thermostat?.actions?.boost?.forms ?? [];
    t.ok(boostForms.length >= 2 && boostForms.every((f) => Array.isArray(f.security) && f.security.includes('bearer_sc')), 'every boost form requires the token');
  });

  t.test("the node's own TD declares bearer_sc too", async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const node = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: '/.well-known/wot' }));
    t.match(node.securityDefinitions, { bearer_sc: { scheme: 'bearer' } });
  });
});

t.test('without a token configured', async (t) => {
  t.test('writes and actions need no credentials', async (t) => {
    const { servient } = await createServient(t);
    t.equal((await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/targetTemperature', 25))).statusCode, 204);
    t.equal((await servient.app.inject({ method: 'POST', url: '/things/smart-plug/actions/toggle' })).statusCode, 200);
  });

  t.test('an Authorization header is ignored rather than rejected', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/targetTemperature', 25, bearer(WRONG)));
    t.equal(res.statusCode, 204);
  });

  t.test('TDs declare only nosec_sc and no form carries security', async (t) => {
    const { servient } = await createServient(t);
    const tds = body<ThingDescription[]>(await servient.app.inject({ method: 'GET', url: '/things' }));
    for (const td of tds) {
      t.same(Object.keys(td.securityDefinitions ?? {}), ['nosec_sc'], td.title);
      t.ok(allForms(td).every((f) => f.security === undefined), `${td.title}: no form-level security`);
    }
  });
});

t.test('isFlowchainError narrows auth errors by code', async (t) => {
  try {
    BearerAuth.assert('none');
    t.fail('assert should throw');
  } catch (err) {
    t.ok(isFlowchainError(err, 'FLOWCHAIN_ERR_AUTH_REQUIRED'));
    t.notOk(isFlowchainError(err, 'FLOWCHAIN_ERR_AUTH_INVALID'));
  }
});

import t from 'tap';
import { isFlowchainError } from '../../../src/errors.js';
import { HttpAuth } from '../../../src/bindings/http/auth.js';
import type { ThingDescription } from '../../../src/td/thing-description.js';
import { createServient } from '../../helpers/test-servient.js';
import { AUTH_TOKEN, allForms, assertProblem, body, jsonRequest, opsOf } from './fixtures.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const WRONG = 'a-wrong-token-of-some-length';

t.test('HttpAuth.check with a bearer token', async (t) => {
  const auth = new HttpAuth({ bearerToken: AUTH_TOKEN });

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

t.test('HttpAuth.assert throws FLOWCHAIN_ERR_AUTH_REQUIRED for none and FLOWCHAIN_ERR_AUTH_INVALID for invalid', async (t) => {
  t.throws(() => HttpAuth.assert('none'), { code: 'FLOWCHAIN_ERR_AUTH_REQUIRED', status: 401 });
  t.throws(() => HttpAuth.assert('invalid'), { code: 'FLOWCHAIN_ERR_AUTH_INVALID', status: 401 });
  t.doesNotThrow(() => HttpAuth.assert('valid'));
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

  t.test('TDs declare bearer_sc and every write, write-multiple, invoke and cancel form requires it; read and query forms stay open', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const tds = body<ThingDescription[]>(await servient.app.inject({ method: 'GET', url: '/things' }));
    t.equal(tds.length, 5);
    const protectedOps = new Set(['writeproperty', 'writemultipleproperties', 'invokeaction', 'cancelaction']);
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
    const invokeForms = boostForms.filter((f) => opsOf(f).includes('invokeaction'));
    t.ok(invokeForms.length >= 2 && invokeForms.every((f) => Array.isArray(f.security) && f.security.includes('bearer_sc') && opsOf(f).includes('cancelaction')), 'every boost invoke and cancel form requires the token');
    const queryForms = boostForms.filter((f) => opsOf(f).includes('queryaction'));
    t.ok(queryForms.length >= 2 && queryForms.every((f) => f.security === undefined), 'queryaction forms are open, like reads');
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
    HttpAuth.assert('none');
    t.fail('assert should throw');
  } catch (err) {
    t.ok(isFlowchainError(err, 'FLOWCHAIN_ERR_AUTH_REQUIRED'));
    t.notOk(isFlowchainError(err, 'FLOWCHAIN_ERR_AUTH_INVALID'));
  }
});

const USERS = [
  { user: 'ops', password: 'a-basic-password-of-length' },
  { user: 'élodie', password: 'unicode-pässwörd-for-basic' },
];
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}` });
const TARGET = '/things/thermostat/properties/targetTemperature';

t.test('HttpAuth.check with Basic credentials (RFC 7617)', async (t) => {
  const auth = new HttpAuth({ basic: USERS });
  t.equal(auth.check(basic('ops', USERS[0]!.password).authorization), 'valid');
  t.equal(auth.check(basic('élodie', USERS[1]!.password).authorization), 'valid', 'UTF-8 user and password');
  t.equal(auth.check(`basic ${Buffer.from(`ops:${USERS[0]!.password}`).toString('base64')}`), 'valid', 'the scheme is case-insensitive');
  t.equal(auth.check(basic('ops', USERS[1]!.password).authorization), 'invalid', "another user's password");
  t.equal(auth.check(basic('nobody', USERS[0]!.password).authorization), 'invalid', 'an unknown user');
  t.equal(auth.check(basic('ops', `${USERS[0]!.password}x`).authorization), 'invalid');
  for (const malformed of ['Basic', 'Basic ', 'Basic !!!!', 'Basic b3Bz', 'Basic b3Bz=', `Basic ${Buffer.from([0xff, 0x3a, 0x61]).toString('base64')}`, 'Basic b3BzOnBhc3M=extra', 'Basic b3BzOnBhc3N=']) {
    t.equal(auth.check(malformed), 'invalid', `malformed: ${malformed}`);
  }
  t.equal(auth.check(`Bearer ${AUTH_TOKEN}`), 'none', 'a scheme the node does not accept presents nothing');
  t.equal(auth.check(undefined, AUTH_TOKEN), 'none', 'nor does an access_token on a node without bearer');
});

t.test('with both: a combo where either is accepted', async (t) => {
  const auth = new HttpAuth({ bearerToken: AUTH_TOKEN, basic: USERS });
  t.same(auth.schemes, ['bearer', 'basic']);
  t.equal(auth.check(`Bearer ${AUTH_TOKEN}`), 'valid');
  t.equal(auth.check(basic('ops', USERS[0]!.password).authorization), 'valid');
  t.same(auth.verdict(`Bearer ${WRONG}`), { scheme: 'bearer', credentials: 'invalid' });
  t.same(auth.verdict('Basic b3Bz'), { scheme: 'basic', credentials: 'invalid' });
});

t.test('with Basic credentials configured', async (t) => {
  t.test('a write without, with malformed or with wrong Basic credentials fails with 401 and a Basic challenge, and changes nothing', async (t) => {
    const { servient } = await createServient(t, { basicCredentials: USERS });
    for (const [what, headers, code] of [
      ['none', {}, 'FLOWCHAIN_ERR_AUTH_REQUIRED'],
      ['malformed', { authorization: 'Basic not-base64!' }, 'FLOWCHAIN_ERR_AUTH_INVALID'],
      ['no colon', { authorization: `Basic ${Buffer.from('ops').toString('base64')}` }, 'FLOWCHAIN_ERR_AUTH_INVALID'],
      ['wrong password', basic('ops', 'not-the-password-at-all'), 'FLOWCHAIN_ERR_AUTH_INVALID'],
      ['unknown user', basic('mallory', USERS[0]!.password), 'FLOWCHAIN_ERR_AUTH_INVALID'],
      ['a bearer token', bearer(AUTH_TOKEN), 'FLOWCHAIN_ERR_AUTH_REQUIRED'],
    ] as const) {
      const res = await servient.app.inject(jsonRequest('PUT', TARGET, 25, headers));
      assertProblem(t, res, { status: 401, code });
      t.equal(res.headers['www-authenticate'], 'Basic realm="flowchain", charset="UTF-8"', `${what}: the challenge`);
    }
    const toggle = await servient.app.inject({ method: 'POST', url: '/things/smart-plug/actions/toggle', headers: basic('ops', 'not-the-password-at-all') });
    assertProblem(t, toggle, { status: 401, code: 'FLOWCHAIN_ERR_AUTH_INVALID' });
    t.equal(await servient.registry.get('thermostat').readProperty('targetTemperature'), 21, 'nothing was written');
    t.equal(await servient.registry.get('smart-plug').readProperty('on'), false, 'nothing was toggled');
  });

  t.test('the right credentials write and invoke', async (t) => {
    const { servient } = await createServient(t, { basicCredentials: USERS });
    t.equal((await servient.app.inject(jsonRequest('PUT', TARGET, 25, basic('élodie', USERS[1]!.password)))).statusCode, 204);
    t.equal(await servient.registry.get('thermostat').readProperty('targetTemperature'), 25);
    t.equal((await servient.app.inject({ method: 'POST', url: '/things/smart-plug/actions/toggle', headers: basic('ops', USERS[0]!.password) })).statusCode, 200);
  });

  t.test('TDs declare basic_sc (in the header, named Authorization, as the WoT Profile asks) on every protected form, and name the profiles', async (t) => {
    const { servient } = await createServient(t, { basicCredentials: USERS });
    for (const td of body<ThingDescription[]>(await servient.app.inject({ method: 'GET', url: '/things' }))) {
      t.same(td.securityDefinitions, { nosec_sc: { scheme: 'nosec' }, basic_sc: { scheme: 'basic', in: 'header', name: 'Authorization', description: 'Required for writes and actions; reads and streams are open.' } }, td.title);
      for (const form of allForms(td)) {
        const guarded = opsOf(form).some((op) => ['writeproperty', 'writemultipleproperties', 'invokeaction'].includes(op));
        t.same(form.security, guarded ? ['basic_sc'] : undefined, `${td.title} ${form.href} ${opsOf(form).join(',')}`);
      }
      t.same(td.profile, ['https://www.w3.org/2022/wot/profile/http-basic/v1', 'https://www.w3.org/2022/wot/profile/http-sse/v1']);
    }
  });
});

t.test('with a bearer token and Basic credentials both configured', async (t) => {
  t.test('TDs name a combo_sc with oneOf basic_sc and bearer_sc on every protected form (TD 1.1 §5.3.3.2)', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN, basicCredentials: USERS });
    for (const td of body<ThingDescription[]>(await servient.app.inject({ method: 'GET', url: '/things' }))) {
      t.match(td.securityDefinitions, { nosec_sc: { scheme: 'nosec' }, basic_sc: { scheme: 'basic' }, bearer_sc: { scheme: 'bearer' }, combo_sc: { scheme: 'combo', oneOf: ['basic_sc', 'bearer_sc'] } });
      for (const form of allForms(td)) if (form.security !== undefined) t.same(form.security, ['combo_sc'], `${td.title} ${form.href}`);
      t.equal(td.security, 'nosec_sc');
      t.same(td.profile, ['https://www.w3.org/2022/wot/profile/http-basic/v1', 'https://www.w3.org/2022/wot/profile/http-sse/v1'], 'profile consumers can use basic_sc');
    }
  });

  t.test('either scheme writes; a 401 challenges with both', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN, basicCredentials: USERS });
    t.equal((await servient.app.inject(jsonRequest('PUT', TARGET, 22, bearer(AUTH_TOKEN)))).statusCode, 204);
    t.equal((await servient.app.inject(jsonRequest('PUT', TARGET, 23, basic('ops', USERS[0]!.password)))).statusCode, 204);
    const none = await servient.app.inject(jsonRequest('PUT', TARGET, 24));
    assertProblem(t, none, { status: 401, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
    t.same(none.headers['www-authenticate'], ['Bearer realm="flowchain"', 'Basic realm="flowchain", charset="UTF-8"']);
    const wrongBearer = await servient.app.inject(jsonRequest('PUT', TARGET, 24, bearer(WRONG)));
    t.same(wrongBearer.headers['www-authenticate'], ['Bearer realm="flowchain", error="invalid_token"', 'Basic realm="flowchain", charset="UTF-8"']);
    t.equal(await servient.registry.get('thermostat').readProperty('targetTemperature'), 23);
  });
});

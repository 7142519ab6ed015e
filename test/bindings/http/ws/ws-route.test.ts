import { randomBytes } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import t, { type Test } from 'tap';
import { ERRORS } from '../../../../src/errors.js';
import type { Problem } from '../../../../src/bindings/http/problem.js';
import { createServient } from '../../../helpers/test-servient.js';
import { AUTH_TOKEN, expectResult, openWs, refusedUpgrade, SUBPROTOCOL } from '../fixtures.js';

const WRONG = 'a-wrong-token-of-some-length';

/** A hand-made upgrade request to an exact URL, to see exactly what the server answers. */
function rawUpgrade(t: Test, url: string, protocols: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-protocol': protocols,
      },
    });
    req.once('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.once('error', reject);
    req.end();
    t.teardown(() => req.destroy());
  });
}

t.test('the server selects flowchain.v1 among the offered sub-protocols', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  const client = await openWs(t, url, { protocols: ['other.v1', SUBPROTOCOL] });
  t.equal(client.socket.protocol, SUBPROTOCOL);
  t.equal(expectResult(t, await client.request({ op: 'readproperty', thingID: 'thermostat', name: 'targetTemperature' })), 21);
  await client.close();
});

t.test('a client offering only other sub-protocols is not given one', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  const answer = await rawUpgrade(t, `${url}ws`, 'other.v1, mqtt');
  t.equal(answer.status, 101);
  t.equal(answer.headers['sec-websocket-protocol'], undefined, 'no sub-protocol the client did not offer');
});

t.test('GET /ws without an upgrade is answered as problem+json like every other failure', async (t) => {
  const { servient } = await createServient(t);
  const res = await servient.app.inject({ method: 'GET', url: '/ws' });
  t.ok(res.statusCode === 404 || res.statusCode === 426, `a client error (${res.statusCode})`);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  const problem = (res.body === '' ? {} : JSON.parse(res.body)) as Partial<Problem>;
  t.ok(problem.code !== undefined && problem.code in ERRORS, 'a catalogue code');
});

t.test('with a token configured', async (t) => {
  t.test('an upgrade with a wrong bearer header is refused with 401 FLOWCHAIN_ERR_AUTH_INVALID before the socket opens', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const { url } = await servient.start();
    const refused = await refusedUpgrade(t, url, { token: WRONG });
    t.equal(refused.status, 401);
    t.equal(refused.headers['www-authenticate'], 'Bearer realm="flowchain", error="invalid_token"');
    t.match(refused.headers['content-type'], /^application\/problem\+json/);
    t.match(JSON.parse(refused.body), { code: 'FLOWCHAIN_ERR_AUTH_INVALID', status: 401 });
    t.equal(refused.headers.upgrade, undefined, 'no socket was opened: the answer is not 101 Switching Protocols');
  });

  t.test('an upgrade with a wrong access_token is refused with 401', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const { url } = await servient.start();
    const refused = await refusedUpgrade(t, url, { accessToken: WRONG });
    t.equal(refused.status, 401);
    t.equal(refused.headers['www-authenticate'], 'Bearer realm="flowchain", error="invalid_token"');
    t.match(JSON.parse(refused.body), { code: 'FLOWCHAIN_ERR_AUTH_INVALID', instance: '/ws' });
    t.notMatch(refused.body, new RegExp(WRONG), 'the presented token is not echoed');
  });

  t.test('a wrong bearer header is refused even with the right access_token: the header wins', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const { url } = await servient.start();
    const refused = await refusedUpgrade(t, url, { token: WRONG, accessToken: AUTH_TOKEN });
    t.equal(refused.status, 401);
  });

  t.test('an upgrade with the access_token given twice is refused with 401, not a 500', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const { url } = await servient.start();
    for (const query of [`access_token=${WRONG}&access_token=${WRONG}`, `access_token=${AUTH_TOKEN}&access_token=${AUTH_TOKEN}`]) {
      const answer = await rawUpgrade(t, `${url}ws?${query}`, SUBPROTOCOL);
      t.equal(answer.status, 401, query);
      t.match(answer.body, /FLOWCHAIN_ERR_AUTH_INVALID/, `${query}: a catalogue auth error`);
    }
  });

  t.test('an upgrade without credentials opens a read-only session', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const { url } = await servient.start();
    const client = await openWs(t, url);
    t.equal(client.socket.protocol, SUBPROTOCOL);
    t.equal(expectResult(t, await client.request({ op: 'readproperty', thingID: 'thermostat', name: 'mode' })), 'heat');
    await client.close();
  });

  t.test('an upgrade with the right token as header or as access_token opens', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const { url } = await servient.start();
    const byHeader = await openWs(t, url, { token: AUTH_TOKEN });
    const byQuery = await openWs(t, url, { accessToken: AUTH_TOKEN });
    t.equal(byHeader.socket.readyState, byHeader.socket.OPEN);
    t.equal(byQuery.socket.readyState, byQuery.socket.OPEN);
    await Promise.all([byHeader.close(), byQuery.close()]);
  });
});

t.test('without a token configured any credentials are ignored at the upgrade', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  const client = await openWs(t, url, { token: WRONG });
  t.equal(expectResult(t, await client.request({ op: 'writeproperty', thingID: 'thermostat', name: 'mode', value: 'off' })), undefined);
  t.equal(await servient.registry.get('thermostat').readProperty('mode'), 'off');
  await client.close();
});

t.test('stopping the servient closes open sockets and completes', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  const client = await openWs(t, url);
  t.equal(expectResult(t, await client.request({ op: 'observeproperty', thingID: 'environment-sensor', name: 'temperature' })), 24);
  await servient.stop();
  const closed = await client.closed;
  t.ok(closed.code >= 1000, `closed with ${closed.code}`);
});

t.test('on a node with Basic credentials, the upgrade takes them as the TDs say', async (t) => {
  const credential = { user: 'ops', password: 'a-basic-password-of-length' };
  const { servient } = await createServient(t, { basicCredentials: [credential], authToken: AUTH_TOKEN });
  const { url } = await servient.start();
  const refused = await refusedUpgrade(t, url, { basic: { ...credential, password: 'not-the-password-at-all' } });
  t.equal(refused.status, 401, 'wrong Basic credentials are refused before the socket opens');
  t.same(refused.headers['www-authenticate'], 'Bearer realm="flowchain", Basic realm="flowchain", charset="UTF-8"', 'challenging with every scheme');
  t.equal((JSON.parse(refused.body) as Problem).code, 'FLOWCHAIN_ERR_AUTH_INVALID');
  const client = await openWs(t, url, { basic: credential });
  const reply = await client.request({ op: 'writeproperty', thingID: 'thermostat', name: 'mode', value: 'cool' });
  t.equal(reply.type, 'result', 'the right ones may write over the socket');
  t.equal(await servient.registry.get('thermostat').readProperty('mode'), 'cool');
  await client.close();
});

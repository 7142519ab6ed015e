import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import t, { type Test } from 'tap';
import type { ErrorCode } from '../../../../src/errors.js';
import { createServient, tempDir, type TestServient } from '../../../helpers/test-servient.js';
import { AUTH_TOKEN, assertProblem, body, customThings, jsonRequest, stateOf, until } from '../fixtures.js';

const TARGET = '/things/thermostat/properties/targetTemperature';
const MODE = '/things/thermostat/properties/mode';
const ALL = '/things/thermostat/properties';

/** The thermostat's writable values as a GET of all properties reports them. */
async function writable(servient: TestServient['servient']): Promise<{ targetTemperature: unknown; mode: unknown }> {
  const all = body<Record<string, unknown>>(await servient.app.inject({ method: 'GET', url: ALL }));
  return { targetTemperature: all.targetTemperature, mode: all.mode };
}

const UNCHANGED = { targetTemperature: 21, mode: 'heat' };

function readBundled(slug: string): string {
  return readFileSync(new URL(`../../../../things/${slug}.td.json`, import.meta.url), 'utf8');
}

t.test('readproperty', async (t) => {
  t.test('GET answers the value as application/json', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject({ method: 'GET', url: TARGET });
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /^application\/json/);
    t.equal(body(res), 21);
    const on = await servient.app.inject({ method: 'GET', url: '/things/smart-plug/properties/on' });
    t.equal(body(on), false);
  });

  t.test('GET of a string property answers it as a JSON string with application/json', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject({ method: 'GET', url: MODE });
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /^application\/json/, 'the TD form promises application/json');
    t.equal(res.body, '"heat"', 'the body is JSON text');
  });

  t.test('the Thing can be named by its URL-encoded TD id', async (t) => {
    const { servient } = await createServient(t);
    const id = encodeURIComponent(servient.registry.get('thermostat').id);
    const res = await servient.app.inject({ method: 'GET', url: `/things/${id}/properties/targetTemperature` });
    t.equal(res.statusCode, 200);
    t.equal(body(res), 21);
  });

  t.test('GET on an unknown Thing fails with 404 FLOWCHAIN_ERR_THING_NOT_FOUND', async (t) => {
    const { servient } = await createServient(t);
    const url = '/things/nope/properties/targetTemperature';
    assertProblem(t, await servient.app.inject({ method: 'GET', url }), { status: 404, code: 'FLOWCHAIN_ERR_THING_NOT_FOUND', field: 'thing', instance: url });
  });

  t.test('GET on an unknown property fails with 404 FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND naming it', async (t) => {
    const { servient } = await createServient(t);
    const url = '/things/thermostat/properties/humidity';
    assertProblem(t, await servient.app.inject({ method: 'GET', url }), { status: 404, code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', field: 'humidity', instance: url });
    // Names that exist on every object are not affordances.
    assertProblem(t, await servient.app.inject({ method: 'GET', url: '/things/thermostat/properties/constructor' }), {
      status: 404,
      code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND',
      field: 'constructor',
    });
  });

  t.test('GET on a writeOnly property fails with 405 FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY and Allow: PUT', async (t) => {
    const { servient } = await createServient(t, { things: customThings(t) });
    await servient.app.inject(jsonRequest('PUT', '/things/lamp/properties/secret', 'hunter2'));
    const res = await servient.app.inject({ method: 'GET', url: '/things/lamp/properties/secret' });
    assertProblem(t, res, { status: 405, code: 'FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY', field: 'secret' });
    t.equal(res.headers.allow, 'PUT');
    t.notMatch(res.body, /hunter2/);
  });

  t.test('HEAD on a property answers its headers without a body', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject({ method: 'HEAD', url: TARGET });
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /^application\/json/);
    t.equal(res.body, '');
  });
});

t.test('writeproperty', async (t) => {
  t.test('PUT with a valid JSON value is 204 and a read answers the new value', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject(jsonRequest('PUT', TARGET, 22.5));
    t.equal(res.statusCode, 204);
    t.equal(res.body, '');
    t.equal(body(await servient.app.inject({ method: 'GET', url: TARGET })), 22.5);
    t.equal((await servient.app.inject(jsonRequest('PUT', MODE, 'cool'))).statusCode, 204);
    t.same(await writable(servient), { targetTemperature: 22.5, mode: 'cool' });
  });

  t.test('a media type with parameters (charset) is still JSON', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject({ method: 'PUT', url: TARGET, payload: '23', headers: { 'content-type': 'application/json; charset=utf-8' } });
    t.equal(res.statusCode, 204);
    t.equal((await writable(servient)).targetTemperature, 23);
  });

  t.test('PUT by TD id writes the same Thing', async (t) => {
    const { servient } = await createServient(t);
    const id = encodeURIComponent(servient.registry.get('thermostat').id);
    t.equal((await servient.app.inject(jsonRequest('PUT', `/things/${id}/properties/targetTemperature`, 19))).statusCode, 204);
    t.equal((await writable(servient)).targetTemperature, 19);
  });

  const invalid: [string, string, unknown, string][] = [
    ['a value of the wrong type', TARGET, 'warm', 'targetTemperature'],
    ['null for a number', TARGET, null, 'targetTemperature'],
    ['a number below minimum', TARGET, 4.5, 'targetTemperature'],
    ['a number above maximum', TARGET, 30.5, 'targetTemperature'],
    ['a number that is not a multipleOf 0.5', TARGET, 21.3, 'targetTemperature'],
    ['a number too large for a double (1e400)', TARGET, '1e400', 'targetTemperature'],
    ['a string outside the enum', MODE, 'turbo', 'mode'],
    ['a number for an enum of strings', MODE, 1, 'mode'],
  ];
  for (const [what, url, value, field] of invalid) {
    t.test(`PUT with ${what} fails with 400 FLOWCHAIN_ERR_VALUE_INVALID naming ${field}, and changes nothing`, async (t) => {
      const { servient } = await createServient(t);
      // '1e400' is sent as raw JSON text: it parses to Infinity.
      const payload = value === '1e400' ? '1e400' : JSON.stringify(value);
      const res = await servient.app.inject({ method: 'PUT', url, payload, headers: { 'content-type': 'application/json' } });
      assertProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_VALUE_INVALID', field, instance: url });
      t.same(await writable(servient), UNCHANGED);
    });
  }

  t.test('PUT with an empty JSON body fails with 400 FLOWCHAIN_ERR_VALUE_INVALID (a value is required) and changes nothing', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject({ method: 'PUT', url: TARGET, headers: { 'content-type': 'application/json' } });
    assertProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_VALUE_INVALID', field: 'targetTemperature' });
    t.same(await writable(servient), UNCHANGED);
  });

  t.test('PUT on a readOnly property fails with 405 FLOWCHAIN_ERR_PROPERTY_READ_ONLY, Allow: GET, HEAD, and changes nothing', async (t) => {
    const { servient } = await createServient(t);
    const url = '/things/thermostat/properties/currentTemperature';
    const before = body(await servient.app.inject({ method: 'GET', url }));
    const res = await servient.app.inject(jsonRequest('PUT', url, 30));
    assertProblem(t, res, { status: 405, code: 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY', field: 'currentTemperature', instance: url });
    t.equal(res.headers.allow, 'GET, HEAD');
    t.equal(body(await servient.app.inject({ method: 'GET', url })), before);
  });

  t.test('PUT on a writeOnly property is accepted', async (t) => {
    const { servient } = await createServient(t, { things: customThings(t) });
    t.equal((await servient.app.inject(jsonRequest('PUT', '/things/lamp/properties/secret', 'hunter2'))).statusCode, 204);
  });

  const malformed: [string, string][] = [
    ['truncated JSON', '{"value": 2'],
    ['a bare word', 'warm'],
    ['only whitespace', '   '],
    ['a __proto__ member (prototype poisoning)', '{"__proto__": {"polluted": true}}'],
    ['a constructor.prototype member (prototype poisoning)', '{"constructor": {"prototype": {"polluted": true}}}'],
  ];
  for (const [what, payload] of malformed) {
    t.test(`PUT with ${what} fails with 400 FLOWCHAIN_ERR_REQUEST_MALFORMED and changes nothing`, async (t) => {
      const { servient } = await createServient(t);
      const res = await servient.app.inject({ method: 'PUT', url: TARGET, payload, headers: { 'content-type': 'application/json' } });
      assertProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', instance: TARGET });
      t.same(await writable(servient), UNCHANGED);
      t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched');
    });
  }

  t.test('PUT with text/plain fails with 415 FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED naming content-type, and changes nothing', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject({ method: 'PUT', url: TARGET, payload: '25', headers: { 'content-type': 'text/plain' } });
    assertProblem(t, res, { status: 415, code: 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED', field: 'content-type' });
    t.same(await writable(servient), UNCHANGED);
  });

  t.test('PUT with a body but no Content-Type fails with 415 FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject({ method: 'PUT', url: TARGET, payload: '25' });
    assertProblem(t, res, { status: 415, code: 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED', field: 'content-type' });
    t.same(await writable(servient), UNCHANGED);
  });

  t.test('PUT with application/ld+json or a JSON-looking vendor type is 415: only application/json is parsed', async (t) => {
    const { servient } = await createServient(t);
    for (const type of ['application/ld+json', 'application/x-json', 'application/jsonx']) {
      const res = await servient.app.inject({ method: 'PUT', url: TARGET, payload: '25', headers: { 'content-type': type } });
      assertProblem(t, res, { status: 415, code: 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED' });
    }
    t.same(await writable(servient), UNCHANGED);
  });

  t.test('PUT with a body larger than bodyLimit fails with 413 FLOWCHAIN_ERR_REQUEST_TOO_LARGE and changes nothing', async (t) => {
    const { servient } = await createServient(t, { bodyLimit: 1024 });
    const small = await servient.app.inject(jsonRequest('PUT', MODE, 'cool'));
    t.equal(small.statusCode, 204, 'a body under the limit is accepted');
    const res = await servient.app.inject(jsonRequest('PUT', MODE, 'x'.repeat(2048)));
    assertProblem(t, res, { status: 413, code: 'FLOWCHAIN_ERR_REQUEST_TOO_LARGE', instance: MODE });
    t.equal((await writable(servient)).mode, 'cool');
  });

  t.test('PUT on an unknown Thing or property fails with 404 and the right code', async (t) => {
    const { servient } = await createServient(t);
    assertProblem(t, await servient.app.inject(jsonRequest('PUT', '/things/nope/properties/mode', 'cool')), {
      status: 404,
      code: 'FLOWCHAIN_ERR_THING_NOT_FOUND',
      field: 'thing',
    });
    assertProblem(t, await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/fanSpeed', 3)), {
      status: 404,
      code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND',
      field: 'fanSpeed',
    });
  });
});

t.test('readallproperties', async (t) => {
  t.test('GET /properties answers every readable property', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject({ method: 'GET', url: ALL });
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /^application\/json/);
    const all = body<Record<string, unknown>>(res);
    t.same(Object.keys(all).sort(), ['currentTemperature', 'mode', 'targetTemperature']);
    t.match(all, { targetTemperature: 21, mode: 'heat', currentTemperature: Number });
  });

  t.test('writeOnly properties are left out', async (t) => {
    const { servient } = await createServient(t, { things: customThings(t) });
    await servient.app.inject(jsonRequest('PUT', '/things/lamp/properties/secret', 'hunter2'));
    const res = await servient.app.inject({ method: 'GET', url: '/things/lamp/properties' });
    t.equal(res.statusCode, 200);
    t.notOk('secret' in body<Record<string, unknown>>(res));
    t.notMatch(res.body, /hunter2/);
  });

  t.test('the Thing can be named by TD id', async (t) => {
    const { servient } = await createServient(t);
    const id = encodeURIComponent(servient.registry.get('smart-plug').id);
    const res = await servient.app.inject({ method: 'GET', url: `/things/${id}/properties` });
    t.same(body(res), { on: false, power: 0 });
  });

  t.test('an unknown Thing fails with 404 FLOWCHAIN_ERR_THING_NOT_FOUND', async (t) => {
    const { servient } = await createServient(t);
    assertProblem(t, await servient.app.inject({ method: 'GET', url: '/things/nope/properties' }), { status: 404, code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' });
  });
});

t.test('readmultipleproperties', async (t) => {
  t.test('POST with a JSON array of names answers exactly those properties', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject(jsonRequest('POST', ALL, ['mode', 'targetTemperature']));
    t.equal(res.statusCode, 200);
    t.same(body(res), { mode: 'heat', targetTemperature: 21 });
    t.same(body(await servient.app.inject(jsonRequest('POST', ALL, []))), {}, 'no names, no values');
  });

  const notNames: [string, string | undefined][] = [
    ['an object', '{"names": ["mode"]}'],
    ['a string', '"mode"'],
    ['an array holding a number', '["mode", 3]'],
    ['no body', undefined],
  ];
  for (const [what, payload] of notNames) {
    t.test(`POST with ${what} fails with 400 FLOWCHAIN_ERR_REQUEST_MALFORMED at /`, async (t) => {
      const { servient } = await createServient(t);
      const res = await servient.app.inject({ method: 'POST', url: ALL, headers: { 'content-type': 'application/json' }, ...(payload === undefined ? {} : { payload }) });
      assertProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: '/' });
    });
  }

  t.test('POST naming an unknown property fails with 404 FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND naming it', async (t) => {
    const { servient } = await createServient(t);
    assertProblem(t, await servient.app.inject(jsonRequest('POST', ALL, ['mode', 'fanSpeed'])), {
      status: 404,
      code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND',
      field: 'fanSpeed',
    });
  });

  t.test('POST naming a writeOnly property fails with 405 FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY', async (t) => {
    const { servient } = await createServient(t, { things: customThings(t) });
    const res = await servient.app.inject(jsonRequest('POST', '/things/lamp/properties', ['on', 'secret']));
    assertProblem(t, res, { status: 405, code: 'FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY', field: 'secret' });
  });

  t.test('POST with text/plain fails with 415', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject({ method: 'POST', url: ALL, payload: '["mode"]', headers: { 'content-type': 'text/plain' } });
    assertProblem(t, res, { status: 415, code: 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED' });
  });
});

t.test('writemultipleproperties', async (t) => {
  t.test('PUT with an object of values is 204 and writes all of them', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject(jsonRequest('PUT', ALL, { targetTemperature: 24, mode: 'auto' }));
    t.equal(res.statusCode, 204);
    t.same(await writable(servient), { targetTemperature: 24, mode: 'auto' });
  });

  t.test('PUT with an empty object is 204 and changes nothing', async (t) => {
    const { servient } = await createServient(t);
    t.equal((await servient.app.inject(jsonRequest('PUT', ALL, {}))).statusCode, 204);
    t.same(await writable(servient), UNCHANGED);
  });

  const atomic: [string, Record<string, unknown>, number, ErrorCode, string][] = [
    ['one invalid value', { targetTemperature: 24, mode: 'turbo' }, 400, 'FLOWCHAIN_ERR_VALUE_INVALID', 'mode'],
    ['an invalid value listed first', { mode: 'cool', targetTemperature: 100 }, 400, 'FLOWCHAIN_ERR_VALUE_INVALID', 'targetTemperature'],
    ['a readOnly property', { targetTemperature: 24, currentTemperature: 30 }, 405, 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY', 'currentTemperature'],
    ['an unknown property', { targetTemperature: 24, fanSpeed: 3 }, 404, 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', 'fanSpeed'],
  ];
  for (const [what, values, status, code, field] of atomic) {
    t.test(`PUT with ${what} fails with ${status} ${code} naming ${field}, and no value changes`, async (t) => {
      const { servient } = await createServient(t);
      assertProblem(t, await servient.app.inject(jsonRequest('PUT', ALL, values)), { status, code, field, instance: ALL });
      t.same(await writable(servient), UNCHANGED);
    });
  }

  const notObjects: [string, string][] = [
    ['an array', '[["mode", "cool"]]'],
    ['null', 'null'],
    ['a number', '3'],
  ];
  for (const [what, payload] of notObjects) {
    t.test(`PUT with ${what} fails with 400 FLOWCHAIN_ERR_REQUEST_MALFORMED at / and changes nothing`, async (t) => {
      const { servient } = await createServient(t);
      const res = await servient.app.inject({ method: 'PUT', url: ALL, payload, headers: { 'content-type': 'application/json' } });
      assertProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: '/' });
      t.same(await writable(servient), UNCHANGED);
    });
  }

  t.test('PUT with malformed JSON fails with 400 FLOWCHAIN_ERR_REQUEST_MALFORMED', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject({ method: 'PUT', url: ALL, payload: '{"mode": "cool",}', headers: { 'content-type': 'application/json' } });
    assertProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' });
    t.same(await writable(servient), UNCHANGED);
  });

  t.test('PUT on a Thing with no writable properties names the readOnly one', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject(jsonRequest('PUT', '/things/environment-sensor/properties', { temperature: 20 }));
    assertProblem(t, res, { status: 405, code: 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY', field: 'temperature' });
  });
});

/**
 * Starts a long-poll through inject and resolves with its response, or with undefined once it
 * is clearly waiting (the servient scheduled its timeout on the manual clock).
 */
async function longPollOrWaiting(
  t: Test,
  { servient, clock }: TestServient,
  url: string,
): Promise<{ response: Promise<Awaited<ReturnType<TestServient['servient']['app']['inject']>>>; waiting: boolean }> {
  const before = clock.pending;
  let settled = false;
  const response = servient.app.inject({ method: 'GET', url }).then((res) => {
    settled = true;
    return res;
  });
  await until(() => settled || clock.pending > before, 'the long-poll to answer or wait');
  t.comment(settled ? 'answered at once' : 'waiting');
  return { response, waiting: !settled };
}

t.test('long-poll and SSE on properties refuse what cannot be observed', async (t) => {
  t.test('an unknown Thing fails with 404 FLOWCHAIN_ERR_THING_NOT_FOUND', async (t) => {
    const { servient } = await createServient(t);
    for (const kind of ['longpoll', 'sse']) {
      assertProblem(t, await servient.app.inject({ method: 'GET', url: `/things/nope/properties/mode/${kind}` }), { status: 404, code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' });
    }
  });

  t.test('an unknown property fails with 404 FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', async (t) => {
    const { servient } = await createServient(t);
    for (const kind of ['longpoll', 'sse']) {
      const url = `/things/thermostat/properties/fanSpeed/${kind}`;
      assertProblem(t, await servient.app.inject({ method: 'GET', url }), { status: 404, code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', field: 'fanSpeed', instance: url });
    }
  });

  t.test('a property that is not observable fails with 405 FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED', async (t) => {
    const { servient } = await createServient(t, { things: customThings(t) });
    for (const kind of ['longpoll', 'sse']) {
      const url = `/things/lamp/properties/level/${kind}`;
      assertProblem(t, await servient.app.inject({ method: 'GET', url }), { status: 405, code: 'FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED', field: 'level' });
    }
  });

  t.test('SSE on a writeOnly property fails with 405 FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY', async (t) => {
    const { servient } = await createServient(t, { things: customThings(t) });
    const res = await servient.app.inject({ method: 'GET', url: '/things/lamp/properties/secret/sse' });
    assertProblem(t, res, { status: 405, code: 'FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY', field: 'secret' });
  });

  t.test('long-poll on a writeOnly property fails at once with 405 FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY and never reveals a written value', async (t) => {
    const ts = await createServient(t, { things: customThings(t) });
    const { response, waiting } = await longPollOrWaiting(t, ts, '/things/lamp/properties/secret/longpoll');
    t.notOk(waiting, 'the long-poll does not wait on a property nobody may read');
    // If it waits anyway, a write shows what it would leak.
    if (waiting) await ts.servient.app.inject(jsonRequest('PUT', '/things/lamp/properties/secret', 'hunter2'));
    const res = await response;
    assertProblem(t, res, { status: 405, code: 'FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY', field: 'secret' });
    t.notMatch(res.body, /hunter2/, 'the written secret is not disclosed');
  });
});

t.test('a long-poll on a string property answers JSON text', async (t) => {
  const ts = await createServient(t, { longPollTimeoutMs: 5_000 });
  const { response, waiting } = await longPollOrWaiting(t, ts, `${MODE}/longpoll`);
  t.ok(waiting);
  await ts.servient.app.inject(jsonRequest('PUT', MODE, 'cool'));
  const changed = await response;
  t.equal(changed.statusCode, 200);
  t.match(changed.headers['content-type'], /^application\/json/);
  t.equal(changed.body, '"cool"');

  const second = await longPollOrWaiting(t, ts, `${MODE}/longpoll`);
  t.ok(second.waiting);
  ts.clock.advance(5_000);
  const timedOut = await second.response;
  t.equal(timedOut.statusCode, 200);
  t.match(timedOut.headers['content-type'], /^application\/json/);
  t.equal(timedOut.body, '"cool"', 'the current value, as JSON');
});

/** A rejected request, what it must be refused with, and the servient it needs. */
interface Rejection {
  readonly what: string;
  readonly request: InjectOptions;
  readonly status: number;
  readonly code: ErrorCode;
}

/**
 * Sends every rejected request to one node and checks that none changed a property value, a
 * recorded history or the ledger's outbox; then an accepted request shows the check would
 * have seen a change.
 */
async function rejectionsChangeNothing(t: Test, rejections: readonly Rejection[], accepted: InjectOptions, authToken?: string): Promise<void> {
  const { servient } = await createServient(t, authToken === undefined ? {} : { authToken });
  const before = await stateOf(servient);
  for (const { what, request, status, code } of rejections) {
    t.test(what, async (t) => {
      assertProblem(t, await servient.app.inject(request), { status, code });
      t.same(await stateOf(servient), before, 'no value, history entry or outbox entry changed');
    });
  }
  t.test('while an accepted request does change them (the check sees changes)', async (t) => {
    const res = await servient.app.inject(accepted);
    t.ok(res.statusCode < 300, `accepted (${res.statusCode})`);
    t.notSame(await stateOf(servient), before);
  });
}

const BAD_HOST = { host: '127.0.0.1:99999' };

t.test('a rejected PUT of one property changes no value, history or outbox', async (t) => {
  const put = (value: unknown, headers: Record<string, string> = {}, url = TARGET) => jsonRequest('PUT', url, value, headers);
  await rejectionsChangeNothing(
    t,
    [
      { what: 'a Host with port 99999 (the TD base cannot be built): 400', request: put(25, BAD_HOST), status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' },
      { what: 'a value above the maximum: 400', request: put(31), status: 400, code: 'FLOWCHAIN_ERR_VALUE_INVALID' },
      { what: 'a value off the multipleOf grid: 400', request: put(21.7), status: 400, code: 'FLOWCHAIN_ERR_VALUE_INVALID' },
      { what: 'a readOnly property: 405', request: put(20, {}, '/things/thermostat/properties/currentTemperature'), status: 405, code: 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY' },
      { what: 'an unknown property: 404', request: put(20, {}, '/things/thermostat/properties/nope'), status: 404, code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' },
      { what: 'malformed JSON: 400', request: { method: 'PUT', url: TARGET, payload: '{"a":', headers: { 'content-type': 'application/json' } }, status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' },
      { what: 'text/plain: 415', request: { method: 'PUT', url: TARGET, payload: '25', headers: { 'content-type': 'text/plain' } }, status: 415, code: 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED' },
      { what: 'a body over the limit: 413', request: put('x'.repeat(70_000), {}, MODE), status: 413, code: 'FLOWCHAIN_ERR_REQUEST_TOO_LARGE' },
      { what: 'bad percent-encoding in the path: 400', request: put(25, {}, '/things/thermostat/properties/%E0%A4%A'), status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' },
    ],
    put(25),
  );
});

t.test('a PUT without the token on a protected node changes no value, history or outbox', async (t) => {
  await rejectionsChangeNothing(
    t,
    [
      { what: 'no token: 401', request: jsonRequest('PUT', TARGET, 25), status: 401, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' },
      { what: 'a wrong token: 401', request: jsonRequest('PUT', TARGET, 25, { authorization: 'Bearer a-wrong-token-of-some-length' }), status: 401, code: 'FLOWCHAIN_ERR_AUTH_INVALID' },
      { what: 'a wrong token on the multiple write: 401', request: jsonRequest('PUT', ALL, { mode: 'cool' }, { authorization: 'Bearer nope' }), status: 401, code: 'FLOWCHAIN_ERR_AUTH_INVALID' },
    ],
    jsonRequest('PUT', TARGET, 25, { authorization: `Bearer ${AUTH_TOKEN}` }),
    AUTH_TOKEN,
  );
});

t.test('a rejected PUT of several properties changes none of them, nor any history or outbox', async (t) => {
  await rejectionsChangeNothing(
    t,
    [
      { what: 'a Host with port 99999: 400', request: jsonRequest('PUT', ALL, { targetTemperature: 25, mode: 'cool' }, BAD_HOST), status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' },
      { what: 'one invalid value among valid ones: 400', request: jsonRequest('PUT', ALL, { mode: 'cool', targetTemperature: 99 }), status: 400, code: 'FLOWCHAIN_ERR_VALUE_INVALID' },
      { what: 'a readOnly property among writable ones: 405', request: jsonRequest('PUT', ALL, { mode: 'cool', currentTemperature: 20 }), status: 405, code: 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY' },
      { what: 'an unknown property among known ones: 404', request: jsonRequest('PUT', ALL, { mode: 'cool', nope: 1 }), status: 404, code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' },
      { what: 'an array instead of an object: 400', request: jsonRequest('PUT', ALL, [['mode', 'cool']]), status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' },
      { what: 'a __proto__ member: 400', request: { method: 'PUT', url: ALL, payload: '{"mode":"cool","__proto__":{"x":1}}', headers: { 'content-type': 'application/json' } }, status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' },
    ],
    jsonRequest('PUT', ALL, { targetTemperature: 25, mode: 'cool' }),
  );
});

t.test('a write of a property whose name is not ASCII answers 204 with an RFC 8187 Link title instead of failing after the write', async (t) => {
  const dir = tempDir(t);
  const td = JSON.parse(readBundled('thermostat')) as { properties: Record<string, unknown> };
  td.properties['温度'] = { title: 'Set point', type: 'number', minimum: 0, maximum: 40, observable: true };
  td.properties['a"quoted'] = { title: 'Quoted', type: 'integer', observable: true };
  writeFileSync(join(dir, 'thermostat.td.json'), JSON.stringify(td));
  const { servient } = await createServient(t, { things: dir });
  const res = await servient.app.inject(jsonRequest('PUT', `/things/thermostat/properties/${encodeURIComponent('温度')}`, 22));
  t.equal(res.statusCode, 204);
  t.match(res.headers.link, /; title\*=UTF-8''%E6%B8%A9%E5%BA%A6$/);
  t.equal(body(await servient.app.inject({ method: 'GET', url: `/things/thermostat/properties/${encodeURIComponent('温度')}` })), 22);
  const quoted = await servient.app.inject(jsonRequest('PUT', `/things/thermostat/properties/${encodeURIComponent('a"quoted')}`, 1));
  t.equal(quoted.statusCode, 204);
  t.match(quoted.headers.link, /; title="a\\"quoted"$/, 'a quote is escaped inside the quoted string');
});

t.test('a method a resource does not take is 405 with Allow, not 404; an unknown path stays 404', async (t) => {
  const { servient } = await createServient(t);
  const post = await servient.app.inject({ method: 'POST', url: TARGET, payload: '22', headers: { 'content-type': 'application/json' } });
  assertProblem(t, post, { status: 405, code: 'FLOWCHAIN_ERR_METHOD_NOT_ALLOWED' });
  t.equal(post.headers.allow, 'GET, HEAD, PUT', 'a property reads and writes');
  t.match(post.json().detail, /allows GET, HEAD, PUT/);
  t.equal((await servient.app.inject({ method: 'PATCH', url: TARGET })).headers.allow, 'GET, HEAD, PUT', 'so for PATCH too');
  t.equal((await servient.app.inject({ method: 'GET', url: TARGET })).statusCode, 200, 'what it allows still answers');
  assertProblem(t, await servient.app.inject({ method: 'POST', url: '/nowhere/at/all' }), { status: 404, code: 'FLOWCHAIN_ERR_ROUTE_NOT_FOUND' });
  assertProblem(t, await servient.app.inject({ method: 'POST', url: '/things/thermostat/properties/nope' }), { status: 405, code: 'FLOWCHAIN_ERR_METHOD_NOT_ALLOWED' });
});

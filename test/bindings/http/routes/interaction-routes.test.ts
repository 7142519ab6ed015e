import type { InjectOptions } from 'fastify';
import t from 'tap';
import type { ErrorCode } from '../../../../src/errors.js';
import type { Servient } from '../../../../src/servient.js';
import { createServient } from '../../../helpers/test-servient.js';
import { AUTH_TOKEN, assertProblem, body, jsonRequest, stateOf } from '../fixtures.js';

const BOOST = '/things/thermostat/actions/boost';
const TOGGLE = '/things/smart-plug/actions/toggle';
const TARGET = '/things/thermostat/properties/targetTemperature';
const MINUTE = 60_000;
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Waits (a few event-loop turns at a time) until the invocation at `href` has the status `wanted`; answers that status. */
async function reach(servient: Servient, href: string, wanted: string): Promise<Record<string, unknown>> {
  for (;;) {
    const status = body(await servient.app.inject({ method: 'GET', url: new URL(href, 'http://localhost').pathname })) as Record<string, unknown>;
    if (status.status === wanted) return status;
    await settle();
  }
}
/** POSTs a boost and waits until it runs; answers its URL's path. */
async function boost(servient: Servient, input: unknown, headers: Record<string, string> = {}): Promise<string> {
  const res = await servient.app.inject(jsonRequest('POST', BOOST, input, headers));
  const href = (body(res) as { href: string }).href;
  await reach(servient, href, 'running');
  return new URL(href).pathname;
}

t.test('asynchronous actions (WoT Profile, HTTP Basic Profile, Asynchronous Action Response)', async (t) => {
  t.test('POST boost answers 201 with the invocation status and its URL in Location; a GET of it follows the boost to its end', async (t) => {
    const { servient, clock } = await createServient(t);
    const res = await servient.app.inject(jsonRequest('POST', BOOST, { minutes: 10 }));
    t.equal(res.statusCode, 201);
    t.match(res.headers['content-type'], /^application\/json/);
    const started = body(res) as { id: string; href: string; status: string; action: string; timeRequested: string };
    t.match(started, { action: 'boost', status: 'pending', timeRequested: new Date(clock.now()).toISOString() });
    t.equal(res.headers.location, started.href);
    t.equal(new URL(started.href).pathname, `${BOOST}/${started.id}`);
    const location = new URL(started.href).pathname;
    t.match(await reach(servient, location, 'running'), { id: started.id, status: 'running' });
    t.equal(body(await servient.app.inject({ method: 'GET', url: TARGET })), 23, 'default delta is 2');
    clock.advance(10 * MINUTE - 1);
    t.equal(body(await servient.app.inject({ method: 'GET', url: TARGET })), 23, 'still boosted just before the end');
    clock.advance(1);
    t.match(await reach(servient, location, 'completed'), {
      status: 'completed',
      output: { targetTemperature: 23, until: new Date(clock.now()).toISOString() },
      timeEnded: new Date(clock.now()).toISOString(),
    });
    t.equal(body(await servient.app.inject({ method: 'GET', url: TARGET })), 21, 'restored when the boost ends');
  });

  t.test('POST boost with a delta raises the target by that delta, never above the property maximum', async (t) => {
    const { servient } = await createServient(t);
    await boost(servient, { minutes: 1, delta: 1.5 });
    t.equal(body(await servient.app.inject({ method: 'GET', url: TARGET })), 22.5);
    t.equal((await servient.app.inject(jsonRequest('PUT', TARGET, 29))).statusCode, 204);
    await boost(servient, { minutes: 1, delta: 5 });
    t.equal(body(await servient.app.inject({ method: 'GET', url: TARGET })), 30);
  });

  t.test('the Thing can be named by TD id', async (t) => {
    const { servient } = await createServient(t);
    const id = encodeURIComponent(servient.registry.get('thermostat').id);
    const res = await servient.app.inject(jsonRequest('POST', `/things/${id}/actions/boost`, { minutes: 1 }));
    t.equal(res.statusCode, 201);
    t.match(body(res), { action: 'boost' });
  });

  t.test('GET of the action lists its invocations; GET of the Thing\'s actions is queryallactions', async (t) => {
    const { servient } = await createServient(t);
    t.same(body(await servient.app.inject({ method: 'GET', url: BOOST })), [], 'none yet');
    const first = await boost(servient, { minutes: 5 });
    const second = await boost(servient, { minutes: 1 });
    await reach(servient, first, 'completed');
    const id = (path: string) => path.split('/').at(-1);
    t.match(body(await servient.app.inject({ method: 'GET', url: BOOST })), [
      { id: id(first), status: 'completed' },
      { id: id(second), status: 'running' },
    ], 'the newer boost superseded the first');
    t.match(body(await servient.app.inject({ method: 'GET', url: '/things/thermostat/actions' })), { boost: [{ id: id(first) }, { id: id(second) }] });
  });

  t.test('DELETE of a running invocation cancels it: 204, failed with FLOWCHAIN_ERR_ACTION_CANCELLED, the boost ends; again: 409', async (t) => {
    const { servient, clock } = await createServient(t);
    const location = await boost(servient, { minutes: 30 });
    const cancelled = await servient.app.inject({ method: 'DELETE', url: location });
    t.equal(cancelled.statusCode, 204);
    t.match(body(await servient.app.inject({ method: 'GET', url: location })), { status: 'failed', error: { code: 'FLOWCHAIN_ERR_ACTION_CANCELLED' }, timeEnded: new Date(clock.now()).toISOString() });
    t.equal(body(await servient.app.inject({ method: 'GET', url: TARGET })), 21, 'the boost ended');
    assertProblem(t, await servient.app.inject({ method: 'DELETE', url: location }), { status: 409, code: 'FLOWCHAIN_ERR_ACTION_FINISHED' });
  });

  t.test('an invocation the Thing does not know: 404 FLOWCHAIN_ERR_ACTION_NOT_FOUND for GET and DELETE, even under another action', async (t) => {
    const { servient } = await createServient(t);
    const started = body(await servient.app.inject(jsonRequest('POST', BOOST, { minutes: 1 }))) as { id: string };
    for (const method of ['GET', 'DELETE'] as const) {
      assertProblem(t, await servient.app.inject({ method, url: `${BOOST}/00000000-0000-4000-8000-000000000000` }), { status: 404, code: 'FLOWCHAIN_ERR_ACTION_NOT_FOUND', field: 'id' });
      assertProblem(t, await servient.app.inject({ method, url: `${TOGGLE}/${started.id}` }), { status: 404, code: 'FLOWCHAIN_ERR_ACTION_NOT_FOUND' });
    }
  });

  t.test('DELETE without the token on a protected node: 401 and the boost goes on', async (t) => {
    const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
    const location = await boost(servient, { minutes: 5 }, { authorization: `Bearer ${AUTH_TOKEN}` });
    assertProblem(t, await servient.app.inject({ method: 'DELETE', url: location }), { status: 401, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
    t.match(body(await servient.app.inject({ method: 'GET', url: location })), { status: 'running' }, 'a query needs no token');
  });

  t.test('with Accept: text/event-stream, the invocation URL streams its statuses until it finishes', async (t) => {
    const { servient, clock } = await createServient(t);
    const location = await boost(servient, { minutes: 1 });
    const streamed = servient.app.inject({ method: 'GET', url: location, headers: { accept: 'text/event-stream' } });
    await settle();
    clock.advance(MINUTE);
    const res = await streamed;
    t.match(res.headers['content-type'], /^text\/event-stream/);
    const statuses = res.body.split('\n').filter((line) => line.startsWith('data: ')).map((line) => (JSON.parse(line.slice(6)) as { status: string }).status);
    t.same(statuses, ['running', 'completed'], 'the current status first, then each new one, and the stream ends');
  });

  t.test('an invocation running when the node stops is failed with FLOWCHAIN_ERR_ACTION_INTERRUPTED after the restart, never running forever', async (t) => {
    const { servient, config } = await createServient(t);
    const location = await boost(servient, { minutes: 60 });
    await servient.stop();
    const again = await createServient(t, { data: config.data });
    t.match(body(await again.servient.app.inject({ method: 'GET', url: location })), { status: 'failed', error: { code: 'FLOWCHAIN_ERR_ACTION_INTERRUPTED' } });
  });

  t.test('the TD says boost is asynchronous, with queryaction and cancelaction forms; toggle stays synchronous', async (t) => {
    const { servient } = await createServient(t);
    const td = body(await servient.app.inject({ method: 'GET', url: '/things/thermostat' })) as { actions: Record<string, { synchronous: boolean; forms: { op: string[] }[] }>; forms: { op: string[] }[] };
    t.equal(td.actions.boost!.synchronous, false);
    t.same(td.actions.boost!.forms[0]!.op, ['invokeaction', 'queryaction', 'cancelaction']);
    t.ok(td.forms.some((form) => form.op.includes('queryallactions')));
    const plug = body(await servient.app.inject({ method: 'GET', url: '/things/smart-plug' })) as { actions: Record<string, { synchronous: boolean; forms: { op: string[] }[] }>; forms: { op: string[] }[] };
    t.equal(plug.actions.toggle!.synchronous, true);
    t.same(plug.actions.toggle!.forms[0]!.op, ['invokeaction']);
    t.notOk(plug.forms.some((form) => form.op.includes('queryallactions')), 'a Thing without asynchronous actions offers no queryallactions');
  });
});

t.test('invokeaction input checks', async (t) => {
  const invalid: [string, unknown, string][] = [
    ['no minutes (a required member)', {}, 'boost/minutes'],
    ['only a delta', { delta: 1 }, 'boost/minutes'],
    ['minutes below minimum', { minutes: 0 }, 'boost/minutes'],
    ['minutes above maximum', { minutes: 121 }, 'boost/minutes'],
    ['fractional minutes for an integer', { minutes: 1.5 }, 'boost/minutes'],
    ['minutes as a string', { minutes: '10' }, 'boost/minutes'],
    ['a delta below minimum', { minutes: 10, delta: 0.25 }, 'boost/delta'],
    ['a delta above maximum', { minutes: 10, delta: 6 }, 'boost/delta'],
    ['a number instead of an object', 10, 'boost'],
    ['an array instead of an object', [10], 'boost'],
    ['null', null, 'boost'],
  ];
  for (const [what, input, field] of invalid) {
    t.test(`POST boost with ${what} fails with 400 FLOWCHAIN_ERR_VALUE_INVALID naming ${field}, and does not boost`, async (t) => {
      const { servient, clock } = await createServient(t);
      const timers = clock.pending;
      assertProblem(t, await servient.app.inject(jsonRequest('POST', BOOST, input)), { status: 400, code: 'FLOWCHAIN_ERR_VALUE_INVALID', field, instance: BOOST });
      t.equal(body(await servient.app.inject({ method: 'GET', url: TARGET })), 21);
      t.equal(clock.pending, timers, 'no boost timer was started');
    });
  }

  t.test('POST boost without a body fails with 400 FLOWCHAIN_ERR_VALUE_INVALID: its input is required', async (t) => {
    const { servient } = await createServient(t);
    assertProblem(t, await servient.app.inject({ method: 'POST', url: BOOST }), { status: 400, code: 'FLOWCHAIN_ERR_VALUE_INVALID', field: 'boost' });
    assertProblem(t, await servient.app.inject({ method: 'POST', url: BOOST, headers: { 'content-type': 'application/json' } }), {
      status: 400,
      code: 'FLOWCHAIN_ERR_VALUE_INVALID',
      field: 'boost',
    });
  });

  t.test('POST boost with malformed JSON fails with 400 FLOWCHAIN_ERR_REQUEST_MALFORMED', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject({ method: 'POST', url: BOOST, payload: '{minutes: 10}', headers: { 'content-type': 'application/json' } });
    assertProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' });
    t.equal(body(await servient.app.inject({ method: 'GET', url: TARGET })), 21);
  });

  t.test('POST boost as text/plain or without a content type fails with 415 FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED', async (t) => {
    const { servient } = await createServient(t);
    const plain = await servient.app.inject({ method: 'POST', url: BOOST, payload: '{"minutes": 10}', headers: { 'content-type': 'text/plain' } });
    assertProblem(t, plain, { status: 415, code: 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED', field: 'content-type' });
    const untyped = await servient.app.inject({ method: 'POST', url: BOOST, payload: '{"minutes": 10}' });
    assertProblem(t, untyped, { status: 415, code: 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED', field: 'content-type' });
    t.equal(body(await servient.app.inject({ method: 'GET', url: TARGET })), 21);
  });

  t.test('POST boost with a body over bodyLimit fails with 413 FLOWCHAIN_ERR_REQUEST_TOO_LARGE', async (t) => {
    const { servient } = await createServient(t, { bodyLimit: 1024 });
    const res = await servient.app.inject(jsonRequest('POST', BOOST, { minutes: 10, padding: 'x'.repeat(2000) }));
    assertProblem(t, res, { status: 413, code: 'FLOWCHAIN_ERR_REQUEST_TOO_LARGE' });
    t.equal(body(await servient.app.inject({ method: 'GET', url: TARGET })), 21);
  });
});

t.test('invokeaction without input', async (t) => {
  t.test('POST toggle with neither body nor content type switches the plug on and answers its state', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject({ method: 'POST', url: TOGGLE });
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /^application\/json/);
    t.same(body(res), { on: true });
    t.equal(body(await servient.app.inject({ method: 'GET', url: '/things/smart-plug/properties/on' })), true);
    t.ok((body(await servient.app.inject({ method: 'GET', url: '/things/smart-plug/properties/power' })) as number) > 0, 'the load draws power');
  });

  t.test('POST toggle with Content-Type application/json and an empty body toggles', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject({ method: 'POST', url: TOGGLE, headers: { 'content-type': 'application/json' } });
    t.equal(res.statusCode, 200);
    t.same(body(res), { on: true });
  });

  t.test('POST toggle with a JSON body toggles (the body is ignored: the action has no input)', async (t) => {
    const { servient } = await createServient(t);
    t.same(body(await servient.app.inject(jsonRequest('POST', TOGGLE, {}))), { on: true });
    t.same(body(await servient.app.inject(jsonRequest('POST', TOGGLE, null))), { on: false });
  });

  t.test('toggling twice switches the plug back off and it draws nothing', async (t) => {
    const { servient } = await createServient(t);
    await servient.app.inject({ method: 'POST', url: TOGGLE });
    t.same(body(await servient.app.inject({ method: 'POST', url: TOGGLE })), { on: false });
    t.same(body(await servient.app.inject({ method: 'GET', url: '/things/smart-plug/properties' })), { on: false, power: 0 });
  });

  t.test('POST toggle with a text/plain body fails with 415 and does not toggle', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject({ method: 'POST', url: TOGGLE, payload: 'please', headers: { 'content-type': 'text/plain' } });
    assertProblem(t, res, { status: 415, code: 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED' });
    t.equal(await servient.registry.get('smart-plug').readProperty('on'), false);
  });

  t.test('POST toggle with malformed JSON fails with 400 and does not toggle', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject({ method: 'POST', url: TOGGLE, payload: '{', headers: { 'content-type': 'application/json' } });
    assertProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' });
    t.equal(await servient.registry.get('smart-plug').readProperty('on'), false);
  });
});

t.test('unknown Things and actions', async (t) => {
  t.test('POST to an unknown action fails with 404 FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND naming it', async (t) => {
    const { servient } = await createServient(t);
    const url = '/things/thermostat/actions/defrost';
    assertProblem(t, await servient.app.inject({ method: 'POST', url }), { status: 404, code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', field: 'defrost', instance: url });
    assertProblem(t, await servient.app.inject({ method: 'POST', url: '/things/environment-sensor/actions/toggle' }), {
      status: 404,
      code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND',
      field: 'toggle',
    });
    assertProblem(t, await servient.app.inject({ method: 'POST', url: '/things/thermostat/actions/mode' }), {
      status: 404,
      code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND',
      field: 'mode',
    });
  });

  t.test('POST to an action of an unknown Thing fails with 404 FLOWCHAIN_ERR_THING_NOT_FOUND', async (t) => {
    const { servient } = await createServient(t);
    assertProblem(t, await servient.app.inject({ method: 'POST', url: '/things/nope/actions/toggle' }), {
      status: 404,
      code: 'FLOWCHAIN_ERR_THING_NOT_FOUND',
      field: 'thing',
    });
  });

  t.test('GET or HEAD on an action fails with 405 FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED, Allow: POST, and runs nothing', async (t) => {
    const { servient } = await createServient(t);
    const res = await servient.app.inject({ method: 'GET', url: TOGGLE });
    assertProblem(t, res, { status: 405, code: 'FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED', field: 'toggle' });
    t.equal(res.headers.allow, 'POST');
    const head = await servient.app.inject({ method: 'HEAD', url: TOGGLE });
    t.equal(head.statusCode, 405);
    t.equal(head.headers.allow, 'POST');
    t.match(head.headers['content-type'], /^application\/problem\+json/);
    t.equal(head.body, '');
    t.equal(await servient.registry.get('smart-plug').readProperty('on'), false, 'the plug was not toggled');
  });

  t.test('GET on an unknown action or Thing is 404 as for POST', async (t) => {
    const { servient } = await createServient(t);
    assertProblem(t, await servient.app.inject({ method: 'GET', url: '/things/smart-plug/actions/explode' }), { status: 404, code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', field: 'explode' });
    assertProblem(t, await servient.app.inject({ method: 'GET', url: '/things/nope/actions/toggle' }), { status: 404, code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' });
  });
});

t.test('event subscriptions refuse what does not exist', async (t) => {
  t.test('long-poll and SSE on an unknown event fail with 404 FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', async (t) => {
    const { servient } = await createServient(t);
    for (const kind of ['longpoll', 'sse']) {
      for (const [thing, name] of [
        ['environment-sensor', 'meltdown'],
        ['environment-sensor', 'temperature'],
        ['thermostat', 'overheat'],
      ]) {
        const url = `/things/${thing}/events/${name}/${kind}`;
        assertProblem(t, await servient.app.inject({ method: 'GET', url }), { status: 404, code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', field: name, instance: url });
      }
    }
  });

  t.test('long-poll and SSE on an event of an unknown Thing fail with 404 FLOWCHAIN_ERR_THING_NOT_FOUND', async (t) => {
    const { servient } = await createServient(t);
    for (const kind of ['longpoll', 'sse']) {
      assertProblem(t, await servient.app.inject({ method: 'GET', url: `/things/nope/events/overheat/${kind}` }), {
        status: 404,
        code: 'FLOWCHAIN_ERR_THING_NOT_FOUND',
      });
    }
  });

  t.test('a bare event URL is not a route', async (t) => {
    const { servient } = await createServient(t);
    assertProblem(t, await servient.app.inject({ method: 'GET', url: '/things/environment-sensor/events/overheat' }), {
      status: 404,
      code: 'FLOWCHAIN_ERR_ROUTE_NOT_FOUND',
    });
  });
});

t.test('a rejected action invocation changes no value, history or outbox', async (t) => {
  const rejections: [string, InjectOptions, number, ErrorCode][] = [
    ['a Host with port 99999: 400', jsonRequest('POST', TOGGLE, undefined, { host: '127.0.0.1:99999' }), 400, 'FLOWCHAIN_ERR_REQUEST_MALFORMED'],
    ['boost without minutes: 400', jsonRequest('POST', BOOST, { delta: 1 }), 400, 'FLOWCHAIN_ERR_VALUE_INVALID'],
    ['boost with a delta over its maximum: 400', jsonRequest('POST', BOOST, { minutes: 1, delta: 50 }), 400, 'FLOWCHAIN_ERR_VALUE_INVALID'],
    ['boost with malformed JSON: 400', { method: 'POST', url: BOOST, payload: '{"minutes":', headers: { 'content-type': 'application/json' } }, 400, 'FLOWCHAIN_ERR_REQUEST_MALFORMED'],
    ['boost as a form: 415', { method: 'POST', url: BOOST, payload: 'minutes=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED'],
    ['boost with a body over the limit: 413', jsonRequest('POST', BOOST, { minutes: 1, pad: 'x'.repeat(70_000) }), 413, 'FLOWCHAIN_ERR_REQUEST_TOO_LARGE'],
    ['an unknown action: 404', jsonRequest('POST', '/things/thermostat/actions/nope', {}), 404, 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND'],
    ['an action of an unknown Thing: 404', jsonRequest('POST', '/things/nope/actions/toggle', {}), 404, 'FLOWCHAIN_ERR_THING_NOT_FOUND'],
    ['GET on an action: 405', { method: 'GET', url: TOGGLE }, 405, 'FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED'],
  ];
  const { servient } = await createServient(t);
  const before = await stateOf(servient);
  for (const [what, request, status, code] of rejections) {
    assertProblem(t, await servient.app.inject(request), { status, code });
    t.same(await stateOf(servient), before, `${what}: nothing changed`);
  }
  t.equal((await servient.app.inject(jsonRequest('POST', BOOST, { minutes: 1 }))).statusCode, 201);
  await settle();
  t.notSame(await stateOf(servient), before, 'an accepted boost does change them');
});

t.test('an action without the token on a protected node runs nothing and changes no value, history or outbox', async (t) => {
  const { servient } = await createServient(t, { authToken: AUTH_TOKEN });
  const before = await stateOf(servient);
  assertProblem(t, await servient.app.inject({ method: 'POST', url: TOGGLE }), { status: 401, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
  assertProblem(t, await servient.app.inject(jsonRequest('POST', BOOST, { minutes: 1 }, { authorization: 'Bearer a-wrong-token-of-some-length' })), { status: 401, code: 'FLOWCHAIN_ERR_AUTH_INVALID' });
  t.same(await stateOf(servient), before);
  t.equal((await servient.app.inject({ method: 'POST', url: TOGGLE, headers: { authorization: `Bearer ${AUTH_TOKEN}` } })).statusCode, 200);
  t.notSame(await stateOf(servient), before, 'with the token the toggle does change them');
});

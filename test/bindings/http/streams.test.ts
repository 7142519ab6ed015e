import t from 'tap';
import { createServient, startPosition } from '../../helpers/test-servient.js';
import { advanceUntilEvent, assertProblem, body, customThings, httpGet, httpHead, jsonRequest, openSse, SubscriptionSpy, until } from './fixtures.js';

t.test('SSE on a property', async (t) => {
  t.test('sends the current value first, then each change as event: <name> / data: <json> with rising RFC 3339 ids', async (t) => {
    const { servient, clock } = await createServient(t);
    const { url } = await servient.start();
    const sensor = servient.registry.get('environment-sensor');
    const sse = await openSse(t, `${url}things/environment-sensor/properties/temperature/sse`);
    t.equal(sse.status, 200);
    t.match(sse.headers['content-type'], /^text\/event-stream/);
    t.equal(sse.headers['cache-control'], 'no-cache');
    t.match(await sse.next(), { retry: 2000 }, 'a retry hint comes first');

    const first = await sse.nextEvent();
    const position = startPosition(servient);
    t.match(first, { id: position, event: 'temperature' }, 'the current value is stamped with the node\'s position: nothing happened yet');
    t.equal(JSON.parse(first.data ?? ''), await sensor.readProperty('temperature'), 'the current value');

    const seen = [await sensor.readProperty('temperature')];
    let id = first.id!;
    for (let i = 1; i <= 3; i++) {
      clock.advance(1_000);
      const now = await sensor.readProperty('temperature');
      t.not(now, seen.at(-1), 'the seeded sensor moved');
      seen.push(now);
      const change = await sse.nextEvent();
      t.match(change, { id: new RegExp(`^2026-01-01T00:00:0${i}\\.000\\d{3}Z$`), event: 'temperature' }, `reading ${i} is stamped with its time`);
      t.ok(change.id! > id, 'ids rise');
      id = change.id!;
      t.equal(JSON.parse(change.data ?? ''), now, `reading ${i}`);
    }
  });

  t.test('a write shows up on the stream as JSON', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const sse = await openSse(t, `${url}things/thermostat/properties/mode/sse`);
    t.equal((await sse.nextEvent()).data, '"heat"');
    t.equal((await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/mode', 'cool'))).statusCode, 204);
    t.match(await sse.nextEvent(), { event: 'mode', data: '"cool"' });
  });

  t.test('the Thing can be named by TD id', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const id = encodeURIComponent(servient.registry.get('thermostat').id);
    const sse = await openSse(t, `${url}things/${id}/properties/targetTemperature/sse`);
    t.equal(sse.status, 200);
    t.equal((await sse.nextEvent()).data, '21');
  });

  t.test('an idle stream gets a heartbeat comment every 15 s of clock time', async (t) => {
    const { servient, clock } = await createServient(t);
    const { url } = await servient.start();
    const sse = await openSse(t, `${url}things/thermostat/properties/mode/sse`);
    await sse.nextEvent();
    clock.advance(15_000);
    t.match(await sse.next(), { comments: ['heartbeat'], data: undefined });
  });
});

t.test('SSE on an event sends each occurrence as event: <name> / data: <json>', async (t) => {
  const { servient, clock } = await createServient(t, { things: customThings(t) });
  const { url } = await servient.start();
  const sensor = servient.registry.get('hot-sensor');
  const spy = new SubscriptionSpy(sensor);
  const sse = await openSse(t, `${url}things/hot-sensor/events/overheat/sse`);
  t.equal(sse.status, 200);
  t.match(sse.headers['content-type'], /^text\/event-stream/);
  t.match(await sse.next(), { retry: 2000 });
  await spy.when((s) => s.active === 1);
  const overheat = advanceUntilEvent(clock, sensor, 'overheat');
  t.match(overheat.data, { temperature: Number, threshold: 26 });
  const event = await sse.nextEvent();
  t.match(event, { id: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, event: 'overheat' });
  t.equal(Date.parse(event.id!.replace(/\d{3}Z$/, 'Z')), overheat.timestamp, 'the id is the time it happened');
  t.same(JSON.parse(event.data ?? ''), overheat.data);
});

t.test('a client that disconnects from SSE is unsubscribed and its heartbeat stopped', async (t) => {
  const { servient, clock } = await createServient(t, { things: customThings(t) });
  const { url } = await servient.start();
  const sensor = servient.registry.get('hot-sensor');
  const spy = new SubscriptionSpy(sensor);
  const timers = clock.pending;
  const property = await openSse(t, `${url}things/hot-sensor/properties/temperature/sse`);
  const event = await openSse(t, `${url}things/hot-sensor/events/overheat/sse`);
  await property.nextEvent();
  await event.next();
  await spy.when((s) => s.active === 2);
  t.equal(clock.pending, timers + 2, 'one heartbeat per stream');
  const opened = spy.opened;

  property.close();
  event.close();
  await spy.when((s) => s.active === 0);
  await until(() => clock.pending === timers, 'the heartbeats to be cancelled');
  clock.advance(20_000);
  t.equal(spy.active, 0, 'nothing subscribed');
  t.equal(spy.opened, opened, 'nothing resubscribed');
});

t.test('stopping the servient ends open SSE streams and completes', async (t) => {
  const { servient } = await createServient(t, { things: customThings(t) });
  const { url } = await servient.start();
  const spy = new SubscriptionSpy(servient.registry.get('hot-sensor'));
  const property = await openSse(t, `${url}things/hot-sensor/properties/temperature/sse`);
  const event = await openSse(t, `${url}things/hot-sensor/events/overheat/sse`);
  await property.nextEvent();
  await spy.when((s) => s.active === 2);
  await servient.stop();
  await property.ended;
  await event.ended;
  t.equal(spy.active, 0);
});

t.test('an SSE client that stops reading is cut off and unsubscribed instead of buffering without bound', async (t) => {
  const { servient } = await createServient(t, { things: customThings(t), wsBufferLimit: 16_384, bodyLimit: 1024 * 1024 });
  const { url } = await servient.start();
  const lamp = servient.registry.get('lamp');
  const spy = new SubscriptionSpy(lamp);
  const sse = await openSse(t, `${url}things/lamp/properties/label/sse`);
  await sse.nextEvent();
  await spy.when((s) => s.active === 1);
  sse.pause();
  const big = 'z'.repeat(64 * 1024);
  let writes = 0;
  while (spy.active > 0 && writes < 1_000) {
    const res = await servient.app.inject(jsonRequest('PUT', '/things/lamp/properties/label', `${writes++}${big}`));
    if (res.statusCode !== 204) t.fail(`write ${writes} answered ${res.statusCode}`);
  }
  t.equal(spy.active, 0, `the stalled stream was dropped after ${writes} writes`);
  t.ok(writes < 1_000);
});

t.test('long-poll on a property', async (t) => {
  t.test('resolves with the next reading as application/json', async (t) => {
    const { servient, clock } = await createServient(t);
    const { url } = await servient.start();
    const sensor = servient.registry.get('environment-sensor');
    const spy = new SubscriptionSpy(sensor);
    const poll = httpGet(t, `${url}things/environment-sensor/properties/humidity/longpoll`);
    await spy.when((s) => s.active === 1);
    const before = await sensor.readProperty('humidity');
    clock.advance(1_000);
    const res = await poll.response;
    t.equal(res.status, 200);
    t.match(res.headers['content-type'], /^application\/json/);
    t.not(await sensor.readProperty('humidity'), before, 'the seeded sensor moved');
    t.equal(JSON.parse(res.body), await sensor.readProperty('humidity'));
    await spy.when((s) => s.active === 0);
  });

  t.test('resolves with a value written by someone else', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const spy = new SubscriptionSpy(servient.registry.get('thermostat'));
    const poll = httpGet(t, `${url}things/thermostat/properties/targetTemperature/longpoll`);
    await spy.when((s) => s.active === 1);
    t.equal((await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/targetTemperature', 25.5))).statusCode, 204);
    const res = await poll.response;
    t.equal(res.status, 200);
    t.equal(JSON.parse(res.body), 25.5);
  });

  t.test('answers the current value when nothing changes within longPollTimeoutMs', async (t) => {
    const { servient, clock } = await createServient(t, { longPollTimeoutMs: 5_000 });
    const { url } = await servient.start();
    const spy = new SubscriptionSpy(servient.registry.get('thermostat'));
    const poll = httpGet(t, `${url}things/thermostat/properties/targetTemperature/longpoll`);
    let answered = false;
    void poll.response.then(() => (answered = true));
    await spy.when((s) => s.active === 1);
    clock.advance(4_999);
    t.equal(spy.active, 1, 'still waiting just before the timeout');
    t.notOk(answered);
    clock.advance(1);
    const res = await poll.response;
    t.equal(res.status, 200);
    t.match(res.headers['content-type'], /^application\/json/);
    t.equal(JSON.parse(res.body), 21);
    t.equal(spy.active, 0);
  });

  t.test('a client that goes away is unsubscribed and its timeout cancelled', async (t) => {
    const { servient, clock } = await createServient(t);
    const { url } = await servient.start();
    const spy = new SubscriptionSpy(servient.registry.get('thermostat'));
    const timers = clock.pending;
    const poll = httpGet(t, `${url}things/thermostat/properties/targetTemperature/longpoll`);
    await spy.when((s) => s.active === 1);
    t.equal(clock.pending, timers + 1, 'the poll has a timeout');
    poll.abort();
    await spy.when((s) => s.active === 0);
    await until(() => clock.pending === timers, 'the poll timeout to be cancelled');
  });
});

t.test('long-poll on an event', async (t) => {
  t.test('resolves with the event data', async (t) => {
    const { servient, clock } = await createServient(t, { things: customThings(t) });
    const { url } = await servient.start();
    const sensor = servient.registry.get('hot-sensor');
    const spy = new SubscriptionSpy(sensor);
    const poll = httpGet(t, `${url}things/hot-sensor/events/overheat/longpoll`);
    await spy.when((s) => s.active === 1);
    const overheat = advanceUntilEvent(clock, sensor, 'overheat');
    const res = await poll.response;
    t.equal(res.status, 200);
    t.match(res.headers['content-type'], /^application\/json/);
    t.same(JSON.parse(res.body), overheat.data);
    await spy.when((s) => s.active === 0);
  });

  t.test('answers 204 without a body when no event comes within the window the consumer asked for (RFC 7240 Prefer: wait), at most longPollTimeoutMs', async (t) => {
    const { servient, clock } = await createServient(t, { longPollTimeoutMs: 3_000 });
    const { url } = await servient.start();
    const spy = new SubscriptionSpy(servient.registry.get('environment-sensor'));
    const poll = httpGet(t, `${url}things/environment-sensor/events/overheat/longpoll`, { prefer: 'wait=2' });
    await spy.when((s) => s.active === 1);
    clock.advance(1_999);
    t.equal(spy.active, 1, 'still waiting just before the window ends');
    clock.advance(1);
    const res = await poll.response;
    t.equal(res.status, 204);
    t.equal(res.body, '');
    t.equal(res.headers['preference-applied'], 'wait=2');
    t.equal(spy.active, 0);
    const capped = httpGet(t, `${url}things/environment-sensor/events/overheat/longpoll`, { prefer: 'wait=600' });
    await spy.when((s) => s.active === 1);
    clock.advance(3_000);
    t.equal((await capped.response).headers['preference-applied'], 'wait=3', 'the node holds a poll no longer than longPollTimeoutMs');
  });

  t.test('without Prefer: wait the poll has no window: a consumer that takes every answer for an event gets only events', async (t) => {
    const { servient, clock } = await createServient(t, { longPollTimeoutMs: 3_000 });
    const { url } = await servient.start();
    const spy = new SubscriptionSpy(servient.registry.get('environment-sensor'));
    const sensor = servient.registry.get('environment-sensor');
    const poll = httpGet(t, `${url}things/environment-sensor/events/overheat/longpoll`);
    await spy.when((s) => s.active === 1);
    clock.advance(60_000);
    t.equal(spy.active, 1, 'still waiting after twenty windows');
    sensor.emitEvent('overheat', { temperature: 41, threshold: 40 });
    const res = await poll.response;
    t.equal(res.status, 200, 'the answer is the event, not a 204 from a window');
    t.same(JSON.parse(res.body), { temperature: 41, threshold: 40 });
  });

  t.test('a client that goes away is unsubscribed', async (t) => {
    const { servient, clock } = await createServient(t);
    const { url } = await servient.start();
    const spy = new SubscriptionSpy(servient.registry.get('environment-sensor'));
    const timers = clock.pending;
    const poll = httpGet(t, `${url}things/environment-sensor/events/overheat/longpoll`);
    await spy.when((s) => s.active === 1);
    poll.abort();
    await spy.when((s) => s.active === 0);
    await until(() => clock.pending === timers, 'the poll timeout to be cancelled');
  });
});

t.test('stopping the servient answers pending long-polls with 503 FLOWCHAIN_ERR_SHUTTING_DOWN and completes', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  const thermostat = new SubscriptionSpy(servient.registry.get('thermostat'));
  const sensor = new SubscriptionSpy(servient.registry.get('environment-sensor'));
  const property = httpGet(t, `${url}things/thermostat/properties/targetTemperature/longpoll`);
  const event = httpGet(t, `${url}things/environment-sensor/events/overheat/longpoll`);
  await thermostat.when((s) => s.active === 1);
  await sensor.when((s) => s.active === 1);
  await servient.stop();
  const [p, e] = await Promise.all([property.response, event.response]);
  for (const [what, res] of [['the property poll', p], ['the event poll', e]] as const) {
    t.equal(res.status, 503, `${what} is told the node stops, never given a value or an empty event`);
    t.match(JSON.parse(res.body), { code: 'FLOWCHAIN_ERR_SHUTTING_DOWN' });
  }
  t.equal(thermostat.active + sensor.active, 0);
});

t.test('long-polls and SSE by inject leave no subscription behind once answered', async (t) => {
  const { servient, clock } = await createServient(t, { longPollTimeoutMs: 1_000 });
  const spy = new SubscriptionSpy(servient.registry.get('thermostat'));
  const pending = servient.app.inject({ method: 'GET', url: '/things/thermostat/properties/mode/longpoll' });
  await spy.when((s) => s.active === 1);
  clock.advance(1_000);
  t.equal((await pending).statusCode, 200);
  t.equal(spy.active, 0);
  t.equal(spy.opened, 1);
  t.same(body(await servient.app.inject({ method: 'GET', url: '/health' })), { status: 'ok', things: 5, uptimeSeconds: 1 });
});

t.test('HEAD on a stream URL', async (t) => {
  t.test('answers at once, with the headers its GET carries and no body, and leaves no subscription (the clock never moves)', async (t) => {
    const { servient, clock } = await createServient(t, { things: customThings(t) });
    const { url } = await servient.start();
    const sensor = new SubscriptionSpy(servient.registry.get('hot-sensor'));
    const timers = clock.pending;
    for (const [path, type] of [
      ['things/hot-sensor/properties/temperature/longpoll', /^application\/json/],
      ['things/hot-sensor/properties/temperature/sse', /^text\/event-stream/],
      ['things/hot-sensor/events/overheat/longpoll', /^application\/json/],
      ['things/hot-sensor/events/overheat/sse', /^text\/event-stream/],
    ] as const) {
      const res = await httpHead(t, `${url}${path}`);
      t.equal(res.status, 200, path);
      t.match(res.headers['content-type'], type, `${path}: the GET's media type`);
      t.equal(res.headers['content-length'], undefined, `${path}: no length (the GET's is not known yet)`);
      t.equal(res.body, '', `${path}: no body`);
    }
    t.equal(sensor.active, 0, 'no subscription left behind');
    t.equal(clock.pending, timers, 'no poll timeout or heartbeat left behind');
  });

  t.test('fails as the GET would for an unknown or unobservable affordance', async (t) => {
    const { servient } = await createServient(t, { things: customThings(t) });
    for (const [url, status, code] of [
      ['/things/hot-sensor/properties/nope/longpoll', 404, 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND'],
      ['/things/hot-sensor/events/nope/sse', 404, 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND'],
      ['/things/lamp/properties/level/sse', 405, 'FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED'],
      ['/things/lamp/properties/secret/longpoll', 405, 'FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY'],
      ['/things/nope/events/overheat/longpoll', 404, 'FLOWCHAIN_ERR_THING_NOT_FOUND'],
    ] as const) {
      const head = await servient.app.inject({ method: 'HEAD', url });
      t.equal(head.statusCode, status, url);
      t.match(head.headers['content-type'], /^application\/problem\+json/, `${url}: a problem`);
      t.equal(head.body, '');
      assertProblem(t, await servient.app.inject({ method: 'GET', url }), { status, code });
    }
  });
});

t.test('SSE resume (Last-Event-ID, WoT Profile HTTP SSE)', async (t) => {
  t.test('a property stream resumed after the last id it saw replays the changes it missed, in order, then goes live', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const target = `${url}things/thermostat/properties/targetTemperature/sse`;
    const write = async (value: number) => t.equal((await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/targetTemperature', value))).statusCode, 204);
    const first = await openSse(t, target);
    await first.nextEvent();
    await write(22);
    const seen = await first.nextEvent();
    first.close();
    for (const value of [22.5, 23, 23.5]) await write(value);
    const again = await openSse(t, target, { 'last-event-id': seen.id! });
    const replayed = [await again.nextEvent(), await again.nextEvent(), await again.nextEvent()];
    t.same(replayed.map((b) => JSON.parse(b.data!)), [22.5, 23, 23.5], 'every missed change, and not the current value again');
    t.ok(replayed.every((b, i) => b.id! > (replayed[i - 1]?.id ?? seen.id!)), 'in id order, after the one it saw');
    await write(24);
    t.equal(JSON.parse((await again.nextEvent()).data!), 24, 'then live');
    t.same(again.buffered, [], 'nothing twice');
  });

  t.test('the per-Thing streams: observeallproperties (Accept: text/event-stream on …/properties) and subscribeallevents (…/events) resume too', async (t) => {
    const { servient, clock } = await createServient(t, { things: customThings(t) });
    const { url } = await servient.start();
    const all = await openSse(t, `${url}things/thermostat/properties`);
    t.match(all.headers['content-type'], /^text\/event-stream/);
    t.match(all.headers.vary, /\baccept\b/, 'one URL, two representations: caches tell them apart');
    const opening = [await all.nextEvent(), await all.nextEvent(), await all.nextEvent()];
    t.same(opening.map((b) => b.event).sort(), ['currentTemperature', 'mode', 'targetTemperature'], 'every observable property\'s current value first');
    t.equal(new Set(opening.map((b) => b.id)).size, 1, 'all stamped with the node\'s position');
    all.close();
    t.equal((await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties', { mode: 'cool', targetTemperature: 19 }))).statusCode, 204);
    const resumed = await openSse(t, `${url}things/thermostat/properties`, { 'last-event-id': opening[0]!.id! });
    t.same([await resumed.nextEvent(), await resumed.nextEvent()].map((b) => [b.event, JSON.parse(b.data!)]), [['mode', 'cool'], ['targetTemperature', 19]], 'both changes, in the order they were applied');

    const events = await openSse(t, `${url}things/hot-sensor/events`);
    t.match(await events.next(), { retry: 2000 });
    const sensor = servient.registry.get('hot-sensor');
    const spy = new SubscriptionSpy(sensor);
    events.close();
    await spy.when((s) => s.active === 0);
    const missed = advanceUntilEvent(clock, sensor, 'overheat');
    const back = await openSse(t, `${url}things/hot-sensor/events`, { 'last-event-id': '2026-01-01T00:00:00.000000Z' });
    const event = await back.nextEvent();
    t.match(event, { event: 'overheat' });
    t.same(JSON.parse(event.data!), missed.data, 'the overheat raised while the consumer was away');
  });

  t.test('one change carries the same id on its property\'s stream and on its Thing\'s stream', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    const one = await openSse(t, `${url}things/thermostat/properties/mode/sse`);
    const all = await openSse(t, `${url}things/thermostat/properties`);
    await one.nextEvent();
    for (let i = 0; i < 3; i++) await all.nextEvent();
    t.equal((await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/mode', 'auto'))).statusCode, 204);
    const [a, b] = [await one.nextEvent(), await all.nextEvent()];
    t.equal(a.id, b.id);
    t.match(b, { event: 'mode', data: '"auto"' });
  });

  t.test('a Last-Event-ID from the future or of the wrong shape is ignored: the stream starts live, with no error', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    t.equal((await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/mode', 'cool'))).statusCode, 204);
    const fresh = await openSse(t, `${url}things/thermostat/properties/mode/sse`);
    const live = await fresh.nextEvent();
    fresh.close();
    for (const lastEventId of ['2099-01-01T00:00:00.000000Z', '42', 'not an id', '2026-01-01T00:00:00Z', '2026-13-01T00:00:00.000000Z', live.id!.toLowerCase()]) {
      const sse = await openSse(t, `${url}things/thermostat/properties/mode/sse`, { 'last-event-id': lastEventId });
      t.equal(sse.status, 200, lastEventId);
      const first = await sse.nextEvent();
      t.same(first, live, `${lastEventId}: the current value with the node's position, as on a fresh stream`);
      t.same(sse.buffered.filter((b) => b.data !== undefined), [], `${lastEventId}: nothing replayed`);
      sse.close();
    }
    t.equal(live.data, '"cool"');
  });

  t.test('an id from before the node started replays what is kept, and the current value of what has not changed since', async (t) => {
    const { servient } = await createServient(t);
    const { url } = await servient.start();
    t.equal((await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/mode', 'cool'))).statusCode, 204);
    const sse = await openSse(t, `${url}things/thermostat/properties`, { 'last-event-id': '2025-12-31T23:59:59.000000Z' });
    const blocks = [await sse.nextEvent(), await sse.nextEvent(), await sse.nextEvent()];
    t.same(blocks.map((b) => b.event), ['targetTemperature', 'currentTemperature', 'mode'], 'the unchanged ones first (stamped with the start), then the kept change');
    t.equal(blocks[0]!.id, '2026-01-01T00:00:00.000000Z');
    t.equal(blocks[2]!.data, '"cool"');
  });

  t.test('GET …/properties without Accept: text/event-stream is readallproperties; a Thing without events or observable properties has no such stream', async (t) => {
    const { servient } = await createServient(t, { things: customThings(t) });
    const res = await servient.app.inject({ method: 'GET', url: '/things/thermostat/properties', headers: { accept: 'application/json, text/event-stream;q=0' } });
    t.equal(res.statusCode, 200);
    t.same(Object.keys(body(res) as object).sort(), ['currentTemperature', 'mode', 'targetTemperature']);
    t.match(res.headers.vary, /\baccept\b/);
    assertProblem(t, await servient.app.inject({ method: 'GET', url: '/things/thermostat/events' }), { status: 404, code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', field: 'events' });
    assertProblem(t, await servient.app.inject({ method: 'GET', url: '/things/nope/events' }), { status: 404, code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' });
  });

  t.test('HEAD on the per-Thing streams answers at once with the stream headers', async (t) => {
    const { servient } = await createServient(t, { things: customThings(t) });
    const { url } = await servient.start();
    for (const [path, headers] of [
      ['things/thermostat/properties', { accept: 'text/event-stream' }],
      ['things/hot-sensor/events', {}],
    ] as const) {
      const res = await httpHead(t, `${url}${path}`, headers);
      t.equal(res.status, 200, path);
      t.match(res.headers['content-type'], /^text\/event-stream/, path);
      t.equal(res.body, '');
    }
  });
});

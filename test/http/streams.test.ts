import t from 'tap';
import { createServient } from '../helpers/test-servient.js';
import { advanceUntilEvent, assertProblem, body, customThings, httpGet, httpHead, jsonRequest, openSse, SubscriptionSpy, until } from './fixtures.js';

t.test('SSE on a property', async (t) => {
  t.test('sends the current value first, then each change as event: <name> / data: <json> with rising ids', async (t) => {
    const { servient, clock } = await createServient(t);
    const { url } = await servient.start();
    const sensor = servient.registry.get('environment-sensor');
    const sse = await openSse(t, `${url}things/environment-sensor/properties/temperature/sse`);
    t.equal(sse.status, 200);
    t.match(sse.headers['content-type'], /^text\/event-stream/);
    t.equal(sse.headers['cache-control'], 'no-cache');
    t.match(await sse.next(), { retry: 2000 }, 'a retry hint comes first');

    const first = await sse.nextEvent();
    t.match(first, { id: '1', event: 'temperature' });
    t.equal(JSON.parse(first.data ?? ''), sensor.readProperty('temperature'), 'the current value');

    const seen = [sensor.readProperty('temperature')];
    for (let i = 2; i <= 4; i++) {
      clock.advance(1_000);
      const now = sensor.readProperty('temperature');
      t.not(now, seen.at(-1), 'the seeded sensor moved');
      seen.push(now);
      const change = await sse.nextEvent();
      t.match(change, { id: String(i), event: 'temperature' });
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
  t.match(event, { id: '1', event: 'overheat' });
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

  property.close();
  event.close();
  await spy.when((s) => s.active === 0);
  await until(() => clock.pending === timers, 'the heartbeats to be cancelled');
  clock.advance(20_000);
  t.equal(spy.active, 0, 'nothing resubscribed');
  t.equal(spy.opened, 2);
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
    const before = sensor.readProperty('humidity');
    clock.advance(1_000);
    const res = await poll.response;
    t.equal(res.status, 200);
    t.match(res.headers['content-type'], /^application\/json/);
    t.not(sensor.readProperty('humidity'), before, 'the seeded sensor moved');
    t.equal(JSON.parse(res.body), sensor.readProperty('humidity'));
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

  t.test('answers 204 without a body when no event comes within longPollTimeoutMs', async (t) => {
    const { servient, clock } = await createServient(t, { longPollTimeoutMs: 3_000 });
    const { url } = await servient.start();
    const spy = new SubscriptionSpy(servient.registry.get('environment-sensor'));
    const poll = httpGet(t, `${url}things/environment-sensor/events/overheat/longpoll`);
    await spy.when((s) => s.active === 1);
    clock.advance(3_000);
    const res = await poll.response;
    t.equal(res.status, 204);
    t.equal(res.body, '');
    t.equal(spy.active, 0);
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

t.test('stopping the servient answers pending long-polls and completes', async (t) => {
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
  t.equal(p.status, 200, 'the property poll gets the current value');
  t.equal(JSON.parse(p.body), 21);
  t.equal(e.status, 204, 'the event poll gets no event');
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
  t.same(body(await servient.app.inject({ method: 'GET', url: '/health' })), { status: 'ok', things: 4, uptimeSeconds: 1 });
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

import t, { type Test } from 'tap';
import { consumeThing } from '../../../../src/client/consumed-thing.js';
import { createServient } from '../../../helpers/test-servient.js';

type Problem = { status: number; code: string; field?: string };

/** A node whose sensor's temperature took `n` values, one a second, from the manual clock's start. */
async function node(t: Test, n: number) {
  const { servient, clock } = await createServient(t);
  const sensor = servient.registry.get('environment-sensor');
  const start = clock.now();
  for (let i = 0; i < n; i++) {
    await sensor.emitPropertyChange('temperature', 20 + i / 100);
    clock.advance(1_000);
  }
  return { servient, clock, start };
}

t.test('GET …/history: a time range, newest first, paged with Link rel="next"', async (t) => {
  const { servient, start } = await node(t, 30);
  const first = await servient.app.inject(`/things/environment-sensor/properties/temperature/history?since=${start + 5_000}&until=${new Date(start + 14_000).toISOString()}&limit=4`);
  t.equal(first.statusCode, 200);
  const entries = first.json() as { value: number; timestamp: number; txId?: string }[];
  t.same(entries.map((e) => e.timestamp - start), [14_000, 13_000, 12_000, 11_000], 'until (an ISO date-time) included, newest first');
  t.equal(entries[0]!.value, 20.14);
  const next = /^<([^>]+)>; rel="next"$/.exec(String(first.headers.link))?.[1];
  t.ok(next, 'a next link');
  const pages = [entries];
  for (let url = next; url !== undefined; ) {
    const res = await servient.app.inject(url);
    pages.push(res.json());
    url = /^<([^>]+)>; rel="next"$/.exec(String(res.headers.link ?? ''))?.[1];
  }
  t.same(pages.flat().map((e) => e.timestamp - start), [14, 13, 12, 11, 10, 9, 8, 7, 6, 5].map((s) => s * 1000), 'the pages hold the range exactly once, since included');
  t.same(pages.map((p) => p.length), [4, 4, 2]);
});

t.test('every: buckets with count, min, max, mean and last; aggregate picks among them', async (t) => {
  const { servient, start } = await node(t, 20);
  // The manual clock starts on a whole minute: 10-second buckets start on the values 0, 10.
  const res = await servient.app.inject(`/things/environment-sensor/properties/temperature/history?every=PT10S&since=${start}`);
  const buckets = res.json() as { timestamp: number; count: number; min: number; max: number; mean: number; last: number }[];
  t.same(buckets.map((b) => [b.timestamp - start, b.count, b.min, b.max, b.last]), [[10_000, 10, 20.1, 20.19, 20.19], [0, 10, 20, 20.09, 20.09]]);
  t.ok(Math.abs(buckets[1]!.mean - 20.045) < 1e-9, 'mean');
  const picked = (await servient.app.inject(`/things/environment-sensor/properties/temperature/history?every=PT10S&since=${start}&aggregate=max,last`)).json();
  t.same(picked, [{ timestamp: start + 10_000, max: 20.19, last: 20.19 }, { timestamp: start, max: 20.09, last: 20.09 }]);
});

t.test('bad queries: 400 problem+json naming the field; nothing scanned', async (t) => {
  const { servient } = await createServient(t);
  const cases: [string, string][] = [
    ['since=200&until=100', 'since'],
    ['since=yesterday', 'since'],
    ['until=2026-13-01T00:00:00Z', 'until'],
    ['every=PT0.5S', 'every'],
    ['every=P1M', 'every'],
    ['every=PT10S&aggregate=median', 'aggregate'],
    ['aggregate=max', 'aggregate'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['every=PT10S&limit=5000', 'limit'],
    ['cursor=%2F..%2F', 'cursor'],
    ['from=0', 'from'],
    ['limit=1&limit=2', 'limit'],
  ];
  for (const [query, field] of cases) {
    const res = await servient.app.inject(`/things/environment-sensor/properties/temperature/history?${query}`);
    t.equal(res.statusCode, 400, query);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.match(res.json() as Problem, { code: 'FLOWCHAIN_ERR_HISTORY_QUERY_INVALID', field }, query);
  }
  t.match((await servient.app.inject('/things/environment-sensor/properties/pressure/history')).json(), { status: 404, code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' });
  t.match((await servient.app.inject('/things/ledger/events/transaction/history')).json(), { status: 404, code: 'FLOWCHAIN_ERR_HISTORY_NOT_KEPT' }, 'the ledger Thing\'s traffic is its chain');
});

t.test('events have a history too, linked from the TD like every readable property', async (t) => {
  const { servient, clock } = await createServient(t);
  const sensor = servient.registry.get('environment-sensor');
  sensor.emitEvent('overheat', { temperature: 31, threshold: 30 });
  clock.advance(1_000);
  sensor.emitEvent('overheat', { temperature: 32, threshold: 30 });
  // Events are written in the background: a few turns of the event loop.
  let res: { data: { temperature: number }; timestamp: number }[] = [];
  for (let turn = 0; turn < 100 && res.length < 2; turn++) res = (await servient.app.inject('/things/environment-sensor/events/overheat/history')).json();
  t.same(res.map((e) => e.data.temperature), [32, 31]);
  t.equal(res[0]!.timestamp - res[1]!.timestamp, 1_000);
  const td = (await servient.app.inject('/things/environment-sensor')).json() as { links: { rel: string; href: string; anchor?: string }[] };
  t.same(
    td.links.filter((l) => l.rel === 'version-history').map((l) => [l.href, l.anchor]),
    [
      ['things/environment-sensor/properties/temperature/history', 'things/environment-sensor/properties/temperature'],
      ['things/environment-sensor/properties/humidity/history', 'things/environment-sensor/properties/humidity'],
      ['things/environment-sensor/events/overheat/history', 'things/environment-sensor/events/overheat/sse'],
    ],
  );
  const ledger = (await servient.app.inject('/things/ledger')).json() as { links: { rel: string }[] };
  t.notOk(ledger.links.some((l) => l.rel === 'version-history'), 'the ledger Thing links none');
});

t.test('a consumer reads a history through the TD\'s link alone, page by page', async (t) => {
  const { servient, start } = await node(t, 12);
  const { url } = await servient.start();
  const thing = await consumeThing((await (await fetch(`${url}things/environment-sensor`)).json()) as never);
  const first = await thing.readPropertyHistory('temperature', { since: start, limit: 5 });
  t.same(first.items.map((e) => e.value), [20.11, 20.1, 20.09, 20.08, 20.07]);
  const second = await first.next!();
  const third = await second.next!();
  t.same([second.items.length, third.items.length, third.next], [5, 2, undefined], 'next() until the range is read');
  const buckets = await thing.readPropertyHistory('temperature', { since: new Date(start), every: 'PT6S' });
  t.same(buckets.items.map((b) => b.count), [6, 6]);
  t.same((await thing.readEventHistory('overheat')).items, [], 'no overheat yet');
  await t.rejects(thing.readPropertyHistory('pressure'), { code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' });
  const ledger = await consumeThing((await (await fetch(`${url}things/ledger`)).json()) as never);
  await t.rejects(ledger.readEventHistory('transaction'), { code: 'FLOWCHAIN_ERR_HISTORY_NOT_KEPT' }, 'no link, no request');
  await t.rejects(thing.readPropertyHistory('temperature', { every: 'PT0.1S' }), { code: 'FLOWCHAIN_ERR_HISTORY_QUERY_INVALID', field: 'every' }, 'the node\'s refusal keeps its code');
});

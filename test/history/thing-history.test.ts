import t, { type Test } from 'tap';
import { Database, type Section } from '../../src/storage.js';
import { ThingHistory, type PropertyEntry } from '../../src/history/thing-history.js';
import type { Bucket, Page } from '../../src/history/time-series.js';
import { MemorySection } from '../helpers/memory-section.js';

const T0 = Date.UTC(2026, 0, 1);

/** A history on a real LevelDB, with `n` values of thing/temperature at 1 Hz from T0 (value = second index). */
async function filled(t: Test, n: number): Promise<{ history: ThingHistory; properties: Section; events: Section }> {
  const db = await Database.open(t.testdir());
  t.teardown(() => db.close());
  const properties = db.section('history');
  const events = db.section('event-history');
  const history = new ThingHistory({ properties, events });
  for (let i = 0; i < n; i += 500) {
    const values = Array.from({ length: Math.min(500, n - i) }, (_, j) => i + j);
    await Promise.all(values.map((v) => history.prepareValues('urn:thing', new Map([['temperature', v]]), T0 + v * 1000).commit()));
  }
  return { history, properties, events };
}

const page = async (history: ThingHistory, query: Parameters<ThingHistory['query']>[3]) => (await history.query('properties', 'urn:thing', 'temperature', query)) as Page<PropertyEntry>;

t.test('a range is read newest first, both ends included, a page at a time', async (t) => {
  const { history } = await filled(t, 100);
  const first = await page(history, { since: T0 + 10_000, until: T0 + 19_000, limit: 4 });
  t.same(first.items.map((e) => e.value), [19, 18, 17, 16]);
  t.same(first.items[0], { value: 19, timestamp: T0 + 19_000 }, 'value and timestamp');
  t.ok(first.next, 'more of the range is left');
  const second = await page(history, { since: T0 + 10_000, until: T0 + 19_000, limit: 4, cursor: first.next! });
  t.same(second.items.map((e) => e.value), [15, 14, 13, 12]);
  const third = await page(history, { since: T0 + 10_000, until: T0 + 19_000, limit: 4, cursor: second.next! });
  t.same(third.items.map((e) => e.value), [11, 10]);
  t.equal(third.next, undefined, 'the last page says so');
  t.same((await page(history, { limit: 3 })).items.map((e) => e.value), [99, 98, 97], 'without a range: the newest');
  t.same((await page(history, { since: T0 + 200_000, limit: 3 })).items, [], 'a range after the last value is empty');
  t.same((await history.query('properties', 'urn:thing', 'humidity', { limit: 3 })).items, [], 'another property has its own series');
});

t.test('a query reads nothing outside its range', async (t) => {
  const { properties } = await filled(t, 50);
  const history = new ThingHistory({ properties: counting(properties), events: new MemorySection() });
  reads = 0;
  await page(history, { since: T0 + 20_000, until: T0 + 24_000, limit: 100 });
  t.equal(reads, 5, 'five entries in the range, five read');
  reads = 0;
  await page(history, { limit: 2 });
  t.equal(reads, 3, 'a page of two reads one more, to know whether a next page exists');
});

let reads = 0;
function counting(section: Section): Section {
  return {
    ...section,
    range: async function* (bounds) {
      for await (const entry of section.range(bounds)) {
        reads++;
        yield entry;
      }
    },
  };
}

t.test('buckets: count, min, max, mean and last of each, aligned to the epoch', async (t) => {
  const { history } = await filled(t, 95);
  const got = (await history.query('properties', 'urn:thing', 'temperature', { every: 30_000, limit: 10 })) as Page<Bucket>;
  // T0 is a multiple of 30 s: buckets start at T0+90 s (values 90-94), T0+60 s (60-89), T0+30 s, T0.
  t.same(got.items, [
    { timestamp: T0 + 90_000, count: 5, min: 90, max: 94, mean: 92, last: 94 },
    { timestamp: T0 + 60_000, count: 30, min: 60, max: 89, mean: 74.5, last: 89 },
    { timestamp: T0 + 30_000, count: 30, min: 30, max: 59, mean: 44.5, last: 59 },
    { timestamp: T0, count: 30, min: 0, max: 29, mean: 14.5, last: 29 },
  ]);
  t.equal(got.next, undefined);
  const paged = (await history.query('properties', 'urn:thing', 'temperature', { every: 30_000, limit: 2 })) as Page<Bucket>;
  t.same(paged.items.map((b) => b.timestamp), [T0 + 90_000, T0 + 60_000]);
  const rest = (await history.query('properties', 'urn:thing', 'temperature', { every: 30_000, limit: 2, cursor: paged.next! })) as Page<Bucket>;
  t.same(rest.items.map((b) => [b.timestamp, b.count]), [[T0 + 30_000, 30], [T0, 30]], 'the next page goes on where the first stopped, no bucket split');
  const inRange = (await history.query('properties', 'urn:thing', 'temperature', { every: 30_000, since: T0 + 45_000, until: T0 + 64_000, limit: 10 })) as Page<Bucket>;
  t.same(inRange.items, [
    { timestamp: T0 + 60_000, count: 5, min: 60, max: 64, mean: 62, last: 64 },
    { timestamp: T0 + 30_000, count: 15, min: 45, max: 59, mean: 52, last: 59 },
  ], 'buckets hold only what is in the range');
});

t.test('an aggregated page reads at most its budget of entries and ends at a whole bucket', async (t) => {
  const { properties } = await filled(t, 95);
  const history = new ThingHistory({ properties: counting(properties), events: new MemorySection(), readBudget: 40 });
  const buckets = async (query: Parameters<ThingHistory['query']>[3]) => (await history.query('properties', 'urn:thing', 'temperature', query)) as Page<Bucket>;
  reads = 0;
  const first = await buckets({ every: 30_000, limit: 10 });
  // 5 + 30 values fill the two newest buckets; the third is cut at the budget and left for the next page.
  t.same(first.items.map((b) => [b.timestamp, b.count]), [[T0 + 90_000, 5], [T0 + 60_000, 30]]);
  t.equal(first.next, String(T0 + 60_000), 'the next page starts before the last whole bucket');
  t.equal(reads, 41, 'the budget and the one read that found it spent');
  const second = await buckets({ every: 30_000, limit: 10, cursor: first.next! });
  t.same(second.items.map((b) => [b.timestamp, b.count]), [[T0 + 30_000, 30]], 'the cut bucket is read whole on its page');
  const third = await buckets({ every: 30_000, limit: 10, cursor: second.next! });
  t.same(third.items, [{ timestamp: T0, count: 30, min: 0, max: 29, mean: 14.5, last: 29 }]);
  t.equal(third.next, undefined);

  const exact = new ThingHistory({ properties, events: new MemorySection(), readBudget: 35 });
  const atBudget = (await exact.query('properties', 'urn:thing', 'temperature', { every: 30_000, limit: 10 })) as Page<Bucket>;
  t.same(atBudget.items.map((b) => [b.timestamp, b.count]), [[T0 + 90_000, 5], [T0 + 60_000, 30]], 'a bucket that ends exactly at the budget is whole and kept');

  await t.rejects(buckets({ every: 120_000, limit: 10 }), { code: 'FLOWCHAIN_ERR_HISTORY_QUERY_INVALID', field: 'every' }, 'one bucket of 95 values over a budget of 40 is refused, not cut');
});

t.test('non-numeric values: count and last only', async (t) => {
  const history = new ThingHistory({ properties: new MemorySection(), events: new MemorySection() });
  for (const [i, mode] of ['heat', 'cool', 'off'].entries()) await history.prepareValues('urn:thing', new Map([['mode', mode]]), T0 + i * 1000).commit();
  const got = await history.query('properties', 'urn:thing', 'mode', { every: 60_000, limit: 5 });
  t.same(got.items, [{ timestamp: T0, count: 3, min: null, max: null, mean: null, last: 'off' }]);
});

t.test('events are kept with their data, apart from properties of the same name', async (t) => {
  const events = new MemorySection();
  const history = new ThingHistory({ properties: new MemorySection(), events });
  history.recordEvent('urn:thing', 'overheat', { temperature: 31 }, T0);
  history.recordEvent('urn:thing', 'overheat', undefined, T0);
  history.recordEvent('urn:thing', 'overheat', { temperature: 32 }, T0 + 5);
  await new Promise((resolve) => setImmediate(resolve));
  const got = await history.query('events', 'urn:thing', 'overheat', { limit: 10 });
  t.equal(got.items.length, 3, 'two in one millisecond are both kept');
  t.same(got.items[0], { data: { temperature: 32 }, timestamp: T0 + 5 });
  t.ok(got.items.some((e) => (e as { data: unknown }).data === null), 'an event without data is kept with data null');
  t.same((await history.query('properties', 'urn:thing', 'overheat', { limit: 10 })).items, []);
});

t.test('prune deletes what is older than the retention in every series, and nothing else', async (t) => {
  const { history, events } = await filled(t, 60);
  await history.prepareValues('urn:other', new Map([['humidity', 40]]), T0 + 5_000).commit();
  await history.prepareValues('urn:other', new Map([['humidity', 41]]), T0 + 50_000).commit();
  await events.put('urn%3Athing/overheat/000000000000001/n0', { data: 1, timestamp: 1 });
  await history.prune(T0 + 30_000);
  const left = await page(history, { limit: 1000 });
  t.same([left.items.at(-1)?.value, left.items.length], [30, 30], 'from 30 s on, all kept');
  t.same((await history.query('properties', 'urn:other', 'humidity', { limit: 10 })).items.map((e) => (e as PropertyEntry).value), [41], 'every series is pruned');
  t.same((await history.query('events', 'urn:thing', 'overheat', { limit: 10 })).items, [], 'events too');
});

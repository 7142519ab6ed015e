/** The charts' arithmetic: ranges, bucket widths, live values joining buckets, steps, y values and CSV. */
import fc from 'fast-check';
import t from 'tap';
import { addToBuckets, bucketWidth, dropBefore, drawsAsSteps, historyCsv, isoSeconds, plotValue, rangeOf, type Bucket } from '../../../src/dashboard/client/series.js';

const NOW = Date.UTC(2026, 0, 1, 12);

t.test('a named range ends now and is live; a custom one is live only while it reaches now', async (t) => {
  t.same(rangeOf('15m', NOW), { name: '15m', since: NOW - 15 * 60_000, until: NOW, live: true });
  t.same(rangeOf('7d', NOW).since, NOW - 7 * 86_400_000);
  t.equal(rangeOf('custom', NOW, { since: NOW - 2000, until: NOW - 1000 }).live, false);
  t.equal(rangeOf('custom', NOW, { since: NOW - 2000, until: NOW + 1000 }).live, true);
  t.throws(() => rangeOf('custom', NOW, { since: NOW, until: NOW }), RangeError, 'a custom range needs its start before its end');
});

t.test('the bucket width gives one bucket per two pixels, in whole seconds, at least one', async (t) => {
  t.equal(bucketWidth({ since: 0, until: 3_600_000 }, 800), 9000, 'an hour over 800 px: 400 buckets of 9 s');
  t.equal(bucketWidth({ since: 0, until: 60_000 }, 2000), 1000, 'never under a second');
  t.equal(isoSeconds(9000), 'PT9S');
  fc.assert(
    fc.property(fc.integer({ min: 1000, max: 30 * 86_400_000 }), fc.integer({ min: 2, max: 5000 }), (span, width) => {
      const every = bucketWidth({ since: 0, until: span }, width);
      // Whole seconds, and no more buckets than the width has pairs of pixels.
      return every % 1000 === 0 && every >= 1000 && Math.ceil(span / every) <= Math.max(1, Math.floor(width / 2));
    }),
  );
});

t.test('a live value joins the newest bucket when it covers it, opens the next one otherwise, and an older one is left out', async (t) => {
  const buckets: Bucket[] = [{ timestamp: 10_000, count: 2, min: 1, max: 3, mean: 2, last: 3 }];
  t.ok(addToBuckets(buckets, 19_999, 8, 10_000));
  t.same(buckets, [{ timestamp: 10_000, count: 3, min: 1, max: 8, mean: 4, last: 8 }], 'count, min, max, mean and last updated');
  t.ok(addToBuckets(buckets, 25_000, 5, 10_000));
  t.same(buckets[1], { timestamp: 20_000, count: 1, min: 5, max: 5, mean: 5, last: 5 }, 'a new bucket at its aligned start');
  t.notOk(addToBuckets(buckets, 15_000, 99, 10_000), 'an older value is left out');
  t.equal(buckets.length, 2);
  t.ok(addToBuckets(buckets, 29_000, 'heat', 10_000), 'a value that is no number only sets last');
  t.match(buckets[1], { count: 2, mean: 5, last: 'heat' });
  dropBefore(buckets, 20_000, 10_000);
  t.same(buckets.map((b) => b.timestamp), [20_000], 'buckets that ended before the range are dropped');
});

t.test('setpoints, booleans and enums draw as steps; read-only numbers as lines', async (t) => {
  t.ok(drawsAsSteps({ type: 'number' }), 'a writable number is a setpoint');
  t.notOk(drawsAsSteps({ type: 'number', readOnly: true }), 'a read-only number is a reading');
  t.ok(drawsAsSteps({ type: 'boolean', readOnly: true }));
  t.ok(drawsAsSteps({ type: 'string', enum: ['off', 'heat'] }));
  t.ok(drawsAsSteps({ type: 'integer', readOnly: true, enum: [1, 2, 3] }));
});

t.test('values on the y axis: numbers, booleans as 0/1, enum values as their index', async (t) => {
  t.equal(plotValue(21.5, { type: 'number' }), 21.5);
  t.equal(plotValue(true, { type: 'boolean' }), 1);
  t.equal(plotValue(false, { type: 'boolean' }), 0);
  t.equal(plotValue('cool', { type: 'string', enum: ['off', 'heat', 'cool'] }), 2);
  t.equal(plotValue('nope', { type: 'string', enum: ['off'] }), null);
  t.equal(plotValue(3, { type: 'integer', enum: [1, 3] }), 3, 'a numeric enum keeps its value');
});

t.test('the CSV lists entries oldest first, ISO times, values and transaction ids, quoted per RFC 4180', async (t) => {
  const csv = historyCsv([
    { value: { a: 1, b: 'x' }, timestamp: Date.UTC(2026, 0, 1, 0, 0, 2) },
    { value: 'say "hi"', timestamp: Date.UTC(2026, 0, 1, 0, 0, 1), txId: 'ab' },
    { value: 20.5, timestamp: Date.UTC(2026, 0, 1), txId: 'cd' },
  ]);
  t.equal(csv, 'timestamp,value,txId\r\n2026-01-01T00:00:00.000Z,20.5,cd\r\n2026-01-01T00:00:01.000Z,"say ""hi""",ab\r\n2026-01-01T00:00:02.000Z,"{""a"":1,""b"":""x""}",\r\n');
  t.equal(historyCsv([]), 'timestamp,value,txId\r\n', 'an empty range is a header alone');
});

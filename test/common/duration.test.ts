import t from 'tap';
import { formatDuration, parseDuration } from '../../src/common/duration.js';

t.test('short forms', async (t) => {
  t.equal(parseDuration('500ms'), 500);
  t.equal(parseDuration('10s'), 10_000);
  t.equal(parseDuration('15m'), 900_000);
  t.equal(parseDuration('12h'), 43_200_000);
  t.equal(parseDuration('30d'), 2_592_000_000);
  t.equal(parseDuration('2w'), 1_209_600_000);
});

t.test('ISO 8601 durations of fixed length', async (t) => {
  t.equal(parseDuration('PT10S'), 10_000);
  t.equal(parseDuration('pt10s'), 10_000, 'case does not matter');
  t.equal(parseDuration('PT1H30M'), 5_400_000);
  t.equal(parseDuration('P7D'), 604_800_000);
  t.equal(parseDuration('P1DT12H'), 129_600_000);
  t.equal(parseDuration('P2W'), 1_209_600_000);
  t.equal(parseDuration('PT0.5S'), 500);
  t.equal(parseDuration('PT1,25S'), 1_250);
});

t.test('what names no duration', async (t) => {
  for (const text of ['', 'P', 'PT', 'P1DT', 'P1Y', 'P1M', '10', '10x', '-5s', '0s', 'PT0S', 'P1.5D', '1e3s', ' 10s', 'PT10S ']) t.equal(parseDuration(text), undefined, JSON.stringify(text));
});

t.test('formatDuration reads back', async (t) => {
  t.equal(formatDuration(86_400_000), '1d');
  t.equal(formatDuration(90_000), '90s');
  t.equal(formatDuration(1_500), '1500ms');
  t.equal(formatDuration(1_209_600_000), '2w');
  for (const ms of [1, 999, 1_000, 61_000, 3_600_000, 2_592_000_000]) t.equal(parseDuration(formatDuration(ms)), ms);
});

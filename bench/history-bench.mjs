/**
 * The history benchmark (`node bench/run.mjs --only=history`, issue 26): a 24-hour range of one
 * property sampled at 1 Hz (86,400 values) read over HTTP the two ways a dashboard could, in
 * one run:
 *
 *   - aggregated: one `GET …/history?since=…&until=…&every=PT173S` (500 buckets of count, min,
 *     max, mean and last: what a chart 1,000 px wide draws);
 *   - raw: the same 86,400 entries, a page of 1,000 at a time, following `Link: rel="next"`.
 *
 * The floor beside them: the same 86,400 entries read straight from the node's LevelDB with
 * `level`'s iterator and JSON-parsed, in the same process, with no HTTP, routing or folding.
 * Every query reads all 86,400 entries, so the floor is what the disk and the parser cost.
 *
 * The node is the real one (../dist), in this process, on a LevelDB in a temporary directory,
 * its history written directly (as a sensor's readings are: one entry per value, its own
 * key). Each figure is the median of several runs after a warm-up; the answers are checked
 * (500 buckets holding 86,400 values; 86,400 raw entries, each once, newest first).
 * Also measured: the bytes on disk of those 86,400 values after a compaction.
 * Rendered as its own section of bench/RESULTS.md by {@link renderHistorySection}.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { fmt, median, readNotes, table } from './lib/format.mjs';

const DIST = (path) => new URL(`../dist/${path}`, import.meta.url).href;
const DAY_MS = 86_400_000;
const POINTS = 86_400;
const EVERY_S = 173;
const PLANS = { full: { warmup: 2, runs: 9 }, quick: { warmup: 1, runs: 3 } };
/** The history an aggregated day is aimed at: within this many times the floor (a first guess). */
const TARGET_RATIO = 0.5;

export async function historyBenchmarks({ quick, log }) {
  const plan = quick ? PLANS.quick : PLANS.full;
  const problems = [];
  const dir = await mkdtemp(join(tmpdir(), 'flowchain-history-bench-'));
  const { createServient } = await import(DIST('index.js'));
  const node = () => createServient({ config: { data: dir, port: 0, peerPort: 0, host: '127.0.0.1', coapPort: 'off', mqtt: 'off', things: fileURLToPath(new URL('../things', import.meta.url)), logLevel: 'silent' } });
  // A whole day on whole minutes, ending an hour ago: nothing the live sensor adds falls in it.
  const until = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
  const since = until - DAY_MS + 1_000;
  // Buckets start at multiples of `every` since the epoch: the day spans 500 or 501 of them.
  const expectedBuckets = Math.floor(until / (EVERY_S * 1000)) - Math.floor(since / (EVERY_S * 1000)) + 1;
  try {
    // The day's values, written as a sensor's readings are (the node not started: no live readings).
    const writer = await node();
    const sensorId = writer.registry.get('environment-sensor').id;
    log(`[history] writing ${fmt(POINTS)} values`);
    for (let i = 0; i < POINTS; i += 2_000) {
      const writes = [];
      for (let j = i; j < Math.min(POINTS, i + 2_000); j++) writes.push(writer.history.prepareValues(sensorId, new Map([['temperature', 20 + Math.sin(j / 600) * 5]]), since + j * 1_000).commit());
      await Promise.all(writes);
    }
    await writer.stop();

    // The floor: the same keys read with level's own iterator, values parsed, no HTTP.
    const { Level } = await import('level');
    const level = new Level(join(dir, 'db'), { valueEncoding: 'utf8' });
    await level.open();
    await level.compactRange('\u0000', '\uffff');
    const bytes = Number(execFileSync('du', ['-sb', join(dir, 'db')], { encoding: 'utf8' }).split('\t')[0]);
    const history = level.sublevel('history', { valueEncoding: 'utf8' });
    // The history's own key layout, so the floor reads exactly the keys a query reads.
    const { entryKey } = await import(DIST('history/time-series.js'));
    log('[history] floor');
    const floorMs = await timed(async () => {
      let count = 0;
      for await (const [, value] of history.iterator({ gte: entryKey(sensorId, 'temperature', since, ''), lte: entryKey(sensorId, 'temperature', until, '\uffff'), reverse: true })) {
        JSON.parse(value);
        count++;
      }
      if (count !== POINTS) problems.push(`floor: ${count} entries, not ${POINTS}`);
    }, plan);
    await level.close();

    const servient = await node();
    try {
      const { url } = await servient.start();
      const path = `${url}things/environment-sensor/properties/temperature/history?since=${since}&until=${until}`;
      log('[history] aggregated');
      const aggregatedMs = await timed(async () => {
        const buckets = await (await fetch(`${path}&every=PT${EVERY_S}S&limit=1000`)).json();
        const count = buckets.reduce((n, b) => n + b.count, 0);
        if (buckets.length !== expectedBuckets || count !== POINTS) problems.push(`aggregated: ${buckets.length} buckets holding ${count} values, not ${expectedBuckets} holding ${POINTS}`);
      }, plan);
      log('[history] raw');
      const rawMs = await timed(async () => {
        let next = `${path}&limit=1000`;
        let count = 0;
        let last = Infinity;
        while (next !== undefined) {
          const res = await fetch(next);
          for (const entry of await res.json()) {
            if (!(entry.timestamp < last)) problems.push('raw: entries out of order or repeated');
            last = entry.timestamp;
            count++;
          }
          const link = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
          next = link === undefined ? undefined : new URL(link, url).href;
        }
        if (count !== POINTS) problems.push(`raw: ${count} entries, not ${POINTS}`);
      }, plan);
      return { name: 'history', points: POINTS, buckets: expectedBuckets, everyS: EVERY_S, floorMs, aggregatedMs, rawMs, bytes, ratio: floorMs / aggregatedMs, target: TARGET_RATIO, targetRatio: TARGET_RATIO, problems: [...new Set(problems)] };
    } finally {
      await servient.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The median of `plan.runs` timed runs of `fn` (ms), after `plan.warmup` untimed ones. */
async function timed(fn, plan) {
  for (let i = 0; i < plan.warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < plan.runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

export function renderHistorySection(run) {
  const notes = readNotes('history-notes.md');
  const validity = run.problems.length === 0 ? `none: every answer held the ${fmt(run.points)} values (aggregated: ${run.buckets} buckets; raw: each entry once, newest first)` : run.problems.map((p) => `**${p}**`).join('; ');
  return [
    '## History: a day of a 1 Hz property',
    '',
    `Run ${run.startedAt} with \`${run.command}\` on ${run.machine.summary}${run.quick ? ' (quick: not figures)' : ''}.`,
    '',
    table(
      ['read of 24 h (86,400 values)', 'median', 'what it is'],
      [
        ['floor: LevelDB iterator + JSON.parse, in process', `${fmt(run.floorMs, 1)} ms`, 'the disk and the parser: every query reads all 86,400 entries'],
        [`aggregated: one GET, every=PT${run.everyS}S`, `${fmt(run.aggregatedMs, 1)} ms`, `${run.buckets} buckets (count, min, max, mean, last)`],
        ['raw: GET, 1,000 a page, Link rel="next"', `${fmt(run.rawMs, 1)} ms`, `${Math.ceil(run.points / 1000)} requests`],
      ],
    ),
    '',
    `Ratio floor / aggregated: **${fmt(run.ratio, 3)}** (target >= ${run.targetRatio}: ${run.ratio >= run.targetRatio ? 'met' : 'NOT met'}); raw / aggregated: ${fmt(run.rawMs / run.aggregatedMs, 1)} x. The day's values take ${fmt(run.bytes / 1024 / 1024, 2)} MB on disk after a compaction (${fmt(run.bytes / run.points, 1)} B per value, the keys included).`,
    '',
    `Problems: ${validity}.`,
    ...(notes ? ['', notes] : []),
    '',
  ].join('\n');
}

/**
 * The arithmetic behind the dashboard's charts, free of the DOM (so node tests run it too):
 * the ranges the range picker offers, the bucket width that fits a chart's pixels, the buckets
 * a live value joins, how a value of any schema becomes a number on the y axis (booleans 0/1,
 * enums their index), which properties draw as steps, and the CSV of a range.
 *
 * History answers (GET …/properties/{name}/history) come newest first; buckets here are kept
 * oldest first, as a chart draws them.
 */
import type { DataSchema, PropertyAffordance } from '../../td/thing-description.js';

/** The ranges of the picker, by name; `custom` takes its two ends from the page. */
export const RANGES = { '15m': 15 * 60_000, '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 } as const;
export type RangeName = keyof typeof RANGES | 'custom';
/** The range a page opens with. */
export const DEFAULT_RANGE: RangeName = '1h';

/** A time range in ms since the epoch, both ends inclusive; `live` while it ends now and moves on. */
export interface TimeRange {
  readonly name: RangeName;
  readonly since: number;
  readonly until: number;
  readonly live: boolean;
}

/** The range named `name` ending at `now`, or the custom one from `since` to `until`. */
export function rangeOf(name: RangeName, now: number, custom?: { readonly since: number; readonly until: number }): TimeRange {
  if (name === 'custom') {
    if (custom === undefined || !(custom.since < custom.until)) throw new RangeError('a custom range needs a start before its end');
    return { name, since: custom.since, until: custom.until, live: custom.until >= now };
  }
  return { name, since: now - RANGES[name], until: now, live: true };
}

/** Pixels per bucket: a chart shows one bucket every two pixels of its width. */
export const PIXELS_PER_BUCKET = 2;
/** The shortest bucket the history answers (`every` is at least one second). */
export const MIN_EVERY_MS = 1000;

/** The bucket width (whole seconds, at least one) that spreads `range` over `widthPx` pixels. */
export function bucketWidth(range: Pick<TimeRange, 'since' | 'until'>, widthPx: number): number {
  const buckets = Math.max(1, Math.floor(widthPx / PIXELS_PER_BUCKET));
  return Math.max(MIN_EVERY_MS, Math.ceil((range.until - range.since) / buckets / 1000) * 1000);
}

/** `ms` as the ISO 8601 duration the history's `every` takes (`PT10S`). */
export function isoSeconds(ms: number): string {
  return `PT${Math.round(ms / 1000)}S`;
}

/** One bucket of values, as the history answers with `every` (min/max/mean null for non-numeric values). */
export interface Bucket {
  /** Start of the bucket (ms), a multiple of the bucket width since the epoch. */
  readonly timestamp: number;
  count: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  last: unknown;
}

/** A raw history entry: a value, when it was set, and its transaction where it was recorded. */
export interface HistoryEntry {
  readonly value: unknown;
  readonly timestamp: number;
  readonly txId?: string;
}

/** The start of the bucket of width `every` that `at` falls in. */
export const bucketStart = (at: number, every: number): number => Math.floor(at / every) * every;

/**
 * Adds a live value at `at` to `buckets` (oldest first): into the newest bucket when it covers
 * `at`, else as a new bucket at the end. A value older than the newest bucket is left out
 * (history already counted it, or it arrived out of order). Returns whether it was added.
 */
export function addToBuckets(buckets: Bucket[], at: number, value: unknown, every: number): boolean {
  const start = bucketStart(at, every);
  const newest = buckets.at(-1);
  const numeric = typeof value === 'number' && Number.isFinite(value) ? value : null;
  if (newest !== undefined && newest.timestamp > start) return false;
  if (newest === undefined || newest.timestamp < start) {
    buckets.push({ timestamp: start, count: 1, min: numeric, max: numeric, mean: numeric, last: value });
    return true;
  }
  newest.count += 1;
  newest.last = value;
  if (numeric !== null) {
    newest.min = newest.min === null ? numeric : Math.min(newest.min, numeric);
    newest.max = newest.max === null ? numeric : Math.max(newest.max, numeric);
    // The running mean over the bucket's numeric values (count includes this one).
    newest.mean = newest.mean === null ? numeric : newest.mean + (numeric - newest.mean) / newest.count;
  }
  return true;
}

/** Drops the buckets that ended before `since` (a live range moving on). */
export function dropBefore(buckets: Bucket[], since: number, every: number): void {
  let stale = 0;
  while (stale < buckets.length && buckets[stale]!.timestamp + every <= since) stale++;
  buckets.splice(0, stale);
}

/**
 * Whether a property draws as steps (its value holds until the next one) rather than as a line
 * between readings: booleans, strings and enums, and every writable number (a setpoint jumps
 * when someone sets it; it does not slide). Read-only numbers are readings and draw as lines.
 */
export function drawsAsSteps(affordance: PropertyAffordance): boolean {
  if (affordance.type === 'boolean' || affordance.type === 'string' || affordance.enum !== undefined) return true;
  return (affordance.type === 'number' || affordance.type === 'integer') && affordance.readOnly !== true;
}

/** Whether a property's values can be charted: numbers, booleans, and enums. */
export function chartable(affordance: DataSchema): boolean {
  return affordance.type === 'number' || affordance.type === 'integer' || affordance.type === 'boolean' || (affordance.enum !== undefined && affordance.enum.length > 0);
}

/** A value on the chart's y axis: numbers as they are, booleans 0/1, an enum value its index; null when it has none. */
export function plotValue(value: unknown, schema: DataSchema): number | null {
  if (schema.enum !== undefined && (schema.type !== 'number' && schema.type !== 'integer')) {
    const index = schema.enum.findIndex((option) => option === value);
    return index < 0 ? null : index;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * The y value a bucket draws at: its last value for steps (what held at the end), its mean
 * for readings (a number's mean; else its last value as a number).
 */
export function bucketValue(bucket: Bucket, schema: DataSchema, steps: boolean): number | null {
  return !steps && bucket.mean !== null ? bucket.mean : plotValue(bucket.last, schema);
}

/** A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The CSV (RFC 4180, CRLF lines) of raw entries, oldest first: timestamp (ISO 8601), value (JSON unless a string), txId. */
export function historyCsv(entries: readonly HistoryEntry[]): string {
  const rows = [...entries].sort((a, b) => a.timestamp - b.timestamp).map((e) => [new Date(e.timestamp).toISOString(), typeof e.value === 'string' ? e.value : JSON.stringify(e.value), e.txId ?? ''].map(csvField).join(','));
  return ['timestamp,value,txId', ...rows].join('\r\n') + '\r\n';
}

/**
 * Time series in a database section: one per Thing affordance (a property's values, an
 * event's occurrences), each entry keyed `{thing}/{name}/{timestamp}/{suffix}` with the
 * timestamp zero-padded, so key order is time order and a range of time is a range of keys.
 * A query reads only the keys of its range, newest first, a page at a time; aggregation folds
 * the entries of a range into fixed buckets as it reads them, so neither ever holds more than a
 * page in memory. Pruning deletes each series' keys older than a time, range by range.
 *
 * An aggregated page also reads at most a budget of entries (100,000 by default, a day of a
 * 1 Hz value): past it the page ends at the last whole bucket and names the next, so no one
 * request reads a year of data. A single bucket larger than the budget is refused
 * (FLOWCHAIN_ERR_HISTORY_QUERY_INVALID naming `every`): its figures would be wrong if cut.
 */
import { FlowchainError } from '../errors.js';
import type { KeyRange, Section } from '../storage.js';

/** Most entries one aggregated page reads by default. */
export const READ_BUDGET = 100_000;

/** Digits of a key's timestamp: epoch milliseconds up to the year 33658. */
const TIME_DIGITS = 15;

/** What a stored entry holds besides its key: at least its time. */
export interface StoredEntry {
  readonly timestamp: number;
}

/** A range of one series, newest first. */
export interface SeriesRange {
  /** Earliest timestamp included (epoch ms); the series' start when absent. */
  readonly since?: number;
  /** Latest timestamp included (epoch ms); the series' end when absent. */
  readonly until?: number;
  /** Only entries before this position (a page's `next`). */
  readonly cursor?: string;
}

/** One page: what was read and, when more of the range is left, where the next page starts. */
export interface Page<T> {
  readonly items: T[];
  readonly next?: string;
}

/** Aggregates of one bucket of numeric values (min, max and mean are null when a value was not a number). */
export interface Bucket {
  /** The bucket's start (epoch ms), a multiple of its width. */
  readonly timestamp: number;
  readonly count: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  /** The bucket's latest value. */
  readonly last: unknown;
}

/** A cursor: the position (timestamp, and key suffix when within a millisecond) the next page ends before. */
const CURSOR = /^(\d{1,15})(?:\.([0-9a-z]{1,64}))?$/;

/** Whether `text` is a cursor this store hands out. */
export function isCursor(text: string): boolean {
  return CURSOR.test(text);
}

const pad = (timestamp: number): string => Math.max(0, Math.floor(timestamp)).toString().padStart(TIME_DIGITS, '0');

/** Series prefixes already encoded, by Thing and name: every write of a value needs its own. Emptied when full. */
const prefixes = new Map<string, Map<string, string>>();
const PREFIXES_MAX = 1024;

/** The key prefix of one series. */
export function seriesPrefix(thing: string, name: string): string {
  let names = prefixes.get(thing);
  if (names === undefined) {
    if (prefixes.size >= PREFIXES_MAX) prefixes.clear();
    prefixes.set(thing, (names = new Map()));
  }
  let prefix = names.get(name);
  if (prefix === undefined) {
    if (names.size >= PREFIXES_MAX) names.clear();
    names.set(name, (prefix = `${encodeURIComponent(thing)}/${encodeURIComponent(name)}/`));
  }
  return prefix;
}

/** The key of an entry at `timestamp`; `suffix` (lower-case letters and digits) keeps entries of one millisecond apart. */
export function entryKey(thing: string, name: string, timestamp: number, suffix: string): string {
  return `${seriesPrefix(thing, name)}${pad(timestamp)}/${suffix}`;
}

/** The time series of one section. */
export class TimeSeries<T extends StoredEntry> {
  readonly #section: Section;
  readonly #budget: number;

  /** `readBudget`: most entries one aggregated page reads. */
  constructor(section: Section, readBudget = READ_BUDGET) {
    this.#section = section;
    this.#budget = readBudget;
  }

  /** Up to `limit` entries of the range, newest first, and the next page's cursor when the range holds more. */
  async page(thing: string, name: string, range: SeriesRange, limit: number): Promise<Page<T>> {
    const items: T[] = [];
    let lastKey: string | undefined;
    for await (const [key, value] of this.#section.range({ ...this.#bounds(thing, name, range), reverse: true, limit: limit + 1 })) {
      if (items.length === limit) return { items, next: cursorOf(lastKey!) };
      items.push(value as T);
      lastKey = key;
    }
    return { items };
  }

  /**
   * The range folded into buckets `every` ms wide (aligned to multiples of `every` since the
   * epoch), newest first, at most `limit` of them and at most the read budget's entries;
   * `valueOf` picks an entry's value. The next page's cursor is the start of the last bucket
   * returned. Throws FLOWCHAIN_ERR_HISTORY_QUERY_INVALID when one bucket holds more entries
   * than the budget.
   */
  async buckets(thing: string, name: string, range: SeriesRange, every: number, limit: number, valueOf: (entry: T) => unknown): Promise<Page<Bucket>> {
    const items: Bucket[] = [];
    let open: Accumulator | undefined;
    let read = 0;
    for await (const [, value] of this.#section.range({ ...this.#bounds(thing, name, range), reverse: true })) {
      const entry = value as T;
      const start = Math.floor(entry.timestamp / every) * every;
      if (++read > this.#budget) {
        // A whole open bucket is kept; one cut short is left for the next page to read whole.
        if (open !== undefined && open.start !== start) items.push(bucketOf(open));
        if (items.length === 0) throw new FlowchainError('FLOWCHAIN_ERR_HISTORY_QUERY_INVALID', `a bucket of this width holds more than ${this.#budget} values; choose a shorter every`, { field: 'every' });
        return continued(items);
      }
      if (open?.start !== start) {
        if (open !== undefined) items.push(bucketOf(open));
        if (items.length === limit) return continued(items);
        // Read newest first: the first value seen is the bucket's last.
        open = { start, count: 0, sum: 0, min: Infinity, max: -Infinity, numeric: true, last: valueOf(entry) };
      }
      add(open, valueOf(entry));
    }
    if (open !== undefined) items.push(bucketOf(open));
    return { items };
  }

  /**
   * Deletes every entry older than `before` in every series of the section. Each series is
   * found by seeking past the previous one, so the keys kept are never read one by one.
   */
  async prune(before: number): Promise<void> {
    let from: string | undefined;
    for (;;) {
      const first = await this.#firstKey(from === undefined ? {} : { gte: from });
      if (first === undefined) return;
      const prefix = first.slice(0, first.lastIndexOf('/', first.lastIndexOf('/') - 1) + 1);
      await this.#section.clear({ gte: prefix, lt: `${prefix}${pad(before)}/` });
      // The next series starts after every key of this one.
      from = `${prefix}\uffff`;
    }
  }

  async #firstKey(bounds: KeyRange): Promise<string | undefined> {
    for await (const [key] of this.#section.range({ ...bounds, limit: 1 })) return key;
    return undefined;
  }

  /** The keys of a range: from `since` to `until` inclusive, and before the cursor. */
  #bounds(thing: string, name: string, range: SeriesRange): KeyRange {
    const prefix = seriesPrefix(thing, name);
    const cursor = range.cursor === undefined ? undefined : CURSOR.exec(range.cursor);
    const until = `${prefix}${range.until === undefined ? '\uffff' : `${pad(range.until)}/\uffff`}`;
    const before = cursor ? `${prefix}${pad(Number(cursor[1]))}/${cursor[2] ?? ''}` : undefined;
    return { gte: `${prefix}${range.since === undefined ? '' : pad(range.since)}`, ...(before !== undefined && before < until ? { lt: before } : { lte: until }) };
  }
}

/** A page of buckets that ends before its range does: the next page starts before its last bucket. */
const continued = (items: Bucket[]): Page<Bucket> => ({ items, next: String(items[items.length - 1]!.timestamp) });

/** The cursor of the position of `key`: the next page holds what comes before it. */
function cursorOf(key: string): string {
  const [time, suffix] = key.split('/').slice(-2) as [string, string];
  return `${Number(time)}.${suffix}`;
}

interface Accumulator {
  readonly start: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  numeric: boolean;
  readonly last: unknown;
}

function add(bucket: Accumulator, value: unknown): void {
  bucket.count++;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    bucket.numeric = false;
    return;
  }
  bucket.sum += value;
  if (value < bucket.min) bucket.min = value;
  if (value > bucket.max) bucket.max = value;
}

function bucketOf(b: Accumulator): Bucket {
  return { timestamp: b.start, count: b.count, min: b.numeric ? b.min : null, max: b.numeric ? b.max : null, mean: b.numeric ? b.sum / b.count : null, last: b.last };
}

/**
 * A history query as it travels in a URL: `since` and `until` (RFC 3339 date-times or epoch
 * milliseconds, both included), `limit`, `cursor` (from a page's next link), `every` (an ISO
 * 8601 duration: the answer is buckets) and `aggregate` (which of a bucket's aggregates to
 * give; all by default). Bindings parse with {@link parseHistoryQuery}; consumers write with
 * {@link historySearchParams}. Throws FLOWCHAIN_ERR_HISTORY_QUERY_INVALID naming the field.
 */
import { formatDuration, parseDuration } from '../common/duration.js';
import { FlowchainError } from '../errors.js';
import type { HistoryQuery } from './thing-history.js';
import { isCursor, type Bucket } from './time-series.js';

/** Entries one page holds by default, and at most. */
export const ENTRY_LIMIT = { default: 100, max: 1000 } as const;
/** Buckets one page holds by default, and at most. */
export const BUCKET_LIMIT = { default: 500, max: 1000 } as const;
/** The narrowest bucket, in ms. */
export const MIN_BUCKET_MS = 1_000;

/** A bucket's aggregates besides its timestamp. */
export const AGGREGATES = ['count', 'min', 'max', 'mean', 'last'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

/** A parsed query: what the store is asked, and the aggregates the answer keeps. */
export interface ParsedHistoryQuery {
  readonly query: HistoryQuery;
  readonly aggregates: readonly Aggregate[];
}

/** What a consumer asks for (ConsumedThing.readPropertyHistory). */
export interface HistoryOptions {
  readonly since?: Date | number;
  readonly until?: Date | number;
  readonly limit?: number;
  /** Bucket width: ms, or an ISO 8601 duration such as `PT10S`. */
  readonly every?: number | string;
  readonly aggregate?: readonly Aggregate[];
}

const PARAMETERS = new Set(['since', 'until', 'limit', 'cursor', 'every', 'aggregate']);
// RFC 3339 date-time (with a time zone), as Date.parse reads it.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

const invalid = (field: string, message: string) => new FlowchainError('FLOWCHAIN_ERR_HISTORY_QUERY_INVALID', message, { field });

/** The query of a URL's parameters (each given once). */
export function parseHistoryQuery(params: Readonly<Record<string, unknown>>): ParsedHistoryQuery {
  for (const [name, value] of Object.entries(params)) {
    if (!PARAMETERS.has(name)) throw invalid(name, `${name} is not a history parameter (since, until, limit, cursor, every, aggregate)`);
    if (typeof value !== 'string') throw invalid(name, `${name} is given once`);
  }
  const text = params as Readonly<Record<string, string | undefined>>;
  const since = text.since === undefined ? undefined : time(text.since, 'since');
  const until = text.until === undefined ? undefined : time(text.until, 'until');
  if (since !== undefined && until !== undefined && since > until) throw invalid('since', 'since is after until');
  let every: number | undefined;
  if (text.every !== undefined) {
    every = parseDuration(text.every);
    if (every === undefined) throw invalid('every', 'every is an ISO 8601 duration such as PT10S (days, hours, minutes, seconds)');
    if (every < MIN_BUCKET_MS) throw invalid('every', `every is at least ${formatDuration(MIN_BUCKET_MS)} (PT1S)`);
  }
  if (text.aggregate !== undefined && every === undefined) throw invalid('aggregate', 'aggregate needs every');
  const aggregates = text.aggregate === undefined ? AGGREGATES : text.aggregate.split(',').map((name) => {
    if (!(AGGREGATES as readonly string[]).includes(name)) throw invalid('aggregate', `aggregate lists ${AGGREGATES.join(', ')}; ${JSON.stringify(name)} is none of them`);
    return name as Aggregate;
  });
  const bounds = every === undefined ? ENTRY_LIMIT : BUCKET_LIMIT;
  const limit = text.limit === undefined ? bounds.default : Number(text.limit);
  if (!/^\d{1,5}$/.test(text.limit ?? '1') || !(limit >= 1 && limit <= bounds.max)) throw invalid('limit', `limit is an integer from 1 to ${bounds.max}`);
  if (text.cursor !== undefined && !isCursor(text.cursor)) throw invalid('cursor', 'cursor is the value a next link gives');
  return {
    query: { limit, ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }), ...(text.cursor === undefined ? {} : { cursor: text.cursor }), ...(every === undefined ? {} : { every }) },
    aggregates,
  };
}

/** A bucket with only the aggregates asked for. */
export function pickAggregates(bucket: Bucket, aggregates: readonly Aggregate[]): Partial<Bucket> {
  if (aggregates === AGGREGATES) return bucket;
  const picked: Record<string, unknown> = { timestamp: bucket.timestamp };
  for (const name of aggregates) picked[name] = bucket[name];
  return picked as Partial<Bucket>;
}

/** The URL parameters of `options` (consumers). */
export function historySearchParams(options: HistoryOptions): URLSearchParams {
  const params = new URLSearchParams();
  const ms = (t: Date | number) => String(typeof t === 'number' ? t : t.getTime());
  if (options.since !== undefined) params.set('since', ms(options.since));
  if (options.until !== undefined) params.set('until', ms(options.until));
  if (options.limit !== undefined) params.set('limit', String(options.limit));
  if (options.every !== undefined) params.set('every', typeof options.every === 'number' ? `PT${options.every / 1000}S` : options.every);
  if (options.aggregate !== undefined) params.set('aggregate', options.aggregate.join(','));
  return params;
}

function time(text: string, field: string): number {
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : DATE_TIME.test(text) ? Date.parse(text) : NaN;
  if (!Number.isSafeInteger(ms)) throw invalid(field, `${field} is an RFC 3339 date-time (2026-12-07T10:00:00Z) or epoch milliseconds`);
  return ms;
}

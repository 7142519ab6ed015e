/**
 * Reading a property's history from its node: `GET {property}/history?since=&until=&every=`
 * (the URL the TD's `version-history` link names, anchored at the property), raw entries or
 * buckets, newest first, one page at a time (and an event's, `GET {event}/history`); further pages are named by the answer's
 * `Link: <…>; rel="next"` (RFC 8288), followed as given.
 */
import { call } from './api.js';
import { isoSeconds, type Bucket, type HistoryEntry } from './series.js';
import { formUrl, type ServedTd } from './td.js';

interface HistoryLink {
  readonly rel?: string;
  readonly href: string;
  readonly anchor?: string;
}

/**
 * The history URL of a property: the TD's `version-history` link anchored at the property's
 * own resource (TD 1.1 §5.3.4.1 links with an anchor); undefined when the node keeps none.
 */
export function historyUrl(td: ServedTd, name: string): URL | undefined {
  const property = td.properties?.[name];
  const read = property === undefined ? undefined : formUrl(td, property.forms, 'readproperty');
  if (read === undefined) return undefined;
  const base = td.base ?? location.href;
  const link = ((td.links ?? []) as unknown as readonly HistoryLink[]).find((l) => l.rel === 'version-history' && l.anchor !== undefined && new URL(l.anchor, base).href === read.href);
  return link === undefined ? undefined : new URL(link.href, base);
}

/** The history URL of an event: the TD's `version-history` link to `…/events/{name}/history`; undefined when the node keeps none. */
export function eventHistoryUrl(td: ServedTd, name: string): URL | undefined {
  const base = td.base ?? location.href;
  const suffix = `/events/${encodeURIComponent(name)}/history`;
  const link = ((td.links ?? []) as unknown as readonly HistoryLink[]).find((l) => l.rel === 'version-history' && new URL(l.href, base).pathname.endsWith(suffix));
  return link === undefined ? undefined : new URL(link.href, base);
}

/** The newest `limit` occurrences of an event since `since`, newest first. */
export async function readEvents(url: URL, since: number, limit: number): Promise<{ data: unknown; timestamp: number }[]> {
  const { items } = await readPages<{ data: unknown; timestamp: number }>(withQuery(url, { since, limit }), 1);
  return items;
}

/** The next page a history answer names (RFC 8288 `rel="next"`), resolved against its URL. */
export function nextPage(response: Response, url: URL): URL | undefined {
  const match = /<([^>]+)>\s*;[^,]*rel="?next"?/.exec(response.headers.get('link') ?? '');
  return match === null ? undefined : new URL(match[1]!, url);
}

/** Query of one read: the range (inclusive, epoch ms), the bucket width (ms) when aggregated, and the page size. */
export interface HistoryQuery {
  readonly since: number;
  readonly until?: number;
  readonly every?: number;
  readonly limit?: number;
}

function withQuery(url: URL, query: HistoryQuery): URL {
  const target = new URL(url);
  target.searchParams.set('since', String(Math.floor(query.since)));
  if (query.until !== undefined) target.searchParams.set('until', String(Math.ceil(query.until)));
  if (query.every !== undefined) target.searchParams.set('every', isoSeconds(query.every));
  if (query.limit !== undefined) target.searchParams.set('limit', String(query.limit));
  return target;
}

/**
 * Every item of the range, newest first, following `next` links for at most `maxPages` pages;
 * `truncated` says whether more were left unread.
 */
async function readPages<T>(url: URL, maxPages: number): Promise<{ items: T[]; truncated: boolean }> {
  const items: T[] = [];
  let next: URL | undefined = url;
  for (let page = 0; next !== undefined && page < maxPages; page++) {
    const response = await call(next);
    items.push(...((await response.json()) as T[]));
    next = nextPage(response, next);
  }
  return { items, truncated: next !== undefined };
}

/**
 * The buckets of width `query.every` over the range, oldest first (a chart's order), and
 * whether older ones were left unread. A node reads at most 100,000 values per page, so a
 * week of a 1 Hz value takes 7 pages; 20 pages cover 2 million values.
 */
export async function readBuckets(url: URL, query: HistoryQuery & { readonly every: number }): Promise<{ buckets: Bucket[]; truncated: boolean }> {
  const { items, truncated } = await readPages<Bucket>(withQuery(url, { ...query, limit: 1000 }), 20);
  return { buckets: items.reverse(), truncated };
}

/** The newest raw entry of the range, if it holds any. */
export async function readNewest(url: URL, query: HistoryQuery): Promise<HistoryEntry | undefined> {
  const { items } = await readPages<HistoryEntry>(withQuery(url, { ...query, limit: 1 }), 1);
  return items[0];
}

/** Most raw entries one export reads (a hundred pages of a thousand). */
export const MAX_EXPORT_PAGES = 100;

/** Every raw entry of the range, newest first (at most MAX_EXPORT_PAGES pages of 1000). */
export async function readEntries(url: URL, query: HistoryQuery): Promise<{ items: HistoryEntry[]; truncated: boolean }> {
  return readPages<HistoryEntry>(withQuery(url, { ...query, limit: 1000 }), MAX_EXPORT_PAGES);
}

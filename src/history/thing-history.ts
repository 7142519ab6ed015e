/**
 * The node's history of its Things: every value of every property (recorded ones with their
 * transaction, written by the broker; the others written with the value itself) and every
 * occurrence of every event, in two time series of the node's database. Queries read a range
 * a page at a time, raw or folded into buckets; {@link ThingHistory.prune} applies retention.
 */
import type { PreparedWrite, Section } from '../storage.js';
import type { ValueHistory } from '../thing/value-history.js';
import { entryKey, TimeSeries, type Bucket, type Page, type SeriesRange } from './time-series.js';

/** A stored value of a property. */
export interface PropertyEntry {
  readonly value: unknown;
  readonly timestamp: number;
  /** Who caused it: `consumer` or `device` (recorded values). */
  readonly origin?: string;
  /** H_DATA, the transaction's key on the ring (recorded values). */
  readonly hData?: string;
  /** The transaction id, once its owner stored it (recorded values). */
  readonly txId?: string;
}

/** A stored occurrence of an event. */
export interface EventEntry {
  readonly data: unknown;
  readonly timestamp: number;
}

/** Which history: a property's values or an event's occurrences. */
export type HistoryKind = 'properties' | 'events';

/** A query of one affordance's history. */
export interface HistoryQuery extends SeriesRange {
  /** Most entries (or buckets) in one page. */
  readonly limit: number;
  /** Bucket width in ms: the answer is buckets instead of entries. */
  readonly every?: number;
}

/** A page of history: entries, or buckets when the query had `every`. */
export type HistoryPage = Page<PropertyEntry> | Page<EventEntry> | Page<Bucket>;

/** Components of the history. */
export interface ThingHistoryComponents {
  /** The property values' section (recorded values are written there by the broker, see broker/history.ts). */
  readonly properties: Section;
  /** The events' section. */
  readonly events: Section;
  /** Most entries one aggregated page reads (time-series.ts READ_BUDGET by default). */
  readonly readBudget?: number;
  readonly log?: { warn(obj: object, msg: string): void };
}

/** The history of every Thing of one node. */
export class ThingHistory implements ValueHistory {
  readonly #properties: TimeSeries<PropertyEntry>;
  readonly #events: TimeSeries<EventEntry>;
  readonly #propertySection: Section;
  readonly #eventSection: Section;
  readonly #log: ThingHistoryComponents['log'];
  /** Keeps entries of one millisecond apart (recorded values use their H_DATA instead). */
  #sequence = 0;

  constructor(components: ThingHistoryComponents) {
    this.#propertySection = components.properties;
    this.#eventSection = components.events;
    this.#properties = new TimeSeries(components.properties, components.readBudget);
    this.#events = new TimeSeries(components.events, components.readBudget);
    this.#log = components.log;
  }

  prepareValues(thing: string, values: ReadonlyMap<string, unknown>, timestamp: number): PreparedWrite {
    return this.#propertySection.prepare([...values].map(([name, value]) => ({ type: 'put', key: entryKey(thing, name, timestamp, this.#suffix()), value: { value, timestamp } satisfies PropertyEntry })));
  }

  recordEvent(thing: string, name: string, data: unknown, timestamp: number): void {
    const entry: EventEntry = { data: data === undefined ? null : data, timestamp };
    this.#eventSection.put(entryKey(thing, name, timestamp, this.#suffix()), entry).catch((err: unknown) => this.#log?.warn({ err, thing, event: name }, 'keeping an event in the history failed'));
  }

  /** One page of the history of `thing`'s (TD id) property or event `name`. */
  query(kind: HistoryKind, thing: string, name: string, query: HistoryQuery): Promise<HistoryPage> {
    const { limit, every, ...range } = query;
    if (kind === 'properties') return every === undefined ? this.#properties.page(thing, name, range, limit) : this.#properties.buckets(thing, name, range, every, limit, (e) => e.value);
    return every === undefined ? this.#events.page(thing, name, range, limit) : this.#events.buckets(thing, name, range, every, limit, (e) => e.data);
  }

  /** Deletes what is older than `before` (epoch ms), of every Thing. */
  async prune(before: number): Promise<void> {
    await this.#properties.prune(before);
    await this.#events.prune(before);
  }

  #suffix(): string {
    return `n${(this.#sequence++).toString(36)}`;
  }
}

/**
 * The recent notifications of every Thing a node serves, each with an id that means the same
 * on every stream, so a consumer whose stream dropped resumes where it left off: the HTTP SSE
 * Profile's `id` field and `Last-Event-ID` (W3C WoT Profile, HTTP SSE Profile, observeproperty
 * and subscribeevent; WHATWG HTML §9.2.4), and `since` in the WebSocket protocol.
 *
 * An id is the RFC 3339 time of the change with six fractional digits (the WoT Profile
 * recommends a timestamp, "Date Format": RFC 3339): the first three are the change's
 * millisecond, the last three order the changes of one millisecond. Ids are issued by one
 * clock for the whole node, strictly increasing, so they order the changes of every property
 * and event of every Thing; a per-affordance stream carries a subsequence of its Thing's
 * all-properties or all-events stream with the same ids, and an id from before a restart is
 * older than every id after it.
 *
 * Each affordance keeps its last {@link REPLAY_CAPACITY} notifications, in memory. Pure apart
 * from the subscriptions it makes on the Things; the clock is injected.
 */
import type { Clock } from '../../common/clock.js';
import type { ExposedThing, FollowOptions, PropertyChange, ThingEvent, Unsubscribe } from '../../thing/exposed-thing.js';

/** Notifications each affordance keeps for replay. */
export const REPLAY_CAPACITY = 100;

/** What a stream follows: a property's changes or an event's occurrences. */
export interface Topic {
  readonly kind: 'property' | 'event';
  readonly name: string;
}

/** One notification as streams send it. */
export interface Notification {
  /** The id, in microseconds since the epoch (see {@link formatNotificationId}). */
  readonly id: number;
  readonly kind: Topic['kind'];
  /** The affordance's name. */
  readonly name: string;
  /** The property's value or the event's data. */
  readonly data: unknown;
  /** Milliseconds since the epoch, from the Thing. */
  readonly timestamp: number;
}

/** RFC 3339 with six fractional digits, in UTC. */
const ID = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})(\d{3})Z$/;

/** The text of an id: `2026-01-01T09:40:00.000001Z`. */
export function formatNotificationId(id: number): string {
  const ms = Math.floor(id / 1000);
  return `${new Date(ms).toISOString().slice(0, 23)}${String(id - ms * 1000).padStart(3, '0')}Z`;
}

/** The id a text names, or undefined when it is not one (a wrong shape, an impossible date). */
export function parseNotificationId(text: unknown): number | undefined {
  const match = typeof text === 'string' ? ID.exec(text) : null;
  if (match === null) return undefined;
  const ms = Date.parse(`${match[1]}Z`);
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 23) !== match[1]) return undefined;
  return ms * 1000 + Number(match[2]);
}

/** Thing slugs never start with NUL: a stream's buffer is apart from every Thing's. */
const streamKey = (stream: string): string => `\u0000stream\u0000${stream}`;

const keyOf = (thing: ExposedThing, kind: Topic['kind'], name: string): string => `${thing.slug}\u0000${kind}\u0000${name}`;

/** The topics of a Thing a stream can follow: its observable, readable properties, and its events. */
export function topicsOf(thing: ExposedThing, kind: Topic['kind']): Topic[] {
  if (kind === 'event') return Object.keys(thing.td.events ?? {}).map((name) => ({ kind, name }));
  return Object.entries(thing.td.properties ?? {})
    .filter(([, property]) => property.observable === true && property.writeOnly !== true)
    .map(([name]) => ({ kind, name }));
}

/** Numbers, keeps and replays the notifications of a node's Things. */
export class ReplayLog {
  readonly #clock: Clock;
  readonly #capacity: number;
  /** The position when the log began: every id it issues is larger. */
  readonly #origin: number;
  #last: number;
  readonly #buffers = new Map<string, Notification[]>();
  /** The notification made of each change or event object, so every listener of it sees one id. */
  readonly #stamped = new WeakMap<object, Notification>();
  readonly #recording = new Map<ExposedThing, Unsubscribe[]>();
  /** Followers of the node's own streams, by stream name. */
  readonly #streams = new Map<string, Set<(notification: Notification) => void>>();

  constructor(clock: Clock, init: { readonly capacity?: number } = {}) {
    this.#clock = clock;
    this.#capacity = init.capacity ?? REPLAY_CAPACITY;
    this.#origin = clock.now() * 1000;
    this.#last = this.#origin;
  }

  /** The id of the newest notification (or the log's origin): what a stream has seen once it is up to date. */
  get position(): number {
    return this.#last;
  }

  /** Keeps every notification of `thing` from now on, whether or not a stream follows it. */
  record(thing: ExposedThing): void {
    if (this.#recording.has(thing)) return;
    // Keeping them is not watching: the Thing's observe and subscribe handlers wait for a consumer.
    this.#recording.set(thing, [...topicsOf(thing, 'property'), ...topicsOf(thing, 'event')].map((topic) => this.#subscribe(thing, topic, () => undefined, { passive: true })));
  }

  /** Stops keeping the notifications of `thing` and drops those kept (it left the node). */
  forget(thing: ExposedThing): void {
    for (const unsubscribe of this.#recording.get(thing) ?? []) unsubscribe();
    this.#recording.delete(thing);
    const prefix = `${thing.slug}\u0000`;
    for (const key of [...this.#buffers.keys()]) if (key.startsWith(prefix)) this.#buffers.delete(key);
  }

  /** Stops keeping notifications. */
  stop(): void {
    for (const thing of [...this.#recording.keys()]) this.forget(thing);
  }

  /**
   * Delivers each new notification of `topics` on `thing`. The subscriptions are the Thing's
   * own (observeProperty, subscribeEvent), so they fail as those do, before anything is
   * delivered: FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND, FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY,
   * FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED.
   */
  follow(thing: ExposedThing, topics: readonly Topic[], deliver: (notification: Notification) => void, options: FollowOptions = {}): Unsubscribe {
    const unsubscribes: Unsubscribe[] = [];
    try {
      for (const topic of topics) unsubscribes.push(this.#subscribe(thing, topic, deliver, options));
    } catch (err) {
      unsubscribes.forEach((unsubscribe) => unsubscribe());
      throw err;
    }
    return () => unsubscribes.forEach((unsubscribe) => unsubscribe());
  }

  /**
   * What a stream of `topics` sends before its live notifications, given the id the consumer
   * last saw (`Last-Event-ID`, `since`), in id order:
   *
   * - without a usable id (none, a wrong shape, or one later than any this node issued: from
   *   the future), the stream starts live: the current value of each property, stamped with
   *   the current {@link position}, and no events;
   * - with one, every kept notification after it; and for a property that has not changed
   *   since the log began, its current value (stamped with the log's origin) if the id is
   *   older than that, from before the node started, when the consumer may have missed a
   *   change.
   *
   * `read` gives a property's current value. A Thing's notifications are delivered
   * synchronously, so a stream that computes this and then {@link follow}s in one turn
   * neither misses nor repeats one.
   */
  opening(thing: ExposedThing, topics: readonly Topic[], lastSeen: unknown, read: (name: string) => unknown): Notification[] {
    const after = this.resumePoint(lastSeen);
    const properties = topics.filter((topic) => topic.kind === 'property');
    const now = this.#clock.now();
    const current = (name: string, id: number): Notification => ({ id, kind: 'property', name, data: read(name), timestamp: now });
    if (after === undefined) return properties.map((topic) => current(topic.name, this.#last));
    const stale = after < this.#origin ? properties.filter((topic) => (this.#buffers.get(keyOf(thing, 'property', topic.name)) ?? []).length === 0) : [];
    return [...stale.map((topic) => current(topic.name, this.#origin)), ...this.replay(thing, topics, after)];
  }

  /** The id a consumer last saw, when it is one this log can resume from; undefined otherwise (a wrong shape, from the future). */
  resumePoint(lastSeen: unknown): number | undefined {
    const id = parseNotificationId(lastSeen);
    return id === undefined || id > this.#last ? undefined : id;
  }

  /** The kept notifications of `topics` on `thing` after `after`, in id order. */
  replay(thing: ExposedThing, topics: readonly Topic[], after: number): Notification[] {
    return topics
      .flatMap((topic) => (this.#buffers.get(keyOf(thing, topic.kind, topic.name)) ?? []).filter((n) => n.id > after))
      .sort((a, b) => a.id - b.id);
  }

  /**
   * Numbers a notification of one of the node's own streams that no Thing makes (the
   * directory's `thing_created`, `thing_updated`, `thing_deleted`), with the ids every other
   * stream has, keeps it for replay and delivers it to that stream's followers.
   */
  publish(stream: string, name: string, data: unknown): Notification {
    const now = this.#clock.now();
    const notification: Notification = { id: this.#nextId(now), kind: 'event', name, data, timestamp: now };
    this.#keep(streamKey(stream), notification);
    for (const deliver of [...(this.#streams.get(stream) ?? [])]) deliver(notification);
    return notification;
  }

  /** Delivers each new notification {@link publish}ed on `stream`. */
  followStream(stream: string, deliver: (notification: Notification) => void): Unsubscribe {
    let followers = this.#streams.get(stream);
    if (followers === undefined) this.#streams.set(stream, (followers = new Set()));
    const own = (notification: Notification): void => deliver(notification);
    followers.add(own);
    return () => void followers.delete(own);
  }

  /** The kept notifications of `stream` after `after`, in id order. */
  replayStream(stream: string, after: number): Notification[] {
    return (this.#buffers.get(streamKey(stream)) ?? []).filter((n) => n.id > after);
  }

  #subscribe(thing: ExposedThing, topic: Topic, deliver: (notification: Notification) => void, options: FollowOptions = {}): Unsubscribe {
    const key = keyOf(thing, topic.kind, topic.name);
    if (topic.kind === 'property') return thing.observeProperty(topic.name, (change) => deliver(this.#stamp(key, topic, change, change.value)), options);
    return thing.subscribeEvent(topic.name, (event) => deliver(this.#stamp(key, topic, event, event.data)), options);
  }

  /**
   * The notification of one change or event, made once, by whichever listener sees it first:
   * an ExposedThing hands the same object to every listener of one change (the tests of both
   * stream kinds check that one change has one id everywhere).
   */
  #stamp(key: string, topic: Topic, source: PropertyChange | ThingEvent, data: unknown): Notification {
    const known = this.#stamped.get(source);
    if (known !== undefined) return known;
    const notification: Notification = { id: this.#nextId(source.timestamp), kind: topic.kind, name: topic.name, data, timestamp: source.timestamp };
    this.#keep(key, notification);
    this.#stamped.set(source, notification);
    return notification;
  }

  /** The id of a notification made at `ms`: a hybrid clock, the time in microseconds or one more than the last id. */
  #nextId(ms: number): number {
    this.#last = Math.max(ms * 1000, this.#last + 1);
    return this.#last;
  }

  /** Keeps `notification` for replay under `key`, the newest `capacity` of each key. */
  #keep(key: string, notification: Notification): void {
    let buffer = this.#buffers.get(key);
    if (buffer === undefined) this.#buffers.set(key, (buffer = []));
    buffer.push(notification);
    if (buffer.length > this.#capacity) buffer.shift();
  }
}

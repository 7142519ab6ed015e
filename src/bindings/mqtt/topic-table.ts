/**
 * The MQTT binding's one topic table: every topic the node publishes a Thing's values and
 * events on, or takes its writes and invocations from, written once. The server binding
 * subscribes and publishes with these, and the forms of every served TD name them (in
 * `mqv:topic` / `mqv:filter` and in the `href` path), so the two cannot drift.
 *
 * Topic layout, under a prefix (`flowchain` by default; MQTT 5.0 §4.7):
 *   {prefix}/{thing}/properties/{name}          the current value, retained (readproperty, observeproperty)
 *   {prefix}/{thing}/properties/{name}/set      writeproperty requests
 *   {prefix}/{thing}/actions/{name}             invokeaction requests
 *   {prefix}/{thing}/events/{name}              event notifications (subscribeevent)
 *   {request topic}/reply                       answers to a request that named no response topic (MQTT 3.1.1)
 *
 * A request carrying an MQTT 5 Response Topic is answered there, with its Correlation Data
 * (MQTT 5.0 §4.10). Names are percent-encoded (encodeURIComponent), so an affordance name
 * holding `/`, `+` or `#` stays one topic level and never a wildcard. Pure.
 */

/** What a topic the node subscribes to names. */
export interface RequestTopic {
  readonly kind: 'write' | 'invoke';
  readonly thing: string;
  readonly name: string;
}

/** The suffix of the fallback answer topic (a request without a response topic). */
export const REPLY_SUFFIX = 'reply';

/** The topics of one node's Things under `prefix`. */
export class TopicTable {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** A property's value topic (retained). */
  property(thing: string, name: string): string {
    return `${this.prefix}/${seg(thing)}/properties/${seg(name)}`;
  }

  /** A property's write topic. */
  write(thing: string, name: string): string {
    return `${this.property(thing, name)}/set`;
  }

  /** An action's invocation topic. */
  action(thing: string, name: string): string {
    return `${this.prefix}/${seg(thing)}/actions/${seg(name)}`;
  }

  /** An event's topic. */
  event(thing: string, name: string): string {
    return `${this.prefix}/${seg(thing)}/events/${seg(name)}`;
  }

  /** The filters the node subscribes to for requests (one level per `+`). */
  requestFilters(): string[] {
    return [`${this.prefix}/+/properties/+/set`, `${this.prefix}/+/actions/+`];
  }

  /** What a request topic names, or undefined for a topic that is not one. */
  parse(topic: string): RequestTopic | undefined {
    if (!topic.startsWith(`${this.prefix}/`)) return undefined;
    const levels = topic.slice(this.prefix.length + 1).split('/');
    const decoded = levels.map(unseg);
    if (decoded.some((level) => level === undefined)) return undefined;
    const [thing, kind, name, last] = decoded as string[];
    if (levels.length === 4 && kind === 'properties' && last === 'set') return { kind: 'write', thing: thing!, name: name! };
    if (levels.length === 3 && kind === 'actions') return { kind: 'invoke', thing: thing!, name: name! };
    return undefined;
  }
}

/** The topic a request without a response topic is answered on. */
export function replyTopic(requestTopic: string): string {
  return `${requestTopic}/${REPLY_SUFFIX}`;
}

const seg = (name: string): string => encodeURIComponent(name);

function unseg(level: string): string | undefined {
  try {
    return decodeURIComponent(level);
  } catch {
    return undefined;
  }
}

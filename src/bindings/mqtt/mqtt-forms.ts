/**
 * The forms the MQTT binding adds to an exposed Thing's TD, every topic from the topic table,
 * in the vocabulary of the W3C WoT MQTT binding (Binding Templates, "MQTT Binding": its form
 * terms `mqv:topic`, `mqv:filter`, `mqv:retain`, `mqv:qos`, `mqv:controlPacket`, and the
 * default mappings of its mapping.ttl: read, observe and subscribe are SUBSCRIBE, unobserve
 * and unsubscribe UNSUBSCRIBE, write and invoke PUBLISH). Pure.
 *
 * - An observable property's value is published retained, so its form offers readproperty
 *   with observeproperty (the binding's "Possible mappings": a retained topic is readable,
 *   and a readable one SHOULD be observable too). A property that is not observable has no
 *   MQTT read form.
 * - Writes and invocations of synchronous actions are publishes to a topic of their own,
 *   answered on the request's MQTT 5 Response Topic. On a node that requires credentials the
 *   binding is read-only: MQTT carries no credential the node checks, so it offers no write
 *   or invoke form at all (and serves none).
 *
 * The topic is in both the `href` path and `mqv:topic` / `mqv:filter`: consumers differ in
 * which they read.
 */
import type { BindingForms, DescribedThing, FormExposure } from '../../td/td-builder.js';
import type { Form } from '../../td/thing-description.js';
import type { TopicTable } from './topic-table.js';

/** The namespace of the MQTT binding's terms (its ontology and context.jsonld in the WoT Binding Templates). */
export const MQV_NAMESPACE = 'https://www.w3.org/2019/wot/mqtt#';

/** The `@context` entry the binding's forms need. */
export const MQV_CONTEXT = { mqv: MQV_NAMESPACE } as const;

/**
 * QoS per kind of message (the binding's `mqv:qos`, "0" to "2"): values and events at most
 * once (a newer one follows); writes at least once (writing a value twice changes nothing);
 * invocations at most once, since an action run twice is not the same as once.
 */
export const QOS = { value: 0, event: 0, write: 1, invoke: 0 } as const;

const JSON_TYPE = { contentType: 'application/json' } as const;

/** What the forms need besides the Thing: the topics, and where the broker is for this TD's reader. */
export interface MqttFormOptions {
  readonly topics: TopicTable;
  /** The broker's URL (`mqtt://host:port`, no path) for a TD served under `exposure`. */
  brokerFor(exposure: FormExposure): string;
}

/** The MQTT binding's forms and context prefix for one Thing. */
export function mqttForms(thing: DescribedThing, exposure: FormExposure, options: MqttFormOptions): BindingForms {
  const { topics } = options;
  const broker = options.brokerFor(exposure);
  // MQTT carries no credential the node checks: with credentials required, nothing over it may change state.
  const readOnly = exposure.protectedScheme !== undefined;
  const subscribe = (topic: string, ops: string[], extra: Record<string, unknown> = {}): Form[] => [
    { href: `${broker}/${topic}`, op: ops, ...JSON_TYPE, 'mqv:filter': topic, 'mqv:controlPacket': 'mqv:subscribe', ...extra } as Form,
    { href: `${broker}/${topic}`, op: ops.map(unsubscribing).filter((op) => op !== ''), ...JSON_TYPE, 'mqv:filter': topic, 'mqv:controlPacket': 'mqv:unsubscribe' } as Form,
  ];
  const publish = (topic: string, op: string, qos: number): Form => ({ href: `${broker}/${topic}`, op: [op], ...JSON_TYPE, 'mqv:topic': topic, 'mqv:controlPacket': 'mqv:publish', 'mqv:qos': String(qos), 'mqv:retain': false }) as Form;

  const properties = mapValues(thing.td.properties, (name, property) => {
    const forms: Form[] = [];
    if (property.observable === true && !property.writeOnly) {
      // The read form is the subscribe form: readproperty takes the retained value, observeproperty stays.
      forms.push(...subscribe(topics.property(thing.slug, name), ['readproperty', 'observeproperty'], { 'mqv:retain': true, 'mqv:qos': String(QOS.value) }));
    }
    if (!property.readOnly && !readOnly) forms.push(publish(topics.write(thing.slug, name), 'writeproperty', QOS.write));
    return forms;
  });
  // An asynchronous action answers with an invocation to query and cancel, which this binding does not serve.
  const actions = mapValues(thing.td.actions, (name, action) => (readOnly || action.synchronous === false ? [] : [publish(topics.action(thing.slug, name), 'invokeaction', QOS.invoke)]));
  const events = mapValues(thing.td.events, (name) => subscribe(topics.event(thing.slug, name), ['subscribeevent'], { 'mqv:qos': String(QOS.event) }));

  // Thing-level: one filter over every property value (or every event) of the Thing, `+` matching one level.
  const observable = Object.values(thing.td.properties ?? {}).some((p) => p.observable === true && !p.writeOnly);
  const hasEvents = Object.keys(thing.td.events ?? {}).length > 0;
  const forms: Form[] = [
    ...(observable ? subscribe(`${topics.prefix}/${encodeURIComponent(thing.slug)}/properties/+`, ['observeallproperties'], { 'mqv:retain': true, 'mqv:qos': String(QOS.value) }) : []),
    ...(hasEvents ? subscribe(`${topics.prefix}/${encodeURIComponent(thing.slug)}/events/+`, ['subscribeallevents'], { 'mqv:qos': String(QOS.event) }) : []),
  ];
  return { ...(properties ? { properties } : {}), ...(actions ? { actions } : {}), ...(events ? { events } : {}), forms, context: MQV_CONTEXT };
}

/** The operation that ends what `op` started (readproperty ends with the read itself). */
function unsubscribing(op: string): string {
  return op === 'observeproperty' ? 'unobserveproperty' : op === 'subscribeevent' ? 'unsubscribeevent' : op === 'observeallproperties' ? 'unobserveallproperties' : op === 'subscribeallevents' ? 'unsubscribeallevents' : '';
}

function mapValues<T, R>(record: Readonly<Record<string, T>> | undefined, fn: (name: string, value: T) => R): Record<string, R> | undefined {
  if (record === undefined) return undefined;
  return Object.fromEntries(Object.entries(record).map(([name, value]) => [name, fn(name, value)]));
}

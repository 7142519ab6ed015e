/**
 * The MQTT binding's server side: the node, as an MQTT client of a broker, publishes every
 * exposed Thing's observable property values (retained, so a late subscriber gets the current
 * value at once) and its events, and takes writes and invocations of synchronous actions from
 * their request topics (topic-table.ts), answering each on its MQTT 5 Response Topic with its
 * Correlation Data (mqtt-answers.ts). Writes go through ExposedThing.writeProperty, so they are
 * recorded exactly as HTTP writes are.
 *
 * The broker is the user's own (`--mqtt URL`: Mosquitto, EMQX, HiveMQ; MQTT 5, username and
 * password or TLS from files), or one the node runs in its own process (embedded-broker.ts,
 * MQTT 5 and 3.1.1). When the node requires credentials, MQTT is read-only: the node neither offers
 * nor takes writes and invocations over it, since MQTT brings it no credential to check.
 *
 * Property values are conflated: a change goes out in its turn of the event loop, then a topic
 * is published at most once per 10 ms, with its last value, so a burst of writes costs a few
 * publishes, not one each (a retained topic holds only the last value anyway). Events are
 * published one by one.
 *
 * Bad input (a payload that is not JSON, a value outside its schema, an unknown Thing or
 * affordance, a read-only property) is answered with the error's code and changes nothing.
 * A broker lost after start-up is reconnected with backoff (1 s doubling to 30 s), the outage
 * logged when it starts and when it ends; the retained values are published again then.
 *
 * Throws from {@link MqttServerBinding.start}: FLOWCHAIN_ERR_MQTT_BROKER_UNREACHABLE naming the
 * broker when it cannot be reached, FLOWCHAIN_ERR_CONFIG_INVALID (field `mqtt-password-file`,
 * `mqtt-ca-file`, `mqtt-port`) for a file it cannot read or a port it cannot listen on. An
 * embedded broker's port already in use is not fatal: the node runs without MQTT (logged).
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect, type IClientOptions, type IClientPublishOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Clock, Timer } from '../../common/clock.js';
import type { Config } from '../../config.js';
import { FlowchainError, isFlowchainError } from '../../errors.js';
import type { BindingForms, DescribedThing, FormExposure } from '../../td/td-builder.js';
import type { ExposedThing, Unsubscribe } from '../../thing/exposed-thing.js';
import type { BindingHost, ServerBinding } from '../../thing/protocol-binding.js';
import { EmbeddedBroker } from './embedded-broker.js';
import { outputAnswer, problemAnswer, writeAnswerOf, type MqttAnswer } from './mqtt-answers.js';
import { mqttForms, QOS } from './mqtt-forms.js';
import { replyTopic, TopicTable } from './topic-table.js';

/** Which broker the node uses. */
export type MqttBrokerOptions =
  | { readonly kind: 'embedded'; readonly host: string; /** 0 for any free port. */ readonly port: number }
  | { readonly kind: 'external'; readonly url: string; readonly username?: string | undefined; readonly passwordFile?: string | undefined; readonly caFile?: string | undefined };

/** The binding's configuration. */
export interface MqttServerInit {
  readonly broker: MqttBrokerOptions;
  /** The topics' first levels (`flowchain`). */
  readonly prefix: string;
  /** The largest request payload taken, in bytes (as the HTTP body limit). */
  readonly bodyLimit: number;
  /** How long connecting to the broker may take at start-up, in milliseconds. */
  readonly connectTimeoutMs?: number;
}

/** What the binding is handed besides its configuration. */
export interface MqttServerComponents {
  /** Times the flush window of property values. */
  readonly clock: Clock;
  /** The receipt URL of a transaction (by id or H_DATA) on the node's HTTP side, once it listens. */
  receiptUrl(ref: string): string | undefined;
}

/** A value topic is published at most once per this many milliseconds (its last value). */
const VALUE_WINDOW_MS = 10;

/** The longest a step of stop() waits on the broker. */
const STOP_MS = 2_000;

/** `task`, or nothing once `ms` have passed. */
async function within(ms: number, task: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([task.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

const FIRST_RETRY_MS = 1_000;
const LAST_RETRY_MS = 30_000;

/**
 * The binding a node's configuration asks for: none with `mqtt` off, the user's broker with a
 * URL, else an embedded broker on `mqttPort` of the node's host.
 */
export function mqttServerBindingOf(config: Pick<Config, 'mqtt' | 'mqttPort' | 'mqttPrefix' | 'mqttUsername' | 'mqttPasswordFile' | 'mqttCaFile' | 'host' | 'bodyLimit'>, components: MqttServerComponents): MqttServerBinding | undefined {
  if (config.mqtt === 'off') return undefined;
  const broker: MqttBrokerOptions = config.mqtt === undefined
    ? { kind: 'embedded', host: config.host, port: config.mqttPort }
    : { kind: 'external', url: config.mqtt, username: config.mqttUsername, passwordFile: config.mqttPasswordFile, caFile: config.mqttCaFile };
  return new MqttServerBinding(components, { broker, prefix: config.mqttPrefix, bodyLimit: config.bodyLimit });
}

/** The MQTT server binding. */
export class MqttServerBinding implements ServerBinding {
  readonly name = 'mqtt';
  readonly topics: TopicTable;
  readonly #init: MqttServerInit;
  readonly #components: MqttServerComponents;
  readonly #clientId = `flowchain-${randomUUID()}`;
  #embedded: EmbeddedBroker | undefined;
  #client: MqttClient | undefined;
  #host: BindingHost | undefined;
  /** `off`: the embedded broker's port was taken, the node runs without MQTT. */
  #state: 'stopped' | 'running' | 'off' = 'stopped';
  readonly #followed = new Map<ExposedThing, Unsubscribe>();
  /** Per value topic: when it was last published, and the value waiting for its window to close. */
  readonly #windows = new Map<string, { last: number; pending?: { value: unknown } | undefined; timer?: Timer | undefined }>();
  /** Value topics whose window is closed, published at the end of this turn. */
  readonly #dueThisTurn = new Set<string>();
  #unfollow: Unsubscribe | undefined;
  #outageSince: number | undefined;

  constructor(components: MqttServerComponents, init: MqttServerInit) {
    this.#components = components;
    this.#init = init;
    this.topics = new TopicTable(init.prefix);
  }

  /** No forms while MQTT is off (the embedded broker's port was taken). */
  formsFor(thing: DescribedThing, exposure: FormExposure): BindingForms {
    if (this.#state === 'off') return {};
    return mqttForms(thing, exposure, { topics: this.topics, brokerFor: (given) => this.#brokerFor(given) });
  }

  /** The port of the embedded broker, once started. */
  get port(): number | undefined {
    return this.#embedded?.port;
  }

  /** Whether the binding serves (false when stopped, or off because the embedded broker's port was taken). */
  get running(): boolean {
    return this.#state === 'running';
  }

  async start(host: BindingHost): Promise<void> {
    this.#host = host;
    const broker = this.#init.broker;
    let options: IClientOptions;
    let url: string;
    if (broker.kind === 'embedded') {
      try {
        this.#embedded = await EmbeddedBroker.start({ host: broker.host, port: broker.port, mayPublish: (clientId, topic) => clientId === this.#clientId || !topic.startsWith(`${this.topics.prefix}/`) || this.topics.parse(topic) !== undefined });
      } catch (err) {
        if (!isFlowchainError(err, 'FLOWCHAIN_ERR_MQTT_PORT_IN_USE')) throw err;
        this.#state = 'off';
        host.log.warn({ port: broker.port }, `${err.message}: the node runs without MQTT (choose another with --mqtt-port, or turn MQTT off with --mqtt off)`);
        return;
      }
      url = `mqtt://${loopbackOf(broker.host)}:${this.#embedded.port}`;
      options = { protocolVersion: 5 };
    } else {
      url = broker.url;
      options = { protocolVersion: 5, ...(await this.#credentials(broker)) };
    }
    this.#client = await this.#connect(url, options);
    this.#state = 'running';
    this.#client.on('message', (topic, payload, packet) => void this.#request(topic, payload, packet));
    if (host.credentials.required) {
      host.log.info({ broker: shown(url) }, 'MQTT is read-only on this node: it requires credentials for writes and actions, which MQTT does not carry (read, observe and subscribe only)');
    } else {
      await this.#client.subscribeAsync(this.topics.requestFilters(), { qos: QOS.write });
    }
    for (const thing of host.things.list()) this.#follow(thing);
    this.#unfollow = host.things.onChange((thing, change) => (change === 'added' ? this.#follow(thing) : this.#withdraw(thing)));
    host.log.info({ broker: shown(url), prefix: this.topics.prefix }, `MQTT: serving the node's Things on ${shown(url)} under ${this.topics.prefix}/`);
  }

  async stop(): Promise<void> {
    this.#unfollow?.();
    this.#unfollow = undefined;
    const things = [...this.#followed.keys()];
    for (const stop of this.#followed.values()) stop();
    this.#followed.clear();
    for (const topic of [...this.#windows.keys()]) this.#dropValue(topic);
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) {
      // The retained values of Things no longer served go (an empty retained message clears one, MQTT 5.0 §3.3.1.3).
      if (client.connected) await within(STOP_MS, Promise.all(things.flatMap((thing) => this.#valueTopics(thing).map((topic) => client.publishAsync(topic, '', { retain: true, qos: 0 }).catch(() => undefined)))));
      // Forced: what is left was written already, and a broker gone meanwhile must not hold the node's stop.
      await within(STOP_MS, client.endAsync(true));
    }
    await this.#embedded?.close();
    this.#embedded = undefined;
    this.#state = 'stopped';
  }

  /** The broker a TD's reader reaches: the embedded one under the host the TD was asked for, or the user's. */
  #brokerFor(exposure: FormExposure): string {
    const broker = this.#init.broker;
    if (broker.kind === 'external') {
      const url = new URL(broker.url);
      return `${url.protocol}//${url.host}`;
    }
    const port = this.#embedded?.port ?? (broker.port === 0 ? 1883 : broker.port);
    return `mqtt://${new URL(exposure.base).hostname}:${port}`;
  }

  async #credentials(broker: Extract<MqttBrokerOptions, { kind: 'external' }>): Promise<IClientOptions> {
    const read = async (path: string, field: string): Promise<string> => {
      try {
        return await readFile(path, 'utf8');
      } catch (err) {
        throw new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', `cannot read ${path}: ${(err as Error).message}`, { field, cause: err });
      }
    };
    const password = broker.passwordFile === undefined ? undefined : (await read(broker.passwordFile, 'mqtt-password-file')).trim();
    const ca = broker.caFile === undefined ? undefined : await read(broker.caFile, 'mqtt-ca-file');
    return { ...(broker.username === undefined ? {} : { username: broker.username }), ...(password === undefined ? {} : { password }), ...(ca === undefined ? {} : { ca }) };
  }

  /** Connects once (a broker unreachable at start-up fails it), then keeps reconnecting with backoff. */
  async #connect(url: string, options: IClientOptions): Promise<MqttClient> {
    const timeout = this.#init.connectTimeoutMs ?? 10_000;
    const client = connect(url, { ...options, clientId: this.#clientId, clean: true, reconnectPeriod: 0, connectTimeout: timeout, queueQoSZero: false, resubscribe: true });
    try {
      await new Promise<void>((resolve, reject) => {
        const failed = (err?: Error) => {
          client.off('connect', connected);
          reject(err ?? new Error('the connection closed'));
        };
        const connected = () => {
          client.off('error', failed).off('close', failed);
          resolve();
        };
        client.once('connect', connected).once('error', failed).once('close', failed);
      });
    } catch (err) {
      client.end(true);
      throw new FlowchainError('FLOWCHAIN_ERR_MQTT_BROKER_UNREACHABLE', `the MQTT broker ${shown(url)} cannot be reached: ${(err as Error).message}`, { field: 'mqtt', cause: err });
    }
    client.options.reconnectPeriod = FIRST_RETRY_MS;
    const log = this.#host!.log;
    client.on('close', () => {
      if (this.#client !== client) return;
      if (this.#outageSince === undefined) {
        this.#outageSince = Date.now();
        log.warn({ broker: shown(url) }, `lost the MQTT broker ${shown(url)}: reconnecting`);
      } else {
        client.options.reconnectPeriod = Math.min(LAST_RETRY_MS, (client.options.reconnectPeriod ?? FIRST_RETRY_MS) * 2);
      }
    });
    client.on('error', (err) => log.warn({ broker: shown(url), err: err.message }, 'MQTT connection error'));
    client.on('connect', () => {
      if (this.#outageSince === undefined) return;
      log.info({ broker: shown(url), outageMs: Date.now() - this.#outageSince }, `reconnected to the MQTT broker ${shown(url)}`);
      this.#outageSince = undefined;
      client.options.reconnectPeriod = FIRST_RETRY_MS;
      // A broker that restarted without persistence lost the retained values.
      for (const thing of this.#followed.keys()) this.#publishValues(thing);
    });
    return client;
  }

  /** Publishes a Thing's values (retained) and events from now on. */
  #follow(thing: ExposedThing): void {
    if (this.#followed.has(thing)) return;
    const stops: Unsubscribe[] = [];
    for (const [name, property] of Object.entries(thing.td.properties ?? {})) {
      if (property.observable !== true || property.writeOnly) continue;
      const topic = this.topics.property(thing.slug, name);
      // Passive: the broker's subscribers are not known to the node, so no observe handler runs for them.
      stops.push(thing.observeProperty(name, (change) => this.#publishValue(topic, change.value), { passive: true }));
    }
    for (const name of Object.keys(thing.td.events ?? {})) {
      const topic = this.topics.event(thing.slug, name);
      stops.push(thing.subscribeEvent(name, (event) => this.#publish(topic, event.data, false, QOS.event), { passive: true }));
    }
    this.#followed.set(thing, () => stops.forEach((stop) => stop()));
    this.#publishValues(thing);
  }

  /** A Thing withdrawn: it is no longer followed, and its retained values are cleared. */
  #withdraw(thing: ExposedThing): void {
    this.#followed.get(thing)?.();
    this.#followed.delete(thing);
    for (const topic of this.#valueTopics(thing)) {
      this.#dropValue(topic);
      this.#client?.publish(topic, '', { retain: true, qos: 0 });
    }
  }

  #valueTopics(thing: ExposedThing): string[] {
    return Object.entries(thing.td.properties ?? {}).filter(([, p]) => p.observable === true && !p.writeOnly).map(([name]) => this.topics.property(thing.slug, name));
  }

  /** The current value of each observable property, retained. */
  #publishValues(thing: ExposedThing): void {
    for (const [name, property] of Object.entries(thing.td.properties ?? {})) {
      if (property.observable !== true || property.writeOnly) continue;
      const topic = this.topics.property(thing.slug, name);
      thing.readProperty(name).then(
        (value) => this.#publishValue(topic, value),
        (err: unknown) => this.#host?.log.warn({ thing: thing.slug, property: name, err: (err as Error).message }, 'MQTT: the current value cannot be read to publish it'),
      );
    }
  }

  /**
   * A property's value, published (retained) at the end of this turn, or when the window its
   * topic's last publish opened closes, unless a newer value of the topic replaces it first.
   */
  #publishValue(topic: string, value: unknown): void {
    let window = this.#windows.get(topic);
    if (window === undefined) this.#windows.set(topic, (window = { last: Number.NEGATIVE_INFINITY }));
    const waiting = window.pending !== undefined;
    window.pending = { value };
    if (waiting) return;
    const wait = window.last + VALUE_WINDOW_MS - this.#components.clock.now();
    if (wait > 0) {
      window.timer = this.#components.clock.after(wait, () => this.#flushValue(topic));
      return;
    }
    if (this.#dueThisTurn.size === 0) {
      setImmediate(() => {
        for (const due of this.#dueThisTurn) this.#flushValue(due);
        this.#dueThisTurn.clear();
      });
    }
    this.#dueThisTurn.add(topic);
  }

  #flushValue(topic: string): void {
    const window = this.#windows.get(topic);
    if (window?.pending === undefined) return;
    this.#publish(topic, window.pending.value, true, QOS.value);
    window.pending = undefined;
    window.timer = undefined;
    window.last = this.#components.clock.now();
  }

  /** Forgets what `topic` had waiting (its Thing is withdrawn, or the binding stops). */
  #dropValue(topic: string): void {
    this.#windows.get(topic)?.timer?.cancel();
    this.#windows.delete(topic);
    this.#dueThisTurn.delete(topic);
  }

  #publish(topic: string, value: unknown, retain: boolean, qos: 0 | 1): void {
    this.#client?.publish(topic, JSON.stringify(value ?? null), { retain, qos });
  }

  /** A write or invocation: carried out, then answered (its outcome, or the error's code). */
  async #request(topic: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    const request = this.topics.parse(topic);
    const host = this.#host;
    if (request === undefined || host === undefined) return;
    // A retained request is an old one the broker hands every new subscriber: carrying it out would repeat it at each start.
    if (packet.retain) {
      host.log.warn({ topic }, 'MQTT: a retained request was not carried out (publish requests without the retain flag)');
      return;
    }
    const properties = packet.properties;
    const answerTo = properties?.responseTopic ?? replyTopic(topic);
    // A response topic is a topic name (no wildcards), and never one of the node's own: an answer must not pose as a value or an event.
    if (/[+#]/.test(answerTo) || (answerTo.startsWith(`${this.topics.prefix}/`) && answerTo !== replyTopic(topic))) {
      host.log.warn({ topic, responseTopic: answerTo }, 'MQTT: a request named a response topic it may not have; not carried out');
      return;
    }
    let answer: MqttAnswer;
    try {
      if (payload.length > this.#init.bodyLimit) throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_TOO_LARGE', `the payload has ${payload.length} bytes; at most ${this.#init.bodyLimit} are taken`, { field: 'payload' });
      const input = parsePayload(payload, request.kind === 'write');
      const thing = host.things.get(request.thing);
      if (request.kind === 'write') {
        answer = writeAnswerOf(await thing.writeProperty(request.name, input), (ref) => this.#components.receiptUrl(ref));
      } else {
        if (thing.action(request.name).synchronous === false) throw new FlowchainError('FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED', `action ${request.name} is asynchronous: invoke it over HTTP, where its invocation can be queried and cancelled`, { field: request.name });
        answer = outputAnswer(await thing.invokeAction(request.name, input));
      }
    } catch (err) {
      answer = problemAnswer(err);
    }
    const options: IClientPublishOptions = {
      qos: 0,
      properties: { contentType: answer.contentType, ...(properties?.correlationData === undefined ? {} : { correlationData: properties.correlationData }) },
    };
    try {
      this.#client?.publish(answerTo, answer.payload, options, (err) => {
        if (err) host.log.warn({ topic: answerTo, err: err.message }, 'MQTT: an answer could not be published');
      });
    } catch (err) {
      host.log.warn({ topic: answerTo, err: (err as Error).message }, 'MQTT: an answer could not be published');
    }
  }
}

/** A request's payload as JSON: required for a write, an empty one is no input for an invocation. */
function parsePayload(payload: Buffer, required: boolean): unknown {
  const text = payload.toString('utf8');
  if (text.trim() === '') {
    if (required) throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'a write carries the value as JSON: the payload is empty', { field: 'payload' });
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', `the payload is not JSON: ${(err as Error).message}`, { field: 'payload', cause: err });
  }
}

/** Where the node reaches its own embedded broker: the listening address, or loopback for a wildcard one. */
function loopbackOf(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** A broker URL as logs and errors show it: never its credentials. */
function shown(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'the configured broker';
  }
}

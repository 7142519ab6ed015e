/**
 * The MQTT binding's client side: `consume()` follows `mqtt:` and `mqtts:` forms with it. The
 * topic is the form's `mqv:topic` or `mqv:filter`, else its `href` path.
 *
 * - readproperty subscribes and takes the retained value (the form says `mqv:retain`);
 * - observeproperty and subscribeevent subscribe until stopped;
 * - writeproperty and invokeaction publish to the form's topic with an MQTT 5 Response Topic
 *   of this connection's own and fresh Correlation Data, and wait for the answer
 *   (mqtt-answers.ts): a write's transactions, an action's output, or the node's error code.
 *
 * One connection per broker and consumed Thing (ClientContext.keep), MQTT 5, falling back to
 * MQTT 3.1.1 for a broker that refuses 5: over 3.1.1 there is no response
 * topic, so writes and invocations over such a form are not sent (FLOWCHAIN_ERR_REMOTE_UNREACHABLE:
 * the consumer may follow another form) while reads, observations and subscriptions work.
 *
 * Rejects with FLOWCHAIN_ERR_REMOTE_UNREACHABLE (no connection, or a subscription not taken: nothing changed),
 * FLOWCHAIN_ERR_OUTCOME_UNKNOWN (a request sent and not answered in time, or the connection
 * lost meanwhile), FLOWCHAIN_ERR_REMOTE_FAILED (no retained value to read in time), and the
 * remote node's own codes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { FlowchainError } from '../../../errors.js';
import { writeResultOf, type BindingSubscription, type ClientBinding, type ClientContext, type Closable, type ResolvedForm } from '../../../thing/protocol-binding.js';
import { readAnswer } from '../mqtt-answers.js';

type Listener = (payload: Buffer) => void;

/** One connection to a broker: subscriptions shared by topic, requests matched to answers by correlation data. */
export class MqttConnection implements Closable {
  readonly #url: URL;
  /** `mqtt://host:port` (URL.origin is "null" for a scheme WHATWG does not know). */
  readonly #origin: string;
  readonly #timeoutMs: number;
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #pending = new Map<string, { resolve: (answer: { payload: Buffer; contentType: string | undefined }) => void; reject: (err: unknown) => void }>();
  readonly #answers = `flowchain-client/${randomUUID()}/answers`;
  #client: Promise<{ client: MqttClient; version: 4 | 5 }> | undefined;
  #closed = false;

  constructor(url: URL, timeoutMs: number) {
    this.#url = url;
    this.#origin = `${url.protocol}//${url.host}`;
    this.#timeoutMs = timeoutMs;
  }

  /** Subscribes `listener` to `topic` (a SUBSCRIBE goes out each time: a new one gets the retained value again); resolves with the unsubscribe. */
  async subscribe(topic: string, listener: Listener): Promise<() => void> {
    const { client } = await this.#connected();
    const set = this.#listeners.get(topic) ?? new Set();
    this.#listeners.set(topic, set);
    set.add(listener);
    try {
      let timer: NodeJS.Timeout | undefined;
      const granted = await Promise.race([
        client.subscribeAsync(topic, { qos: 1 }),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no SUBACK within ${this.#timeoutMs} ms`)), this.#timeoutMs))),
      ]).finally(() => clearTimeout(timer));
      if (granted.some((g) => g.qos === 128)) throw new FlowchainError('FLOWCHAIN_ERR_REMOTE_FAILED', `${this.#origin}: the broker refused a subscription to ${topic}`, { field: 'topic' });
    } catch (err) {
      this.#drop(client, topic, listener);
      // A subscription changes nothing at the Thing: there is no outcome to be unsure of.
      throw err instanceof FlowchainError ? err : new FlowchainError('FLOWCHAIN_ERR_REMOTE_UNREACHABLE', `${this.#origin}: subscribing to ${topic} failed: ${(err as Error).message}`, { field: 'topic', cause: err });
    }
    return () => this.#drop(client, topic, listener);
  }

  /** Publishes `payload` to `topic` and waits for its answer (MQTT 5 only). */
  async request(topic: string, payload: string, qos: 0 | 1 | 2): Promise<{ payload: Buffer; contentType: string | undefined }> {
    const { client, version } = await this.#connected();
    if (version !== 5) throw new FlowchainError('FLOWCHAIN_ERR_REMOTE_UNREACHABLE', `${this.#origin} speaks MQTT 3.1.1, which has no response topic: the request was not sent`, { field: 'url' });
    const correlation = randomBytes(16);
    const key = correlation.toString('hex');
    const answered = new Promise<{ payload: Buffer; contentType: string | undefined }>((resolve, reject) => this.#pending.set(key, { resolve, reject }));
    const timer = setTimeout(() => this.#settle(key, new FlowchainError('FLOWCHAIN_ERR_OUTCOME_UNKNOWN', `${this.#origin}: no answer to ${topic} within ${this.#timeoutMs} ms, and the request may have been received`, { field: 'url' })), this.#timeoutMs);
    // The answer, not the broker's acknowledgement, is what is waited for (within the timeout): a publish that fails settles it too.
    client.publish(topic, payload, { qos, properties: { responseTopic: this.#answers, correlationData: correlation, contentType: 'application/json' } }, (err) => {
      if (err) this.#settle(key, new FlowchainError('FLOWCHAIN_ERR_OUTCOME_UNKNOWN', `${this.#origin}: publishing to ${topic} failed: ${err.message}`, { field: 'url', cause: err }));
    });
    try {
      return await answered;
    } finally {
      clearTimeout(timer);
      this.#pending.delete(key);
    }
  }

  close(): void {
    this.#closed = true;
    for (const key of [...this.#pending.keys()]) this.#settle(key, new FlowchainError('FLOWCHAIN_ERR_OUTCOME_UNKNOWN', `${this.#origin}: closed before the answer came`, { field: 'url' }));
    void this.#client?.then(({ client }) => client.end(true), () => undefined);
  }

  #settle(key: string, err: unknown): void {
    this.#pending.get(key)?.reject(err);
    this.#pending.delete(key);
  }

  #drop(client: MqttClient, topic: string, listener: Listener): void {
    const set = this.#listeners.get(topic);
    set?.delete(listener);
    if (set?.size === 0) {
      this.#listeners.delete(topic);
      if (client.connected) client.unsubscribe(topic);
    }
  }

  #connected(): Promise<{ client: MqttClient; version: 4 | 5 }> {
    if (this.#closed) return Promise.reject(new FlowchainError('FLOWCHAIN_ERR_REMOTE_UNREACHABLE', `${this.#origin}: the consumed Thing was closed`, { field: 'url' }));
    this.#client ??= this.#open(5).catch(async (err: unknown) => {
      // A broker that speaks only MQTT 3.1.1 refuses 5 (CONNACK 0x01, or 0x84 in MQTT 5's codes).
      if (![1, 132].includes((err as { code?: number }).code ?? -1)) throw err;
      return this.#open(4);
    });
    // A failed connection is tried again next time.
    this.#client.catch(() => (this.#client = undefined));
    return this.#client;
  }

  async #open(version: 4 | 5): Promise<{ client: MqttClient; version: 4 | 5 }> {
    const options: IClientOptions = { protocolVersion: version, clean: true, reconnectPeriod: 0, connectTimeout: this.#timeoutMs };
    const client = connect(this.#origin, options);
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve()).once('error', reject).once('close', () => reject(new Error('the connection closed')));
      });
    } catch (err) {
      client.end(true);
      const code = (err as { code?: unknown }).code;
      throw Object.assign(new FlowchainError('FLOWCHAIN_ERR_REMOTE_UNREACHABLE', `${this.#origin}: no MQTT connection (${(err as Error).message})`, { field: 'url', cause: err }), typeof code === 'number' ? { code } : {});
    }
    client.removeAllListeners('error').removeAllListeners('close');
    client.on('error', () => undefined);
    client.on('close', () => {
      for (const key of [...this.#pending.keys()]) this.#settle(key, new FlowchainError('FLOWCHAIN_ERR_OUTCOME_UNKNOWN', `${this.#origin}: the connection dropped before the answer came`, { field: 'url' }));
    });
    client.on('message', (topic, payload, packet) => {
      const correlation = packet.properties?.correlationData;
      if (topic === this.#answers && correlation !== undefined) {
        const key = Buffer.from(correlation).toString('hex');
        this.#pending.get(key)?.resolve({ payload, contentType: packet.properties?.contentType });
        this.#pending.delete(key);
        return;
      }
      for (const listener of this.#listeners.get(topic) ?? []) listener(payload);
    });
    if (version === 5) await client.subscribeAsync(this.#answers, { qos: 1 });
    return { client, version };
  }
}

/** The topic of a form: `mqv:topic` (publish) or `mqv:filter` (subscribe), else its href's path. */
export function topicOf(form: ResolvedForm, publish: boolean): string {
  const own = publish ? (form.form['mqv:topic'] ?? form.form['mqv:filter']) : (form.form['mqv:filter'] ?? form.form['mqv:topic']);
  if (typeof own === 'string' && own !== '') return own;
  return form.url.pathname.replace(/^\//, '');
}

const QOS_VALUES = new Set(['0', '1', '2']);

/** The QoS a form asks publishes to use (`mqv:qos`; 0 when it says none). */
function qosOf(form: ResolvedForm): 0 | 1 | 2 {
  const qos = form.form['mqv:qos'];
  return typeof qos === 'string' && QOS_VALUES.has(qos) ? (Number(qos) as 0 | 1 | 2) : 0;
}

function connectionOf(ctx: ClientContext, form: ResolvedForm): MqttConnection {
  return ctx.keep(`mqtt ${form.url.protocol}//${form.url.host}`, () => new MqttConnection(form.url, ctx.timeoutMs));
}

/** Takes the first value published (or retained) on the form's topic. */
async function readRetained(ctx: ClientContext, form: ResolvedForm): Promise<unknown> {
  const topic = topicOf(form, false);
  let done = false;
  let stop: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<unknown>((resolve, reject) => {
      timer = setTimeout(() => reject(new FlowchainError('FLOWCHAIN_ERR_REMOTE_FAILED', `${form.url.href}: no value retained on ${topic} within ${ctx.timeoutMs} ms`, { field: 'topic' })), ctx.timeoutMs);
      connectionOf(ctx, form)
        .subscribe(topic, (payload) => {
          if (payload.length > 0) resolve(valueOf(payload, form));
        })
        // The value may come before the subscription is acknowledged: the unsubscribe waits for it.
        .then((unsubscribe) => (done ? unsubscribe() : (stop = unsubscribe)), reject);
    });
  } finally {
    done = true;
    clearTimeout(timer);
    stop?.();
  }
}

/** Follows the form's topic: every message's value to `onValue`. */
async function follow(ctx: ClientContext, form: ResolvedForm, onValue: (value: unknown) => void, onError: (err: unknown) => void): Promise<BindingSubscription> {
  const stop = await connectionOf(ctx, form).subscribe(topicOf(form, false), (payload) => {
    // An empty retained message clears a value (the Thing was withdrawn): nothing to deliver.
    if (payload.length === 0) return;
    try {
      onValue(valueOf(payload, form));
    } catch (err) {
      onError(err);
    }
  });
  return { stop };
}

/** A published value: its JSON (a value, never an answer, so never taken for a problem). */
function valueOf(payload: Buffer, form: ResolvedForm): unknown {
  try {
    return JSON.parse(payload.toString('utf8')) as unknown;
  } catch (err) {
    throw new FlowchainError('FLOWCHAIN_ERR_REMOTE_FAILED', `${form.url.href}: a value on ${topicOf(form, false)} is not JSON`, { field: 'payload', cause: err });
  }
}

async function request(ctx: ClientContext, form: ResolvedForm, input: unknown): Promise<unknown> {
  const answer = await connectionOf(ctx, form).request(topicOf(form, true), input === undefined ? '' : JSON.stringify(input), qosOf(form));
  return readAnswer(answer.payload, answer.contentType, form.url.href);
}

/** The MQTT client binding. */
export const mqttClient: ClientBinding = {
  name: 'mqtt',
  accepts: (_form, url) => url.protocol === 'mqtt:' || url.protocol === 'mqtts:',
  // A publish always carries the input.
  sendsBody: () => true,
  readProperty: (ctx, form) => readRetained(ctx, form),
  writeProperty: async (ctx, form, _name, value) => writeResultOf(await request(ctx, form, value)),
  invokeAction: (ctx, form, _name, input) => request(ctx, form, input),
  observeProperty: (ctx, form, _name, onValue, onError) => follow(ctx, form, onValue, onError),
  subscribeEvent: (ctx, form, _name, onValue, onError) => follow(ctx, form, onValue, onError),
};

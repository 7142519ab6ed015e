/**
 * A consumed Thing, shaped as the W3C WoT Scripting API's ConsumedThing (§7): reads, writes,
 * observations, action invocations and event subscriptions of a Thing anywhere, driven only by
 * its TD's forms (forms.ts): HTTP, SSE, long-poll and Flowchain's `flowchain.v1` WebSocket,
 * with `base`, the `op` defaults, `htv:methodName` and the TD's security honoured. Values are
 * checked against the TD's data schemas as they arrive. A write to a Flowchain Thing also
 * says what became of its data transactions: their status, ids and receipt links.
 *
 * Throws FLOWCHAIN_ERR_TD_INVALID (not a TD), FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND,
 * FLOWCHAIN_ERR_FORM_NOT_FOUND (no form to follow, naming the affordance),
 * FLOWCHAIN_ERR_VALUE_INVALID (a value that does not fit the schema, either way),
 * FLOWCHAIN_ERR_REMOTE_FAILED and the remote node's own codes.
 */
import { errorFromBody, FlowchainError, isFlowchainError } from '../errors.js';
import type { DataSchema, InteractionAffordance, ThingDescription } from '../td/thing-description.js';
import { checkValue } from '../thing/data-schema.js';
import { interactionOutput, type InteractionOutput } from '../thing/interaction-output.js';
import { followLongPoll, followSse, httpExchange, WsConnection, type HttpAnswer, type Stream } from './bindings.js';
import { authorizationFor, pickForms, type AffordanceKind, type Binding, type Credentials, type ResolvedForm } from './forms.js';

/** How a Thing is consumed. */
export interface ConsumeOptions {
  /** Credentials for the forms whose security asks for them. */
  readonly credentials?: Credentials;
  /** The bindings to use, in order of preference (default: http, sse, longpoll, ws). */
  readonly bindings?: readonly Binding[];
  /** How long one exchange may take, in milliseconds (default 10 s; long-poll windows take longer). */
  readonly timeoutMs?: number;
  /** How often invokeAction queries an asynchronous action until it finishes (default 1 s). */
  readonly actionPollMs?: number;
}

/** An invocation's status as the remote Thing tells it (WoT Profile, ActionStatus). */
export interface RemoteActionStatus {
  readonly id: string;
  readonly status: 'pending' | 'running' | 'completed' | 'failed';
  readonly output?: unknown;
  readonly error?: { readonly code?: string; readonly detail?: string };
  readonly href?: string;
  readonly [other: string]: unknown;
}

/** An invocation of an asynchronous action a consumer started. */
export interface ActionInvocation {
  readonly id: string;
  /** Its status when it started. */
  readonly status: RemoteActionStatus;
  /** queryaction */
  query(): Promise<RemoteActionStatus>;
  /** cancelaction (rejects with FLOWCHAIN_ERR_ACTION_FINISHED once it finished). */
  cancel(): Promise<void>;
  /** Resolves with its output once it completed; rejects with its code once it failed. */
  done(): Promise<InteractionOutput | undefined>;
}

/** A running observation or subscription (Scripting API §7.3). */
export interface Subscription {
  readonly active: boolean;
  stop(): Promise<void>;
}

/** What became of a write's data transactions, when the Thing is a Flowchain one. */
export interface WriteResult {
  /** `stored` (every owner has them), `queued` (the sender still holds some); undefined for a Thing that is not Flowchain's. */
  readonly status: string | undefined;
  readonly transactions: readonly { readonly property: string; readonly receipt: string; readonly txId?: string }[];
}

const DEFAULT_BINDINGS: readonly Binding[] = ['http', 'sse', 'longpoll', 'ws'];
const RECEIPT_REL = 'https://w3id.org/flowchain#receipt';

/** A Thing to use through its forms. */
export class ConsumedThing {
  readonly #td: ThingDescription;
  readonly #options: ConsumeOptions;
  readonly #timeoutMs: number;
  readonly #sockets = new Map<string, WsConnection>();

  constructor(td: ThingDescription, options: ConsumeOptions = {}) {
    if (typeof td !== 'object' || td === null || typeof td.title !== 'string') throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', 'a Thing Description is an object with a title', { field: '/title' });
    this.#td = td;
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  getThingDescription(): ThingDescription {
    return this.#td;
  }

  /** readproperty. */
  async readProperty(name: string): Promise<InteractionOutput> {
    const property = this.#affordance('properties', name);
    return this.#each(this.#forms('property', property, 'readproperty', `properties/${name}`, ['http', 'ws']), async (form) => {
      const value = form.binding === 'ws' ? (await this.#ws(form, { op: 'readproperty', name })).value : (await this.#http(form)).body;
      return this.#output(value, property as DataSchema, name, form);
    });
  }

  /** readallproperties: every readable property (through the Thing's own form, or one by one). */
  async readAllProperties(): Promise<Map<string, InteractionOutput>> {
    const names = Object.entries(this.#td.properties ?? {}).filter(([, p]) => !p.writeOnly).map(([name]) => name);
    return this.readMultipleProperties(names);
  }

  /** readmultipleproperties: the Thing's form for it when it has one, else each property's own. */
  async readMultipleProperties(names: readonly string[]): Promise<Map<string, InteractionOutput>> {
    for (const name of names) this.#affordance('properties', name);
    let values: Record<string, unknown> | undefined;
    let forms: ResolvedForm[] = [];
    try {
      forms = this.#forms('thing', undefined, 'readmultipleproperties', 'the Thing', ['http', 'ws']);
    } catch (err) {
      if (!isFlowchainError(err, 'FLOWCHAIN_ERR_FORM_NOT_FOUND')) throw err;
    }
    if (forms.length > 0) {
      values = await this.#each(forms, async (form) =>
        form.binding === 'ws' ? ((await this.#ws(form, { op: 'readmultipleproperties', names })).value as Record<string, unknown>) : ((await this.#http(form, form.method === 'GET' ? undefined : names)).body as Record<string, unknown>),
      );
    }
    const entries = await Promise.all(
      names.map(async (name): Promise<[string, InteractionOutput]> => [name, values !== undefined && Object.hasOwn(values, name) ? this.#output(values[name], this.#td.properties![name] as DataSchema, name) : await this.readProperty(name)]),
    );
    return new Map(entries);
  }

  /** writeproperty: the value checked against the schema first; resolves with what became of its transactions. */
  async writeProperty(name: string, value: unknown): Promise<WriteResult> {
    const property = this.#affordance('properties', name);
    checkValue(property as DataSchema, value, name, 'input');
    return this.#each(this.#forms('property', property, 'writeproperty', `properties/${name}`, ['http', 'ws']), async (form) =>
      form.binding === 'ws' ? wsWriteResult(await this.#ws(form, { op: 'writeproperty', name, value }), this.#httpBase(form)) : httpWriteResult(await this.#http(form, value)),
    );
  }

  /** writemultipleproperties (all or nothing, through the Thing's form). */
  async writeMultipleProperties(values: Readonly<Record<string, unknown>>): Promise<WriteResult> {
    for (const [name, value] of Object.entries(values)) checkValue(this.#affordance('properties', name) as DataSchema, value, name, 'input');
    return this.#each(this.#forms('thing', undefined, 'writemultipleproperties', 'the Thing', ['http', 'ws']), async (form) =>
      form.binding === 'ws' ? wsWriteResult(await this.#ws(form, { op: 'writemultipleproperties', values }), this.#httpBase(form)) : httpWriteResult(await this.#http(form, values)),
    );
  }

  /**
   * invokeaction: its input checked, its output (if the action has one) checked and returned.
   * An asynchronous action (`"synchronous": false`) is started, its invocation queried every
   * `actionPollMs` until it finishes, and its output returned; one that failed rejects with
   * the code its status names.
   */
  async invokeAction(name: string, params?: unknown): Promise<InteractionOutput | undefined> {
    const action = this.#action(name);
    if (action.synchronous === false) return (await this.startAction(name, params)).done();
    if (action.input !== undefined) checkValue(action.input, params, name, 'input');
    return this.#each(this.#forms('action', action, 'invokeaction', `actions/${name}`, ['http', 'ws']), async (form) => {
      const value = form.binding === 'ws' ? (await this.#ws(form, { op: 'invokeaction', name, ...(params === undefined ? {} : { input: params }) })).value : (await this.#http(form, params)).body;
      return value === undefined ? undefined : this.#output(value, action.output, name, form);
    });
  }

  /**
   * Starts an asynchronous action (WoT Profile, "Asynchronous Action Response") and answers
   * its invocation, to query, cancel or wait for: over HTTP through the status URL the Thing
   * answered (`Location`), over the WebSocket through the invocation's id.
   */
  async startAction(name: string, params?: unknown): Promise<ActionInvocation> {
    const action = this.#action(name);
    if (action.input !== undefined) checkValue(action.input, params, name, 'input');
    return this.#each(this.#forms('action', action, 'invokeaction', `actions/${name}`, ['http', 'ws']), async (form) => {
      let query: () => Promise<RemoteActionStatus>;
      let cancel: () => Promise<void>;
      let first: RemoteActionStatus;
      if (form.binding === 'ws') {
        first = actionStatus((await this.#ws(form, { op: 'invokeaction', name, ...(params === undefined ? {} : { input: params }) })).value, form.url);
        const actionID = first.id;
        query = async () => actionStatus((await this.#ws(form, { op: 'queryaction', name, actionID })).value, form.url);
        cancel = async () => void (await this.#ws(form, { op: 'cancelaction', name, actionID }));
      } else {
        const answer = await this.#http(form, params);
        first = actionStatus(answer.body, form.url);
        const location = answer.headers.get('location');
        if (location === null) throw new FlowchainError('FLOWCHAIN_ERR_REMOTE_FAILED', `${form.url.href}: an asynchronous action answered no Location`, { field: 'location' });
        const href = new URL(location, form.url);
        const at = (method: string): ResolvedForm => ({ ...form, url: href, method });
        query = async () => actionStatus((await this.#http(at('GET'))).body, href);
        cancel = async () => void (await this.#http(at('DELETE')));
      }
      const pollMs = this.#options.actionPollMs ?? 1000;
      const done = async (): Promise<InteractionOutput | undefined> => {
        let status = first;
        while (status.status === 'pending' || status.status === 'running') {
          await new Promise((resolve) => setTimeout(resolve, pollMs));
          status = await query();
        }
        if (status.status === 'failed') throw errorFromBody(status.error ?? {}, form.url.href);
        return status.output === undefined ? undefined : this.#output(status.output, action.output, name, form);
      };
      return { id: first.id, status: first, query, cancel, done };
    });
  }

  /**
   * observeproperty: each new value to `listener`, until the subscription is stopped. Resolves
   * once the Thing took the observation (over SSE and the WebSocket; a long-poll cannot tell),
   * rejects with the remote code when it refused it; later failures go to `onerror`.
   */
  async observeProperty(name: string, listener: (data: InteractionOutput) => void, onerror: (err: unknown) => void = () => undefined): Promise<Subscription> {
    const property = this.#affordance('properties', name);
    return this.#each(this.#forms('property', property, 'observeproperty', `properties/${name}`, ['sse', 'longpoll', 'ws']), (form) =>
      this.#follow(form, 'property', name, (value) => listener(this.#output(value, property as DataSchema, name, form)), onerror),
    );
  }

  /** subscribeevent: each event's data to `listener`, until the subscription is stopped (settles as observeProperty does). */
  async subscribeEvent(name: string, listener: (data: InteractionOutput) => void, onerror: (err: unknown) => void = () => undefined): Promise<Subscription> {
    const event = this.#affordance('events', name) as InteractionAffordance & { data?: DataSchema };
    return this.#each(this.#forms('event', event, 'subscribeevent', `events/${name}`, ['sse', 'longpoll', 'ws']), (form) =>
      this.#follow(form, 'event', name, (value) => listener(this.#output(value, event.data, name, form)), onerror),
    );
  }

  /** Closes this Thing's WebSockets (observations over them end). */
  close(): void {
    for (const socket of this.#sockets.values()) socket.close();
    this.#sockets.clear();
  }

  #action(name: string): InteractionAffordance & { input?: DataSchema; output?: DataSchema; synchronous?: boolean } {
    return this.#affordance('actions', name);
  }

  #affordance(kind: 'properties' | 'actions' | 'events', name: string): InteractionAffordance {
    const found = Object.hasOwn(this.#td[kind] ?? {}, name) ? this.#td[kind]![name] : undefined;
    if (found === undefined) throw new FlowchainError('FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', `${this.#td.title} has no ${kind.slice(0, -1)} named ${name}`, { field: name });
    return found as InteractionAffordance;
  }

  #preference(usable: readonly Binding[]): Binding[] {
    return (this.#options.bindings ?? DEFAULT_BINDINGS).filter((binding) => usable.includes(binding));
  }

  #forms(kind: AffordanceKind, affordance: InteractionAffordance | undefined, op: string, where: string, usable: readonly Binding[]): ResolvedForm[] {
    return pickForms(this.#td, kind, affordance, op, this.#preference(usable), where);
  }

  /** Runs `attempt` on each form in turn until one reaches the Thing (a TD may offer one form per server address). */
  async #each<T>(forms: readonly ResolvedForm[], attempt: (form: ResolvedForm) => Promise<T>): Promise<T> {
    for (const [i, form] of forms.entries()) {
      try {
        return await attempt(form);
      } catch (err) {
        if (i === forms.length - 1 || !isFlowchainError(err, 'FLOWCHAIN_ERR_REMOTE_UNREACHABLE')) throw err;
      }
    }
    throw new Error('unreachable: pickForms returns at least one form');
  }

  /** The HTTP base of the node behind a form: the TD's base, or the form's origin. */
  #httpBase(form: ResolvedForm): URL {
    if (typeof this.#td.base === 'string') return new URL(this.#td.base);
    return new URL(`${form.url.protocol === 'wss:' ? 'https:' : 'http:'}//${form.url.host}/`);
  }

  #headers(form: ResolvedForm): Record<string, string> {
    const authorization = authorizationFor(this.#td, form.form, this.#options.credentials);
    return authorization === undefined ? {} : { authorization };
  }

  #http(form: ResolvedForm, body?: unknown): Promise<HttpAnswer> {
    const headers = { ...this.#headers(form), accept: 'application/json', ...(body === undefined ? {} : { 'content-type': form.contentType }) };
    return httpExchange(form.url, { method: form.method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), timeoutMs: this.#timeoutMs });
  }

  #socket(form: ResolvedForm): WsConnection {
    let socket = this.#sockets.get(form.url.href);
    if (socket === undefined) {
      socket = new WsConnection(form.url, this.#headers(form), this.#timeoutMs);
      this.#sockets.set(form.url.href, socket);
    }
    return socket;
  }

  #ws(form: ResolvedForm, request: Record<string, unknown>) {
    return this.#socket(form).request({ thingID: this.#td.id ?? this.#td.title, ...request });
  }

  async #follow(form: ResolvedForm, kind: 'property' | 'event', name: string, onValue: (value: unknown) => void, onerror: (err: unknown) => void): Promise<Subscription> {
    let active = true;
    const guarded = (value: unknown): void => {
      if (!active) return;
      try {
        onValue(value);
      } catch (err) {
        onerror(err);
      }
    };
    let stream: Stream;
    if (form.binding === 'sse') stream = followSse(form.url, this.#headers(form), guarded, onerror);
    else if (form.binding === 'longpoll') stream = followLongPoll(form.url, this.#headers(form), this.#timeoutMs + 60_000, guarded, onerror);
    else {
      const socket = this.#socket(form);
      const thingID = this.#td.id ?? this.#td.title;
      const off = socket.onNotification((message) => {
        if (message.thingID !== thingID || message.name !== name) return;
        if (kind === 'property' && message.type === 'propertyChange') guarded(message.value);
        if (kind === 'event' && message.type === 'event') guarded(message.data);
      });
      try {
        await socket.request({ thingID, op: kind === 'property' ? 'observeproperty' : 'subscribeevent', name });
      } catch (err) {
        off();
        throw err;
      }
      stream = {
        ready: Promise.resolve(),
        stop: () => {
          off();
          void socket.request({ thingID, op: kind === 'property' ? 'unobserveproperty' : 'unsubscribeevent', name }).catch(() => undefined);
        },
      };
    }
    await stream.ready;
    return {
      get active() {
        return active;
      },
      stop: async () => {
        active = false;
        stream.stop();
      },
    };
  }

  /** A value that arrived, checked against its schema (a remote value that does not fit is refused). */
  #output(value: unknown, schema: DataSchema | undefined, name: string, form?: ResolvedForm): InteractionOutput {
    if (schema !== undefined) checkValue(schema, value, name, 'output');
    return interactionOutput(value, schema, form?.form);
  }
}

/** An answer that must be an ActionStatus (FLOWCHAIN_ERR_REMOTE_FAILED otherwise). */
function actionStatus(body: unknown, url: URL): RemoteActionStatus {
  const status = body as Partial<RemoteActionStatus> | undefined;
  if (typeof status?.id !== 'string' || !['pending', 'running', 'completed', 'failed'].includes(status.status as string)) {
    throw new FlowchainError('FLOWCHAIN_ERR_REMOTE_FAILED', `${url.href}: the answer is not an action status`, { field: 'status' });
  }
  return status as RemoteActionStatus;
}

/** What a Flowchain node's answer to an HTTP write says of its transactions. */
function httpWriteResult(answer: HttpAnswer): WriteResult {
  const ids = (answer.headers.get('flowchain-tx-id') ?? '').split(',').map((id) => id.trim()).filter((id) => id !== '');
  const links = (answer.headers.get('link') ?? '').split(/,(?=\s*<)/).flatMap((link) => {
    const match = /<([^>]+)>\s*;(.*)$/.exec(link.trim());
    if (match === null || !match[2]!.includes(`rel="${RECEIPT_REL}"`)) return [];
    const title = /title\*?=(?:"([^"]*)"|UTF-8''([^;\s]+))/.exec(match[2]!);
    return [{ receipt: match[1]!, property: title?.[1] ?? decodeURIComponent(title?.[2] ?? '') }];
  });
  return {
    status: answer.headers.get('flowchain-tx-status') ?? undefined,
    transactions: links.map((link) => {
      const id = /ledger\/tx\/([0-9a-f]{64})$/.exec(link.receipt)?.[1];
      return id !== undefined && ids.includes(id) ? { ...link, txId: id } : link;
    }),
  };
}

/** What a `flowchain.v1` write result says of its transactions; receipts are on the node's HTTP side (`base`). */
function wsWriteResult(message: { readonly transactions?: readonly unknown[] }, base: URL): WriteResult {
  const receipts = (message.transactions ?? []) as { key: string; property: string; txId?: string; status: string }[];
  const worst = (['refused', 'queued', 'stored'] as const).find((status) => receipts.some((r) => r.status === status));
  return {
    status: worst,
    transactions: receipts.map((r) => ({ property: r.property, receipt: new URL(`ledger/tx/${encodeURIComponent(r.txId ?? r.key)}`, base).href, ...(r.txId === undefined ? {} : { txId: r.txId }) })),
  };
}

/** A consumed Thing for `td`. */
export async function consumeThing(td: ThingDescription, options: ConsumeOptions = {}): Promise<ConsumedThing> {
  return new ConsumedThing(td, options);
}

/** Fetches the TD at `url` (its JSON must name a title and at least one affordance or form). */
export async function fetchThingDescription(url: string, options: ConsumeOptions = {}): Promise<ThingDescription> {
  const headers: Record<string, string> = { accept: 'application/td+json, application/json' };
  if (options.credentials?.token !== undefined) headers.authorization = `Bearer ${options.credentials.token}`;
  const answer = await httpExchange(new URL(url), { method: 'GET', headers, timeoutMs: options.timeoutMs ?? 10_000 });
  const td = answer.body as ThingDescription | undefined;
  if (typeof td !== 'object' || td === null || typeof td.title !== 'string') throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', `${url} did not answer with a Thing Description`, { field: '/title' });
  return td;
}

/**
 * A consumed Thing, shaped as the W3C WoT Scripting API's ConsumedThing (§7): reads, writes,
 * observations, action invocations and event subscriptions of a Thing anywhere, driven only by
 * its TD's forms (forms.ts), each followed by the first client binding that accepts it
 * (src/thing/protocol-binding.ts; by default the HTTP binding's: HTTP, SSE, long-poll and
 * Flowchain's `flowchain.v1` WebSocket), with `base`, the `op` defaults, `htv:methodName`, URI templates and the TD's security
 * honoured. Every operation takes the Scripting API's InteractionOptions (`formIndex`,
 * `uriVariables`, `data`). Values are checked against the TD's data schemas as they arrive. A
 * write to a Flowchain Thing also says what became of its data transactions: their status,
 * ids and receipt links.
 *
 * An operation goes out at most once unless it is safe or idempotent: a write or an action
 * invocation moves on to the next form only when the previous one certainly sent nothing
 * (FLOWCHAIN_ERR_REMOTE_UNREACHABLE); once it was sent and no answer came it fails with
 * FLOWCHAIN_ERR_OUTCOME_UNKNOWN, since the Thing may have carried it out. Reads, observations
 * and actions the TD marks `idempotent` try the next form after either.
 *
 * Throws FLOWCHAIN_ERR_TD_INVALID (not a TD), FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND,
 * FLOWCHAIN_ERR_PROPERTY_READ_ONLY / _WRITE_ONLY (before anything is sent),
 * FLOWCHAIN_ERR_FORM_NOT_FOUND (no form to follow, naming the affordance),
 * FLOWCHAIN_ERR_FORM_INDEX_INVALID, FLOWCHAIN_ERR_URI_VARIABLE_INVALID / _MISSING (see
 * forms.ts), FLOWCHAIN_ERR_VALUE_INVALID (a value that does not fit the schema, either way),
 * FLOWCHAIN_ERR_REMOTE_UNREACHABLE, FLOWCHAIN_ERR_OUTCOME_UNKNOWN, FLOWCHAIN_ERR_REMOTE_FAILED,
 * FLOWCHAIN_ERR_HISTORY_NOT_KEPT and the remote node's own codes.
 */
import { HTTP_CLIENT_BINDINGS } from '../bindings/http/client/client-bindings.js';
import { httpExchange } from '../bindings/http/client/exchange.js';
import { errorFromBody, FlowchainError, isFlowchainError } from '../errors.js';
import { historySearchParams, type HistoryOptions } from '../history/history-query.js';
import type { ActionAffordance, DataSchema, InteractionAffordance, PropertyAffordance, ThingDescription } from '../td/thing-description.js';
import { checkValue } from '../thing/data-schema.js';
import { DEFAULT_HANDLER_TIMEOUT_MS } from '../thing/exposed-thing.js';
import { interactionOutput, type InteractionOutput } from '../thing/interaction-output.js';
import type { BindingSubscription, ClientBinding, ClientContext, ClientOperation, Closable, RemoteActionStatus, WriteResult } from '../thing/protocol-binding.js';
import { authorizationFor, pickForms, type AffordanceKind, type Binding, type Credentials, type ResolvedForm } from './forms.js';

export type { RemoteActionStatus, WriteResult } from '../thing/protocol-binding.js';
export type { HistoryOptions } from '../history/history-query.js';

/** An entry of a property's (`value`) or an event's (`data`) history, or an aggregated bucket. */
export type HistoryItem = Readonly<{ timestamp: number; value?: unknown; data?: unknown; txId?: string; count?: number; min?: number | null; max?: number | null; mean?: number | null; last?: unknown }>;

/** One page of history, newest first; `next` reads the following one, when there is one. */
export interface HistoryResult {
  readonly items: readonly HistoryItem[];
  readonly next?: () => Promise<HistoryResult>;
}

/**
 * How long a consumer waits for an answer by default: longer than a Flowchain node lets a
 * handler run (its 504 FLOWCHAIN_ERR_HANDLER_TIMEOUT says what happened, where a consumer's
 * own timeout can only say it does not know), with time to spare for the answer to travel.
 */
export const DEFAULT_CONSUME_TIMEOUT_MS = DEFAULT_HANDLER_TIMEOUT_MS + 5_000;

/** How a Thing is consumed. */
export interface ConsumeOptions {
  /** Credentials for the forms whose security asks for them. */
  readonly credentials?: Credentials;
  /** The bindings to use, by name, in order of preference (default: every client binding, in order: http, sse, longpoll, ws). */
  readonly bindings?: readonly Binding[];
  /**
   * The client bindings forms are followed with (default: the HTTP binding's http, sse,
   * longpoll and ws); a form goes to the first that accepts it. A servient passes its own.
   */
  readonly clientBindings?: readonly ClientBinding[];
  /**
   * How long one exchange may take, in milliseconds (default {@link DEFAULT_CONSUME_TIMEOUT_MS},
   * 15 s; long-poll windows take longer). Keep it longer than the time the remote node lets a
   * handler take (10 s on a Flowchain node), so that the node's own answer arrives first.
   */
  readonly timeoutMs?: number;
  /** How often invokeAction queries an asynchronous action until it finishes (default 1 s). */
  readonly actionPollMs?: number;
}

/**
 * The W3C WoT Scripting API's InteractionOptions (§7.1): which form to follow and what fills
 * in its URI template.
 */
export interface InteractionOptions {
  /**
   * Follow exactly this form of the affordance's `forms` (of the Thing's `forms` for
   * readAllProperties, readMultipleProperties and writeMultipleProperties), no other and no
   * fallback. FLOWCHAIN_ERR_FORM_INDEX_INVALID when it is out of range or cannot be followed
   * for the operation over the consumer's bindings.
   */
  readonly formIndex?: number;
  /**
   * Values of the variables of the form's `href` (an RFC 6570 URI template), checked against
   * the affordance's and the Thing's `uriVariables` (FLOWCHAIN_ERR_URI_VARIABLE_INVALID; one the
   * form needs and lacks is FLOWCHAIN_ERR_URI_VARIABLE_MISSING). For a GET or HEAD form, the
   * input of an action is taken as URI variables too (such a form carries no body).
   */
  readonly uriVariables?: Readonly<Record<string, unknown>>;
  /** The Scripting API's binding-specific extra data: none of Flowchain's bindings carries any, so it is not used. */
  readonly data?: unknown;
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

/**
 * Whether an operation may go out again on the next form. A safe or idempotent one may after
 * any failure to get an answer; any other only when nothing was sent, and `unknown` then says
 * what its caller can do to learn what became of it.
 */
type Retry = { readonly idempotent: true } | { readonly idempotent: false; readonly unknown: string };

const IDEMPOTENT: Retry = { idempotent: true };

/** A Thing to use through its forms. */
export class ConsumedThing {
  readonly #td: ThingDescription;
  readonly #options: ConsumeOptions;
  readonly #clients: readonly ClientBinding[];
  /** What the bindings keep open for this Thing (its WebSockets), closed by close(). */
  readonly #kept = new Map<string, Closable>();
  readonly #context: ClientContext;

  constructor(td: ThingDescription, options: ConsumeOptions = {}) {
    if (typeof td !== 'object' || td === null || typeof td.title !== 'string') throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', 'a Thing Description is an object with a title', { field: '/title' });
    this.#td = td;
    this.#options = options;
    this.#clients = options.clientBindings ?? HTTP_CLIENT_BINDINGS;
    this.#context = {
      td,
      timeoutMs: options.timeoutMs ?? DEFAULT_CONSUME_TIMEOUT_MS,
      headers: (form) => this.#headers(form),
      keep: <T extends Closable>(key: string, open: () => T): T => {
        let kept = this.#kept.get(key) as T | undefined;
        if (kept === undefined) {
          kept = open();
          this.#kept.set(key, kept);
        }
        return kept;
      },
    };
  }

  getThingDescription(): ThingDescription {
    return this.#td;
  }

  /** readproperty. Throws FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY for a write-only property, before anything is sent. */
  async readProperty(name: string, options: InteractionOptions = {}): Promise<InteractionOutput> {
    const property = this.#property(name);
    if (property.writeOnly === true) throw new FlowchainError('FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY', `${this.#td.title}'s property ${name} is write-only: it cannot be read`, { field: name });
    return this.#each(this.#forms('property', property, 'readproperty', `properties/${name}`, 'readProperty', options), IDEMPOTENT, async (form) => {
      const value = await this.#client(form).readProperty!(this.#context, form, name);
      return this.#output(value, property as DataSchema, name, form);
    });
  }

  /**
   * The past values of property `name`, newest first, a page at a time (Flowchain nodes keep
   * them; the TD's `version-history` link anchored at the property says where): entries
   * `{ value, timestamp, txId? }`, or with `every` buckets `{ timestamp, count, min, max, mean,
   * last }`. `next()` reads the following page, when there is one. Throws
   * FLOWCHAIN_ERR_HISTORY_NOT_KEPT when the TD links no history of it.
   */
  async readPropertyHistory(name: string, options: HistoryOptions = {}): Promise<HistoryResult> {
    const property = this.#property(name);
    if (property.writeOnly === true) throw new FlowchainError('FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY', `${this.#td.title}'s property ${name} is write-only: it has no values to look back on`, { field: name });
    return this.#history(property, name, options);
  }

  /** The past occurrences of event `name` (entries `{ data, timestamp }`), as {@link readPropertyHistory} reads values. */
  async readEventHistory(name: string, options: HistoryOptions = {}): Promise<HistoryResult> {
    return this.#history(this.#affordance('events', name), name, options);
  }

  /** readallproperties: every readable property (through the Thing's own form, or one by one). */
  async readAllProperties(options: InteractionOptions = {}): Promise<Map<string, InteractionOutput>> {
    const names = Object.entries(this.#td.properties ?? {}).filter(([, p]) => !p.writeOnly).map(([name]) => name);
    return this.readMultipleProperties(names, options);
  }

  /**
   * readmultipleproperties: the Thing's form for it when it has one, else each property's own
   * (`formIndex` then picks among the Thing's forms; `uriVariables` go to either).
   */
  async readMultipleProperties(names: readonly string[], options: InteractionOptions = {}): Promise<Map<string, InteractionOutput>> {
    for (const name of names) this.#property(name);
    let values: Record<string, unknown> | undefined;
    let forms: ResolvedForm[] = [];
    try {
      forms = this.#forms('thing', undefined, 'readmultipleproperties', 'the Thing', 'readMultipleProperties', options);
    } catch (err) {
      if (!isFlowchainError(err, 'FLOWCHAIN_ERR_FORM_NOT_FOUND')) throw err;
    }
    if (forms.length > 0) {
      values = await this.#each(forms, IDEMPOTENT, (form) => this.#client(form).readMultipleProperties!(this.#context, form, names));
    }
    const { formIndex: _thingForm, ...each } = options;
    const entries = await Promise.all(
      names.map(async (name): Promise<[string, InteractionOutput]> => [name, values !== undefined && Object.hasOwn(values, name) ? this.#output(values[name], this.#td.properties![name] as DataSchema, name) : await this.readProperty(name, each)]),
    );
    return new Map(entries);
  }

  /**
   * writeproperty: the value checked against the schema first; resolves with what became of
   * its transactions. Sent once: FLOWCHAIN_ERR_OUTCOME_UNKNOWN when no answer came after it
   * went out. Throws FLOWCHAIN_ERR_PROPERTY_READ_ONLY for a read-only property, before anything is sent.
   */
  async writeProperty(name: string, value: unknown, options: InteractionOptions = {}): Promise<WriteResult> {
    const property = this.#writable(name);
    checkValue(property as DataSchema, value, name, 'input');
    const learn = property.writeOnly === true ? `check the Thing's state (${name} is write-only)` : `read ${name} to learn its value`;
    const retry: Retry = { idempotent: false, unknown: `The write of ${name} was sent once and not again, so it may or may not have been applied: ${learn} before writing it again` };
    return this.#each(this.#forms('property', property, 'writeproperty', `properties/${name}`, 'writeProperty', { ...options, input: value }), retry, (form) => this.#client(form).writeProperty!(this.#context, form, name, value));
  }

  /** writemultipleproperties (all or nothing, through the Thing's form; sent once, as writeProperty). */
  async writeMultipleProperties(values: Readonly<Record<string, unknown>>, options: InteractionOptions = {}): Promise<WriteResult> {
    for (const [name, value] of Object.entries(values)) checkValue(this.#writable(name) as DataSchema, value, name, 'input');
    const names = Object.keys(values).join(', ');
    const retry: Retry = { idempotent: false, unknown: `The write of ${names} was sent once and not again, so it may or may not have been applied: read them to learn their values before writing again` };
    return this.#each(this.#forms('thing', undefined, 'writemultipleproperties', 'the Thing', 'writeMultipleProperties', { ...options, input: values }), retry, (form) => this.#client(form).writeMultipleProperties!(this.#context, form, values));
  }

  /**
   * invokeaction: its input checked, its output (if the action has one) checked and returned.
   * An asynchronous action (`"synchronous": false`) is started, its invocation queried every
   * `actionPollMs` until it finishes, and its output returned; one that failed rejects with
   * the code its status names. Sent once unless the TD says the action is `idempotent`:
   * FLOWCHAIN_ERR_OUTCOME_UNKNOWN when no answer came after it went out.
   */
  async invokeAction(name: string, params?: unknown, options: InteractionOptions = {}): Promise<InteractionOutput | undefined> {
    const action = this.#action(name);
    if (action.synchronous === false) return (await this.startAction(name, params, options)).done();
    if (action.input !== undefined) checkValue(action.input, params, name, 'input');
    return this.#each(this.#forms('action', action, 'invokeaction', `actions/${name}`, 'invokeAction', { ...options, input: params }), this.#invocationRetry(name, action), async (form) => {
      const value = await this.#client(form).invokeAction!(this.#context, form, name, params);
      return value === undefined ? undefined : this.#output(value, action.output, name, form);
    });
  }

  /**
   * Starts an asynchronous action (WoT Profile, "Asynchronous Action Response") and answers
   * its invocation, to query, cancel or wait for: over HTTP through the status URL the Thing
   * answered (`Location`), over the WebSocket through the invocation's id. Sent once, as
   * invokeAction.
   */
  async startAction(name: string, params?: unknown, options: InteractionOptions = {}): Promise<ActionInvocation> {
    const action = this.#action(name);
    if (action.input !== undefined) checkValue(action.input, params, name, 'input');
    return this.#each(this.#forms('action', action, 'invokeaction', `actions/${name}`, 'startAction', { ...options, input: params }), this.#invocationRetry(name, action), async (form) => {
      const { status: first, query, cancel } = await this.#client(form).startAction!(this.#context, form, name, params);
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
  async observeProperty(name: string, listener: (data: InteractionOutput) => void, onerror: (err: unknown) => void = () => undefined, options: InteractionOptions = {}): Promise<Subscription> {
    const property = this.#property(name);
    return this.#each(this.#forms('property', property, 'observeproperty', `properties/${name}`, 'observeProperty', options), IDEMPOTENT, (form) =>
      this.#follow(form, 'observeProperty', name, (value) => listener(this.#output(value, property as DataSchema, name, form)), onerror),
    );
  }

  /** subscribeevent: each event's data to `listener`, until the subscription is stopped (settles as observeProperty does). */
  async subscribeEvent(name: string, listener: (data: InteractionOutput) => void, onerror: (err: unknown) => void = () => undefined, options: InteractionOptions = {}): Promise<Subscription> {
    const event = this.#affordance('events', name) as InteractionAffordance & { data?: DataSchema };
    return this.#each(this.#forms('event', event, 'subscribeevent', `events/${name}`, 'subscribeEvent', options), IDEMPOTENT, (form) =>
      this.#follow(form, 'subscribeEvent', name, (value) => listener(this.#output(value, event.data, name, form)), onerror),
    );
  }

  /** Closes what the bindings keep open for this Thing, its WebSockets (observations over them end). */
  close(): void {
    for (const kept of this.#kept.values()) kept.close();
    this.#kept.clear();
  }

  #action(name: string): ActionAffordance {
    return this.#affordance('actions', name) as ActionAffordance;
  }

  #property(name: string): PropertyAffordance {
    return this.#affordance('properties', name) as PropertyAffordance;
  }

  /** A property a consumer may write: FLOWCHAIN_ERR_PROPERTY_READ_ONLY otherwise, rather than "no form" (its TD offers none, and says why). */
  #writable(name: string): PropertyAffordance {
    const property = this.#property(name);
    if (property.readOnly === true) throw new FlowchainError('FLOWCHAIN_ERR_PROPERTY_READ_ONLY', `${this.#td.title}'s property ${name} is read-only: it cannot be written`, { field: name });
    return property;
  }

  /** The history of an affordance: the TD's version-history link anchored at one of its forms. */
  async #history(affordance: InteractionAffordance, name: string, options: HistoryOptions): Promise<HistoryResult> {
    const resolve = (href: string) => new URL(href, this.#td.base).href;
    const anchors = new Set((affordance.forms ?? []).map((form) => resolve(form.href)));
    const link = (this.#td.links ?? []).find((l) => l.rel === 'version-history' && typeof l.anchor === 'string' && typeof l.href === 'string' && anchors.has(resolve(l.anchor)));
    if (link === undefined) throw new FlowchainError('FLOWCHAIN_ERR_HISTORY_NOT_KEPT', `${this.#td.title} links no history of ${name}`, { field: name });
    const url = new URL(resolve(link.href as string));
    for (const [key, value] of historySearchParams(options)) url.searchParams.set(key, value);
    const page = async (at: URL): Promise<HistoryResult> => {
      const authorization = authorizationFor(this.#td, { href: at.href }, this.#options.credentials);
      const answer = await httpExchange(at, { method: 'GET', headers: { accept: 'application/json', ...(authorization ? { authorization } : {}) }, timeoutMs: this.#options.timeoutMs ?? DEFAULT_CONSUME_TIMEOUT_MS });
      if (!Array.isArray(answer.body)) throw new FlowchainError('FLOWCHAIN_ERR_REMOTE_FAILED', `${at.href}: the history is not a JSON array`, { field: 'url' });
      const next = /<([^>]*)>\s*;\s*rel="?next"?/.exec(answer.headers.get('link') ?? '')?.[1];
      return { items: answer.body as HistoryItem[], ...(next === undefined ? {} : { next: () => page(new URL(next, at)) }) };
    };
    return page(url);
  }

  #affordance(kind: 'properties' | 'actions' | 'events', name: string): InteractionAffordance {
    const found = Object.hasOwn(this.#td[kind] ?? {}, name) ? this.#td[kind]![name] : undefined;
    if (found === undefined) throw new FlowchainError('FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', `${this.#td.title} has no ${AFFORDANCE_NOUN[kind]} named ${name}`, { field: name });
    return found as InteractionAffordance;
  }

  /**
   * How an invocation of `name` may be retried: on the next form after any failure when the TD
   * says it is idempotent (TD 1.1 §5.3.1.4), else only when nothing was sent; then the caller
   * learns where the Thing keeps its invocations, if it says.
   */
  #invocationRetry(name: string, action: ActionAffordance): Retry {
    if (action.idempotent === true) return IDEMPOTENT;
    const offers = (forms: readonly { op?: string | readonly string[]; href: string }[] | undefined, op: string) => (forms ?? []).find((form) => [form.op ?? []].flat().includes(op));
    const query = offers(action.forms, 'queryaction') ?? offers(this.#td.forms, 'queryallactions');
    const status =
      query === undefined
        ? `${this.#td.title}'s TD offers no queryaction or queryallactions form, so only its state can tell: check it before invoking ${name} again`
        : `the Thing keeps its invocations: query them (${[query.op].flat().includes('queryaction') ? 'queryaction' : 'queryallactions'}, ${new URL(query.href, this.#td.base).href}) before invoking ${name} again`;
    return { idempotent: false, unknown: `${name} was invoked once and not again, so it may or may not have run; ${status}` };
  }

  /** The bindings, by name in order of preference, whose client carries `operation`. */
  #preference(operation: ClientOperation): Binding[] {
    const carries = (name: Binding): boolean => this.#clients.some((client) => client.name === name && client[operation] !== undefined);
    return (this.#options.bindings ?? this.#clients.map((client) => client.name)).filter(carries);
  }

  #forms(kind: AffordanceKind, affordance: InteractionAffordance | undefined, op: string, where: string, operation: ClientOperation, options: InteractionOptions & { readonly input?: unknown }): ResolvedForm[] {
    const { formIndex, uriVariables, input } = options;
    return pickForms(this.#td, kind, affordance, op, this.#preference(operation), where, { ...(formIndex === undefined ? {} : { formIndex }), ...(uriVariables === undefined ? {} : { uriVariables }), input }, this.#clients);
  }

  /** The client binding a form was picked for. */
  #client(form: ResolvedForm): ClientBinding {
    return this.#clients.find((client) => client.name === form.binding)!;
  }

  /**
   * Runs `attempt` on each form in turn until one answers (a TD may offer one form per server
   * address, or one per binding). The next form is tried when the last certainly sent nothing
   * (FLOWCHAIN_ERR_REMOTE_UNREACHABLE), and after a request that went out unanswered
   * (FLOWCHAIN_ERR_OUTCOME_UNKNOWN) only for an idempotent operation: anything else would run
   * twice when the first did reach the Thing. Any other failure is the Thing's answer.
   */
  async #each<T>(forms: readonly ResolvedForm[], retry: Retry, attempt: (form: ResolvedForm) => Promise<T>): Promise<T> {
    let last: unknown = new Error('unreachable: pickForms returns at least one form');
    for (const form of forms) {
      try {
        return await attempt(form);
      } catch (err) {
        if (isFlowchainError(err, 'FLOWCHAIN_ERR_REMOTE_UNREACHABLE')) last = err;
        else if (!isFlowchainError(err, 'FLOWCHAIN_ERR_OUTCOME_UNKNOWN')) throw err;
        // A read that got no answer has no outcome to be unsure of: the Thing was not reached.
        else if (retry.idempotent) last = new FlowchainError('FLOWCHAIN_ERR_REMOTE_UNREACHABLE', err.message, { field: 'url', cause: err });
        else throw new FlowchainError('FLOWCHAIN_ERR_OUTCOME_UNKNOWN', `${err.message}. ${retry.unknown}`, { field: 'url', cause: err });
      }
    }
    throw last;
  }

  #headers(form: ResolvedForm): Record<string, string> {
    const authorization = authorizationFor(this.#td, form.form, this.#options.credentials);
    return authorization === undefined ? {} : { authorization };
  }

  async #follow(form: ResolvedForm, operation: 'observeProperty' | 'subscribeEvent', name: string, onValue: (value: unknown) => void, onerror: (err: unknown) => void): Promise<Subscription> {
    let active = true;
    const guarded = (value: unknown): void => {
      if (!active) return;
      try {
        onValue(value);
      } catch (err) {
        onerror(err);
      }
    };
    const stream: BindingSubscription = await this.#client(form)[operation]!(this.#context, form, name, guarded, onerror);
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

/** How the Scripting API's §7 names each kind of affordance in the singular. */
const AFFORDANCE_NOUN = { properties: 'property', actions: 'action', events: 'event' } as const;

/** A consumed Thing for `td`. */
export async function consumeThing(td: ThingDescription, options: ConsumeOptions = {}): Promise<ConsumedThing> {
  return new ConsumedThing(td, options);
}

/** Fetches the TD at `url` (its JSON must name a title and at least one affordance or form). */
export async function fetchThingDescription(url: string, options: ConsumeOptions = {}): Promise<ThingDescription> {
  const headers: Record<string, string> = { accept: 'application/td+json, application/json' };
  if (options.credentials?.token !== undefined) headers.authorization = `Bearer ${options.credentials.token}`;
  const answer = await httpExchange(new URL(url), { method: 'GET', headers, timeoutMs: options.timeoutMs ?? DEFAULT_CONSUME_TIMEOUT_MS });
  const td = answer.body as ThingDescription | undefined;
  if (typeof td !== 'object' || td === null || typeof td.title !== 'string') throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', `${url} did not answer with a Thing Description`, { field: '/title' });
  return td;
}

/**
 * An exposed Thing, shaped as the W3C WoT Scripting API's ExposedThing (§8): the application
 * (a device's code, a simulated device, the node's own ledger Thing) sets handlers for reading
 * and writing properties and for actions, emits property changes and events, and exposes or
 * destroys the Thing while the node runs. The bindings (HTTP, SSE, long-poll, WebSocket) call
 * its other methods, which check every request against the TD (the affordance exists,
 * readOnly/writeOnly, the data schema) before a handler sees it.
 *
 * Values cross handlers checked in both directions: what a consumer writes or an action gets
 * is checked before its handler runs; what a read handler returns, an action answers, a change
 * or an event carries is checked before any consumer sees it (a handler that returns an invalid
 * value is FLOWCHAIN_ERR_HANDLER_OUTPUT_INVALID, never garbage on the wire). A handler that
 * throws a FlowchainError keeps its code; anything else is FLOWCHAIN_ERR_HANDLER_FAILED, with
 * no stack trace; one that does not settle within its time is FLOWCHAIN_ERR_HANDLER_TIMEOUT,
 * and the Thing goes on serving.
 *
 * Accepted values of writable properties are stored, in one atomic batch with the
 * transactions that record them (see change-journal.ts), before they are acknowledged or
 * announced. A property without a read handler reads as its last value.
 *
 * Throws FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND, FLOWCHAIN_ERR_VALUE_INVALID,
 * FLOWCHAIN_ERR_PROPERTY_READ_ONLY, FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY,
 * FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED, FLOWCHAIN_ERR_NOT_IMPLEMENTED, the handler codes above,
 * FLOWCHAIN_ERR_TX_REFUSED, FLOWCHAIN_ERR_BUSY, FLOWCHAIN_ERR_THING_NOT_FOUND (once destroyed)
 * and FLOWCHAIN_ERR_STORE_FAILED.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, Timer } from '../common/clock.js';
import { isThenable } from '../common/thenable.js';
import { describeError, FlowchainError, isFlowchainError } from '../errors.js';
import type { ActionAffordance, DataSchema, EventAffordance, PropertyAffordance, ThingDescription } from '../td/thing-description.js';
import { isFinished, KEPT_PER_THING, type ActionStatus, type ActionStore } from './action-store.js';
import { isRecorded, NO_JOURNAL, type ChangeJournal, type JournalReceipt, type Origin, type RecordedChanges } from './change-journal.js';
import { checkValue } from './data-schema.js';
import { interactionOutput, type InteractionInput, type InteractionOutput } from './interaction-output.js';
import type { PropertyStore } from './property-store.js';
import { joinWrites } from '../storage.js';
import type { ValueHistory } from './value-history.js';

/** A property took a new value. */
export interface PropertyChange {
  readonly thing: string;
  readonly name: string;
  readonly value: unknown;
  /** Milliseconds since the epoch, from the injected clock. */
  readonly timestamp: number;
}

/** A Thing raised an event. */
export interface ThingEvent {
  readonly thing: string;
  readonly name: string;
  readonly data: unknown;
  readonly timestamp: number;
}

/** Stops a subscription. */
export type Unsubscribe = () => void;

/** Scripting API §8: what a property read handler answers (its value). */
export type PropertyReadHandler = () => InteractionInput | Promise<InteractionInput>;
/** Scripting API §8: applies a value a consumer wrote (already checked against the schema). */
export type PropertyWriteHandler = (value: InteractionOutput) => void | Promise<void>;
/** What an action handler gets besides its input. */
export interface ActionOptions {
  /**
   * Aborted when the invocation is cancelled (cancelaction), times out (a synchronous action)
   * or the node stops: a handler that takes time should stop what it does.
   */
  readonly signal: AbortSignal;
}

/** Scripting API §8: runs an action with its (checked) input; answers its output. */
export type ActionHandler = (params: InteractionOutput, options: ActionOptions) => InteractionInput | Promise<InteractionInput>;

/**
 * Scripting API §8: told that consumers started (observe, subscribe) or stopped (unobserve,
 * unsubscribe) watching an affordance. Flowchain calls them at the edges: when the first
 * consumer starts and when the last one stops, so a device samples only while it is watched.
 */
export type WatchHandler = () => void | Promise<void>;

/** How a binding follows an affordance. */
export interface FollowOptions {
  /**
   * A follower that only keeps what it sees (the replay log that lets streams resume): it is
   * not a consumer watching, so it does not call the observe and subscribe handlers.
   */
  readonly passive?: boolean;
}

/** What exposing and destroying a Thing mean on the node (the servient implements it). */
export interface ExposureHost {
  expose(thing: ExposedThing): Promise<void>;
  destroy(thing: ExposedThing): Promise<void>;
}

/** Collaborators of an exposed Thing. */
export interface ExposedThingComponents {
  readonly store: PropertyStore;
  readonly clock: Clock;
  /** Where accepted changes are recorded; none by default. */
  readonly journal?: ChangeJournal;
  /** Where the values the journal does not record, and the events, are kept as history; nowhere by default. */
  readonly history?: ValueHistory;
  /** Where expose() and destroy() take effect; nowhere by default (unit tests). */
  readonly host?: ExposureHost;
  /** Where invocations of asynchronous actions are kept; in memory only by default. */
  readonly actions?: ActionStore;
  /** Ids of invocations (UUIDs by default; tests inject their own). */
  readonly newId?: () => string;
  /** Where a handler that throws or times out is reported (its error never goes on the wire); nowhere by default. */
  readonly log?: { warn(obj: object, msg: string): void };
}

/** What makes one Thing. */
export interface ExposedThingInit {
  /** URL path segment. */
  readonly slug: string;
  /** The stable TD `id`. */
  readonly id: string;
  /** The TD fragment (no forms, no security: the servient adds them per binding). */
  readonly td: ThingDescription;
  /** How long a handler may take, in milliseconds (default 10 s). */
  readonly handlerTimeoutMs?: number;
}

/** How long a handler may take by default, in milliseconds (a consumer's default wait is longer: see client/consumed-thing.ts). */
export const DEFAULT_HANDLER_TIMEOUT_MS = 10_000;

/** The runtime of one Thing. */
export class ExposedThing {
  readonly slug: string;
  readonly id: string;
  readonly td: ThingDescription;
  readonly #clock: Clock;
  readonly #store: PropertyStore;
  readonly #journal: ChangeJournal;
  readonly #history: ValueHistory | undefined;
  readonly #host: ExposureHost | undefined;
  readonly #timeoutMs: number;
  readonly #values = new Map<string, unknown>();
  readonly #readHandlers = new Map<string, PropertyReadHandler>();
  readonly #writeHandlers = new Map<string, PropertyWriteHandler>();
  readonly #actionHandlers = new Map<string, ActionHandler>();
  readonly #observers = new Map<string, Set<(change: PropertyChange) => void>>();
  /** Observe, unobserve, subscribe and unsubscribe handlers, by `verb:name`. */
  readonly #watchHandlers = new Map<string, WatchHandler>();
  /** Consumers watching each affordance (`property:name`, `event:name`), and the chain of its handlers' runs. */
  readonly #watching = new Map<string, { count: number; handlers: Promise<void> }>();
  readonly #subscribers = new Map<string, Set<(event: ThingEvent) => void>>();
  readonly #destroyListeners = new Set<() => void>();
  readonly #actionStore: ActionStore | undefined;
  readonly #newId: () => string;
  readonly #log: ExposedThingComponents['log'];
  /** Invocations of asynchronous actions, oldest first, with what runs or follows them. */
  readonly #invocations = new Map<string, Invocation>();
  /** Write steps run one after another, in arrival order. */
  #queue: Promise<unknown> = Promise.resolve();
  /** The save of the latest change the device made itself. */
  #lastDeviceSave: Promise<void> = Promise.resolve();
  /** The latest write of values (settled either way), so stop() can wait for it. */
  #lastCommit: Promise<void> = Promise.resolve();
  #dropped = 0;
  #state: 'produced' | 'exposed' | 'destroyed' = 'produced';

  private constructor(components: ExposedThingComponents, init: ExposedThingInit) {
    this.slug = init.slug;
    this.id = init.id;
    this.td = init.td;
    this.#clock = components.clock;
    this.#store = components.store;
    this.#journal = components.journal ?? NO_JOURNAL;
    this.#history = components.history;
    this.#host = components.host;
    this.#timeoutMs = init.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
    this.#actionStore = components.actions;
    this.#newId = components.newId ?? randomUUID;
    this.#log = components.log;
  }

  /** A Thing with its stored values loaded (the last accepted value of each writable property). */
  static async create(components: ExposedThingComponents, init: ExposedThingInit): Promise<ExposedThing> {
    const thing = new ExposedThing(components, init);
    for (const [name, value] of await components.store.load(init.slug)) {
      if (Object.hasOwn(init.td.properties ?? {}, name)) thing.#values.set(name, value);
    }
    // An invocation that had not finished when the node stopped failed: it says so.
    const interrupted = (status: ActionStatus): ActionStatus => thing.#ended(status, { error: describeError(new FlowchainError('FLOWCHAIN_ERR_ACTION_INTERRUPTED', `the node stopped while ${status.action} ran`)) });
    for (const status of (await components.actions?.load(init.slug, interrupted)) ?? []) thing.#invocations.set(status.id, { status, steps: Promise.resolve(), listeners: new Set() });
    return thing;
  }

  // ---- The Scripting API: what the application calls ----

  /** The TD fragment this Thing was produced from, with its id (forms are added per binding). */
  getThingDescription(): ThingDescription {
    return { ...this.td, id: this.id };
  }

  /**
   * The last value of a property as the node knows it: the last one accepted or emitted, or
   * (after a restart) the one stored. A device reads its restored settings from here.
   */
  lastValue(name: string): unknown {
    this.#property(name);
    return this.#values.get(name);
  }

  /** Whether the Thing is exposed now. */
  get exposed(): boolean {
    return this.#state === 'exposed';
  }

  /** Reads of `name` are answered by `handler` (its answer is checked against the schema). */
  setPropertyReadHandler(name: string, handler: PropertyReadHandler): this {
    this.#property(name);
    this.#readHandlers.set(name, handler);
    return this;
  }

  /** Writes of `name` are applied by `handler` before they are stored and recorded. */
  setPropertyWriteHandler(name: string, handler: PropertyWriteHandler): this {
    if (this.#property(name).readOnly) throw new FlowchainError('FLOWCHAIN_ERR_PROPERTY_READ_ONLY', `property ${name} is read-only: it takes no writes`, { field: name });
    this.#writeHandlers.set(name, handler);
    return this;
  }

  /** `handler` runs when the first consumer starts observing the observable property `name`. */
  setPropertyObserveHandler(name: string, handler: WatchHandler): this {
    return this.#setWatchHandler('observe', this.#observable(name), handler);
  }

  /** `handler` runs when the last consumer stops observing the observable property `name`. */
  setPropertyUnobserveHandler(name: string, handler: WatchHandler): this {
    return this.#setWatchHandler('unobserve', this.#observable(name), handler);
  }

  /** `handler` runs when the first consumer subscribes to the event `name`. */
  setEventSubscribeHandler(name: string, handler: WatchHandler): this {
    this.event(name);
    return this.#setWatchHandler('subscribe', name, handler);
  }

  /** `handler` runs when the last consumer unsubscribes from the event `name`. */
  setEventUnsubscribeHandler(name: string, handler: WatchHandler): this {
    this.event(name);
    return this.#setWatchHandler('unsubscribe', name, handler);
  }

  /** Invocations of `name` run `handler`. */
  setActionHandler(name: string, handler: ActionHandler): this {
    this.action(name);
    this.#actionHandlers.set(name, handler);
    return this;
  }

  /**
   * The device changed `name` (a reading, or a setting it changed itself): `value`, or else
   * what its read handler answers now. Checked against the schema, stored when consumers can
   * write the property, recorded when it is recorded, then announced. An unchanged value is
   * not announced again. When the journal is full the value is not taken (no change is ever
   * kept without its transaction); {@link droppedReadings} counts them.
   */
  async emitPropertyChange(name: string, value?: InteractionInput): Promise<void> {
    const property = this.#property(name);
    // A device's timer may outlive its Thing by a tick: nothing is taken from it.
    if (this.#state === 'destroyed') return;
    const handler = this.#readHandlers.get(name);
    const current = value !== undefined ? value : handler === undefined ? this.#values.get(name) : await this.#run(() => `read handler of ${name}`, () => handler());
    this.#checkOutput(property, current, name);
    if (this.#values.get(name) === current && value !== undefined) return;
    const changes = this.#recordable(new Map([[name, current]]), 'device');
    try {
      this.#journal.admit(changes.length);
    } catch {
      this.#dropped++;
      return;
    }
    const values = new Map([[name, current]]);
    const alongside = joinWrites([property.readOnly ? undefined : this.#store.prepare(this.slug, values), changes.length > 0 ? undefined : this.#history?.prepareValues(this.id, values, this.#clock.now())]);
    const written = changes.length > 0 ? this.#journal.record(changes, { wait: false, ...(alongside ? { alongside } : {}) }).then(() => undefined) : alongside?.commit();
    if (written !== undefined) {
      this.#lastDeviceSave = written;
      this.#lastCommit = written.catch(() => undefined);
    }
    this.#update(name, current);
    await written;
  }

  /** The device raised the event `name` with `data` (checked against the event's data schema). */
  emitEvent(name: string, data?: InteractionInput): void {
    const event = this.event(name);
    if (this.#state === 'destroyed') return;
    if (event.data !== undefined) this.#checkOutput(event.data, data, name);
    const timestamp = this.#clock.now();
    this.#history?.recordEvent(this.id, name, data, timestamp);
    const listeners = this.#subscribers.get(name);
    if (!listeners) return;
    const emitted: ThingEvent = { thing: this.slug, name, data, timestamp };
    for (const listener of listeners) listener(emitted);
  }

  /** Makes the Thing reachable over every binding and known to the ring's directory. */
  async expose(): Promise<void> {
    if (this.#state === 'destroyed') throw new FlowchainError('FLOWCHAIN_ERR_THING_NOT_FOUND', `Thing ${this.slug} was destroyed`, { field: 'thing' });
    if (this.#state === 'exposed') return;
    await this.#host?.expose(this);
    this.#state = 'exposed';
  }

  /** Takes the Thing off every binding (its streams end) and out of the directory; it cannot come back. */
  async destroy(): Promise<void> {
    if (this.#state === 'destroyed') return;
    const wasExposed = this.#state === 'exposed';
    this.#state = 'destroyed';
    for (const listener of [...this.#destroyListeners]) listener();
    this.#observers.clear();
    this.#subscribers.clear();
    if (wasExposed) await this.#host?.destroy(this);
    await this.stop();
  }

  /** Whether the node keeps this Thing's history (its TD then links to it). */
  get keepsHistory(): boolean {
    return this.#history !== undefined;
  }

  /** Readings not taken because the journal was full. */
  get droppedReadings(): number {
    return this.#dropped;
  }

  // ---- What the bindings call ----

  /** Calls `listener` when the Thing is destroyed (streams end); returns the unsubscribe. */
  onDestroy(listener: () => void): Unsubscribe {
    this.#destroyListeners.add(listener);
    return () => this.#destroyListeners.delete(listener);
  }

  /**
   * Waits for writes in flight to be stored (the node is stopping); invocations still running
   * are told through their signal and fail with FLOWCHAIN_ERR_ACTION_INTERRUPTED.
   */
  async stop(): Promise<void> {
    const interrupted = new FlowchainError('FLOWCHAIN_ERR_ACTION_INTERRUPTED', `${this.slug} stopped while the action ran`);
    const running = [...this.#invocations.values()].filter((invocation) => !isFinished(invocation.status));
    for (const invocation of running) invocation.controller?.abort(interrupted);
    await Promise.all(running.map((invocation) => this.#advance(invocation, this.#ended(invocation.status, { error: describeError(interrupted) })).catch(() => undefined)));
    await this.#queue.catch(() => undefined);
    await this.#lastCommit;
  }

  /** readproperty: the read handler's answer, or the last value. */
  async readProperty(name: string): Promise<unknown> {
    return this.readPropertyNow(name);
  }

  /**
   * readproperty for a binding that answers at once when it can: the checked value itself
   * when the read handler returns one (no promise, no timer), else a promise of it. It fails
   * as {@link readProperty} does, by throwing or by rejecting.
   */
  readPropertyNow(name: string): unknown {
    this.#live();
    const property = this.readable(name);
    const handler = this.#readHandlers.get(name);
    if (handler === undefined) return this.#values.get(name) ?? null;
    const value = this.#run(() => `read handler of ${name}`, () => handler());
    if (!isThenable(value)) return this.#checkOutput(property, value, name);
    return value.then((answered) => this.#checkOutput(property, answered, name));
  }

  /** readallproperties: every readable property. */
  async readAllProperties(): Promise<Record<string, unknown>> {
    const names = Object.entries(this.td.properties ?? {}).filter(([, p]) => !p.writeOnly).map(([name]) => name);
    return this.readMultipleProperties(names);
  }

  /** readmultipleproperties. */
  async readMultipleProperties(names: readonly string[]): Promise<Record<string, unknown>> {
    this.#live();
    for (const name of names) this.readable(name);
    const values = await Promise.all(names.map((name) => this.readProperty(name)));
    return Object.fromEntries(names.map((name, i) => [name, values[i]]));
  }

  /** writeproperty: checked, applied by its handler, stored and recorded, then announced. */
  async writeProperty(name: string, value: unknown): Promise<readonly JournalReceipt[]> {
    return this.writeMultipleProperties({ [name]: value });
  }

  /**
   * writemultipleproperties: all values are checked first, applied by their write handlers in
   * arrival order, then stored together with the transactions that record them, in one atomic
   * batch; observers hear of them once they are stored. Either every value is accepted or
   * nothing changes. Resolves with the journal's receipts of the recorded properties.
   *
   * If an owner refuses a transaction for good while the write waits for it, the write is
   * undone (the previous values are applied and recorded again, unless a later write changed
   * them meanwhile) and fails with FLOWCHAIN_ERR_TX_REFUSED: what a failed write reports, it
   * never leaves applied. FLOWCHAIN_ERR_BUSY (the journal is full) is thrown before anything
   * is applied.
   */
  async writeMultipleProperties(values: Readonly<Record<string, unknown>>): Promise<readonly JournalReceipt[]> {
    this.#live();
    const accepted = new Map<string, unknown>();
    for (const [name, value] of Object.entries(values)) {
      const property = this.#property(name);
      if (property.readOnly) throw new FlowchainError('FLOWCHAIN_ERR_PROPERTY_READ_ONLY', `property ${name} is read-only`, { field: name });
      checkValue(property, value, name, 'input');
      accepted.set(name, value);
    }
    if (accepted.size === 0) return [];
    const { recorded, previous } = await this.#apply(accepted, 'consumer', true);
    const receipts = await (await recorded).acknowledged();
    const refused = receipts.find((receipt) => receipt.status === 'refused');
    if (refused === undefined) return receipts;
    // Put back what this write changed, unless a later one changed it again.
    const undo = new Map([...previous].filter(([name, value]) => value !== undefined && this.#values.get(name) === accepted.get(name)));
    if (undo.size > 0) await (await this.#apply(undo, 'device', false)).recorded;
    throw new FlowchainError('FLOWCHAIN_ERR_TX_REFUSED', `the ring refused to record ${refused.property}; the write was undone`, { field: refused.property });
  }

  /**
   * invokeaction: input checked against the action's schema, its handler run, its output
   * checked. An asynchronous action (`"synchronous": false`) answers at once with the status
   * of its new invocation instead (see {@link startAction}).
   */
  async invokeAction(name: string, input: unknown): Promise<unknown> {
    this.#live();
    const action = this.action(name);
    if (action.synchronous === false) return this.startAction(name, input);
    const handler = this.#actionHandler(name, action, input);
    const before = this.#lastDeviceSave;
    const controller = new AbortController();
    let output: unknown;
    try {
      output = await this.#run(() => `action handler of ${name}`, () => handler(interactionOutput(input, action.input), { signal: controller.signal }));
    } catch (err) {
      controller.abort(err);
      throw err;
    }
    if (action.output !== undefined && output !== undefined) this.#checkOutput(action.output, output, name);
    // A change the action caused (a toggled plug) is stored before the reply, and a failure
    // to store it fails the action.
    if (this.#lastDeviceSave !== before) await this.#lastDeviceSave;
    return output;
  }

  /**
   * Starts an invocation of the asynchronous action `name` (WoT Profile, asynchronous action
   * response): the input is checked, the invocation stored as `pending` and its status
   * returned; its handler then runs (no time limit: it is told through its signal when it is
   * cancelled or the node stops) and the invocation becomes `running`, then `completed` with
   * the checked output or `failed` with the error's code. Every new state is stored before
   * observers hear of it. FLOWCHAIN_ERR_BUSY while {@link KEPT_PER_THING} invocations of the
   * Thing are unfinished.
   */
  async startAction(name: string, input: unknown): Promise<ActionStatus> {
    this.#live();
    const action = this.action(name);
    const handler = this.#actionHandler(name, action, input);
    // What a Thing keeps is bounded: with as many invocations unfinished, a new one waits its turn.
    const unfinished = [...this.#invocations.values()].filter((i) => !isFinished(i.status)).length;
    if (unfinished >= KEPT_PER_THING) throw new FlowchainError('FLOWCHAIN_ERR_BUSY', `${this.slug} has ${unfinished} invocations still running: try again when one has finished`, { field: name });
    const status: ActionStatus = { id: this.#newId(), action: name, status: 'pending', timeRequested: new Date(this.#clock.now()).toISOString() };
    const invocation: Invocation = { status, steps: Promise.resolve(), listeners: new Set(), controller: new AbortController() };
    // The oldest finished invocations make room.
    const finished = [...this.#invocations.values()].filter((i) => isFinished(i.status));
    const dropped = finished.slice(0, Math.max(0, this.#invocations.size + 1 - KEPT_PER_THING)).map((i) => i.status);
    await this.#actionStore?.save(this.slug, status, dropped);
    for (const old of dropped) this.#invocations.delete(old.id);
    this.#invocations.set(status.id, invocation);
    void this.#perform(invocation, name, handler, interactionOutput(input, action.input));
    return status;
  }

  /** queryaction: the status of one invocation of `name`. Throws FLOWCHAIN_ERR_ACTION_NOT_FOUND. */
  queryAction(name: string, id: string): ActionStatus {
    return this.#invocation(name, id).status;
  }

  /** queryallactions: the kept invocations of every asynchronous action, oldest first. */
  queryAllActions(): Record<string, ActionStatus[]> {
    const all: Record<string, ActionStatus[]> = {};
    for (const [name, action] of Object.entries(this.td.actions ?? {})) if (action.synchronous === false) all[name] = [];
    for (const { status } of this.#invocations.values()) (all[status.action] ??= []).push(status);
    return all;
  }

  /**
   * cancelaction: an invocation that has not finished fails with FLOWCHAIN_ERR_ACTION_CANCELLED
   * and its handler's signal is aborted. Throws FLOWCHAIN_ERR_ACTION_NOT_FOUND, and
   * FLOWCHAIN_ERR_ACTION_FINISHED for one that has finished.
   */
  async cancelAction(name: string, id: string): Promise<void> {
    const invocation = this.#invocation(name, id);
    if (isFinished(invocation.status)) throw new FlowchainError('FLOWCHAIN_ERR_ACTION_FINISHED', `${name} ${id} has already ${invocation.status.status}`, { field: 'id' });
    const cancelled = new FlowchainError('FLOWCHAIN_ERR_ACTION_CANCELLED', `${name} was cancelled`);
    invocation.controller?.abort(cancelled);
    await this.#advance(invocation, this.#ended(invocation.status, { error: describeError(cancelled) }));
  }

  /** Calls `listener` with each new status of an invocation (none once it has finished); returns the unsubscribe. */
  observeAction(name: string, id: string, listener: (status: ActionStatus) => void): Unsubscribe {
    const invocation = this.#invocation(name, id);
    invocation.listeners.add(listener);
    return () => invocation.listeners.delete(listener);
  }

  /** observeproperty; the returned function is unobserveproperty. */
  observeProperty(name: string, listener: (change: PropertyChange) => void, options: FollowOptions = {}): Unsubscribe {
    this.#live();
    this.#observable(name);
    const unsubscribe = subscribe(this.#observers, name, listener);
    return options.passive === true ? unsubscribe : this.#watched('property', name, unsubscribe);
  }

  /** subscribeevent; the returned function is unsubscribeevent. */
  subscribeEvent(name: string, listener: (event: ThingEvent) => void, options: FollowOptions = {}): Unsubscribe {
    this.#live();
    this.event(name);
    const unsubscribe = subscribe(this.#subscribers, name, listener);
    return options.passive === true ? unsubscribe : this.#watched('event', name, unsubscribe);
  }

  /** The readable property `name` if it is observable; otherwise FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED. */
  #observable(name: string): string {
    if (!this.readable(name).observable) throw new FlowchainError('FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED', `property ${name} is not observable`, { field: name });
    return name;
  }

  #setWatchHandler(verb: 'observe' | 'unobserve' | 'subscribe' | 'unsubscribe', name: string, handler: WatchHandler): this {
    this.#watchHandlers.set(`${verb}:${name}`, handler);
    return this;
  }

  /**
   * Counts a consumer watching `name` while `unsubscribe` is not called: the first one runs the
   * observe or subscribe handler, the last one to leave the unobserve or unsubscribe handler.
   */
  #watched(kind: 'property' | 'event', name: string, unsubscribe: Unsubscribe): Unsubscribe {
    const key = `${kind}:${name}`;
    const watch = this.#watching.get(key) ?? { count: 0, handlers: Promise.resolve() };
    this.#watching.set(key, watch);
    if (++watch.count === 1) this.#runWatchHandler(watch, kind === 'property' ? 'observe' : 'subscribe', name);
    let watching = true;
    return () => {
      if (!watching) return;
      watching = false;
      unsubscribe();
      if (--watch.count === 0) this.#runWatchHandler(watch, kind === 'property' ? 'unobserve' : 'unsubscribe', name);
    };
  }

  /** Runs a watch handler after the ones before it for the same affordance; a failure is logged, never the consumer's. */
  #runWatchHandler(watch: { handlers: Promise<void> }, verb: string, name: string): void {
    const handler = this.#watchHandlers.get(`${verb}:${name}`);
    if (handler === undefined) return;
    watch.handlers = watch.handlers.then(handler).then(
      () => undefined,
      (err: unknown) => this.#log?.warn({ thing: this.slug, handler: `${verb} handler of ${name}`, err }, `the ${verb} handler of ${name} of ${this.slug} failed`),
    );
  }

  /** The handler of `name` for `input` (checked first), or FLOWCHAIN_ERR_NOT_IMPLEMENTED. */
  #actionHandler(name: string, action: ActionAffordance, input: unknown): ActionHandler {
    if (action.input !== undefined) checkValue(action.input, input, name, 'input');
    const handler = this.#actionHandlers.get(name);
    if (handler === undefined) throw new FlowchainError('FLOWCHAIN_ERR_NOT_IMPLEMENTED', `action ${name} has no handler on this node`, { field: name });
    return handler;
  }

  /** Runs an asynchronous invocation to its end; a result that comes after a cancel is dropped. */
  async #perform(invocation: Invocation, name: string, handler: ActionHandler, params: InteractionOutput): Promise<void> {
    const { signal } = invocation.controller!;
    const action = this.action(name);
    let ended: ActionStatus;
    try {
      await this.#advance(invocation, { ...invocation.status, status: 'running' });
      // Cancelled (or the node stopping) while pending: the handler never runs.
      if (signal.aborted) return;
      const output = await Promise.resolve().then(() => handler(params, { signal }));
      if (action.output !== undefined && output !== undefined) this.#checkOutput(action.output, output, name);
      ended = this.#ended(invocation.status, output === undefined ? {} : { output });
    } catch (err) {
      const failure = this.#failed(() => `action handler of ${name}`, err);
      ended = this.#ended(invocation.status, { error: describeError(failure) });
    }
    await this.#advance(invocation, ended).catch(() => undefined);
  }

  /** `status` finished: failed with `error`, or completed (with its output). */
  #ended(status: ActionStatus, end: { readonly output?: unknown; readonly error?: ActionStatus['error'] }): ActionStatus {
    const { output: _output, error: _error, ...rest } = status;
    return { ...rest, status: end.error === undefined ? 'completed' : 'failed', ...end, timeEnded: new Date(this.#clock.now()).toISOString() };
  }

  /**
   * Stores an invocation's new status, then shows it (to queries and observers): nothing is
   * told that a crash could take back. Steps of one invocation run one after another, and a
   * finished invocation stays as it finished (a cancel and a late result cannot both count).
   */
  #advance(invocation: Invocation, status: ActionStatus): Promise<void> {
    const step = invocation.steps.then(async () => {
      if (isFinished(invocation.status)) return;
      await this.#actionStore?.save(this.slug, status);
      invocation.status = status;
      for (const listener of [...invocation.listeners]) listener(status);
      if (isFinished(status)) invocation.listeners.clear();
    });
    invocation.steps = step.catch(() => undefined);
    return step;
  }

  #invocation(name: string, id: string): Invocation {
    this.action(name);
    const invocation = this.#invocations.get(id);
    if (invocation === undefined || invocation.status.action !== name) throw new FlowchainError('FLOWCHAIN_ERR_ACTION_NOT_FOUND', `${this.slug} has no invocation ${id} of ${name}`, { field: 'id' });
    return invocation;
  }

  /** FLOWCHAIN_ERR_THING_NOT_FOUND once the Thing was destroyed: a request that found it just before gets what a later one would. */
  #live(): void {
    if (this.#state === 'destroyed') throw new FlowchainError('FLOWCHAIN_ERR_THING_NOT_FOUND', `Thing ${this.slug} was destroyed`, { field: 'thing' });
  }

  /** The action affordance `name`, or FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND. */
  action(name: string): ActionAffordance {
    return affordance(this.td.actions, 'action', name);
  }

  /** The event affordance `name`, or FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND. */
  event(name: string): EventAffordance {
    return affordance(this.td.events, 'event', name);
  }

  /** The property affordance `name`, or FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND. */
  #property(name: string): PropertyAffordance {
    return affordance(this.td.properties, 'property', name);
  }

  /** The property affordance `name` if a consumer may read it: FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND or FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY otherwise. */
  readable(name: string): PropertyAffordance {
    const property = this.#property(name);
    if (property.writeOnly) throw new FlowchainError('FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY', `property ${name} is write-only`, { field: name });
    return property;
  }

  /**
   * Applies values through their write handlers in write order, then stores and records them
   * in one atomic batch: the handler step is serialised, and the batch takes its place inside
   * it (so the stored order is the device's order) but is awaited outside it, so concurrent
   * writes share one group commit. Observers hear of the values once they are stored.
   */
  async #apply(values: ReadonlyMap<string, unknown>, origin: Origin, wait: boolean): Promise<{ readonly recorded: Promise<RecordedChanges>; readonly previous: ReadonlyMap<string, unknown> }> {
    const changes = this.#recordable(values, origin);
    // Full: refuse before a handler or the store sees anything.
    this.#journal.admit(changes.length);
    const { recorded, previous } = await this.#serialized(async () => {
      const before = new Map([...values.keys()].map((name) => [name, this.#values.get(name)]));
      const applied: string[] = [];
      try {
        for (const [name, value] of values) {
          const handler = this.#writeHandlers.get(name);
          if (handler !== undefined) await this.#run(() => `write handler of ${name}`, () => handler(interactionOutput(value, this.#property(name))));
          applied.push(name);
        }
      } catch (err) {
        // A handler refused part of it: give the others back what they had, best effort.
        for (const name of applied) {
          const handler = this.#writeHandlers.get(name);
          const old = before.get(name);
          if (handler === undefined || old === undefined) continue;
          try {
            await this.#run(() => `write handler of ${name}`, () => handler(interactionOutput(old)));
          } catch {
            // Best effort: the write fails with the first refusal either way.
          }
        }
        throw err;
      }
      // Values of properties that are not recorded are only stored (with their history): no journal entry, no wait.
      const journal = changes.length > 0 ? this.#journal : NO_JOURNAL;
      const unrecorded = changes.length === 0 ? values : new Map([...values].filter(([name]) => !changes.some((change) => change.property === name)));
      const history = unrecorded.size > 0 ? this.#history?.prepareValues(this.id, unrecorded, this.#clock.now()) : undefined;
      return { recorded: journal.record(changes, { wait, alongside: joinWrites([this.#store.prepare(this.slug, values), history])! }), previous: before };
    });
    this.#lastCommit = recorded.then(() => undefined, () => undefined);
    await recorded;
    for (const [name, value] of values) this.#update(name, value);
    return { recorded, previous };
  }

  /** Runs write steps one after another, so handlers see writes in arrival order. */
  #serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs a handler within its time: a FlowchainError it throws keeps its code, anything else
   * becomes FLOWCHAIN_ERR_HANDLER_FAILED; past the time, FLOWCHAIN_ERR_HANDLER_TIMEOUT.
   */
  #run<T>(what: () => string, call: () => T | Promise<T>): T | Promise<T> {
    let result: T | Promise<T>;
    try {
      result = call();
    } catch (err) {
      throw this.#failed(what, err);
    }
    // A handler that answers at once needs no timer (most read handlers: a value in memory).
    return isThenable(result) ? this.#awaitHandler(what, result) : result;
  }

  /** A handler's answer that is a promise, within the handler timeout. */
  async #awaitHandler<T>(what: () => string, result: Promise<T>): Promise<T> {
    let timer: Timer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.#clock.after(this.#timeoutMs, () => reject(new FlowchainError('FLOWCHAIN_ERR_HANDLER_TIMEOUT', `the ${what()} of ${this.slug} did not answer within ${this.#timeoutMs} ms`)));
    });
    try {
      return await Promise.race([result, timeout]);
    } catch (err) {
      throw this.#failed(what, err);
    } finally {
      timer?.cancel();
    }
  }

  /**
   * A handler's failure as the catalogue's error (a FlowchainError it threw stays as it is).
   * One that crashed or ran out of time is logged with what it threw: consumers see only the code.
   */
  #failed(what: () => string, err: unknown): FlowchainError {
    const failure = isFlowchainError(err) ? err : new FlowchainError('FLOWCHAIN_ERR_HANDLER_FAILED', `the ${what()} of ${this.slug} failed`, { cause: err });
    if (!isFlowchainError(err) || err.code === 'FLOWCHAIN_ERR_HANDLER_TIMEOUT') this.#log?.warn({ thing: this.slug, handler: what(), err }, failure.message);
    return failure;
  }

  /** A value a handler or the device produced, checked before any consumer sees it; returns it. */
  #checkOutput<T>(schema: DataSchema, value: T, name: string): T {
    try {
      checkValue(schema, value, name, 'output');
      return value;
    } catch (err) {
      const reason = isFlowchainError(err) ? err.message : String(err);
      throw new FlowchainError('FLOWCHAIN_ERR_HANDLER_OUTPUT_INVALID', `${this.slug} produced a value its TD does not allow (${reason})`, { field: name, cause: err });
    }
  }

  /** The changes among `values` whose properties are recorded. */
  #recordable(values: ReadonlyMap<string, unknown>, origin: Origin) {
    const changes: { thing: string; property: string; value: unknown; origin: Origin }[] = [];
    for (const [property, value] of values) if (isRecorded(this.td.properties?.[property] ?? {})) changes.push({ thing: this.id, property, value, origin });
    return changes;
  }

  #update(name: string, value: unknown): void {
    this.#values.set(name, value);
    const listeners = this.#observers.get(name);
    if (!listeners) return;
    const change: PropertyChange = { thing: this.slug, name, value, timestamp: this.#clock.now() };
    for (const listener of listeners) listener(change);
  }
}

/** An invocation of an asynchronous action: its status, its observers, and (while it may run) how to stop it. */
interface Invocation {
  status: ActionStatus;
  /** The last of its status changes, in order. */
  steps: Promise<void>;
  readonly listeners: Set<(status: ActionStatus) => void>;
  readonly controller?: AbortController;
}

function affordance<T>(record: Readonly<Record<string, T>> | undefined, kind: string, name: string): T {
  const found = record !== undefined && Object.hasOwn(record, name) ? record[name] : undefined;
  if (found === undefined) throw new FlowchainError('FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', `no ${kind} named ${name}`, { field: name });
  return found;
}

function subscribe<T>(map: Map<string, Set<T>>, name: string, listener: T): Unsubscribe {
  let set = map.get(name);
  if (!set) map.set(name, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) map.delete(name);
  };
}

/**
 * An exposed Thing: the runtime behind one Thing Description. It checks every request against
 * the TD (affordance exists, readOnly/writeOnly, data schema), stores accepted writes before
 * acknowledging them, drives the device, and notifies observers and event subscribers.
 * Transport-neutral: HTTP and WebSocket both call into it.
 *
 * Throws FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND, FLOWCHAIN_ERR_VALUE_INVALID,
 * FLOWCHAIN_ERR_PROPERTY_READ_ONLY, FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY,
 * FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED, FLOWCHAIN_ERR_DEVICE_FAILED, FLOWCHAIN_ERR_STORE_FAILED.
 */
import { FlowchainError, isFlowchainError } from '../errors.js';
import type { ActionAffordance, EventAffordance, PropertyAffordance, ThingDescription } from '../td/thing-description.js';
import { isRecorded, NO_JOURNAL, type ChangeJournal, type JournalReceipt, type Origin, type RecordedChanges } from './change-journal.js';
import type { Clock } from '../common/clock.js';
import { checkValue } from './data-schema.js';
import type { DeviceDriver, DriverFactory } from './drivers/device-driver.js';
import type { PropertyStore } from './property-store.js';
import type { Random } from './random.js';

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

/** Collaborators of an exposed Thing. */
export interface ExposedThingComponents {
  readonly store: PropertyStore;
  readonly clock: Clock;
  readonly random: Random;
  readonly driverFactory: DriverFactory;
  /** Where accepted changes are recorded; none by default. */
  readonly journal?: ChangeJournal;
}

/** What makes one Thing. */
export interface ExposedThingInit {
  /** URL path segment, from the TD file name. */
  readonly slug: string;
  /** The stable TD `id`. */
  readonly id: string;
  /** The TD file (no forms). */
  readonly td: ThingDescription;
}

/** The runtime of one Thing. */
export class ExposedThing {
  readonly slug: string;
  readonly id: string;
  readonly td: ThingDescription;
  readonly #clock: Clock;
  readonly #store: PropertyStore;
  readonly #journal: ChangeJournal;
  readonly #values = new Map<string, unknown>();
  readonly #observers = new Map<string, Set<(change: PropertyChange) => void>>();
  readonly #subscribers = new Map<string, Set<(event: ThingEvent) => void>>();
  #driver!: DeviceDriver;
  /** Device steps of writes run one after another, in arrival order. */
  #queue: Promise<unknown> = Promise.resolve();
  /** The save of the latest device-side change of a writable property. */
  #lastDeviceSave: Promise<void> = Promise.resolve();
  /** The latest write of values (settled either way), so stop() can wait for it. */
  #lastCommit: Promise<void> = Promise.resolve();
  #dropped = 0;

  private constructor(components: ExposedThingComponents, init: ExposedThingInit) {
    this.slug = init.slug;
    this.id = init.id;
    this.td = init.td;
    this.#clock = components.clock;
    this.#store = components.store;
    this.#journal = components.journal ?? NO_JOURNAL;
  }

  /** Loads the Thing's stored values and builds its driver; call {@link start} to run it. */
  static async create(components: ExposedThingComponents, init: ExposedThingInit): Promise<ExposedThing> {
    const thing = new ExposedThing(components, init);
    const stored = await components.store.load(init.slug);
    const driverSpec = init.td.driver as { options?: Record<string, unknown> } | undefined;
    thing.#driver = components.driverFactory.create({
      td: init.td,
      clock: components.clock,
      random: components.random,
      options: driverSpec?.options ?? {},
      stored,
      report: (name, value) => thing.#report(name, value),
      emit: (name, data) => thing.#emit(name, data),
    });
    for (const [name, value] of Object.entries(thing.#driver.snapshot())) thing.#values.set(name, value);
    return thing;
  }

  start(): void {
    this.#driver.start();
  }

  /** Stops the device and waits for writes in flight to be stored. */
  async stop(): Promise<void> {
    this.#driver.stop();
    await this.#queue.catch(() => undefined);
    await this.#lastCommit;
  }

  /** readproperty. */
  readProperty(name: string): unknown {
    const property = this.#property(name);
    if (property.writeOnly) throw new FlowchainError('FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY', `property ${name} is write-only`, { field: name });
    return this.#values.get(name) ?? null;
  }

  /** readallproperties: every readable property. */
  readAllProperties(): Record<string, unknown> {
    const all: Record<string, unknown> = {};
    for (const [name, property] of Object.entries(this.td.properties ?? {})) {
      if (!property.writeOnly) all[name] = this.#values.get(name) ?? null;
    }
    return all;
  }

  /** readmultipleproperties. */
  readMultipleProperties(names: readonly string[]): Record<string, unknown> {
    return Object.fromEntries(names.map((name) => [name, this.readProperty(name)]));
  }

  /** writeproperty: validated, applied to the device, stored, recorded, then announced. */
  async writeProperty(name: string, value: unknown): Promise<readonly JournalReceipt[]> {
    return this.writeMultipleProperties({ [name]: value });
  }

  /**
   * writemultipleproperties: all values are checked first, applied to the device in arrival
   * order, then stored together with the transactions that record them, in one atomic batch;
   * observers hear of them once they are stored. Either every value is accepted or nothing
   * changes. Resolves with the journal's receipts of the recorded properties.
   *
   * If an owner refuses a transaction for good while the write waits for it, the write is
   * undone (the previous values are applied and recorded again, unless a later write changed
   * them meanwhile) and fails with FLOWCHAIN_ERR_TX_REFUSED: what a failed write reports, it
   * never leaves applied. FLOWCHAIN_ERR_BUSY (the journal is full) is thrown before anything
   * is applied.
   */
  async writeMultipleProperties(values: Readonly<Record<string, unknown>>): Promise<readonly JournalReceipt[]> {
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
    const undo = new Map([...previous].filter(([name]) => this.#values.get(name) === accepted.get(name)));
    if (undo.size > 0) await (await this.#apply(undo, 'device', false)).recorded;
    throw new FlowchainError('FLOWCHAIN_ERR_TX_REFUSED', `the ring refused to record ${refused.property}; the write was undone`, { field: refused.property });
  }

  /**
   * Applies values to the device in write order, then stores and records them in one atomic
   * batch: the device step is serialised, and the batch takes its place inside it (so the
   * stored order is the device's order) but is awaited outside it, so concurrent writes share
   * one group commit. Observers hear of the values once they are stored.
   */
  async #apply(values: ReadonlyMap<string, unknown>, origin: Origin, wait: boolean): Promise<{ readonly recorded: Promise<RecordedChanges>; readonly previous: ReadonlyMap<string, unknown> }> {
    const changes = this.#recordable(values, origin);
    // Full: refuse before the device or the store sees anything.
    this.#journal.admit(changes.length);
    const { recorded, previous } = await this.#serialized(async () => {
      const before = new Map([...values.keys()].map((name) => [name, this.#values.get(name)]));
      const applied: string[] = [];
      try {
        for (const [name, value] of values) {
          await this.#device(() => this.#driver.write(name, value));
          applied.push(name);
        }
      } catch (err) {
        // The device refused part of it: put back what it had taken, best effort.
        for (const name of applied) await Promise.resolve(this.#driver.write(name, before.get(name))).catch(() => undefined);
        throw err;
      }
      return { recorded: this.#journal.record(changes, { wait, alongside: this.#store.prepare(this.slug, values) }), previous: before };
    });
    this.#lastCommit = recorded.then(() => undefined, () => undefined);
    await recorded;
    for (const [name, value] of values) this.#update(name, value);
    return { recorded, previous };
  }

  /** invokeaction: input checked against the action's schema, output returned. */
  async invokeAction(name: string, input: unknown): Promise<unknown> {
    const action = this.action(name);
    if (action.input !== undefined) checkValue(action.input, input, name, 'input');
    const before = this.#lastDeviceSave;
    const output = await this.#device(() => this.#driver.invoke(name, input));
    // A device change caused by the action (a toggled plug) is stored before the reply, and a
    // failure to store it fails the action.
    if (this.#lastDeviceSave !== before) await this.#lastDeviceSave;
    return output;
  }

  /** observeproperty; the returned function is unobserveproperty. */
  observeProperty(name: string, listener: (change: PropertyChange) => void): Unsubscribe {
    const property = this.#property(name);
    if (property.writeOnly) throw new FlowchainError('FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY', `property ${name} is write-only`, { field: name });
    if (!property.observable) throw new FlowchainError('FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED', `property ${name} is not observable`, { field: name });
    return subscribe(this.#observers, name, listener);
  }

  /** subscribeevent; the returned function is unsubscribeevent. */
  subscribeEvent(name: string, listener: (event: ThingEvent) => void): Unsubscribe {
    this.event(name);
    return subscribe(this.#subscribers, name, listener);
  }

  /** The property affordance `name`, or FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND. */
  #property(name: string): PropertyAffordance {
    return affordance(this.td.properties, 'property', name);
  }

  /** The action affordance `name`, or FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND. */
  action(name: string): ActionAffordance {
    return affordance(this.td.actions, 'action', name);
  }

  /** The event affordance `name`, or FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND. */
  event(name: string): EventAffordance {
    return affordance(this.td.events, 'event', name);
  }

  /** Runs device steps one after another, so the device sees writes in arrival order. */
  #serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Runs a driver call, turning a device failure into FLOWCHAIN_ERR_DEVICE_FAILED. */
  async #device<T>(call: () => T | Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (isFlowchainError(err)) throw err;
      throw new FlowchainError('FLOWCHAIN_ERR_DEVICE_FAILED', `device ${this.slug} failed: ${(err as Error)?.message ?? err}`, { cause: err });
    }
  }

  /**
   * A reading or device-side change. Values consumers can write are stored, readings are not;
   * recorded ones are written with their transaction. When the journal is full the reading is
   * not taken (the value stays as it was): no change is ever kept without its transaction.
   */
  #report(name: string, value: unknown): void {
    const property = this.td.properties?.[name];
    if (property === undefined || this.#values.get(name) === value) return;
    const changes = this.#recordable(new Map([[name, value]]), 'device');
    try {
      this.#journal.admit(changes.length);
    } catch {
      this.#dropped++;
      return;
    }
    const alongside = property.readOnly ? undefined : this.#store.prepare(this.slug, new Map([[name, value]]));
    const written = changes.length > 0 ? this.#journal.record(changes, { wait: false, ...(alongside ? { alongside } : {}) }).then(() => undefined) : alongside?.commit();
    if (written !== undefined) {
      written.catch(() => undefined); // awaited by the action that caused it, if any; the journal logs its own failures
      this.#lastDeviceSave = written;
      this.#lastCommit = written.catch(() => undefined);
    }
    this.#update(name, value);
  }

  /** Readings not taken because the journal was full. */
  get droppedReadings(): number {
    return this.#dropped;
  }

  /** The changes among `values` whose properties are recorded. */
  #recordable(values: ReadonlyMap<string, unknown>, origin: Origin) {
    return [...values]
      .filter(([name]) => isRecorded(this.td.properties?.[name] ?? {}))
      .map(([property, value]) => ({ thing: this.id, property, value, origin }));
  }

  #update(name: string, value: unknown): void {
    this.#values.set(name, value);
    const listeners = this.#observers.get(name);
    if (!listeners) return;
    const change: PropertyChange = { thing: this.slug, name, value, timestamp: this.#clock.now() };
    for (const listener of listeners) listener(change);
  }

  #emit(name: string, data: unknown): void {
    const listeners = this.#subscribers.get(name);
    if (!listeners) return;
    const event: ThingEvent = { thing: this.slug, name, data, timestamp: this.#clock.now() };
    for (const listener of listeners) listener(event);
  }
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

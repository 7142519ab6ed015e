/**
 * How a device comes to a Flowchain node: a **device factory** is a function that gets the
 * Thing the node produced from a TD (a W3C WoT Scripting API ExposedThing, not exposed yet) and
 * wires it to hardware or a simulation: it sets read, write and action handlers and, from its
 * own timers or interrupts, emits property changes and events. What it returns is started once
 * the Thing is exposed and stopped when the node stops or the Thing is destroyed.
 *
 * A TD file names its device in the Flowchain `driver` term: a built-in one by `type`
 * (`{"type": "thermostat"}`) or a module of the user's by `module`
 * (`{"module": "./drivers/greenhouse.js", "options": {...}}`, relative to the things directory,
 * or a package name), whose default export is the factory. This module is part of the public
 * API (src/index.ts).
 *
 * Throws FLOWCHAIN_ERR_TD_INVALID from {@link numberOption} and {@link requireAffordances}.
 */
import type { Clock } from '../common/clock.js';
import type { Random } from '../common/random.js';
import { FlowchainError } from '../errors.js';
import type { ExposedThing } from '../thing/exposed-thing.js';

/** What a device factory gets besides its Thing. */
export interface DeviceContext {
  /** The `driver.options` object of the TD file (empty when there is none). */
  readonly options: Readonly<Record<string, unknown>>;
  /** The node's clock: use it for timers, so tests can drive a device deterministically. */
  readonly clock: Clock;
  /** Seeded randomness (`--seed`), for simulations. */
  readonly random: Random;
  /** Where a device reports what goes wrong in the background (a failed reading, say). */
  readonly log: { warn(obj: object, msg: string): void };
}

/** A running device: started once its Thing is exposed, stopped with the node or the Thing. */
export interface Device {
  start?(): void | Promise<void>;
  stop?(): void | Promise<void>;
}

/** Wires a produced Thing to a device (see the module comment). */
export type DeviceFactory = (thing: ExposedThing, context: DeviceContext) => Device | void | Promise<Device | void>;

/**
 * Reads a numeric driver option, falling back to `fallback`.
 * Throws FLOWCHAIN_ERR_TD_INVALID naming `/driver/options/<name>` when it is not a number.
 */
export function numberOption(options: Readonly<Record<string, unknown>>, name: string, fallback: number): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', `driver option ${name} must be a finite number`, { field: `/driver/options/${name}` });
  }
  return value;
}

/** Throws FLOWCHAIN_ERR_TD_INVALID naming the first affordance a device needs that its TD does not declare. */
export function requireAffordances(thing: ExposedThing, device: string, required: { readonly properties?: readonly string[]; readonly actions?: readonly string[]; readonly events?: readonly string[] }): void {
  const td = thing.td;
  for (const kind of ['properties', 'actions', 'events'] as const) {
    for (const name of required[kind] ?? []) {
      if (!Object.hasOwn(td[kind] ?? {}, name)) throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', `/${kind}/${name} is required by driver ${device}`, { field: `/${kind}/${name}` });
    }
  }
}

/**
 * Reports a change in the background: a reading that cannot be taken is logged, never thrown at a
 * timer. The promise settles (never rejects) once the reading is taken or logged.
 */
export function emitLater(thing: ExposedThing, log: DeviceContext['log'], name: string, value?: unknown): Promise<void> {
  return thing.emitPropertyChange(name, value).catch((err: unknown) => log.warn({ err, thing: thing.slug, property: name }, 'a device reading was not taken'));
}

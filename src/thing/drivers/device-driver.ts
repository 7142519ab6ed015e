/**
 * The contract between an exposed Thing and the device behind it. A TD file names its driver
 * with the Flowchain `driver` term (contexts/README.md); the driver factory with that `type`
 * builds the device. Drivers for real hardware implement the same interface.
 */
import { FlowchainError } from '../../errors.js';
import type { ThingDescription } from '../../td/thing-description.js';
import type { Clock } from '../../common/clock.js';
import type { Random } from '../random.js';

/** What a driver gets from the servient. */
export interface DriverContext {
  /** The Thing's TD file, for data-schema bounds and titles. */
  readonly td: ThingDescription;
  readonly clock: Clock;
  readonly random: Random;
  /** The `driver.options` object of the TD file. */
  readonly options: Readonly<Record<string, unknown>>;
  /** The last stored values of writable properties (restored after a restart). */
  readonly stored: ReadonlyMap<string, unknown>;
  /** The device measured or changed a property value. */
  report(name: string, value: unknown): void;
  /** The device raised an event. */
  emit(name: string, data: unknown): void;
}

/** A running device. */
export interface DeviceDriver {
  /** The current value of every readable property, taken once at start-up. */
  snapshot(): Record<string, unknown>;
  /** Applies an already validated value of a writable property. */
  write(name: string, value: unknown): void | Promise<void>;
  /** Runs an action with already validated input and returns its output. */
  invoke(name: string, input: unknown): unknown;
  /** Starts sampling or background behaviour. */
  start(): void;
  /** Stops every timer the driver started. */
  stop(): void;
}

/** Builds drivers of one type and says which affordances its TD must declare. */
export interface DriverFactory {
  readonly type: string;
  readonly affordances: {
    readonly properties: readonly string[];
    readonly actions: readonly string[];
    readonly events: readonly string[];
  };
  create(context: DriverContext): DeviceDriver;
}

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

/**
 * A simulated environment sensor: temperature and humidity drift as seeded random walks, and
 * an `overheat` event fires when the temperature rises through a threshold.
 *
 * Readings stay within the bounds the TD gives each property.
 *
 * Options: intervalMs (1000), temperature (22), humidity (45), overheatThreshold (30).
 */
import type { DataSchema } from '../../td/thing-description.js';
import { RandomWalk, type Random } from '../random.js';
import { numberOption, type DeviceDriver, type DriverContext, type DriverFactory } from './device-driver.js';
import { nearestAllowed } from './nearest-allowed.js';
import type { Timer } from '../../common/clock.js';

/** Re-arm the event only after the reading falls this far below the threshold, as real alarms do. */
const HYSTERESIS = 0.5;

/** Factory for the `environment-sensor` driver. */
export const environmentSensor: DriverFactory = {
  type: 'environment-sensor',
  affordances: { properties: ['temperature', 'humidity'], actions: [], events: ['overheat'] },
  create: (context) => new EnvironmentSensor(context),
};

class EnvironmentSensor implements DeviceDriver {
  readonly #context: DriverContext;
  readonly #interval: number;
  readonly #threshold: number;
  readonly #temperature: RandomWalk;
  readonly #humidity: RandomWalk;
  readonly #temperatureSchema: DataSchema | undefined;
  readonly #humiditySchema: DataSchema | undefined;
  #armed = true;
  #timer: Timer | undefined;

  constructor(context: DriverContext) {
    const { options, random, td } = context;
    this.#context = context;
    this.#interval = numberOption(options, 'intervalMs', 1000);
    this.#threshold = numberOption(options, 'overheatThreshold', 30);
    this.#temperatureSchema = td.properties?.temperature;
    this.#humiditySchema = td.properties?.humidity;
    this.#temperature = walk(random, this.#temperatureSchema, numberOption(options, 'temperature', 22), { step: 0.4, min: -40, max: 85, decimals: 2 });
    this.#humidity = walk(random, this.#humiditySchema, numberOption(options, 'humidity', 45), { step: 1, min: 0, max: 100, decimals: 1 });
    this.#armed = this.#temperature.value < this.#threshold;
  }

  snapshot(): Record<string, unknown> {
    return { temperature: nearestAllowed(this.#temperatureSchema, this.#temperature.value), humidity: nearestAllowed(this.#humiditySchema, this.#humidity.value) };
  }

  write(): void {
    // Both properties are readOnly; the exposed Thing rejects writes before they get here.
  }

  invoke(): unknown {
    return undefined;
  }

  start(): void {
    this.#timer = this.#context.clock.every(this.#interval, () => this.#sample());
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #sample(): void {
    const temperature = nearestAllowed(this.#temperatureSchema, this.#temperature.step());
    this.#context.report('temperature', temperature);
    this.#context.report('humidity', nearestAllowed(this.#humiditySchema, this.#humidity.step()));
    if (this.#armed && temperature >= this.#threshold) {
      this.#armed = false;
      this.#context.emit('overheat', { temperature, threshold: this.#threshold });
    } else if (!this.#armed && temperature < this.#threshold - HYSTERESIS) {
      this.#armed = true;
    }
  }
}

/** A walk within the physical range of the sensor narrowed to the schema's bounds, starting inside them. */
function walk(random: Random, schema: DataSchema | undefined, start: number, range: { step: number; min: number; max: number; decimals: number }): RandomWalk {
  const min = Math.max(range.min, schema?.minimum ?? -Infinity);
  const max = Math.min(range.max, schema?.maximum ?? Infinity);
  const bounds = min <= max ? { min, max } : { min: range.min, max: range.max };
  return new RandomWalk(random, { ...range, ...bounds, start: Math.min(bounds.max, Math.max(bounds.min, start)) });
}

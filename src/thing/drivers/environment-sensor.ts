/**
 * A simulated environment sensor: temperature and humidity drift as seeded random walks, and
 * an `overheat` event fires when the temperature rises through a threshold.
 *
 * Options: intervalMs (1000), temperature (22), humidity (45), overheatThreshold (30).
 */
import { RandomWalk } from '../random.js';
import { numberOption, type DeviceDriver, type DriverContext, type DriverFactory } from './device-driver.js';
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
  #armed = true;
  #timer: Timer | undefined;

  constructor(context: DriverContext) {
    const { options, random } = context;
    this.#context = context;
    this.#interval = numberOption(options, 'intervalMs', 1000);
    this.#threshold = numberOption(options, 'overheatThreshold', 30);
    this.#temperature = new RandomWalk(random, { start: numberOption(options, 'temperature', 22), step: 0.4, min: -40, max: 85, decimals: 2 });
    this.#humidity = new RandomWalk(random, { start: numberOption(options, 'humidity', 45), step: 1, min: 0, max: 100, decimals: 1 });
    this.#armed = this.#temperature.value < this.#threshold;
  }

  snapshot(): Record<string, unknown> {
    return { temperature: this.#temperature.value, humidity: this.#humidity.value };
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
    const temperature = this.#temperature.step();
    this.#context.report('temperature', temperature);
    this.#context.report('humidity', this.#humidity.step());
    if (this.#armed && temperature >= this.#threshold) {
      this.#armed = false;
      this.#context.emit('overheat', { temperature, threshold: this.#threshold });
    } else if (!this.#armed && temperature < this.#threshold - HYSTERESIS) {
      this.#armed = true;
    }
  }
}

/**
 * A simulated smart plug: switching it on draws a noisy load, off draws nothing; `toggle`
 * flips it.
 *
 * Options: intervalMs (1000), loadWatts (60).
 */
import type { DataSchema } from '../../td/thing-description.js';
import { RandomWalk } from '../random.js';
import { numberOption, type DeviceDriver, type DriverContext, type DriverFactory } from './device-driver.js';
import { nearestAllowed } from './nearest-allowed.js';
import type { Timer } from '../../common/clock.js';

/** Factory for the `smart-plug` driver. */
export const smartPlug: DriverFactory = {
  type: 'smart-plug',
  affordances: { properties: ['on', 'power'], actions: ['toggle'], events: [] },
  create: (context) => new SmartPlug(context),
};

class SmartPlug implements DeviceDriver {
  readonly #context: DriverContext;
  readonly #interval: number;
  readonly #load: RandomWalk;
  readonly #powerSchema: DataSchema | undefined;
  #on: boolean;
  #timer: Timer | undefined;

  constructor(context: DriverContext) {
    const { options, stored, random, td } = context;
    this.#context = context;
    this.#powerSchema = td.properties?.power;
    this.#interval = numberOption(options, 'intervalMs', 1000);
    const watts = numberOption(options, 'loadWatts', 60);
    this.#load = new RandomWalk(random, { start: watts, step: watts * 0.05, min: 0, max: watts * 2, decimals: 1 });
    const on = stored.get('on');
    this.#on = typeof on === 'boolean' ? on : false;
  }

  snapshot(): Record<string, unknown> {
    return { on: this.#on, power: this.#power() };
  }

  write(name: string, value: unknown): void {
    if (name !== 'on') return;
    this.#on = value as boolean;
    this.#context.report('power', this.#power());
  }

  invoke(name: string): unknown {
    if (name !== 'toggle') return undefined;
    this.#on = !this.#on;
    this.#context.report('on', this.#on);
    this.#context.report('power', this.#power());
    return { on: this.#on };
  }

  start(): void {
    this.#timer = this.#context.clock.every(this.#interval, () => {
      if (this.#on) this.#load.step();
      this.#context.report('power', this.#power());
    });
  }

  stop(): void {
    this.#timer?.cancel();
  }

  /** The draw, within the power schema's bounds (a negative loadWatts option draws nothing). */
  #power(): number {
    return nearestAllowed(this.#powerSchema, this.#on ? this.#load.value : 0);
  }
}

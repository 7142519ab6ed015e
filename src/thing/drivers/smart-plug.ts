/**
 * A simulated smart plug: switching it on draws a noisy load, off draws nothing; `toggle`
 * flips it.
 *
 * Options: intervalMs (1000), loadWatts (60).
 */
import { RandomWalk } from '../random.js';
import { numberOption, type DeviceDriver, type DriverContext, type DriverFactory } from './device-driver.js';
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
  #on: boolean;
  #timer: Timer | undefined;

  constructor(context: DriverContext) {
    const { options, stored, random } = context;
    this.#context = context;
    this.#interval = numberOption(options, 'intervalMs', 1000);
    const watts = numberOption(options, 'loadWatts', 60);
    this.#load = new RandomWalk(random, { start: watts, step: watts * 0.05, min: 0, max: watts * 2, decimals: 1 });
    this.#on = (stored.get('on') as boolean | undefined) ?? false;
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

  #power(): number {
    return this.#on ? this.#load.value : 0;
  }
}

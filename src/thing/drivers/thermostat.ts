/**
 * A simulated thermostat: the room temperature walks toward the target while heating or
 * cooling and toward the ambient temperature when off; `boost` raises the target for a while.
 *
 * Options: intervalMs (1000), ambient (18), targetTemperature (21), mode ("heat").
 */
import { RandomWalk } from '../random.js';
import { numberOption, type DeviceDriver, type DriverContext, type DriverFactory } from './device-driver.js';
import type { Timer } from '../../common/clock.js';

type Mode = 'off' | 'heat' | 'cool' | 'auto';

/** Factory for the `thermostat` driver. */
export const thermostat: DriverFactory = {
  type: 'thermostat',
  affordances: { properties: ['targetTemperature', 'mode', 'currentTemperature'], actions: ['boost'], events: [] },
  create: (context) => new Thermostat(context),
};

class Thermostat implements DeviceDriver {
  readonly #context: DriverContext;
  readonly #interval: number;
  readonly #ambient: number;
  readonly #maxTarget: number;
  readonly #room: RandomWalk;
  #target: number;
  #mode: Mode;
  #timer: Timer | undefined;
  #boostEnd: Timer | undefined;

  constructor(context: DriverContext) {
    const { options, stored, random, td } = context;
    this.#context = context;
    this.#interval = numberOption(options, 'intervalMs', 1000);
    this.#ambient = numberOption(options, 'ambient', 18);
    this.#maxTarget = td.properties?.targetTemperature?.maximum ?? 30;
    this.#target = (stored.get('targetTemperature') as number | undefined) ?? numberOption(options, 'targetTemperature', 21);
    this.#mode = (stored.get('mode') as Mode | undefined) ?? ((options.mode as Mode | undefined) ?? 'heat');
    this.#room = new RandomWalk(random, { start: this.#ambient, step: 0.1, min: -20, max: 50, meanReversion: 0.1, decimals: 2 });
    this.#steer();
  }

  snapshot(): Record<string, unknown> {
    return { targetTemperature: this.#target, mode: this.#mode, currentTemperature: this.#room.value };
  }

  write(name: string, value: unknown): void {
    if (name === 'targetTemperature') this.#target = value as number;
    if (name === 'mode') this.#mode = value as Mode;
    this.#steer();
  }

  invoke(name: string, input: unknown): unknown {
    if (name !== 'boost') return undefined;
    const { minutes, delta = 2 } = input as { minutes: number; delta?: number };
    const previous = this.#target;
    this.#setTarget(Math.min(this.#maxTarget, previous + delta));
    this.#boostEnd?.cancel();
    const durationMs = minutes * 60_000;
    this.#boostEnd = this.#context.clock.after(durationMs, () => this.#setTarget(previous));
    return { targetTemperature: this.#target, until: new Date(this.#context.clock.now() + durationMs).toISOString() };
  }

  start(): void {
    this.#timer = this.#context.clock.every(this.#interval, () => this.#context.report('currentTemperature', this.#room.step()));
  }

  stop(): void {
    this.#timer?.cancel();
    this.#boostEnd?.cancel();
  }

  #setTarget(target: number): void {
    this.#target = target;
    this.#steer();
    this.#context.report('targetTemperature', target);
  }

  /** Where the room drifts: heating only warms, cooling only cools, auto does both. */
  #steer(): void {
    const current = this.#room.value;
    const heating = (this.#mode === 'heat' || this.#mode === 'auto') && current < this.#target;
    const cooling = (this.#mode === 'cool' || this.#mode === 'auto') && current > this.#target;
    this.#room.target = heating || cooling ? this.#target : this.#ambient;
  }
}

/**
 * A simulated thermostat, written against the public device API: the room temperature walks
 * toward the target while heating or cooling and toward the ambient temperature when off, and
 * `boost` raises the target for a while. Every target it sets itself (from options, a stored
 * value, a boost) is one the targetTemperature schema accepts: on its multipleOf grid, within
 * its minimum and maximum.
 *
 * Options: intervalMs (1000), ambient (18), targetTemperature (21), mode ("heat").
 * Throws FLOWCHAIN_ERR_TD_INVALID for an option of the wrong type or a mode the TD does not list.
 */
import { RandomWalk } from '../common/random.js';
import { FlowchainError } from '../errors.js';
import { emitLater, numberOption, requireAffordances, type DeviceFactory } from './device.js';
import { nearestAllowed } from './nearest-allowed.js';

type Mode = 'off' | 'heat' | 'cool' | 'auto';
const MODES: readonly Mode[] = ['off', 'heat', 'cool', 'auto'];

/** The `thermostat` device. */
export const thermostat: DeviceFactory = (thing, { options, clock, random, log }) => {
  requireAffordances(thing, 'thermostat', { properties: ['targetTemperature', 'mode', 'currentTemperature'], actions: ['boost'] });
  const interval = numberOption(options, 'intervalMs', 1000);
  const ambient = numberOption(options, 'ambient', 18);
  const targetSchema = thing.td.properties?.targetTemperature;
  const roomSchema = thing.td.properties?.currentTemperature;
  // A stored target was valid when written; the TD may have narrowed since.
  const storedTarget = thing.lastValue('targetTemperature');
  let target = nearestAllowed(targetSchema, typeof storedTarget === 'number' && Number.isFinite(storedTarget) ? storedTarget : numberOption(options, 'targetTemperature', 21));
  const modes = (thing.td.properties?.mode?.enum ?? MODES).filter((m): m is Mode => MODES.includes(m as Mode));
  const optionMode = options.mode ?? 'heat';
  if (!modes.includes(optionMode as Mode)) throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', `driver option mode must be one of ${modes.join(', ')}`, { field: '/driver/options/mode' });
  const storedMode = thing.lastValue('mode');
  let mode = modes.includes(storedMode as Mode) ? (storedMode as Mode) : (optionMode as Mode);
  const room = new RandomWalk(random, { start: ambient, step: 0.1, min: -20, max: 50, meanReversion: 0.1, decimals: 2 });
  /** Where the room drifts: heating only warms, cooling only cools, auto does both. */
  const steer = (): void => {
    const heating = (mode === 'heat' || mode === 'auto') && room.value < target;
    const cooling = (mode === 'cool' || mode === 'auto') && room.value > target;
    room.target = heating || cooling ? target : ambient;
  };
  /** The device sets its own target (a boost, its end): a change the node records. */
  const setTarget = (next: number): void => {
    target = next;
    steer();
    emitLater(thing, log, 'targetTemperature', target);
  };
  steer();

  thing.setPropertyReadHandler('targetTemperature', () => target);
  thing.setPropertyReadHandler('mode', () => mode);
  thing.setPropertyReadHandler('currentTemperature', () => nearestAllowed(roomSchema, room.value));
  thing.setPropertyWriteHandler('targetTemperature', async (value) => {
    target = (await value.value()) as number;
    steer();
  });
  thing.setPropertyWriteHandler('mode', async (value) => {
    mode = (await value.value()) as Mode;
    steer();
  });
  let boostEnd: { cancel(): void } | undefined;
  thing.setActionHandler('boost', async (params) => {
    const { minutes, delta = 2 } = (await params.value()) as { minutes: number; delta?: number };
    const previous = target;
    // Raised by delta, then put back on the schema's grid and within its bounds (21 + 1.7 is 22.5).
    setTarget(nearestAllowed(targetSchema, previous + delta));
    boostEnd?.cancel();
    const durationMs = minutes * 60_000;
    boostEnd = clock.after(durationMs, () => setTarget(previous));
    return { targetTemperature: target, until: new Date(clock.now() + durationMs).toISOString() };
  });
  let timer: { cancel(): void } | undefined;
  return {
    start: () => void (timer = clock.every(interval, () => emitLater(thing, log, 'currentTemperature', nearestAllowed(roomSchema, room.step())))),
    stop: () => {
      timer?.cancel();
      boostEnd?.cancel();
    },
  };
};

/**
 * A simulated thermostat, written against the public device API: at every reading it decides
 * again whether to heat or cool, so the room temperature walks toward the target while heating
 * or cooling and toward the ambient temperature when off, and
 * `boost` (an asynchronous action) raises the target for a while. Every target it sets itself (from options, a stored
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
  /** The boost running now: a newer boost supersedes it, the device's stop interrupts it. */
  let boosting: { readonly base: number; readonly raised: number; supersede(): void; interrupt(): void } | undefined;
  // An asynchronous action: the invocation runs until the boost ends (its output then says
  // what it was); a cancel or the device's stop ends the boost at once and fails it. A newer
  // boost supersedes a running one, which completes then, and keeps its target to restore.
  // The end restores the target only if nobody changed it meanwhile.
  thing.setActionHandler('boost', async (params, { signal }) => {
    const { minutes, delta = 2 } = (await params.value()) as { minutes: number; delta?: number };
    // The target to restore: the one before the running boost, unless someone set another since.
    const base = boosting !== undefined && target === boosting.raised ? boosting.base : target;
    boosting?.supersede();
    // Raised by delta, then put back on the schema's grid and within its bounds (21 + 1.7 is 22.5).
    const raised = nearestAllowed(targetSchema, base + delta);
    setTarget(raised);
    const until = clock.now() + minutes * 60_000;
    return new Promise((resolve, reject) => {
      const finish = (restore: boolean): void => {
        timer.cancel();
        signal.removeEventListener('abort', onAbort);
        if (boosting === current) boosting = undefined;
        if (restore && target === raised) setTarget(base);
      };
      const onAbort = (): void => {
        finish(true);
        reject(signal.reason);
      };
      const current = {
        base,
        raised,
        supersede: () => {
          finish(false);
          resolve({ targetTemperature: raised, until: new Date(clock.now()).toISOString() });
        },
        interrupt: () => {
          finish(true);
          reject(new FlowchainError('FLOWCHAIN_ERR_ACTION_INTERRUPTED', 'the thermostat stopped during the boost'));
        },
      };
      const timer = clock.after(until - clock.now(), () => {
        finish(true);
        resolve({ targetTemperature: raised, until: new Date(until).toISOString() });
      });
      boosting = current;
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  });
  let timer: { cancel(): void } | undefined;
  return {
    // The control loop decides at every reading, as a thermostat does, not only when written.
    start: () =>
      void (timer = clock.every(interval, () => {
        steer();
        emitLater(thing, log, 'currentTemperature', nearestAllowed(roomSchema, room.step()));
      })),
    stop: () => {
      timer?.cancel();
      boosting?.interrupt();
    },
  };
};

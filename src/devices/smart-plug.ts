/**
 * A simulated smart plug, written against the public device API: switching it on draws a
 * noisy load, off draws nothing (within the power schema's bounds); `toggle` flips it.
 *
 * Options: intervalMs (1000), loadWatts (60).
 */
import { RandomWalk } from '../common/random.js';
import { emitLater, numberOption, requireAffordances, type DeviceFactory } from './device.js';
import { nearestAllowed } from './nearest-allowed.js';

/** The `smart-plug` device. */
export const smartPlug: DeviceFactory = (thing, { options, clock, random, log }) => {
  requireAffordances(thing, 'smart-plug', { properties: ['on', 'power'], actions: ['toggle'] });
  const interval = numberOption(options, 'intervalMs', 1000);
  const watts = numberOption(options, 'loadWatts', 60);
  const powerSchema = thing.td.properties?.power;
  const load = new RandomWalk(random, { start: watts, step: watts * 0.05, min: 0, max: watts * 2, decimals: 1 });
  const stored = thing.lastValue('on');
  let on = typeof stored === 'boolean' ? stored : false;
  const power = (): number => nearestAllowed(powerSchema, on ? load.value : 0);

  thing.setPropertyReadHandler('on', () => on);
  thing.setPropertyReadHandler('power', power);
  thing.setPropertyWriteHandler('on', async (value) => {
    on = (await value.value()) as boolean;
    emitLater(thing, log, 'power', power());
  });
  thing.setActionHandler('toggle', () => {
    on = !on;
    emitLater(thing, log, 'on', on);
    emitLater(thing, log, 'power', power());
    return { on };
  });
  let timer: { cancel(): void } | undefined;
  return {
    // Its first reading is known before anyone can watch: an idle plug never announces a change.
    start: async () => {
      await emitLater(thing, log, 'power', power());
      timer = clock.every(interval, () => {
        if (on) load.step();
        emitLater(thing, log, 'power', power());
      });
    },
    stop: () => timer?.cancel(),
  };
};

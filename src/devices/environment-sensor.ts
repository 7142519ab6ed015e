/**
 * A simulated environment sensor, written against the public device API: temperature and
 * humidity drift as seeded random walks within the bounds their TD gives them, each sample is
 * emitted as a property change, and an `overheat` event fires when the temperature rises
 * through a threshold (re-armed below it, with hysteresis, as real alarms are).
 *
 * Options: intervalMs (1000), temperature (22), humidity (45), overheatThreshold (30).
 */
import type { Random } from '../common/random.js';
import { RandomWalk } from '../common/random.js';
import type { DataSchema } from '../td/thing-description.js';
import { emitLater, numberOption, requireAffordances, type DeviceFactory } from './device.js';
import { nearestAllowed } from './nearest-allowed.js';

/** Re-arm the event only after the reading falls this far below the threshold. */
const HYSTERESIS = 0.5;

/** The `environment-sensor` device. */
export const environmentSensor: DeviceFactory = (thing, { options, clock, random, log }) => {
  requireAffordances(thing, 'environment-sensor', { properties: ['temperature', 'humidity'], events: ['overheat'] });
  const interval = numberOption(options, 'intervalMs', 1000);
  const threshold = numberOption(options, 'overheatThreshold', 30);
  const temperatureSchema = thing.td.properties?.temperature;
  const humiditySchema = thing.td.properties?.humidity;
  const temperature = walk(random, temperatureSchema, numberOption(options, 'temperature', 22), { step: 0.4, min: -40, max: 85, decimals: 2 });
  const humidity = walk(random, humiditySchema, numberOption(options, 'humidity', 45), { step: 1, min: 0, max: 100, decimals: 1 });
  let armed = temperature.value < threshold;
  thing.setPropertyReadHandler('temperature', () => nearestAllowed(temperatureSchema, temperature.value));
  thing.setPropertyReadHandler('humidity', () => nearestAllowed(humiditySchema, humidity.value));
  const sample = (): void => {
    const reading = nearestAllowed(temperatureSchema, temperature.step());
    emitLater(thing, log, 'temperature', reading);
    emitLater(thing, log, 'humidity', nearestAllowed(humiditySchema, humidity.step()));
    if (armed && reading >= threshold) {
      armed = false;
      thing.emitEvent('overheat', { temperature: reading, threshold });
    } else if (!armed && reading < threshold - HYSTERESIS) {
      armed = true;
    }
  };
  let timer: { cancel(): void } | undefined;
  return {
    start: () => void (timer = clock.every(interval, sample)),
    stop: () => timer?.cancel(),
  };
};

/** A walk within the physical range of the sensor narrowed to the schema's bounds, starting inside them. */
function walk(random: Random, schema: DataSchema | undefined, start: number, range: { step: number; min: number; max: number; decimals: number }): RandomWalk {
  const min = Math.max(range.min, schema?.minimum ?? -Infinity);
  const max = Math.min(range.max, schema?.maximum ?? Infinity);
  const bounds = min <= max ? { min, max } : { min: range.min, max: range.max };
  return new RandomWalk(random, { ...range, ...bounds, start: Math.min(bounds.max, Math.max(bounds.min, start)) });
}

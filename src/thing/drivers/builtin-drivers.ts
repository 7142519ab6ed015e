/** The drivers that ship with Flowchain, by the `type` a TD file names in its `driver`. */
import type { DriverFactory } from './device-driver.js';
import { environmentSensor } from './environment-sensor.js';
import { smartPlug } from './smart-plug.js';
import { thermostat } from './thermostat.js';

/** Built-in simulated devices. */
export const builtinDrivers: ReadonlyMap<string, DriverFactory> = new Map(
  [environmentSensor, thermostat, smartPlug].map((factory) => [factory.type, factory]),
);

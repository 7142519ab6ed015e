/** The devices that ship with Flowchain, by the `type` a TD file's `driver` names. */
import type { DeviceFactory } from './device.js';
import { environmentSensor } from './environment-sensor.js';
import { smartPlug } from './smart-plug.js';
import { thermostat } from './thermostat.js';

/** Built-in simulated devices. */
export const BUILTIN_DEVICES: ReadonlyMap<string, DeviceFactory> = new Map([
  ['environment-sensor', environmentSensor],
  ['thermostat', thermostat],
  ['smart-plug', smartPlug],
]);

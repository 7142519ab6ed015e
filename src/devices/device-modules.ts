/**
 * Finds the device a TD file's `driver` names: a device of this node by `type` (the built-in
 * ones and those given to createServient), or a module by `module`: a path relative to the
 * things directory (`./drivers/greenhouse.js`) or a package name, whose default export (or
 * export named `device`) is a {@link DeviceFactory}.
 *
 * Throws FLOWCHAIN_ERR_DRIVER_UNKNOWN naming the type, and FLOWCHAIN_ERR_DRIVER_FAILED naming the
 * module when it cannot be loaded or exports no factory.
 */
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FlowchainError } from '../errors.js';
import type { DriverSpec } from '../thing/thing-files.js';
import type { DeviceFactory } from './device.js';

/** The factory of `spec`, resolved against `thingsDirectory`. */
export async function deviceFor(spec: DriverSpec, devices: ReadonlyMap<string, DeviceFactory>, thingsDirectory: string): Promise<DeviceFactory> {
  if (spec.type !== undefined) {
    const factory = devices.get(spec.type);
    if (factory === undefined) throw new FlowchainError('FLOWCHAIN_ERR_DRIVER_UNKNOWN', `/driver/type ${spec.type} is not a known device (known: ${[...devices.keys()].join(', ')})`, { field: '/driver/type' });
    return factory;
  }
  const relative = spec.module.startsWith('./') || spec.module.startsWith('../');
  let url: string;
  let loaded: { default?: unknown; device?: unknown };
  try {
    url = isAbsolute(spec.module) || relative ? pathToFileURL(resolve(thingsDirectory, spec.module)).href : pathToFileURL(createRequire(join(thingsDirectory, 'package.json')).resolve(spec.module)).href;
    loaded = (await import(url)) as { default?: unknown; device?: unknown };
  } catch (err) {
    throw new FlowchainError('FLOWCHAIN_ERR_DRIVER_FAILED', `/driver/module ${spec.module} cannot be loaded: ${(err as Error).message}`, { field: '/driver/module', cause: err });
  }
  const factory = typeof loaded.default === 'function' ? loaded.default : loaded.device;
  if (typeof factory !== 'function') throw new FlowchainError('FLOWCHAIN_ERR_DRIVER_FAILED', `/driver/module ${spec.module} exports no device factory (a default export, or one named device)`, { field: '/driver/module' });
  return factory as DeviceFactory;
}

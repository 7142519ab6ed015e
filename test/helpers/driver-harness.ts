/** Runs a driver outside a servient and records what it reports and emits. */
import { readFileSync } from 'node:fs';
import type { ThingDescription } from '../../src/td/thing-description.js';
import type { DeviceDriver, DriverFactory } from '../../src/thing/drivers/device-driver.js';
import { createRandom } from '../../src/thing/random.js';
import { ManualClock } from './manual-clock.js';

export interface Harness {
  readonly driver: DeviceDriver;
  readonly clock: ManualClock;
  readonly reports: [string, unknown][];
  readonly events: [string, unknown][];
  /** The last reported value of `name`. */
  last(name: string): unknown;
}

/** The bundled TD file of a sample Thing. */
export function sampleTd(slug: string): ThingDescription {
  return JSON.parse(readFileSync(new URL(`../../things/${slug}.td.json`, import.meta.url), 'utf8')) as ThingDescription;
}

export function runDriver(factory: DriverFactory, init: { td: ThingDescription; options?: Record<string, unknown>; stored?: Map<string, unknown>; seed?: number }): Harness {
  const clock = new ManualClock();
  const reports: [string, unknown][] = [];
  const events: [string, unknown][] = [];
  const driver = factory.create({
    td: init.td,
    clock,
    random: createRandom(init.seed ?? 42),
    options: init.options ?? {},
    stored: init.stored ?? new Map(),
    report: (name, value) => reports.push([name, value]),
    emit: (name, data) => events.push([name, data]),
  });
  return {
    driver,
    clock,
    reports,
    events,
    last: (name) => reports.filter(([n]) => n === name).at(-1)?.[1],
  };
}

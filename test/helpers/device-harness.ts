/**
 * Runs a device factory on a real ExposedThing outside a servient (values in memory, a manual
 * clock, no journal) and records every property change and event the device makes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRandom } from '../../src/common/random.js';
import type { Device, DeviceFactory } from '../../src/devices/device.js';
import type { ThingDescription } from '../../src/td/thing-description.js';
import { ExposedThing } from '../../src/thing/exposed-thing.js';
import { PropertyStore } from '../../src/thing/property-store.js';
import { ManualClock } from './manual-clock.js';
import { MemorySection } from './memory-section.js';
import { SAMPLE_THINGS } from './sample-things.js';

export interface Harness {
  readonly thing: ExposedThing;
  readonly device: Device;
  readonly clock: ManualClock;
  readonly reports: [string, unknown][];
  readonly events: [string, unknown][];
  readonly warnings: object[];
  /** The last reported value of `name`. */
  last(name: string): unknown;
}

/** The TD file of a sample Thing (as the tests run it: sample-things.ts), without its `driver` member. */
export function sampleTd(slug: string): ThingDescription {
  const { driver: _driver, ...td } = JSON.parse(readFileSync(join(SAMPLE_THINGS, `${slug}.td.json`), 'utf8')) as ThingDescription & { driver?: unknown };
  return td;
}

/** The `driver.options` of a sample TD file (as the tests run it). */
export function sampleOptions(slug: string): Record<string, unknown> {
  const file = JSON.parse(readFileSync(join(SAMPLE_THINGS, `${slug}.td.json`), 'utf8')) as { driver?: { options?: Record<string, unknown> } };
  return file.driver?.options ?? {};
}

/**
 * Produces the Thing (its `stored` values as a restart would restore them), runs `factory` on
 * it and watches every property (observed whether or not the TD says so) and every event.
 */
export async function runDevice(factory: DeviceFactory, init: { td: ThingDescription; options?: Record<string, unknown>; stored?: ReadonlyMap<string, unknown>; seed?: number }): Promise<Harness> {
  const clock = new ManualClock();
  const section = new MemorySection();
  for (const [name, value] of init.stored ?? []) await section.put(`thing/${name}`, value);
  const watched: ThingDescription = { ...init.td, properties: Object.fromEntries(Object.entries(init.td.properties ?? {}).map(([name, p]) => [name, { ...p, observable: true }])) };
  const thing = await ExposedThing.create({ store: new PropertyStore(section), clock }, { slug: 'thing', id: 'urn:uuid:00000000-0000-4000-8000-000000000000', td: watched });
  const reports: [string, unknown][] = [];
  const events: [string, unknown][] = [];
  const warnings: object[] = [];
  for (const name of Object.keys(watched.properties ?? {})) {
    if (!watched.properties![name]!.writeOnly) thing.observeProperty(name, (change) => reports.push([name, change.value]));
  }
  for (const name of Object.keys(init.td.events ?? {})) thing.subscribeEvent(name, (event) => events.push([name, event.data]));
  const device = (await factory(thing, { options: init.options ?? {}, clock, random: createRandom(init.seed ?? 42), log: { warn: (obj) => warnings.push(obj) } })) ?? {};
  return { thing, device, clock, reports, events, warnings, last: (name) => reports.filter(([n]) => n === name).at(-1)?.[1] };
}

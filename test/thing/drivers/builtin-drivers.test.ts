/**
 * Every built-in driver keeps to its own TD: whatever the seed, the stored values it starts
 * from and the valid writes, actions and time it is given, every value it reports, every
 * snapshot, every event's data and every action output validates against the TD's data schema
 * (as output). Fixed seeds, so a failure replays.
 */
import fc from 'fast-check';
import t from 'tap';
import type { ThingDescription } from '../../../src/td/thing-description.js';
import { checkValue } from '../../../src/thing/data-schema.js';
import { builtinDrivers } from '../../../src/thing/drivers/builtin-drivers.js';
import { runDriver, sampleTd } from '../../helpers/driver-harness.js';
import { valueOf } from '../../helpers/schema-arbitrary.js';

/** The bundled TD of each built-in driver type. */
const SAMPLES: Readonly<Record<string, string>> = { 'environment-sensor': 'environment-sensor', thermostat: 'thermostat', 'smart-plug': 'smart-plug' };

type Step = { readonly kind: 'tick'; readonly ms: number } | { readonly kind: 'write'; readonly name: string; readonly value: unknown } | { readonly kind: 'invoke'; readonly name: string; readonly input: unknown };

/** Steps an exposed Thing would let through to the driver: time passing, valid writes, valid invocations. */
function steps(td: ThingDescription): fc.Arbitrary<Step[]> {
  const writable = Object.entries(td.properties ?? {}).filter(([, p]) => !p.readOnly);
  const options: fc.Arbitrary<Step>[] = [fc.integer({ min: 1, max: 180_000 }).map((ms): Step => ({ kind: 'tick', ms }))];
  for (const [name, property] of writable) options.push(valueOf(property).map((value): Step => ({ kind: 'write', name, value })));
  for (const [name, action] of Object.entries(td.actions ?? {})) {
    options.push((action.input === undefined ? fc.constant(undefined) : valueOf(action.input)).map((input): Step => ({ kind: 'invoke', name, input })));
  }
  return fc.array(fc.oneof(...options), { maxLength: 40 });
}

/** Valid stored values of some of the writable properties, as a restart would restore them. */
function storedValues(td: ThingDescription): fc.Arbitrary<Map<string, unknown>> {
  const writable = Object.entries(td.properties ?? {}).filter(([, p]) => !p.readOnly);
  return fc.record(Object.fromEntries(writable.map(([name, p]) => [name, valueOf(p)])), { requiredKeys: [] }).map((values) => new Map(Object.entries(values)));
}

for (const [type, factory] of builtinDrivers) {
  t.test(`${type}: every reported value, snapshot, event and action output validates against its TD`, async (t) => {
    const td = sampleTd(SAMPLES[type]!);
    const options = (td.driver as { options?: Record<string, unknown> } | undefined)?.options ?? {};
    let runs = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), storedValues(td), steps(td), (seed, stored, script) => {
        runs++;
        const h = runDriver(factory, { td, options, stored, seed });
        const checkSnapshot = (): void => {
          for (const [name, value] of Object.entries(h.driver.snapshot())) checkValue(td.properties?.[name], value, name, 'output');
        };
        checkSnapshot();
        h.driver.start();
        for (const step of script) {
          if (step.kind === 'tick') h.clock.advance(step.ms);
          else if (step.kind === 'write') h.driver.write(step.name, step.value);
          else checkValue(td.actions?.[step.name]?.output, h.driver.invoke(step.name, step.input), step.name, 'output');
        }
        h.driver.stop();
        for (const [name, value] of h.reports) {
          if (td.properties?.[name] === undefined) throw new Error(`reported ${name}, which the TD does not declare`);
          checkValue(td.properties[name], value, name, 'output');
        }
        for (const [name, data] of h.events) {
          if (td.events?.[name] === undefined) throw new Error(`emitted ${name}, which the TD does not declare`);
          checkValue(td.events[name].data, data, name, 'output');
        }
        checkSnapshot();
      }),
      { seed: 0xf10c, numRuns: 150 },
    );
    t.equal(runs, 150, 'every generated run was checked');
  });
}

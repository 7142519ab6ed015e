/**
 * Every built-in device keeps to its own TD: whatever the seed, the stored values it starts
 * from and the valid writes, actions and time it is given, every value it reports, every read,
 * every event's data and every action output validates against the TD's data schema (as
 * output), checked here independently of the ExposedThing's own checks. Fixed seeds, so a
 * failure replays.
 */
import fc from 'fast-check';
import t from 'tap';
import { BUILTIN_DEVICES } from '../../src/devices/builtin-devices.js';
import type { ThingDescription } from '../../src/td/thing-description.js';
import { isFinished, type ActionStatus } from '../../src/thing/action-store.js';
import { checkValue } from '../../src/thing/data-schema.js';
import { runDevice, sampleOptions, sampleTd } from '../helpers/device-harness.js';
import { valueOf } from '../helpers/schema-arbitrary.js';

type Step = { readonly kind: 'tick'; readonly ms: number } | { readonly kind: 'write'; readonly name: string; readonly value: unknown } | { readonly kind: 'invoke'; readonly name: string; readonly input: unknown };

/** Steps an exposed Thing would let through to the device: time passing, valid writes, valid invocations. */
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

t.same([...BUILTIN_DEVICES.keys()].sort(), ['environment-sensor', 'smart-plug', 'thermostat'], 'each built-in device has a bundled sample TD checked below');

for (const [type, factory] of BUILTIN_DEVICES) {
  t.test(`${type}: every reported value, read, event and action output validates against its TD`, async (t) => {
    const td = sampleTd(type);
    const options = sampleOptions(type);
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 0xffff_ffff }), storedValues(td), steps(td), async (seed, stored, script) => {
        runs++;
        const h = await runDevice(factory, { td, options, stored, seed });
        const checkReads = async (): Promise<void> => {
          for (const [name, value] of Object.entries(await h.thing.readAllProperties())) checkValue(td.properties?.[name], value, name, 'output');
        };
        await checkReads();
        await h.device.start?.();
        const started: { name: string; id: string }[] = [];
        for (const step of script) {
          if (step.kind === 'tick') h.clock.advance(step.ms);
          else if (step.kind === 'write') await h.thing.writeProperty(step.name, step.value);
          else if (td.actions?.[step.name]?.synchronous === false) started.push({ name: step.name, id: (await h.thing.startAction(step.name, step.input)).id });
          else checkValue(td.actions?.[step.name]?.output, await h.thing.invokeAction(step.name, step.input), step.name, 'output');
        }
        // As a node stops: the devices, then the Things (which interrupt what still runs).
        await h.device.stop?.();
        await h.thing.stop();
        // Asynchronous invocations: each finished by now, its output valid.
        for (const { name, id } of started) {
          const status = await new Promise<ActionStatus>((resolve) => {
            const now = h.thing.queryAction(name, id);
            if (isFinished(now)) resolve(now);
            else h.thing.observeAction(name, id, (next) => isFinished(next) && resolve(next));
          });
          if (status.status === 'completed') checkValue(td.actions?.[name]?.output, status.output, name, 'output');
          else if (status.error?.code !== 'FLOWCHAIN_ERR_ACTION_INTERRUPTED') throw new Error(`${name} failed: ${JSON.stringify(status.error)}`);
        }
        for (const [name, value] of h.reports) checkValue(td.properties?.[name], value, name, 'output');
        for (const [name, data] of h.events) checkValue(td.events?.[name]?.data, data, name, 'output');
        if (h.warnings.length > 0) throw new Error(`the device logged ${JSON.stringify(h.warnings[0])}`);
        await checkReads();
      }),
      { seed: 0xf10c, numRuns: 150 },
    );
    t.equal(runs, 150, 'every generated run was checked');
  });
}

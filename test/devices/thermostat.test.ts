import t from 'tap';
import { thermostat } from '../../src/devices/thermostat.js';
import { runDevice, sampleTd } from '../helpers/device-harness.js';

const td = sampleTd('thermostat');

t.test('starts from stored values when there are any', async (t) => {
  t.match(await (await runDevice(thermostat, { td })).thing.readAllProperties(), { targetTemperature: 21, mode: 'heat' });
  const stored = new Map<string, unknown>([['targetTemperature', 25], ['mode', 'cool']]);
  t.match(await (await runDevice(thermostat, { td, stored })).thing.readAllProperties(), { targetTemperature: 25, mode: 'cool' });
});

t.test('heating walks the room toward the target; off lets it fall back to ambient', async (t) => {
  const h = await runDevice(thermostat, { td, options: { ambient: 18 } });
  await h.thing.writeProperty('targetTemperature', 26);
  await h.device.start?.();
  h.clock.advance(600_000);
  t.ok((h.last('currentTemperature') as number) > 24, `heated to ${h.last('currentTemperature')}`);
  await h.thing.writeProperty('mode', 'off');
  h.clock.advance(600_000);
  t.ok((h.last('currentTemperature') as number) < 20, `cooled back to ${h.last('currentTemperature')}`);
  await h.device.stop?.();
});

t.test('boost raises the target for the given minutes, capped at the TD maximum, then restores it', async (t) => {
  const h = await runDevice(thermostat, { td });
  await h.device.start?.();
  const output = (await h.thing.invokeAction('boost', { minutes: 10, delta: 5 })) as { targetTemperature: number; until: string };
  t.equal(output.targetTemperature, 26);
  t.equal(Date.parse(output.until) - h.clock.now(), 600_000);
  t.equal(h.last('targetTemperature'), 26, 'the boosted target is announced as a change');
  await h.thing.invokeAction('boost', { minutes: 1, delta: 5 });
  t.equal(h.last('targetTemperature'), 30, 'capped at the TD maximum of 30');
  h.clock.advance(60_000);
  t.equal(h.last('targetTemperature'), 26, 'the second boost restores the value it replaced');
  t.equal(h.thing.lastValue('targetTemperature'), 26, 'and the node knows it as the last value');
  await h.device.stop?.();
});

t.test('boost keeps the target on the multipleOf 0.5 grid of its schema: 21 + 0.7 is 21.5, never 21.7', async (t) => {
  const h = await runDevice(thermostat, { td });
  const output = (await h.thing.invokeAction('boost', { minutes: 1, delta: 0.7 })) as { targetTemperature: number };
  t.equal(output.targetTemperature, 21.5);
  t.equal(h.last('targetTemperature'), 21.5);
  t.equal(((await h.thing.invokeAction('boost', { minutes: 1, delta: 1.3 })) as { targetTemperature: number }).targetTemperature, 23, '21.5 + 1.3 = 22.8 rounds to 23');
  await h.device.stop?.();
});

t.test('a stored target the TD no longer allows is brought within it', async (t) => {
  const narrowed = { ...td, properties: { ...td.properties, targetTemperature: { ...td.properties!.targetTemperature!, maximum: 25 } } };
  const h = await runDevice(thermostat, { td: narrowed, stored: new Map([['targetTemperature', 28]]) });
  t.equal(await h.thing.readProperty('targetTemperature'), 25);
});

t.test('a mode option the TD does not list fails with FLOWCHAIN_ERR_TD_INVALID naming it', async (t) => {
  await t.rejects(runDevice(thermostat, { td, options: { mode: 'turbo' } }), { code: 'FLOWCHAIN_ERR_TD_INVALID', field: '/driver/options/mode' });
  const h = await runDevice(thermostat, { td, stored: new Map([['mode', 'turbo']]) });
  t.equal(await h.thing.readProperty('mode'), 'heat', 'a stored mode the TD does not list is ignored');
});

t.test('a TD without the affordances the device needs fails naming the first missing one', async (t) => {
  const { boost: _boost, ...actions } = td.actions!;
  await t.rejects(runDevice(thermostat, { td: { ...td, actions } }), { code: 'FLOWCHAIN_ERR_TD_INVALID', field: '/actions/boost' });
});

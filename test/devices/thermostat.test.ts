import t from 'tap';
import { thermostat } from '../../src/devices/thermostat.js';
import { isFinished, type ActionStatus } from '../../src/thing/action-store.js';
import type { ExposedThing } from '../../src/thing/exposed-thing.js';
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

t.test('the control loop runs at every reading: heating holds the room at the target, it does not cool once it got there', async (t) => {
  const h = await runDevice(thermostat, { td, options: { ambient: 18 } });
  await h.device.start?.();
  await h.thing.writeProperty('targetTemperature', 26);
  h.clock.advance(20 * 60_000);
  // Set lower while the room is warmer: no heating until it has cooled to the target, then heating again.
  await h.thing.writeProperty('targetTemperature', 21);
  h.clock.advance(20 * 60_000);
  const readings: number[] = [];
  for (let i = 0; i < 180; i++) {
    h.clock.advance(10_000);
    readings.push(h.last('currentTemperature') as number);
  }
  t.ok(Math.min(...readings) > 19.5 && Math.max(...readings) < 22.5, `held between ${Math.min(...readings)} and ${Math.max(...readings)} for 30 minutes (target 21 after 26, ambient 18)`);
  await h.device.stop?.();
});

/** Waits until the invocation `id` of boost has finished; answers its last status. */
function finished(thing: ExposedThing, id: string): Promise<ActionStatus> {
  const now = thing.queryAction('boost', id);
  if (isFinished(now)) return Promise.resolve(now);
  return new Promise((resolve) => thing.observeAction('boost', id, (status) => isFinished(status) && resolve(status)));
}
const settle = () => new Promise((resolve) => setImmediate(resolve));

t.test('boost is asynchronous: it runs for the given minutes, capped at the TD maximum, then restores the target and completes', async (t) => {
  const h = await runDevice(thermostat, { td });
  await h.device.start?.();
  const started = await h.thing.startAction('boost', { minutes: 10, delta: 5 });
  await settle();
  t.equal(h.thing.queryAction('boost', started.id).status, 'running');
  t.equal(h.last('targetTemperature'), 26, 'the boosted target is announced as a change');
  h.clock.advance(599_999);
  t.equal(h.thing.queryAction('boost', started.id).status, 'running', 'still running a millisecond before its end');
  h.clock.advance(1);
  const done = await finished(h.thing, started.id);
  t.match(done, { status: 'completed', output: { targetTemperature: 26, until: new Date(600_000 + Date.parse(started.timeRequested)).toISOString() } });
  await settle();
  t.equal(h.last('targetTemperature'), 21, 'restored');
  t.equal(h.thing.lastValue('targetTemperature'), 21, 'and the node knows it as the last value');
  await h.device.stop?.();
});

t.test('a newer boost supersedes a running one, which completes at once; the newer one restores the target from before both', async (t) => {
  const h = await runDevice(thermostat, { td });
  await h.thing.writeProperty('targetTemperature', 27);
  const first = await h.thing.startAction('boost', { minutes: 10, delta: 2 });
  await settle();
  t.equal(h.last('targetTemperature'), 29);
  h.clock.advance(60_000);
  const second = await h.thing.startAction('boost', { minutes: 1, delta: 5 });
  t.match(await finished(h.thing, first.id), { status: 'completed', output: { targetTemperature: 29, until: new Date(h.clock.now()).toISOString() } });
  await settle();
  t.equal(h.last('targetTemperature'), 30, '27 + 5 capped at the TD maximum of 30');
  h.clock.advance(60_000);
  t.match(await finished(h.thing, second.id), { status: 'completed', output: { targetTemperature: 30 } });
  await settle();
  t.equal(h.last('targetTemperature'), 27, 'back to the target from before the first boost');
  await h.device.stop?.();
});

t.test('cancelling a boost ends it at once: the target is restored and the invocation fails with FLOWCHAIN_ERR_ACTION_CANCELLED', async (t) => {
  const h = await runDevice(thermostat, { td });
  const boost = await h.thing.startAction('boost', { minutes: 30 });
  await settle();
  t.equal(h.last('targetTemperature'), 23);
  await h.thing.cancelAction('boost', boost.id);
  t.match(h.thing.queryAction('boost', boost.id), { status: 'failed', error: { code: 'FLOWCHAIN_ERR_ACTION_CANCELLED' } });
  await settle();
  t.equal(h.last('targetTemperature'), 21);
  h.clock.advance(30 * 60_000);
  await settle();
  t.equal(h.reports.filter(([name]) => name === 'targetTemperature').length, 2, 'the cancelled boost has no second end');
});

t.test('the end of a boost leaves alone a target someone wrote meanwhile', async (t) => {
  const h = await runDevice(thermostat, { td });
  const boost = await h.thing.startAction('boost', { minutes: 1 });
  await settle();
  await h.thing.writeProperty('targetTemperature', 19);
  h.clock.advance(60_000);
  t.match(await finished(h.thing, boost.id), { status: 'completed' });
  await settle();
  t.equal(await h.thing.readProperty('targetTemperature'), 19);
});

t.test('boost keeps the target on the multipleOf 0.5 grid of its schema: 21 + 0.7 is 21.5, never 21.7', async (t) => {
  const h = await runDevice(thermostat, { td });
  const first = await h.thing.startAction('boost', { minutes: 1, delta: 0.7 });
  await settle();
  t.equal(h.last('targetTemperature'), 21.5);
  await h.thing.startAction('boost', { minutes: 1, delta: 1.3 });
  t.match(await finished(h.thing, first.id), { output: { targetTemperature: 21.5 } });
  await settle();
  t.equal(h.last('targetTemperature'), 22.5, '21 + 1.3 = 22.3 rounds to 22.5: a newer boost starts from the target before the first');
  await h.device.stop?.();
});

t.test('stopping the device ends a running boost: the target is restored, the invocation fails with FLOWCHAIN_ERR_ACTION_INTERRUPTED', async (t) => {
  const h = await runDevice(thermostat, { td });
  const boost = await h.thing.startAction('boost', { minutes: 5 });
  await settle();
  await h.device.stop?.();
  t.match(await finished(h.thing, boost.id), { status: 'failed', error: { code: 'FLOWCHAIN_ERR_ACTION_INTERRUPTED' } });
  await settle();
  t.equal(h.last('targetTemperature'), 21);
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

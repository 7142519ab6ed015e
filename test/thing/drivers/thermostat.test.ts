import t from 'tap';
import { thermostat } from '../../../src/thing/drivers/thermostat.js';
import { runDriver, sampleTd } from '../../helpers/driver-harness.js';

const td = sampleTd('thermostat');

t.test('starts from stored values when there are any', async (t) => {
  t.match(runDriver(thermostat, { td }).driver.snapshot(), { targetTemperature: 21, mode: 'heat' });
  const stored = new Map<string, unknown>([['targetTemperature', 25], ['mode', 'cool']]);
  t.match(runDriver(thermostat, { td, stored }).driver.snapshot(), { targetTemperature: 25, mode: 'cool' });
});

t.test('heating walks the room toward the target; off lets it fall back to ambient', async (t) => {
  const h = runDriver(thermostat, { td, options: { ambient: 18 } });
  h.driver.write('targetTemperature', 26);
  h.driver.start();
  h.clock.advance(600_000);
  t.ok((h.last('currentTemperature') as number) > 24, `heated to ${h.last('currentTemperature')}`);
  h.driver.write('mode', 'off');
  h.clock.advance(600_000);
  t.ok((h.last('currentTemperature') as number) < 20, `cooled back to ${h.last('currentTemperature')}`);
  h.driver.stop();
});

t.test('boost raises the target for the given minutes, capped at the TD maximum, then restores it', async (t) => {
  const h = runDriver(thermostat, { td });
  h.driver.start();
  const output = h.driver.invoke('boost', { minutes: 10, delta: 5 }) as { targetTemperature: number; until: string };
  t.equal(output.targetTemperature, 26);
  t.equal(Date.parse(output.until) - h.clock.now(), 600_000);
  t.equal(h.last('targetTemperature'), 26);
  h.driver.invoke('boost', { minutes: 1, delta: 5 });
  t.equal(h.last('targetTemperature'), 30, 'capped at the TD maximum of 30');
  h.clock.advance(60_000);
  t.equal(h.last('targetTemperature'), 26, 'the second boost restores the value it replaced');
  h.driver.stop();
});

t.test('boost keeps the target on the multipleOf 0.5 grid of its schema: 21 + 0.7 is 21.5, never 21.7', async (t) => {
  const h = runDriver(thermostat, { td });
  h.driver.start();
  const output = h.driver.invoke('boost', { minutes: 1, delta: 0.7 }) as { targetTemperature: number };
  t.equal(output.targetTemperature, 21.5);
  t.equal(h.last('targetTemperature'), 21.5);
  t.equal((h.driver.invoke('boost', { minutes: 1, delta: 1.3 }) as { targetTemperature: number }).targetTemperature, 23, '21.5 + 1.3 = 22.8 rounds to 23');
  h.driver.stop();
});

t.test('a stored target the TD no longer allows is brought within it', async (t) => {
  const narrowed = { ...td, properties: { ...td.properties, targetTemperature: { ...td.properties!.targetTemperature!, maximum: 25 } } };
  const h = runDriver(thermostat, { td: narrowed, stored: new Map([['targetTemperature', 28]]) });
  t.equal(h.driver.snapshot().targetTemperature, 25);
});

t.test('a mode option the TD does not list fails with FLOWCHAIN_ERR_TD_INVALID naming it', async (t) => {
  t.throws(() => runDriver(thermostat, { td, options: { mode: 'turbo' } }), { code: 'FLOWCHAIN_ERR_TD_INVALID', field: '/driver/options/mode' });
  t.equal(runDriver(thermostat, { td, stored: new Map([['mode', 'turbo']]) }).driver.snapshot().mode, 'heat', 'a stored mode the TD does not list is ignored');
});

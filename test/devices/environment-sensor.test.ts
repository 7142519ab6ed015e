import t from 'tap';
import { environmentSensor } from '../../src/devices/environment-sensor.js';
import { runDevice, sampleTd } from '../helpers/device-harness.js';

const td = sampleTd('environment-sensor');

t.test('samples temperature and humidity every interval, the same for the same seed', async (t) => {
  const a = await runDevice(environmentSensor, { td, options: { intervalMs: 500 } });
  const b = await runDevice(environmentSensor, { td, options: { intervalMs: 500 } });
  for (const h of [a, b]) {
    await h.device.start?.();
    h.clock.advance(5_000);
    await h.device.stop?.();
  }
  // An unchanged reading is not announced again, so count the distinct ones the walk made.
  t.ok(a.reports.filter(([n]) => n === 'temperature').length >= 8);
  t.ok(a.reports.filter(([n]) => n === 'humidity').length >= 8);
  t.same(a.reports, b.reports, 'deterministic for a fixed seed');
  const before = a.reports.length;
  a.clock.advance(5_000);
  t.equal(a.reports.length, before, 'stop() cancels sampling');
});

t.test('overheat fires once when the temperature rises through the threshold, and re-arms below it', async (t) => {
  const threshold = 22.2;
  const h = await runDevice(environmentSensor, { td, options: { temperature: 22, overheatThreshold: threshold } });
  await h.device.start?.();
  h.clock.advance(3_600_000);
  await h.device.stop?.();
  const temps = h.reports.filter(([n]) => n === 'temperature').map(([, v]) => v as number);
  // Count the crossings independently: armed below threshold-0.5, fires at >= threshold.
  let armed = true;
  let expected = 0;
  for (const v of temps) {
    if (armed && v >= threshold) {
      expected++;
      armed = false;
    } else if (!armed && v < threshold - 0.5) armed = true;
  }
  t.ok(expected > 1, `the walk crossed the threshold ${expected} times`);
  t.equal(h.events.length, expected);
  for (const [name, data] of h.events) {
    t.equal(name, 'overheat');
    t.ok((data as { temperature: number }).temperature >= threshold);
  }
});

t.test('a non-numeric option is a TD error naming the option', async (t) => {
  await t.rejects(runDevice(environmentSensor, { td, options: { intervalMs: 'fast' } }), { code: 'FLOWCHAIN_ERR_TD_INVALID', field: '/driver/options/intervalMs' });
});

t.test('a start value outside the TD bounds starts at the nearest bound', async (t) => {
  const h = await runDevice(environmentSensor, { td, options: { temperature: 500, humidity: -3 } });
  t.same(await h.thing.readAllProperties(), { temperature: 85, humidity: 0 });
});

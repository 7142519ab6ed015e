import t from 'tap';
import { smartPlug } from '../../src/devices/smart-plug.js';
import { runDevice, sampleTd } from '../helpers/device-harness.js';

const td = sampleTd('smart-plug');

t.test('off draws nothing; on draws a noisy load near the configured watts', async (t) => {
  const h = await runDevice(smartPlug, { td, options: { loadWatts: 100 } });
  t.same(await h.thing.readAllProperties(), { on: false, power: 0 });
  await h.device.start?.();
  h.clock.advance(10_000);
  t.equal(h.last('power'), 0);
  await h.thing.writeProperty('on', true);
  h.clock.advance(10_000);
  const power = h.last('power') as number;
  t.ok(power > 50 && power < 150, `draws ${power} W`);
  await h.device.stop?.();
});

t.test('toggle flips the state, announces it and returns it', async (t) => {
  const h = await runDevice(smartPlug, { td, stored: new Map([['on', true]]) });
  t.same(await h.thing.invokeAction('toggle', undefined), { on: false });
  t.equal(h.last('on'), false);
  t.equal(h.last('power'), 0);
  t.same(await h.thing.invokeAction('toggle', undefined), { on: true });
  t.equal(h.last('on'), true);
  t.equal(h.thing.lastValue('on'), true);
});

t.test('a negative loadWatts option draws nothing rather than a power below the TD minimum of 0', async (t) => {
  const h = await runDevice(smartPlug, { td, options: { loadWatts: -60 } });
  await h.device.start?.();
  await h.thing.invokeAction('toggle', undefined);
  h.clock.advance(5_000);
  t.equal(h.last('on'), true, 'switched on');
  t.ok(h.reports.filter(([name]) => name === 'power').every(([, value]) => value === 0), 'every announced power is 0');
  t.equal(await h.thing.readProperty('power'), 0);
  await h.device.stop?.();
});

t.test('an idle plug announces its first reading when it starts and nothing on later ticks', async (t) => {
  const h = await runDevice(smartPlug, { td });
  await h.device.start?.();
  t.same(h.reports, [['power', 0]], 'the reading is taken before start() returns');
  h.clock.advance(5_000);
  t.same(h.reports, [['power', 0]], 'five ticks of 0 W change nothing, so a dashboard never sees the plug as live');
  await h.device.stop?.();
});

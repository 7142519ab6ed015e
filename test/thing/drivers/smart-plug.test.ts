import t from 'tap';
import { smartPlug } from '../../../src/thing/drivers/smart-plug.js';
import { runDriver, sampleTd } from '../../helpers/driver-harness.js';

const td = sampleTd('smart-plug');

t.test('off draws nothing; on draws a noisy load near the configured watts', async (t) => {
  const h = runDriver(smartPlug, { td, options: { loadWatts: 100 } });
  t.same(h.driver.snapshot(), { on: false, power: 0 });
  h.driver.start();
  h.clock.advance(10_000);
  t.equal(h.last('power'), 0);
  h.driver.write('on', true);
  h.clock.advance(10_000);
  const power = h.last('power') as number;
  t.ok(power > 50 && power < 150, `draws ${power} W`);
  h.driver.stop();
});

t.test('toggle flips the state, reports it and returns it', async (t) => {
  const h = runDriver(smartPlug, { td, stored: new Map([['on', true]]) });
  t.same(h.driver.invoke('toggle', undefined), { on: false });
  t.equal(h.last('on'), false);
  t.equal(h.last('power'), 0);
  t.same(h.driver.invoke('toggle', undefined), { on: true });
  t.equal(h.last('on'), true);
});

t.test('a negative loadWatts option draws nothing rather than a power below the TD minimum of 0', async (t) => {
  const h = runDriver(smartPlug, { td: sampleTd('smart-plug'), options: { loadWatts: -60 } });
  h.driver.start();
  h.driver.invoke('toggle', undefined);
  h.clock.advance(5_000);
  t.ok(h.reports.filter(([name]) => name === 'power').every(([, value]) => value === 0));
  h.driver.stop();
});

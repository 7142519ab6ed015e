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

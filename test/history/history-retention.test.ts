/**
 * The history's retention in a node: values and events older than `retainHistory` go at the
 * node's own retention pass (at start, then every 10 minutes), the rest stay.
 */
import t from 'tap';
import { createServient } from '../helpers/test-servient.js';

t.test('a node drops the history past --retain-history at its retention pass, and keeps the rest', async (t) => {
  const { servient, clock } = await createServient(t, { retainHistory: 5 * 60_000 });
  const sensor = servient.registry.get('environment-sensor');
  const start = clock.now();
  await sensor.emitPropertyChange('temperature', 21.5);
  sensor.emitEvent('overheat', { temperature: 31, threshold: 30 });
  clock.advance(6 * 60_000);
  await sensor.emitPropertyChange('temperature', 22.5);
  const values = async () => ((await servient.app.inject('/things/environment-sensor/properties/temperature/history')).json() as { value: number; timestamp: number }[]).map((e) => [e.value, e.timestamp - start]);
  const events = async () => (await servient.app.inject('/things/environment-sensor/events/overheat/history')).json() as unknown[];
  t.same(await values(), [[22.5, 6 * 60_000], [21.5, 0]], 'both values, before the node runs its retention');
  await servient.start();
  // The pass at start: 21.5 is six minutes old, past five.
  let kept = await values();
  let old = await events();
  for (let i = 0; i < 200 && (kept.length > 1 || old.length > 0); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    [kept, old] = [await values(), await events()];
  }
  t.same(kept, [[22.5, 6 * 60_000]], 'the old value went, the recent one stayed');
  t.same(old, [], 'and the old event');
  // Ten minutes on (the sensor reading meanwhile), the next pass takes what aged past five minutes.
  clock.advance(10 * 60_000);
  const cut = clock.now() - start - 5 * 60_000;
  for (let i = 0; i < 200 && kept.some(([, at]) => at! < cut); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    kept = await values();
  }
  t.notOk(kept.some(([value]) => value === 22.5), 'the next pass, ten minutes later, dropped 22.5');
  t.ok(kept.length > 0 && kept.every(([, at]) => at! >= cut), 'and kept the readings of the last five minutes');
});

import t from 'tap';
import { createRandom, deriveSeed, RandomWalk } from '../../src/common/random.js';

t.test('the same seed gives the same sequence, another seed another one', async (t) => {
  const a = createRandom(42);
  const b = createRandom(42);
  const c = createRandom(43);
  const seqA = Array.from({ length: 20 }, () => a.next());
  t.same(Array.from({ length: 20 }, () => b.next()), seqA);
  t.notSame(Array.from({ length: 20 }, () => c.next()), seqA);
});

t.test('numbers are in [0, 1) and roughly uniform', async (t) => {
  const random = createRandom(1);
  const buckets = new Array<number>(10).fill(0);
  let outOfRange = 0;
  for (let i = 0; i < 100_000; i++) {
    const x = random.next();
    if (!(x >= 0 && x < 1)) outOfRange++;
    else buckets[Math.floor(x * 10)]!++;
  }
  t.equal(outOfRange, 0);
  for (const count of buckets) t.ok(count > 9_500 && count < 10_500, `bucket holds ${count} of 100000`);
});

t.test('derived seeds differ by label and are stable', async (t) => {
  t.equal(deriveSeed(42, 'thermostat'), deriveSeed(42, 'thermostat'));
  t.not(deriveSeed(42, 'thermostat'), deriveSeed(42, 'smart-plug'));
  t.not(deriveSeed(42, 'thermostat'), deriveSeed(43, 'thermostat'));
});

t.test('a random walk stays within its bounds and reverts toward its target', async (t) => {
  const walk = new RandomWalk(createRandom(5), { start: 20, step: 2, min: 15, max: 25, decimals: 1 });
  let outside = 0;
  for (let i = 0; i < 10_000; i++) {
    const v = walk.step();
    if (v < 15 || v > 25) outside++;
  }
  t.equal(outside, 0);
  const mean = (): number => {
    let sum = 0;
    for (let i = 0; i < 2_000; i++) sum += walk.step();
    return sum / 2_000;
  };
  const atStart = mean();
  walk.target = 24;
  const retargeted = mean();
  t.ok(retargeted - atStart > 1, `mean moved from ${atStart} to ${retargeted}`);
});

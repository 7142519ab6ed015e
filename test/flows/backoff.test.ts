/** Backoff delays: within [cap/2, cap], the cap doubling from the base up to the maximum. */
import fc from 'fast-check';
import t from 'tap';
import { backoffDelay, DEFAULT_BACKOFF } from '../../src/flows/backoff.js';

t.test('each delay lies in [cap/2, cap] with cap = min(max, base × 2^attempt)', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 100 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 100_000 }), (attempt, r, baseMs, extra) => {
      const policy = { baseMs, maxMs: baseMs + extra };
      const cap = Math.min(policy.maxMs, baseMs * 2 ** attempt);
      const delay = backoffDelay(attempt, policy, { next: () => r });
      return delay >= Math.floor(cap / 2) && delay <= Math.ceil(cap);
    }),
  );
  t.pass('checked');
});

t.test('the default starts under half a second and stops growing at 15 s', async (t) => {
  const lowest = { next: () => 0 };
  const highest = { next: () => 0.999999 };
  t.equal(backoffDelay(0, DEFAULT_BACKOFF, highest), 500);
  t.equal(backoffDelay(0, DEFAULT_BACKOFF, lowest), 250);
  t.equal(backoffDelay(40, DEFAULT_BACKOFF, highest), 15_000);
  t.equal(backoffDelay(40, DEFAULT_BACKOFF, lowest), 7_500);
});

import t from 'tap';
import { pooledRandomBytes } from '../../src/common/system-random.js';

t.test('pooled random bytes: the lengths asked, never the same bytes twice, across refills and beyond the pool', async (t) => {
  const next = pooledRandomBytes(64);
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const bytes = next(16);
    t.equal(bytes.length, 16);
    seen.add(Buffer.from(bytes).toString('hex'));
  }
  t.equal(seen.size, 100, '100 draws of 16 bytes are all different (a repeat has probability 2^-115)');
  const first = next(16);
  const copy = Uint8Array.from(first);
  for (let i = 0; i < 10; i++) next(16);
  t.same(first, copy, 'a refill does not change bytes already handed out');
  t.equal(next(100).length, 100, 'more than a pool at once');
});

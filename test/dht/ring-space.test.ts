import fc from 'fast-check';
import t from 'tap';
import { RING, RingSpace } from '../../src/dht/ring-space.js';

// Brute-force oracles: walk the circle one step at a time in a small space.
const small = new RingSpace(6);
const walk = (from: bigint, to: bigint): bigint[] => {
  const out: bigint[] = [];
  for (let x = (from + 1n) % small.size; x !== to; x = (x + 1n) % small.size) out.push(x);
  return out;
};
const id = fc.bigInt({ min: 0n, max: small.size - 1n });

t.test('between (a, b) equals the brute-force walk from a to b, across zero too', async (t) => {
  fc.assert(
    fc.property(id, id, id, (x, a, b) => {
      const expected = a === b ? x !== a : walk(a, b).includes(x);
      return small.between(x, a, b) === expected;
    }),
    { numRuns: 5_000, seed: 1 },
  );
  t.ok(small.between(1n, 60n, 3n), 'wraps past zero');
  t.notOk(small.between(3n, 60n, 3n), 'open at the right end');
  t.pass('property held for 5000 cases');
});

t.test('betweenRightInclusive (a, b] equals the walk plus b', async (t) => {
  fc.assert(
    fc.property(id, id, id, (x, a, b) => {
      const expected = a === b ? true : [...walk(a, b), b].includes(x);
      return small.betweenRightInclusive(x, a, b) === expected;
    }),
    { numRuns: 5_000, seed: 2 },
  );
  t.ok(small.betweenRightInclusive(3n, 60n, 3n));
  t.notOk(small.betweenRightInclusive(60n, 60n, 3n));
});

t.test('distance and add are arithmetic modulo 2^m', async (t) => {
  fc.assert(
    fc.property(id, id, (a, b) => small.add(a, small.distance(a, b)) === b && small.distance(a, b) === (((b - a) % 64n) + 64n) % 64n),
    { numRuns: 2_000, seed: 3 },
  );
  t.equal(RING.add(RING.size - 1n, 1n), 0n);
  t.equal(RING.fingerStart(RING.size - 1n, 159), (1n << 159n) - 1n);
  t.equal(RING.fingerStart(0n, 0), 1n);
});

t.test('hex round-trips at 40 digits and rejects anything else', async (t) => {
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: RING.size - 1n }), (x) => RING.fromHex(RING.toHex(x)) === x && RING.toHex(x).length === 40), { seed: 4 });
  for (const bad of ['', 'abc', 'g'.repeat(40), '0'.repeat(41), `0x${'0'.repeat(38)}`]) {
    t.throws(() => RING.fromHex(bad), { code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' }, JSON.stringify(bad));
  }
  t.equal(RING.fromBytes(new Uint8Array(20).fill(0xff)), RING.size - 1n);
  t.equal(RING.fromBytes(Uint8Array.of(1, 0)), 256n);
});

t.test('a space needs a sensible size', async (t) => {
  t.throws(() => new RingSpace(0), RangeError);
  t.throws(() => new RingSpace(1.5), RangeError);
});

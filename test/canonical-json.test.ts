import fc from 'fast-check';
import t from 'tap';
import { canonicalJson } from '../src/canonical-json.js';

t.test('sorts members at every depth and drops undefined ones', async (t) => {
  t.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null }, u: undefined }), '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  t.equal(canonicalJson([undefined, 'x']), '[null,"x"]');
  t.throws(() => canonicalJson(undefined));
});

t.test('is JSON that parses back to the same value, whatever the member order', async (t) => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const text = canonicalJson(value);
      return JSON.stringify(JSON.parse(text)) === JSON.stringify(JSON.parse(canonicalJson(JSON.parse(JSON.stringify(value)))));
    }),
    { seed: 11, numRuns: 500 },
  );
  const a = { x: 1, y: [1, 2], z: { q: true } };
  const b = { z: { q: true }, y: [1, 2], x: 1 };
  t.equal(canonicalJson(a), canonicalJson(b));
});

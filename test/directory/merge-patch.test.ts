import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import t from 'tap';
import { applyMergePatch, mergePatchBetween } from '../../src/directory/merge-patch.js';

// RFC 7396 Appendix A, every example: [target, patch, result].
const RFC_7396_EXAMPLES: [unknown, unknown, unknown][] = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [['a', 'b'], ['c', 'd'], ['c', 'd']],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

t.test('applyMergePatch gives the result of every example of RFC 7396 Appendix A', async (t) => {
  for (const [target, patch, result] of RFC_7396_EXAMPLES) t.same(applyMergePatch(target, patch), result, `${JSON.stringify(target)} + ${JSON.stringify(patch)}`);
});

t.test('applyMergePatch leaves its inputs unchanged', async (t) => {
  const target = { a: { b: 1 }, c: 2 };
  const patch = { a: { b: null }, c: null };
  applyMergePatch(target, patch);
  t.same(target, { a: { b: 1 }, c: 2 });
  t.same(patch, { a: { b: null }, c: null });
});

// JSON objects without null members: a merge patch cannot say "set to null" (RFC 7396 §5).
const noNulls = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.boolean(), fc.integer(), fc.string(), fc.array(fc.integer(), { maxLength: 3 }), tie('object')),
  object: fc.dictionary(fc.string({ maxLength: 4 }).filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 4, noNullPrototype: true }),
})).object as fc.Arbitrary<Record<string, unknown>>;

t.test('mergePatchBetween(a, b) applied to a gives b, and is undefined exactly when a equals b', async (t) => {
  fc.assert(
    fc.property(noNulls, noNulls, (a, b) => {
      const patch = mergePatchBetween(a, b);
      return isDeepStrictEqual(applyMergePatch(a, patch ?? {}), b) && (patch === undefined) === isDeepStrictEqual(a, b);
    }),
    { numRuns: 200 },
  );
  t.equal(mergePatchBetween({ a: 1, b: { c: 2 } }, { a: 1, b: { c: 2 } }), undefined, 'equal documents need no patch');
  t.same(mergePatchBetween({ a: 1, b: { c: 2, d: 3 } }, { b: { c: 2, d: 4 }, e: [1] }), { a: null, b: { d: 4 }, e: [1] });
});

import fc from 'fast-check';
import t from 'tap';
import { editDistance, nearest } from '../../src/cli/nearest.js';

t.test('a swap of two adjacent letters is one edit; insertions, deletions and substitutions one each', async (t) => {
  t.equal(editDistance('prot', 'port'), 1);
  t.equal(editDistance('strat', 'start'), 1);
  t.equal(editDistance('verfy', 'verify'), 1);
  t.equal(editDistance('dataa', 'data'), 1);
  t.equal(editDistance('host', 'post'), 1);
  t.equal(editDistance('', 'abc'), 3);
  t.equal(editDistance('kitten', 'sitting'), 3);
});

t.test('edit distance is zero only between equal names, symmetric, and at most the longer length', async () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
      const d = editDistance(a, b);
      return d === editDistance(b, a) && (d === 0) === (a === b) && d <= Math.max(a.length, b.length) && d >= Math.abs(a.length - b.length);
    }),
  );
});

t.test('the nearest name: the shortest completion, else the closest within a third of the length', async (t) => {
  const flags = ['port', 'peer-port', 'host', 'data', 'anchor', 'anchor-rpc', 'anchor-key-file'];
  t.equal(nearest('prot', flags), 'port');
  t.equal(nearest('anchor-k', flags), 'anchor-key-file', 'a unique completion');
  t.equal(nearest('anch', flags), 'anchor', 'several completions: the shortest');
  t.equal(nearest('peer-prot', flags), 'peer-port');
  t.equal(nearest('xyz', flags), undefined, 'nothing close');
  t.equal(nearest('frobnicate', ['start', 'ring', 'id', 'verify', 'verify-receipt', 'help']), undefined);
  t.equal(nearest('verify-reciept', ['start', 'verify', 'verify-receipt']), 'verify-receipt');
});

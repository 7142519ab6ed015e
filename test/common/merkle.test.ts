/**
 * Merkle roots and proofs against trees built independently here with node:crypto, following
 * the rules written in src/common/merkle.ts (prefixes 0x00/0x01, odd node carried up).
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { merkleProof, merkleProofs, merkleRoot, rootFromProof } from '../../src/common/merkle.js';

const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const leaf = (i: number) => createHash('sha256').update(`leaf ${i}`).digest('hex');
const L = (hex: string) => sha(Buffer.from([0]), Buffer.from(hex, 'hex'));
const N = (a: Buffer, b: Buffer) => sha(Buffer.from([1]), a, b);

t.test('roots of one, two, three and five leaves, computed by hand', async (t) => {
  const [a, b, c, d, e] = [0, 1, 2, 3, 4].map(leaf) as [string, string, string, string, string];
  t.equal(merkleRoot([a]), L(a).toString('hex'), 'one leaf: its leaf node');
  t.equal(merkleRoot([a, b]), N(L(a), L(b)).toString('hex'));
  t.equal(merkleRoot([a, b, c]), N(N(L(a), L(b)), L(c)).toString('hex'), 'the odd node is carried up, not paired with itself');
  t.equal(merkleRoot([a, b, c, d, e]), N(N(N(L(a), L(b)), N(L(c), L(d))), L(e)).toString('hex'));
  t.not(merkleRoot([a, b, c]), merkleRoot([a, b, c, c]), 'a duplicated last leaf gives another root');
  t.throws(() => merkleRoot([]), RangeError);
  t.throws(() => merkleRoot(['abcd']), RangeError, 'leaves are 32-byte digests');
});

t.test('every leaf of trees from 1 to 17 leaves has a proof that leads to the root, and only there', async (t) => {
  for (let count = 1; count <= 17; count++) {
    const leaves = Array.from({ length: count }, (_, i) => leaf(i));
    const root = merkleRoot(leaves);
    for (let i = 0; i < count; i++) {
      const proof = merkleProof(leaves, i);
      if (rootFromProof(leaves[i]!, proof) !== root) t.fail(`leaf ${i} of ${count}`);
      if (count > 1 && rootFromProof(leaves[(i + 1) % count]!, proof) === root) t.fail(`another leaf passes for leaf ${i} of ${count}`);
    }
  }
  t.pass('checked 153 proofs');
});

t.test('a tampered proof leads nowhere', async (t) => {
  const leaves = Array.from({ length: 6 }, (_, i) => leaf(i));
  const root = merkleRoot(leaves);
  const proof = merkleProof(leaves, 4);
  t.equal(rootFromProof(leaves[4]!, proof), root);
  const flipped = proof.path.map((step, i) => (i === 0 ? { ...step, hash: step.hash.replace(/^./, (c) => (c === '0' ? '1' : '0')) } : step));
  t.not(rootFromProof(leaves[4]!, { ...proof, path: flipped }), root, 'a changed sibling');
  t.equal(rootFromProof(leaves[4]!, { ...proof, index: 5 }), undefined, 'an index the path does not fit');
  t.equal(rootFromProof(leaves[4]!, { ...proof, count: 8 }), undefined, 'a count the path does not fit');
  t.equal(rootFromProof(leaves[4]!, { ...proof, path: [...proof.path, proof.path[0]!] }), undefined, 'an extra step');
  t.equal(rootFromProof(leaves[4]!, { ...proof, path: proof.path.map((s) => ({ ...s, side: s.side === 'left' ? 'right' : 'left' })) }), undefined, 'sides swapped');
  t.equal(rootFromProof(leaves[4]!, JSON.parse('{"index":"x","count":6,"path":[]}')), undefined, 'garbage');
});

t.test('merkleProofs gives the root and, for every leaf, the proof merkleProof gives', async (t) => {
  for (const count of [1, 2, 3, 5, 8, 13, 64]) {
    const leaves = Array.from({ length: count }, (_, i) => createHash('sha256').update(`leaf ${i}`).digest('hex'));
    const { root, proofs } = merkleProofs(leaves);
    t.equal(root, merkleRoot(leaves), `the root of ${count}`);
    t.same(proofs, leaves.map((_, i) => merkleProof(leaves, i)), `every proof of ${count}`);
    t.ok(proofs.every((proof, i) => rootFromProof(leaves[i]!, proof) === root));
  }
  t.throws(() => merkleProofs([]), RangeError);
});

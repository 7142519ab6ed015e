/** The miner's nonce search: the same double SHA-256 as Node's, and the same verdict as the target check. */
import { createHash } from 'node:crypto';
import t from 'tap';
import { encodeHeader, headerHash, meetsTarget, targetOf, type BlockHeader } from '../../src/ledger/block.js';
import { nonceSearch } from '../../src/ledger/nonce-search.js';

const sha256d = (bytes: Uint8Array): Buffer => createHash('sha256').update(createHash('sha256').update(bytes).digest()).digest();
/** A deterministic byte source, so a failure can be replayed. */
const bytesFrom = (seed: number, length: number): Uint8Array => {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
};

t.test('the double hash equals SHA-256(SHA-256(header)) for headers of every padding case and any nonce', async (t) => {
  // 8 to 200 bytes: the nonce within one block, across two, and padding that needs a block of its own.
  for (const length of [8, 9, 55, 56, 63, 64, 65, 70, 119, 120, 127, 128, 181, 200]) {
    for (const [hi, lo] of [[0, 0], [0xffffffff, 0xffffffff], [0x01234567, 0x89abcdef], [0x80000000, 1]] as const) {
      const header = bytesFrom(length * 7 + hi, length);
      const search = nonceSearch(header, new Uint8Array(32).fill(0xff));
      const withNonce = Uint8Array.from(header);
      new DataView(withNonce.buffer).setUint32(length - 8, hi);
      new DataView(withNonce.buffer).setUint32(length - 4, lo);
      t.same(Buffer.from(search.hash(hi, lo)), sha256d(withNonce), `length ${length}, nonce ${hi.toString(16)}:${lo.toString(16)}`);
    }
  }
});

t.test('on a block header it agrees with headerHash and meetsTarget, nonce after nonce', async (t) => {
  const header: BlockHeader = {
    version: 1,
    height: 7,
    previousHash: Buffer.from(bytesFrom(1, 32)).toString('hex'),
    openedAt: 1_767_225_600_000,
    openingNonce: Buffer.from(bytesFrom(2, 16)).toString('hex'),
    sealedAt: 1_767_225_601_000,
    merkleRoot: Buffer.from(bytesFrom(3, 32)).toString('hex'),
    txCount: 3,
    difficulty: 16,
    stake: 1,
    minerId: '3'.repeat(40),
    minerKey: '4'.repeat(64),
    miningNonce: '0',
  };
  const target = Buffer.from(targetOf(header.difficulty, header.stake).toString(16).padStart(64, '0'), 'hex');
  const search = nonceSearch(encodeHeader(header), target);
  let solved = 0;
  for (let i = 0; i < 400; i++) {
    const nonce = (0xfffffff0n << 32n) + 0xffffff00n + BigInt(i); // crosses a carry into the high half
    const hi = Number(nonce >> 32n);
    const lo = Number(nonce & 0xffffffffn);
    const hash = headerHash({ ...header, miningNonce: nonce.toString() });
    if (Buffer.from(search.hash(hi, lo)).toString('hex') !== hash) return t.fail(`hash of nonce ${nonce}`);
    const meets = meetsTarget(hash, header);
    if (search.solves(hi, lo) !== meets) return t.fail(`verdict on nonce ${nonce}`);
    if (meets) solved++;
  }
  t.ok(solved > 0 && solved < 400, `both verdicts occur (${solved} of 400 solve difficulty 16)`);
});

t.test('a hash equal to the target solves it; one above does not', async (t) => {
  const header = bytesFrom(9, 181);
  const hash = Buffer.from(nonceSearch(header, new Uint8Array(32)).hash(5, 6));
  t.ok(nonceSearch(header, hash).solves(5, 6), 'equal: solved');
  const below = Buffer.from(hash);
  for (let i = 31; i >= 0; i--) {
    if (below[i]! > 0) {
      below[i]!--;
      break;
    }
    below[i] = 0xff;
  }
  t.notOk(nonceSearch(header, below).solves(5, 6), 'target one below the hash: not solved');
});

t.test('bad arguments are refused', async (t) => {
  t.throws(() => nonceSearch(new Uint8Array(7), new Uint8Array(32)), RangeError);
  t.throws(() => nonceSearch(new Uint8Array(181), new Uint8Array(31)), RangeError);
});

/**
 * The block header's byte layout, hash, puzzle and checks, against bytes written here field by
 * field with Buffer (independently of encodeHeader).
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { checkBlock, checkLink, encodeHeader, GENESIS_PREVIOUS, headerHash, meetsTarget, nextDifficulty, targetOf, type Block, type BlockHeader } from '../../src/ledger/block.js';
import { merkleRoot } from '../../src/common/merkle.js';
import { NodeIdentity } from '../../src/node-identity.js';

const identity = NodeIdentity.fromSecretKey(new Uint8Array(32).fill(7));
const hex = (byte: number, length: number) => byte.toString(16).padStart(2, '0').repeat(length);
const txIds = [hex(0xaa, 32), hex(0xbb, 32), hex(0xcc, 32)];

const base: BlockHeader = {
  version: 1,
  height: 5,
  previousHash: hex(0x11, 32),
  openedAt: 1_767_225_600_000,
  openingNonce: hex(0x22, 16),
  sealedAt: 1_767_225_601_000,
  merkleRoot: merkleRoot(txIds),
  txCount: 3,
  difficulty: 64,
  stake: 2,
  minerId: createHash('sha1').update(identity.publicKey).digest('hex'),
  minerKey: Buffer.from(identity.publicKey).toString('hex'),
  miningNonce: '18446744073709551615',
};

/** Tries nonces until the puzzle is solved, then signs: a block made without the Miner. */
function mine(header: BlockHeader): Block {
  for (let nonce = 0n; ; nonce++) {
    const candidate = { ...header, miningNonce: nonce.toString() };
    const hash = headerHash(candidate);
    if (meetsTarget(hash, candidate)) return { header: candidate, hash, signature: Buffer.from(identity.sign(Buffer.from(hash, 'hex'))).toString('hex'), txIds };
  }
}

t.test('the header is 181 bytes in the documented order, and its hash is double SHA-256', async (t) => {
  const expected = Buffer.alloc(181);
  let o = 0;
  o = expected.writeUInt8(1, o);
  o = expected.writeBigUInt64BE(5n, o);
  o += expected.write(base.previousHash, o, 'hex');
  o = expected.writeBigUInt64BE(BigInt(base.openedAt), o);
  o += expected.write(base.openingNonce, o, 'hex');
  o = expected.writeBigUInt64BE(BigInt(base.sealedAt), o);
  o += expected.write(base.merkleRoot, o, 'hex');
  o = expected.writeUInt32BE(3, o);
  o = expected.writeBigUInt64BE(64n, o);
  o = expected.writeUInt32BE(2, o);
  o += expected.write(base.minerId, o, 'hex');
  o += expected.write(base.minerKey, o, 'hex');
  o = expected.writeBigUInt64BE(2n ** 64n - 1n, o);
  t.equal(o, 181);
  t.equal(Buffer.from(encodeHeader(base)).toString('hex'), expected.toString('hex'));
  const double = createHash('sha256').update(createHash('sha256').update(expected).digest()).digest('hex');
  t.equal(headerHash(base), double);
  t.throws(() => encodeHeader({ ...base, previousHash: 'ab' }), RangeError);
  t.throws(() => encodeHeader({ ...base, miningNonce: (2n ** 64n).toString() }), RangeError);
  t.throws(() => encodeHeader({ ...base, txCount: -1 }), RangeError);
});

t.test('the target scales with stake and falls with difficulty', async (t) => {
  const max = 2n ** 256n - 1n;
  t.equal(targetOf(1, 1), max);
  t.equal(targetOf(64, 2), (max * 2n) / 64n);
  t.equal(targetOf(1, 5), max, 'never above the largest hash');
  t.ok(meetsTarget('f'.repeat(64), { difficulty: 1, stake: 1 }));
  t.notOk(meetsTarget('8'.padEnd(64, '0'), { difficulty: 4, stake: 1 }), '2^255 is above 2^256/4');
  t.ok(meetsTarget('3'.padEnd(64, 'f'), { difficulty: 4, stake: 1 }));
});

t.test('a mined block passes its checks, and a change to any field is caught', async (t) => {
  const block = mine(base);
  t.equal(checkBlock(block, NodeIdentity.verify), undefined, 'sound');
  const changed: [string, Block][] = [
    ['height', { ...block, header: { ...block.header, height: 6 } }],
    ['sealedAt', { ...block, header: { ...block.header, sealedAt: block.header.sealedAt + 1 } }],
    ['a transaction id', { ...block, txIds: [txIds[0]!, txIds[2]!, txIds[1]!] }],
    ['the signature', { ...block, signature: block.signature.replace(/^../, '00') }],
    ['the hash', { ...block, hash: block.hash.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }],
  ];
  for (const [what, tampered] of changed) t.not(checkBlock(tampered, NodeIdentity.verify), undefined, what);
  // Re-hashed after the change, so only the puzzle can catch it: a nonce that does not solve it.
  let unsolved = block.header;
  for (let n = 1n; meetsTarget(headerHash(unsolved), unsolved); n++) unsolved = { ...block.header, miningNonce: (BigInt(block.header.miningNonce) + n).toString() };
  const rehashed = { ...block, header: unsolved, hash: headerHash(unsolved), signature: Buffer.from(identity.sign(Buffer.from(headerHash(unsolved), 'hex'))).toString('hex') };
  t.match(checkBlock(rehashed, NodeIdentity.verify), /puzzle/, 'an unsolved puzzle');
  const stranger = NodeIdentity.fromSecretKey(new Uint8Array(32).fill(8));
  t.match(checkBlock({ ...block, header: { ...block.header, minerKey: Buffer.from(stranger.publicKey).toString('hex') } }, NodeIdentity.verify), /.+/, 'another key');
});

t.test('links: heights, previous hash, one miner, one stake, difficulty within 4×', async (t) => {
  const first = mine({ ...base, height: 0, previousHash: GENESIS_PREVIOUS });
  t.equal(checkLink(first.header, undefined), undefined);
  t.match(checkLink({ ...first.header, height: 1 }, undefined), /first block/);
  const next: BlockHeader = { ...base, height: 1, previousHash: first.hash, openedAt: base.openedAt + 10, sealedAt: base.sealedAt + 10 };
  t.equal(checkLink(next, first), undefined);
  t.match(checkLink({ ...next, height: 2 }, first), /height/);
  t.match(checkLink({ ...next, previousHash: hex(0x33, 32) }, first), /previousHash/);
  t.match(checkLink({ ...next, stake: 3 }, first), /stake/);
  t.match(checkLink({ ...next, difficulty: 64 * 5 }, first), /4×/);
  t.match(checkLink({ ...next, sealedAt: base.sealedAt - 1 }, first), /backwards/);
});

t.test('the work per block is the configured difficulty, reached in steps a verifier accepts', async (t) => {
  t.equal(nextDifficulty(16_384, 16_384), 16_384, 'at the setting it stays: load does not make blocks harder');
  t.equal(nextDifficulty(1_000_000, 4_096), 250_000, 'from a harder chain: down by at most 4× a block');
  t.equal(nextDifficulty(250_000, 4_096), 62_500);
  t.equal(nextDifficulty(100, 4_096), 400, 'up by at most 4×');
  // Walking over from any setting to any other, every step passes checkLink's 4× rule.
  let difficulty = 2 ** 36;
  for (let i = 0; i < 40 && difficulty !== 7; i++) {
    const next = nextDifficulty(difficulty, 7);
    t.ok(next * 4 >= difficulty && next <= difficulty * 4, `${difficulty} to ${next} is within 4×`);
    difficulty = next;
  }
  t.equal(difficulty, 7, 'the setting is reached');
});

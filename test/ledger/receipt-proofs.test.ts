/**
 * The key-free checks of a receipt (the ones the dashboard runs in the browser): a receipt
 * built by hand passes, and each kind of tampering is named.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { HEADER_VERSION, headerHash, type BlockHeader } from '../../src/ledger/block.js';
import { merkleProof, merkleRoot } from '../../src/common/merkle.js';
import { checkReceiptProofs, type ReceiptProofs } from '../../src/ledger/receipt-proofs.js';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const txIds = [hex(32), hex(32), hex(32)];
const header: BlockHeader = {
  version: HEADER_VERSION,
  height: 1,
  previousHash: hex(32),
  openedAt: 1_700_000_000_000,
  openingNonce: hex(16),
  sealedAt: 1_700_000_001_000,
  merkleRoot: merkleRoot(txIds),
  txCount: txIds.length,
  // Difficulty 1: every hash solves the puzzle.
  difficulty: 1,
  stake: 1,
  minerId: hex(20),
  minerKey: hex(32),
  miningNonce: '7',
};
const hash = headerHash(header);
const mined: ReceiptProofs = { txId: txIds[2]!, status: 'mined', minedIn: { header, hash, signature: hex(64) }, proof: merkleProof(txIds, 2), anchor: null };

t.test('a mined receipt\'s proofs hold, and a change to any of them is named', async (t) => {
  t.equal(checkReceiptProofs(mined), undefined);
  t.match(checkReceiptProofs({ ...mined, txId: txIds[0]! }), /Merkle path does not lead from txId/, 'another transaction\'s id');
  t.match(checkReceiptProofs({ ...mined, minedIn: { ...mined.minedIn, header: { ...header, txCount: 4 } } }), /hash is not the double SHA-256/, 'a header field changed');
  const hard = { ...header, difficulty: 2 ** 40 };
  t.match(checkReceiptProofs({ ...mined, minedIn: { header: hard, hash: headerHash(hard), signature: '' } }), /puzzle is not solved/, 'an unsolved puzzle');
  t.match(checkReceiptProofs({ ...mined, minedIn: { ...mined.minedIn, header: { ...header, openingNonce: 'xyz' } } }), /does not encode/, 'a header that does not encode');
  t.match(checkReceiptProofs({ ...mined, minedIn: undefined } as unknown as ReceiptProofs), /no block header/);
});

t.test('an anchored receipt\'s anchor must cover its block and lead to the anchored root', async (t) => {
  const blockHashes = [hex(32), hash, hex(32)];
  const anchor = { minerId: header.minerId, fromHeight: 0, toHeight: 2, root: merkleRoot(blockHashes), ref: { kind: 'ethereum' }, proof: merkleProof(blockHashes, 1) };
  const anchored: ReceiptProofs = { ...mined, status: 'anchored', anchor };
  t.equal(checkReceiptProofs(anchored), undefined);
  t.match(checkReceiptProofs({ ...anchored, anchor: null }), /no anchor/);
  t.match(checkReceiptProofs({ ...anchored, anchor: { ...anchor, minerId: hex(20) } }), /another miner/);
  t.match(checkReceiptProofs({ ...anchored, anchor: { ...anchor, fromHeight: 1, toHeight: 3 } }), /does not cover this block/, 'the block at another place');
  t.match(checkReceiptProofs({ ...anchored, anchor: { ...anchor, root: hex(32) } }), /anchor's Merkle path/, 'another root');
});

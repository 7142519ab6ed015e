/** The mining worker: its nonces solve the puzzle, and closing it cancels a job at once. */
import t from 'tap';
import { headerHash, meetsTarget, type BlockHeader } from '../../src/ledger/block.js';
import { Miner } from '../../src/ledger/miner.js';

const header: BlockHeader = {
  version: 1,
  height: 0,
  previousHash: '0'.repeat(64),
  openedAt: 1_767_225_600_000,
  openingNonce: '1'.repeat(32),
  sealedAt: 1_767_225_601_000,
  merkleRoot: '2'.repeat(64),
  txCount: 1,
  difficulty: 4_096,
  stake: 1,
  minerId: '3'.repeat(40),
  minerKey: '4'.repeat(64),
  miningNonce: '0',
};

t.test('the nonce found solves the puzzle; twice the stake needs about half the work', async (t) => {
  const miner = new Miner();
  t.teardown(() => miner.close());
  const solution = await miner.mine(header, 12_345n);
  t.ok(solution, 'a solution');
  const mined = { ...header, miningNonce: solution!.miningNonce };
  t.ok(meetsTarget(headerHash(mined), mined), 'its hash is at or below the target');
  t.equal(BigInt(solution!.miningNonce) - 12_345n + 1n, BigInt(solution!.hashes), 'nonces tried in order from the start given');
  let plain = 0;
  let staked = 0;
  for (let start = 0n; start < 40n * 1_000_000n; start += 1_000_000n) {
    plain += (await miner.mine(header, start))!.hashes;
    staked += (await miner.mine({ ...header, stake: 2 }, start))!.hashes;
  }
  // 40 blocks each: a mean of ~4096 against ~2048 hashes (geometric, so loose bounds).
  t.ok(staked < plain, `stake 2 took ${staked} hashes, stake 1 took ${plain}`);
});

t.test('close() cancels a job in progress, which resolves with undefined', async (t) => {
  const miner = new Miner();
  const endless = miner.mine({ ...header, difficulty: 2 ** 40 }, 0n);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await miner.close();
  t.equal(await endless, undefined);
  const again = await miner.mine(header, 0n);
  t.ok(again, 'a closed miner starts a new worker for the next job');
  await miner.close();
});

t.test('the miner keeps to its share of a core: busy time is at most the share of the time a job took, plus one slice', async (t) => {
  const miner = new Miner({ share: 0.25 });
  t.teardown(() => miner.close());
  t.equal(miner.share, 0.25);
  const started = performance.now();
  // About 2^15 hashes: several slices of 4096, so the worker has to rest between them.
  const solution = (await miner.mine({ ...header, difficulty: 2 ** 15 }, 7n))!;
  const tookMs = performance.now() - started;
  const sliceMs = (solution.busyMs / solution.hashes) * 4096;
  t.ok(solution.busyMs <= 0.25 * tookMs + sliceMs, `busy ${solution.busyMs.toFixed(1)} ms of ${tookMs.toFixed(1)} ms (a slice is ${sliceMs.toFixed(1)} ms)`);
  t.equal(miner.busyMs, solution.busyMs, 'the miner adds up what its jobs took');
  t.throws(() => new Miner({ share: 0 }), RangeError);
  t.throws(() => new Miner({ share: 1.5 }), RangeError);
});

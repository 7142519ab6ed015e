/**
 * The default ledger on a real LevelDB with the real mining worker and an injected clock:
 * blocks sealed by time and by size, never empty, verified receipts, retries that keep their
 * id, a restart that reopens and verifies thousands of blocks, and stored bytes changed behind
 * its back.
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createTransaction, type DataTransaction } from '../../src/broker/data-transaction.js';
import type { LedgerEvent } from '../../src/broker/ledger-sink.js';
import { ChainStore } from '../../src/ledger/chain-store.js';
import { Miner } from '../../src/ledger/miner.js';
import type { AnchorClaim, Anchorer } from '../../src/ledger/anchoring.js';
import { checkReceipt, verifyReceipt } from '../../src/ledger/receipt.js';
import { verifyChain, VirtualChain, type VirtualChainInit } from '../../src/ledger/virtual-chain.js';
import { NodeIdentity } from '../../src/node-identity.js';
import { Database } from '../../src/storage.js';
import type { Clock } from '../../src/common/clock.js';
import { createRandom } from '../../src/common/random.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { tempDir } from '../helpers/test-servient.js';

const identity = NodeIdentity.fromSecretKey(new Uint8Array(32).fill(3));
const owner = { id: identity.id.toString(16).padStart(40, '0'), url: 'ws://127.0.0.1:1/peer' };
const settings: VirtualChainInit = { blockIntervalMs: 1_000, maxBlockTx: 100, difficulty: 64, stake: 1, anchorEveryBlocks: 10, anchorIntervalMs: 60_000 };

/** A chain on its own database in `dir` (reopened when called again with the same dir). */
async function openChain(t: Test, dir: string, clock: Clock, init: Partial<VirtualChainInit> = {}, anchorer?: Anchorer) {
  const database = await Database.open(join(dir, 'db'));
  const random = createRandom(dir.length);
  const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random.next() * 256));
  const store = new ChainStore(database.section('ledger'));
  const chain = new VirtualChain({ store, identity, clock, randomBytes, miner: new Miner(), ...(anchorer ? { anchorer } : {}) }, { ...settings, ...init });
  const events: LedgerEvent[] = [];
  chain.onEvent((event) => events.push(event));
  let open = true;
  const close = async () => {
    if (!open) return;
    open = false;
    await chain.stop();
    await database.close();
  };
  t.teardown(close);
  return { chain, store, database, events, close, section: database.section('ledger') };
}

let counter = 0;
function tx(clock: Clock): DataTransaction {
  counter++;
  return createTransaction({ thing: 'urn:test', property: 'p', value: counter, origin: 'consumer' }, identity, clock.now(), Uint8Array.from({ length: 16 }, (_, i) => (counter * 31 + i) & 0xff));
}

/** Waits (real time: the miner is a real thread) until `events` has `count` blocks, for at most `seconds`. */
async function blocks(events: LedgerEvent[], count: number, seconds = 10): Promise<LedgerEvent[]> {
  for (let i = 0; i < seconds * 100 && events.filter((e) => e.kind === 'block').length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return events.filter((e) => e.kind === 'block');
}

t.test('a block is sealed once the interval has passed, mined, and its receipts verify', async (t) => {
  const clock = new ManualClock();
  const { chain, events } = await openChain(t, tempDir(t), clock);
  await chain.start();
  const records = await chain.admit([tx(clock), tx(clock)], owner, clock.now());
  t.equal(records[0]!.block.number, 0, 'the first block is number 0');
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(await blocks(events, 0), [], 'nothing sealed before the interval');
  clock.advance(1_000);
  const [mined] = await blocks(events, 1);
  t.match(mined, { kind: 'block', height: 0, txCount: 2, difficulty: 64 });
  t.match(chain.summary(), { height: 0, pending: 0 });
  for (const record of records) {
    const proof = await chain.proof(record.txId);
    const result = checkReceipt({ ...record, hData: record.tx.hData, ...proof }, NodeIdentity.verify);
    t.match(result, { ok: true, status: 'mined', height: 0 }, 'the receipt verifies (an owner named by its key id, as before ring ids were certified)');
    const key = Buffer.from(identity.publicKey).toString('hex');
    const certified = { ...record, owner: { id: 'c'.repeat(40), url: owner.url, key }, hData: record.tx.hData, ...proof };
    t.match(checkReceipt(certified, NodeIdentity.verify), { ok: true }, 'an owner named by its certified ring id and its key');
    t.match(checkReceipt({ ...certified, owner: { ...certified.owner, key: 'd'.repeat(64) } }, NodeIdentity.verify), { ok: false, fault: /not the block's miner/ }, 'another key than the miner\'s is refused');
  }
  t.equal(await chain.proof('0'.repeat(64)), undefined, 'nothing to prove for an unknown id');
  clock.advance(5_000);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal((await blocks(events, 1)).length, 1, 'no empty blocks');
});

t.test('admitting the same transaction again keeps its first id, even after it was mined', async (t) => {
  const clock = new ManualClock();
  const { chain, events } = await openChain(t, tempDir(t), clock);
  await chain.start();
  const one = tx(clock);
  const [first] = await chain.admit([one, one], owner, clock.now());
  clock.advance(1_000);
  await blocks(events, 1);
  const [again] = await chain.admit([one], owner, clock.now());
  t.equal(again!.txId, first!.txId);
  t.match(chain.summary(), { pending: 0 }, 'nothing new to mine');
});

t.test('blocks never hold more than maxBlockTx; the rest go into the next ones, heights in order', async (t) => {
  const clock = new ManualClock();
  const { chain, events } = await openChain(t, tempDir(t), clock, { maxBlockTx: 2 });
  await chain.start();
  const records = await chain.admit([tx(clock), tx(clock), tx(clock), tx(clock), tx(clock)], owner, clock.now());
  t.same(records.map((r) => r.block.number), [0, 0, 1, 1, 2]);
  const full = await blocks(events, 2);
  t.same(full.map((e) => [e.height, e.txCount]), [[0, 2], [1, 2]], 'full blocks are sealed at once');
  clock.advance(1_000);
  t.same((await blocks(events, 3)).map((e) => [e.height, e.txCount]), [[0, 2], [1, 2], [2, 1]]);
  t.same((await chain.blocks(0, 10)).map((b) => b.header.height), [0, 1, 2]);
  t.equal((await chain.block('1')).header.height, 1);
  t.equal((await chain.block(full[1]!.hash as string)).header.height, 1, 'by hash too');
  await t.rejects(chain.block('7'), { code: 'FLOWCHAIN_ERR_BLOCK_NOT_FOUND' });
});

t.test('a restart reopens and verifies a chain of thousands of blocks and goes on from its head', async (t) => {
  const dir = tempDir(t);
  // Each reading of this clock is 10 ms after the last, so one-transaction blocks take the
  // interval and the difficulty stays at its floor.
  const timers = new ManualClock();
  let now = timers.now();
  const clock: Clock = { now: () => (now += 10), every: (ms, fn) => timers.every(ms, fn), after: (ms, fn) => timers.after(ms, fn) };
  const first = await openChain(t, dir, clock, { maxBlockTx: 1, difficulty: 1, blockIntervalMs: 10 });
  await first.chain.start();
  const count = 2_000;
  for (let i = 0; i < count; i += 100) await first.chain.admit(Array.from({ length: 100 }, () => tx(clock)), owner, clock.now());
  await blocks(first.events, count, 120);
  await first.close();
  const second = await openChain(t, dir, clock, { maxBlockTx: 1, difficulty: 1, blockIntervalMs: 10 });
  await second.chain.start();
  t.match(second.chain.summary(), { height: count - 1, pending: 0, difficulty: 1 }, 'the head is where it was');
  t.same(await second.chain.verify(), { blocks: count, transactions: count }, 'every block and transaction checks out');
  const [next] = await second.chain.admit([tx(clock)], owner, clock.now());
  t.equal(next!.block.number, count);
  t.match((await blocks(second.events, 1))[0], { height: count });
});

t.test('a block sealed but not mined when the node stopped is mined on the next start', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  // Hard enough that it is still mining when stopped.
  const first = await openChain(t, dir, clock, { difficulty: 2 ** 40 });
  await first.chain.start();
  const [record] = await first.chain.admit([tx(clock)], owner, clock.now());
  clock.advance(1_000);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await first.close();
  t.same(await blocks(first.events, 0), [], 'not mined before the stop');
  const second = await openChain(t, dir, clock, { difficulty: 2 ** 40 });
  // The difficulty is the chain's own, kept with it: lowered here so the test need not wait.
  await second.section.put('m/difficulty', 1);
  await second.chain.start();
  const [mined] = await blocks(second.events, 1);
  t.match(mined, { height: 0, txCount: 1 });
  t.match(await second.chain.proof(record!.txId), { status: 'mined' });
});

t.test('a changed stored byte is found: start refuses, verify names the block', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  const first = await openChain(t, dir, clock, { maxBlockTx: 1, difficulty: 1 });
  await first.chain.start();
  const records = await first.chain.admit([tx(clock), tx(clock), tx(clock)], owner, clock.now());
  await blocks(first.events, 3);
  // A value inside the second block's transaction, as if edited on disk.
  const key = `r/${records[1]!.tx.hData}`;
  const stored = (await first.section.get(key)) as { tx: { data: { value: number } } };
  await first.section.put(key, { ...stored, tx: { ...stored.tx, data: { ...stored.tx.data, value: 999 } } });
  t.match(await first.chain.verify(), { blocks: 1, fault: { height: 1, reason: /H_DATA/ } });
  await first.close();
  const second = await openChain(t, dir, clock);
  await t.rejects(second.chain.start(), { code: 'FLOWCHAIN_ERR_LEDGER_CORRUPT', message: /block 1/ });
  // A header field of block 2.
  const block = (await second.section.get('b/0000000000000002')) as { header: { sealedAt: number } };
  await second.section.put('b/0000000000000002', { ...block, header: { ...block.header, sealedAt: block.header.sealedAt + 1 } });
  await second.section.put(key, stored);
  t.match((await verifyChain(second.store, true)).report, { blocks: 2, fault: { height: 2, reason: /hash/ } });
  await t.rejects(second.chain.block('2'), { code: 'FLOWCHAIN_ERR_LEDGER_CORRUPT' }, 'a block is checked as it is read');
});

/** Waits (real time: the miner and the anchorer run on their own) until `events` has `count` of `kind`, for at most `seconds`. */
async function eventsOf(events: LedgerEvent[], kind: LedgerEvent['kind'], count: number, seconds = 10): Promise<LedgerEvent[]> {
  for (let i = 0; i < seconds * 100 && events.filter((e) => e.kind === kind).length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return events.filter((e) => e.kind === kind);
}

/** A receipt as the broker builds it for an owner's own transaction: the record and the ledger's proof. */
const receiptOf = async (chain: VirtualChain, record: { readonly txId: string; readonly tx: DataTransaction; readonly block: { readonly number: number } }) => ({
  ...record,
  hData: record.tx.hData,
  ...(await chain.proof(record.txId, record.block.number)),
});

t.test('pruning drops the transactions of blocks sealed before the cut and keeps the blocks: the chain and old receipts verify, a pruned id is FLOWCHAIN_ERR_TX_PRUNED', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  const first = await openChain(t, dir, clock);
  await first.chain.start();
  const old = await first.chain.admit([tx(clock), tx(clock)], owner, clock.now());
  clock.advance(1_000);
  await blocks(first.events, 1);
  const receipts = await Promise.all(old.map((record) => receiptOf(first.chain, record)));
  clock.advance(60_000);
  const [recent] = await first.chain.admit([tx(clock)], owner, clock.now());
  clock.advance(1_000);
  await blocks(first.events, 2);

  // Block 0 was sealed 61 s ago, block 1 just now: a 30 s retention prunes block 0 only.
  t.same(await first.chain.prune(clock.now() - 30_000), { blocks: 1, transactions: 2, prunedBelow: 1 });
  t.same(await first.store.records(old.map((r) => r.tx.hData)), [undefined, undefined], 'the bodies are gone');
  t.same(await first.store.placements(old.map((r) => r.txId)), [undefined, undefined], 'and their places');
  t.ok((await first.store.records([recent!.tx.hData]))[0], 'the newer block keeps its transaction');
  t.same(await first.chain.verify(), { blocks: 2, transactions: 1 }, 'the chain verifies: block 0 by its header, ids and link, block 1 whole');
  for (const receipt of receipts) t.match(verifyReceipt(receipt), { ok: true, status: 'mined', height: 0 }, 'a receipt handed out before pruning still verifies offline');
  await t.rejects(first.chain.proof(old[0]!.txId, 0), { code: 'FLOWCHAIN_ERR_TX_PRUNED', status: 410 }, 'a pruned transaction, named with its block');
  t.equal(await first.chain.proof(old[0]!.txId), undefined, 'without its block it cannot be told from an unknown one');
  t.equal(await first.chain.proof('e'.repeat(64), 0), undefined, 'an id the pruned block never held is unknown, not pruned');
  t.match(await first.chain.proof(recent!.txId, 1), { status: 'mined' }, 'an unpruned block still proves its transactions');
  const pruned = await first.chain.block('0');
  t.match(pruned, { pruned: true, header: { height: 0, txCount: 2 }, txIds: old.map((r) => r.txId) }, 'a pruned block keeps its header and ids and says it was pruned');
  t.notOk('pruned' in (await first.chain.block('1')));
  t.same((await first.chain.blocks(0, 2)).map((b) => b.pruned ?? false), [true, false]);
  t.match(first.chain.summary(), { height: 1, prunedBelow: 1 });
  t.same(await first.chain.prune(clock.now() - 30_000), { blocks: 0, transactions: 0, prunedBelow: 1 }, 'nothing more is due');

  // Reopened: the pruned chain verifies at start, and stays pruned.
  await first.close();
  const second = await openChain(t, dir, clock);
  await second.chain.start();
  t.match(second.chain.summary(), { height: 1, prunedBelow: 1 });
  await t.rejects(second.chain.proof(old[1]!.txId, 0), { code: 'FLOWCHAIN_ERR_TX_PRUNED' });
  // Pruning keeps what the headers bind: an id changed in a pruned block is still found.
  const block = (await second.section.get('b/0000000000000000')) as { txIds: string[] };
  await second.section.put('b/0000000000000000', { ...block, txIds: [block.txIds[1], block.txIds[0]] });
  t.match(await second.chain.verify(), { blocks: 0, fault: { height: 0, reason: /merkleRoot/ } });
});

t.test('with an anchor plugin, only anchored blocks are pruned, however old the others; anchored receipts still verify', async (t) => {
  const clock = new ManualClock();
  const claims: AnchorClaim[] = [];
  let release: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();
  const anchorer: Anchorer = {
    kind: 'test',
    anchor: async (claim) => {
      await gate;
      claims.push(claim);
      return { kind: 'test', sequence: claims.length };
    },
    close: async () => undefined,
  };
  const { chain, events } = await openChain(t, tempDir(t), clock, { anchorEveryBlocks: 1 }, anchorer);
  await chain.start();
  const [first] = await chain.admit([tx(clock)], owner, clock.now());
  clock.advance(1_000);
  await eventsOf(events, 'anchor', 1);
  const anchored = await receiptOf(chain, first!);
  t.match(anchored, { status: 'anchored' });
  // The next block's anchor is held back.
  gate = new Promise((resolve) => (release = resolve));
  const [second] = await chain.admit([tx(clock)], owner, clock.now());
  clock.advance(1_000);
  await blocks(events, 2);
  clock.advance(86_400_000 - 60_000);
  t.same(await chain.prune(clock.now()), { blocks: 1, transactions: 1, prunedBelow: 1 }, 'block 1 is a day old but not anchored: it stays');
  t.match(await chain.proof(second!.txId, 1), { status: 'mined' });
  release();
  clock.advance(60_000);
  await eventsOf(events, 'anchor', 2);
  t.same(await chain.prune(clock.now()), { blocks: 1, transactions: 1, prunedBelow: 2 }, 'once anchored, it goes');
  t.match(verifyReceipt(anchored), { ok: true, status: 'anchored', height: 0 }, 'an anchored receipt from before pruning still verifies offline');
  t.same(await chain.verify(), { blocks: 2, transactions: 0 });
  t.same(chain.anchors().map((a) => [a.fromHeight, a.toHeight]), [[0, 0], [1, 1]], 'the anchors stay');
});

/**
 * The broker's ring record kinds (transaction records and their index entries) as a ring store
 * holds them: they expire exactly twice the ledger's retention after their block opened, an
 * index entry's block must be the one its H_BLOCK is the hash of, entries written before they
 * named a block never expire, and an expired record offered by a member is refused.
 */
import t from 'tap';
import { blockHash, createTransaction, transactionId, type DataTransaction } from '../../src/broker/data-transaction.js';
import type { LedgerPlugin } from '../../src/broker/ledger-sink.js';
import { TransactionOwner } from '../../src/broker/transaction-owner.js';
import { indexKey, ringRecordsExpireAt, transactionIndex, transactionRecords, type RingTransactionRecord, type TransactionIndex } from '../../src/broker/transaction-records.js';
import { ChordNode } from '../../src/dht/chord-node.js';
import { MemoryNetwork } from '../../src/dht/memory-transport.js';
import { RING } from '../../src/dht/ring-space.js';
import { RingStore } from '../../src/dht/ring-store.js';
import { NodeIdentity } from '../../src/node-identity.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { MemorySection } from '../helpers/memory-section.js';

const RETAIN = 60_000;
const identity = NodeIdentity.fromSecretKey(new Uint8Array(32).fill(7));
const ownerId = identity.id.toString(16).padStart(40, '0');
let lambda = 0;

/** A transaction of now, its record as its owner files it in a block opened at `openedAt`, and its index entry (with its block, unless `dated` is false). */
function filed(now: number, openedAt: number, dated = true): { tx: DataTransaction; record: RingTransactionRecord; index: TransactionIndex } {
  const tx = createTransaction({ thing: 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e', property: 'level', value: 3, origin: 'consumer' }, identity, now, new Uint8Array(16).fill(++lambda));
  const block = { number: 4, openedAt, nonce: 'ab'.repeat(16) };
  const hBlock = blockHash(block.number, block.openedAt, block.nonce);
  const txId = transactionId(hBlock, tx.hData);
  const record: RingTransactionRecord = { kind: 'tx', txId, hBlock, block, owner: { id: ownerId, url: 'mem://owner' }, storedAt: now, status: 'pending', tx };
  return { tx, record, index: { kind: 'tx-index', txId, hData: tx.hData, hBlock, ...(dated ? { block } : {}) } };
}

/** One node alone on the ring, its store holding the broker's kinds for a ledger that keeps transactions `retainMs`. */
async function alone(retainMs = RETAIN) {
  const clock = new ManualClock();
  const network = new MemoryNetwork();
  const self = { id: RING.fromHex('8'.padEnd(40, '0')), url: 'mem://alone' };
  const node = new ChordNode({ transport: network.transportFor(self), space: RING, clock }, { self, successorListSize: 4 });
  const section = new MemorySection();
  const store = new RingStore({ node, transport: network.transportFor(self), section, clock, space: RING });
  store.register(transactionRecords(retainMs));
  store.register(transactionIndex(retainMs));
  network.listen(self.url, (request, sender) => node.handle(request, sender));
  await node.join();
  return { clock, node, section, store, other: { id: RING.fromHex('1'.padEnd(40, '0')), url: 'mem://other' } };
}

t.test('ring records of a transaction expire at its block\'s opening plus twice the retention; never with an infinite one', async (t) => {
  const { record, index } = filed(Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) - 500);
  const openedAt = record.block.openedAt;
  t.equal(ringRecordsExpireAt(openedAt, RETAIN), openedAt + 2 * RETAIN);
  t.equal(transactionRecords(RETAIN).expiresAt!(record), openedAt + 2 * RETAIN, 'a transaction record');
  t.equal(transactionIndex(RETAIN).expiresAt!(index), openedAt + 2 * RETAIN, 'its index entry, with its block');
  t.equal(transactionRecords(Infinity).expiresAt!(record), undefined, 'retained forever: the record never expires');
  t.equal(transactionIndex(Infinity).expiresAt!(index), undefined, 'nor its index entry');
});

t.test('a store keeps a transaction\'s records until exactly openedAt + 2 × retention, then drops them', async (t) => {
  const { clock, node, section, store } = await alone();
  const openedAt = clock.now() - 1_000;
  const { tx, record, index } = filed(clock.now(), openedAt);
  await store.putOwned([[tx.hData, record]]);
  t.same(await store.putMany([[indexKey(record.txId), index]]), [undefined]);
  clock.advance(openedAt + 2 * RETAIN - 1 - clock.now());
  await node.maintain();
  t.same(await store.get(tx.hData), record, 'one millisecond before, the record is served');
  t.same(await store.get(indexKey(record.txId)), index, 'and its index entry');
  t.ok(section.data.has(tx.hData) && section.data.has(indexKey(record.txId)), 'and both are on disk');
  clock.advance(1);
  t.equal(await store.get(tx.hData), undefined, 'at openedAt + 2 × retention, the record is not served');
  t.equal(await store.get(indexKey(record.txId)), undefined, 'nor its index entry');
  await node.maintain();
  t.notOk(section.data.has(tx.hData), 'the next maintenance round deletes the record');
  t.notOk(section.data.has(indexKey(record.txId)), 'and its index entry');
});

t.test('with an infinite retention a store keeps transaction records for good', async (t) => {
  const { clock, node, section, store } = await alone(Infinity);
  const { tx, record, index } = filed(clock.now(), clock.now());
  await store.putOwned([[tx.hData, record]]);
  await store.putMany([[indexKey(record.txId), index]]);
  clock.advance(10 * 365 * 86_400_000);
  await node.maintain();
  await node.maintain();
  t.same(await store.get(tx.hData), record);
  t.ok(section.data.has(tx.hData) && section.data.has(indexKey(record.txId)));
});

t.test('an index entry whose block is not the one its H_BLOCK is the hash of is refused, naming the field', async (t) => {
  const { clock, node, section, other } = await alone();
  const { index } = filed(clock.now(), clock.now() - 1_000);
  const key = indexKey(index.txId);
  const kind = transactionIndex(RETAIN);
  // Moved later, to make it outlive its time: the block no longer hashes to H_BLOCK.
  const moved = { ...index, block: { ...index.block!, openedAt: index.block!.openedAt + 365 * 86_400_000 } };
  t.throws(() => kind.check(key, moved), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID', field: 'hBlock' });
  t.throws(() => kind.check(key, { ...index, block: { ...index.block!, nonce: 'cd'.repeat(16) } }), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID', field: 'hBlock' }, 'another nonce');
  t.throws(() => kind.check(key, { ...index, block: { number: 4, openedAt: 'soon', nonce: index.block!.nonce } }), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID', field: 'block' }, 'not a block');
  t.throws(() => kind.check(key, { ...index, block: null }), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID', field: 'block' }, 'null is no block');
  t.throws(() => kind.check(key, { ...index, hData: '0'.repeat(40) }), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID', field: 'txId' }, 'the existing checks stay');
  await t.rejects(node.handle({ type: 'store-put-many', entries: [[key, moved]] }, other), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID', field: 'hBlock' }, 'a store refuses it from a member');
  t.notOk(section.data.has(key), 'and keeps nothing');
  t.same(kind.check(key, index), index, 'the entry with its true block is taken');
});

t.test('an index entry written before entries named their block is accepted and never expires', async (t) => {
  const { clock, node, section, store } = await alone();
  const { index } = filed(clock.now(), clock.now() - 1_000, false);
  const key = indexKey(index.txId);
  t.equal(transactionIndex(RETAIN).expiresAt!(index), undefined);
  t.same(await store.putMany([[key, index]]), [undefined], 'accepted');
  clock.advance(100 * RETAIN);
  await node.maintain();
  await node.maintain();
  t.same(await store.get(key), index, 'still served a hundred retentions later');
  t.ok(section.data.has(key), 'and still on disk');
});

t.test('an expired transaction record or index entry offered by a member is refused and not stored', async (t) => {
  const { clock, node, section, store, other } = await alone();
  const openedAt = clock.now() - 2 * RETAIN;
  const { tx, record, index } = filed(clock.now(), openedAt);
  await t.rejects(node.handle({ type: 'store-replicate', entries: [[tx.hData, record]] }, other), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID', field: 'expires' }, 'a replica handed back after it expired');
  await t.rejects(node.handle({ type: 'store-put-many', entries: [[indexKey(index.txId), index]] }, other), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID', field: 'expires' }, 'an index entry put after it expired');
  await t.rejects(store.putMany([[indexKey(index.txId), index]]), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID', field: 'expires' }, 'nor through this node\'s own put');
  t.equal(section.data.size, 0, 'nothing was stored');
  // One millisecond younger, the same record is taken.
  const fresh = filed(clock.now(), openedAt + 1);
  t.match(await node.handle({ type: 'store-replicate', entries: [[fresh.tx.hData, fresh.record]] }, other), { stored: 1 });
});

t.test('an owner registers the kinds with its ledger\'s retention, and refuses an offered record whose block opened in its future', async (t) => {
  const { clock, store } = await alone();
  const owner = new TransactionOwner({ store: () => store, ledger: {} as LedgerPlugin, hosts: { hostOf: async () => undefined }, clock, self: () => ({ id: ownerId, url: 'mem://owner' }) }, { retainLedger: RETAIN });
  const [records, index] = owner.recordKinds();
  const { record, index: entry } = filed(clock.now(), clock.now() - 1_000);
  t.equal(records!.expiresAt!(record), record.block.openedAt + 2 * RETAIN, 'records expire with the retention it was given');
  t.equal(index!.expiresAt!(entry), record.block.openedAt + 2 * RETAIN, 'so do index entries');
  await t.resolves(records!.admit!(record.tx.hData, record), 'a record of a block opened before it was filed is admitted');
  const ahead = filed(clock.now(), clock.now() + 10 * 60_000).record;
  await t.rejects(records!.admit!(ahead.tx.hData, ahead), { code: 'FLOWCHAIN_ERR_TX_CLOCK_SKEW', field: 'block.openedAt' }, 'a block opened ten minutes ahead would outlive its time');
  const forever = new TransactionOwner({ store: () => store, ledger: {} as LedgerPlugin, hosts: { hostOf: async () => undefined }, clock, self: () => ({ id: ownerId, url: 'mem://owner' }) });
  t.equal(forever.recordKinds()[0]!.expiresAt!(record), undefined, 'without a retention, nothing expires');
});

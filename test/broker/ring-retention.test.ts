/**
 * The ring's records of a transaction expire in a real node (LevelDB, the mining worker, HTTP):
 * once the node's own retention pass pruned the transaction from its ledger, its receipt URL
 * answers 410 FLOWCHAIN_ERR_TX_PRUNED; twice the retention after its block opened, the ring
 * forgets it (404 FLOWCHAIN_ERR_TX_NOT_FOUND), its records are gone from disk, the node's
 * audit does not deliver it again, and the chain still verifies.
 */
import { join } from 'node:path';
import t from 'tap';
import { indexKey } from '../../src/broker/transaction-records.js';
import { Database } from '../../src/storage.js';
import { createServient } from '../helpers/test-servient.js';

const LAMP = {
  '@context': ['https://www.w3.org/2022/wot/td/v1.1', 'https://w3id.org/flowchain/v1'],
  title: 'Lamp',
  properties: { level: { title: 'Level', type: 'integer', minimum: 0, maximum: 10, observable: true } },
};

interface Receipt {
  status: string;
  txId: string;
  hData: string;
  block: { number: number; openedAt: number; nonce: string };
  minedIn?: { header: { height: number } };
}

/** Six minutes: the retention pass (every ten) prunes a block sealed at start before its ring records expire (twelve minutes after it opened). */
const RETAIN = 6 * 60_000;

const turn = () => new Promise((resolve) => setTimeout(resolve, 10));

t.test('a transaction\'s ring records outlive its ledger body by one retention: 410 after pruning, 404 and gone from disk after twice the retention', async (t) => {
  const things = t.testdir({ 'lamp.td.json': JSON.stringify(LAMP) });
  const { servient, clock, config } = await createServient(t, { things, retainLedger: RETAIN, difficulty: 1 });
  const { url } = await servient.start();
  const res = await fetch(`${url}things/lamp/properties/level`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '3' });
  t.equal(res.status, 204);
  const txId = res.headers.get('flowchain-tx-id')!;
  t.match(txId, /^[0-9a-f]{64}$/);
  const get = (ref: string) => fetch(`${url}ledger/tx/${ref}`);
  let receipt = (await (await get(txId)).json()) as Receipt;
  for (let i = 0; i < 500 && receipt.status !== 'mined'; i++) {
    if (i === 0) clock.advance(1_000);
    await turn();
    receipt = (await (await get(txId)).json()) as Receipt;
  }
  t.equal(receipt.status, 'mined');
  const height = receipt.minedIn!.header.height;
  const { hData, block } = receipt;
  const expiresAt = block.openedAt + 2 * RETAIN;
  t.match(await servient.ring.store.get(indexKey(txId)), { kind: 'tx-index', txId, hData, block }, 'the owner wrote the index entry with its block');

  // Ten minutes on: the node's own retention pass prunes the block (sealed more than six minutes ago).
  clock.advance(10 * 60_000);
  let summary = { prunedBelow: 0 };
  for (let i = 0; i < 500 && summary.prunedBelow <= height; i++) {
    await turn();
    summary = (await (await fetch(`${url}ledger`)).json()) as typeof summary;
  }
  t.ok(summary.prunedBelow > height, 'the node pruned the block by itself');
  t.ok(clock.now() < expiresAt, 'before twice the retention');
  for (const ref of [txId, hData]) {
    const gone = await get(ref);
    t.equal(gone.status, 410, `GET /ledger/tx/${ref.slice(0, 8)}… is 410 while the ring still knows the transaction`);
    t.match(await gone.json(), { status: 410, code: 'FLOWCHAIN_ERR_TX_PRUNED' });
  }

  // Twice the retention after its block opened: the ring forgets it.
  clock.advance(expiresAt - 1 - clock.now());
  t.equal((await get(txId)).status, 410, 'one millisecond before, still 410');
  clock.advance(1);
  for (const ref of [txId, hData]) {
    const unknown = await get(ref);
    t.equal(unknown.status, 404, `GET /ledger/tx/${ref.slice(0, 8)}… is 404 once the ring's records expired`);
    t.match(await unknown.json(), { status: 404, code: 'FLOWCHAIN_ERR_TX_NOT_FOUND' });
  }
  // Maintenance rounds drop the records from disk; audits (every minute) find them gone by design.
  for (let i = 0; i < 5; i++) {
    clock.advance(60_000);
    for (let j = 0; j < 20; j++) await turn();
  }
  t.equal((await get(hData)).status, 404, 'the node\'s audit did not deliver it again');
  t.same(await servient.chain.verify(), { blocks: height + 1, transactions: 0 }, 'the chain verifies');

  // The node sat idle for longer than twice the retention with a block open: a new write is
  // dated by its own block's opening, so its ring records are not born expired.
  const later = await fetch(`${url}things/lamp/properties/level`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '4' });
  t.equal(later.status, 204);
  const fresh = (await (await get(later.headers.get('flowchain-tx-id')!)).json()) as Receipt;
  t.match(fresh, { status: 'pending', block: { number: height + 1, openedAt: clock.now() } }, 'a write after a long idle spell is stored, in a block opened when it came');

  await servient.stop();
  const database = await Database.open(join(config.data, 'db'));
  t.teardown(() => database.close());
  const held: string[] = [];
  for await (const [key, value] of database.section('ring').entries()) {
    const record = value as { kind?: string; txId?: string; hData?: string; tx?: { hData?: string } };
    if (key === hData || key === indexKey(txId) || record.txId === txId || record.hData === hData || record.tx?.hData === hData) held.push(`${record.kind} ${key}`);
  }
  t.same(held, [], 'the ring store holds no record of the transaction, nor its index entry');
});

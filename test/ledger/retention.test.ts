/**
 * The ledger's retention in a real node (LevelDB, the mining worker, HTTP): a transaction past
 * `retainLedger` is pruned by the node's own pass, its receipt URL answers 410
 * FLOWCHAIN_ERR_TX_PRUNED, its block page still shows the header, the chain still verifies,
 * and the receipt downloaded before pruning still verifies offline; read from another member
 * than the owner, the receipt of a pruned transaction is 410 too.
 */
import t from 'tap';
import { verifyReceipt } from '../../src/ledger/receipt.js';
import { createServient, ringOfThree } from '../helpers/test-servient.js';

const LAMP = {
  '@context': ['https://www.w3.org/2022/wot/td/v1.1', 'https://w3id.org/flowchain/v1'],
  title: 'Lamp',
  properties: { level: { title: 'Level', type: 'integer', minimum: 0, maximum: 10, observable: true } },
};

interface Receipt {
  status: string;
  txId: string;
  hData: string;
  minedIn?: { header: { height: number } };
}

t.test('a node prunes its ledger past --retain-ledger: the receipt URL answers 410, the block keeps its header, the chain and the old receipt verify', async (t) => {
  const things = t.testdir({ 'lamp.td.json': JSON.stringify(LAMP) });
  // Six minutes: the ring's records of the transaction last twice that from its block's opening,
  // so they still name it (410, not 404) when the pass ten minutes on has pruned it.
  const { servient, clock } = await createServient(t, { things, retainLedger: 6 * 60_000, difficulty: 1 });
  const { url } = await servient.start();
  const res = await fetch(`${url}things/lamp/properties/level`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '3' });
  t.equal(res.status, 204);
  const txId = res.headers.get('flowchain-tx-id')!;
  t.match(txId, /^[0-9a-f]{64}$/);
  // Sealed one block interval later, then mined on the worker thread (real time, bounded).
  let receipt: Receipt = { status: 'pending', txId, hData: '' };
  for (let i = 0; i < 500 && receipt.status !== 'mined'; i++) {
    if (i === 0) clock.advance(1_000);
    await new Promise((resolve) => setTimeout(resolve, 10));
    receipt = (await (await fetch(`${url}ledger/tx/${txId}`)).json()) as Receipt;
  }
  t.equal(receipt.status, 'mined');
  t.match(verifyReceipt(receipt), { ok: true, status: 'mined' }, 'the receipt verifies offline');
  const height = receipt.minedIn!.header.height;

  // Ten minutes on: the next retention pass finds the block sealed more than six minutes ago.
  clock.advance(10 * 60_000);
  let summary = { prunedBelow: 0 };
  for (let i = 0; i < 500 && summary.prunedBelow <= height; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    summary = (await (await fetch(`${url}ledger`)).json()) as typeof summary;
  }
  t.ok(summary.prunedBelow > height, 'the node pruned the block by itself');

  for (const ref of [txId, receipt.hData]) {
    const gone = await fetch(`${url}ledger/tx/${ref}`);
    t.equal(gone.status, 410, `GET /ledger/tx/${ref.slice(0, 8)}… is 410 Gone`);
    t.match(gone.headers.get('content-type'), /^application\/problem\+json/);
    t.match(await gone.json(), { status: 410, code: 'FLOWCHAIN_ERR_TX_PRUNED' });
  }
  const unknown = await fetch(`${url}ledger/tx/${'0'.repeat(64)}`);
  t.equal(unknown.status, 404, 'an id never stored is still 404');

  const page = await fetch(`${url}ledger/blocks/${height}`);
  t.equal(page.status, 200);
  t.match(await page.json(), { pruned: true, header: { height, txCount: 1 }, txIds: [txId] }, 'the block page still shows the header, and says its transactions were pruned');
  t.match(await (await fetch(`${url}ledger/blocks?from=${height}&limit=1`)).json(), [{ pruned: true, header: { height } }]);

  t.same(await servient.chain.verify(), { blocks: height + 1, transactions: 0 }, 'the chain verifies after pruning');
  t.match(verifyReceipt(receipt), { ok: true, status: 'mined', height }, 'the receipt handed out before pruning still verifies offline');
});

t.test('read from another member, the receipt of a transaction its owner pruned is 410 FLOWCHAIN_ERR_TX_PRUNED', async (t) => {
  const nodes = await ringOfThree(t);
  const writer = nodes[0]!;
  const writerUrl = writer.servient.url!;
  const writerId = writer.servient.ring.describe().id;
  // Where a write lands is chance (a fresh λ each time): write until one lands on another member.
  let remote: (Receipt & { owner: { id: string } }) | undefined;
  for (let i = 0; i < 40 && remote === undefined; i++) {
    const res = await fetch(`${writerUrl}things/thermostat/properties/targetTemperature`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(10 + i / 2) });
    const receipt = (await (await fetch(`${writerUrl}ledger/tx/${res.headers.get('flowchain-tx-id')}`)).json()) as Receipt & { owner: { id: string } };
    if (receipt.owner.id !== writerId) remote = receipt;
  }
  t.ok(remote, 'a write landed on another member');
  const owner = nodes.find((node) => node.servient.ring.describe().id === remote!.owner.id)!;
  let mined: Receipt = remote!;
  for (let i = 0; i < 500 && mined.status !== 'mined'; i++) {
    owner.clock.advance(1_000);
    await new Promise((resolve) => setTimeout(resolve, 10));
    mined = (await (await fetch(`${writerUrl}ledger/tx/${remote!.txId}`)).json()) as Receipt;
  }
  t.equal(mined.status, 'mined', 'mined by its owner');
  const height = mined.minedIn!.header.height;
  const report = (await owner.servient.chain.prune!(owner.clock.now() + 1)) as { prunedBelow: number };
  t.ok(report.prunedBelow > height, 'the owner pruned its block');
  const gone = await fetch(`${writerUrl}ledger/tx/${remote!.txId}`);
  t.equal(gone.status, 410);
  t.match(await gone.json(), { code: 'FLOWCHAIN_ERR_TX_PRUNED' });
  t.match(verifyReceipt(mined), { ok: true, height }, 'the receipt downloaded before still verifies offline');
});

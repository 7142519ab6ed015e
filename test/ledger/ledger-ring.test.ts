/**
 * The ledger across four real processes: writes made on every node are mined by their owners,
 * SUCCESSOR(H_DATA) as computed from /ring, and each receipt, fetched from another node than
 * the one written to, verifies offline.
 */
import t from 'tap';
import { checkReceipt } from '../../src/ledger/receipt.js';
import { NodeIdentity } from '../../src/node-identity.js';
import { minedReceipt, ownerOf, settledRing, startRing } from '../helpers/ring-processes.js';

interface Receipt {
  status: string;
  hData: string;
  owner: { id: string; key: string };
  minedIn?: { header: { minerId: string; minerKey: string; height: number } };
}

t.test('writes on every node are mined by their owners, and their receipts verify from any node', async (t) => {
  const nodes = await startRing(t, 4, ['--block-interval', '300', '--difficulty', '16']);
  const sorted = await settledRing(nodes);
  t.equal(new Set(sorted.map((r) => r.successors[0]?.id)).size, 4, 'one ring of four');
  const written: { txId: string; on: number }[] = [];
  for (const [i, node] of nodes.entries()) {
    for (let k = 0; k < 3; k++) {
      const res = await fetch(`${node.url}things/thermostat/properties/targetTemperature`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(18 + i + k / 2) });
      t.equal(res.headers.get('flowchain-tx-status'), 'stored', `write ${k} on node ${i} stored at its owner`);
      written.push({ txId: res.headers.get('flowchain-tx-id')!, on: i });
    }
  }
  const miners = new Set<string>();
  for (const { txId, on } of written) {
    const reader = nodes[(on + 1) % nodes.length]!;
    const receipt = await minedReceipt<Receipt>(reader.url, txId);
    const owner = ownerOf(sorted, receipt.hData).id;
    t.equal(receipt.owner.id, owner, `${txId.slice(0, 8)}… filed by SUCCESSOR(H_DATA)`);
    t.equal(receipt.minedIn?.header.minerKey, receipt.owner.key, 'and mined by it (its key signed the block)');
    t.match(checkReceipt(receipt, NodeIdentity.verify), { ok: true, status: 'mined' }, 'its receipt, read from another node, verifies');
    miners.add(owner);
  }
  t.ok(miners.size >= 2, `mined by ${miners.size} different owners`);
  for (const node of nodes) t.equal(await node.stop(), 0);
});

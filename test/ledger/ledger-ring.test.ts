/**
 * The ledger across four real processes: writes made on every node are mined by their owners,
 * SUCCESSOR(H_DATA) as computed from /ring, and each receipt, fetched from another node than
 * the one written to, verifies offline.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkReceipt, verifyReceipt } from '../../src/ledger/receipt.js';
import { MEMBERSHIP_FILES } from '../../src/membership/membership.js';
import { NodeIdentity } from '../../src/node-identity.js';
import { minedReceipt, ownerOf, settledRing, startRing } from '../helpers/ring-processes.js';
import { testAuthority } from '../helpers/test-servient.js';

interface Receipt {
  status: string;
  hData: string;
  owner: { id: string; key: string; certificate: string };
  minedIn?: { header: { minerId: string; minerKey: string; height: number } };
}

t.test('writes on every node are mined by their owners, and their receipts verify from any node', async (t) => {
  const authority = testAuthority(t);
  const nodes = await startRing(t, 4, ['--block-interval', '300', '--difficulty', '16'], authority);
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
  const receipts: Receipt[] = [];
  for (const { txId, on } of written) {
    const reader = nodes[(on + 1) % nodes.length]!;
    const receipt = await minedReceipt<Receipt>(reader.url, txId);
    const owner = ownerOf(sorted, receipt.hData).id;
    t.equal(receipt.owner.id, owner, `${txId.slice(0, 8)}… filed by SUCCESSOR(H_DATA)`);
    t.equal(receipt.minedIn?.header.minerKey, receipt.owner.key, 'and mined by it (its key signed the block)');
    t.match(checkReceipt(receipt, NodeIdentity.verify), { ok: true, status: 'mined' }, 'its receipt, read from another node, verifies');
    miners.add(owner);
    receipts.push(receipt);
  }
  t.ok(miners.size >= 2, `mined by ${miners.size} different owners`);

  // Offline, against the ring's authority: each receipt's owner was a member when it mined the block.
  const trust = { authority: readFileSync(join(authority.directory, MEMBERSHIP_FILES.authority), 'utf8') };
  t.ok(receipts.every((receipt) => verifyReceipt(receipt, trust).ok), 'every receipt\'s owner certificate is the authority\'s, names the owner and holds the miner key');
  const [first] = receipts as [Receipt];
  const other = receipts.find((r) => r.owner.id !== first.owner.id)!;
  t.match(verifyReceipt(first, { authority: readFileSync(join(testAuthority(t).directory, MEMBERSHIP_FILES.authority), 'utf8') }), { ok: false, fault: /not from this ring's authority/ }, 'another ring\'s authority does not vouch for it');
  t.match(verifyReceipt({ ...first, owner: { ...first.owner, certificate: other.owner.certificate } }, trust), { ok: false, fault: /another ring id/ }, 'another member\'s certificate does not stand for the owner');
  t.match(verifyReceipt({ ...first, owner: { id: first.owner.id, key: first.owner.key } }, trust), { ok: false, fault: /carries no membership certificate/ }, 'a receipt without the certificate cannot be checked against an authority');
  t.match(verifyReceipt(first, { ...trust, crl: authority.revoke(first.owner.id) }), { ok: false, fault: /revoked/ }, 'nor a revoked owner\'s');
  t.match(verifyReceipt(first, { ...trust, crl: testAuthority(t).crl }), { ok: false, fault: /CRL is not one the authority signed/ }, 'a CRL of another authority is refused');
  for (const node of nodes) t.equal(await node.stop(), 0);
});

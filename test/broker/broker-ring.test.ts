/**
 * The broker across four real processes: a write on one node lands at SUCCESSOR(H_DATA) as
 * computed from /ring, its receipt reads the same from every node, and killing the owner after
 * the acknowledgement loses nothing (a replica answers); writes whose owner is down wait in
 * the sender's outbox, across a restart of the sender, until the owner is back.
 */
import t from 'tap';
import { admitNodeData } from '../../src/membership/admit-node.js';
import { startNode } from '../helpers/node-process.js';
import { foundedAuthority } from '../helpers/peer-link.js';
import { getJson, minedReceipt, ownerOf, settledRing, startRing, type RingReceipt as Receipt } from '../helpers/ring-processes.js';
import { tempDir } from '../helpers/test-servient.js';

t.test('writes land at their owner, receipts read the same everywhere, and survive the owner', async (t) => {
  const nodes = await startRing(t, 4);
  const sorted = await settledRing(nodes);
  t.equal(new Set(sorted.map((r) => r.successors[0]?.id)).size, 4, 'one ring of four');
  const writer = nodes[0]!;
  const writerId = (await getJson<{ id: string }>(`${writer.url}ring`)).id;

  // H_DATA has a fresh random λ, so where a write lands is chance: write until one lands on
  // another node (each write does with probability 3/4; 40 writes all missing is ~1e-24).
  const receipts: Receipt[] = [];
  for (let i = 0; i < 40 && !receipts.some((r) => r.owner.id !== writerId); i++) {
    const value = 10 + (i % 40) / 2;
    const res = await fetch(`${writer.url}things/thermostat/properties/targetTemperature`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
    t.equal(res.headers.get('flowchain-tx-status'), 'stored', `write ${value} acknowledged by its owner`);
    t.equal(res.headers.get('flowchain-tx-quorum'), '2', 'the owner and one successor must prove they hold it');
    t.ok(Number(res.headers.get('flowchain-tx-copies')) >= 2, `and did (${res.headers.get('flowchain-tx-copies')} copies proven)`);
    const receipt = await getJson<Receipt>(`${writer.url}ledger/tx/${res.headers.get('flowchain-tx-id')}`);
    t.equal(receipt.owner.id, ownerOf(sorted, receipt.hData).id, `H_DATA ${receipt.hData.slice(0, 8)}… is stored at its successor`);
    receipts.push(receipt);
  }
  const remote = receipts.find((r) => r.owner.id !== writerId);
  t.ok(remote, 'a write landed on another node');
  // The status moves from pending to mined within a block interval; compare once it is final.
  const mined = await minedReceipt<Receipt>(writer.url, remote!.txId);
  t.equal(mined.status, 'mined', 'the remote write is mined by its owner');
  for (const node of nodes) {
    t.same(await getJson(`${node.url}ledger/tx/${remote!.txId}`), mined, `the receipt reads the same from ${node.url}`);
  }

  // Kill the owner without warning; its successor holds a replica and takes the key over.
  const byId = new Map(await Promise.all(nodes.map(async (n) => [(await getJson<{ id: string }>(`${n.url}ring`)).id, n] as const)));
  const ownerNode = byId.get(remote!.owner.id)!;
  t.ok(ownerNode, 'found the owner process by its ring id');
  await ownerNode.stop('SIGKILL');
  const survivors = nodes.filter((n) => n !== ownerNode);
  for (const node of survivors) {
    let receipt: Receipt | undefined;
    for (let attempt = 0; attempt < 40 && receipt?.txId !== remote!.txId; attempt++) {
      const res = await fetch(`${node.url}ledger/tx/${remote!.txId}`);
      if (res.status === 200) receipt = (await res.json()) as Receipt;
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
    t.match(receipt, { txId: remote!.txId, hData: remote!.hData, tx: remote!.tx }, `after the owner died, ${node.url} still reads the receipt`);
  }
  const after = await fetch(`${writer.url}things/thermostat/properties/mode`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '"auto"' });
  t.equal(after.headers.get('flowchain-tx-status'), 'stored', 'writes go on with three nodes');
  for (const node of survivors) t.equal(await node.stop(), 0);
});

t.test('writes made while their owner is down wait in the outbox, across a restart of the sender, and reach the owner once it is back', async (t) => {
  // Two processes: A writes (answering at once, --ack local), B owns about half the keys.
  const dataA = tempDir(t);
  const dataB = tempDir(t);
  const argsA = ['--data', dataA, '--log-level', 'info', '--ack', 'local'];
  // B founds the ring (and is its authority); it admits A.
  const b = await startNode(t, ['--data', dataB, '--log-level', 'info']);
  await admitNodeData(foundedAuthority(dataB), dataA);
  const a = await startNode(t, [...argsA, '--join', b.url]);
  const aPeerPort = new URL((await getJson<{ url: string }>(`${a.url}ring`)).url).port;
  const sorted = await settledRing([a, b]);
  const bId = (await getJson<{ id: string }>(`${b.url}ring`)).id;

  // B stops answering (frozen, so A's requests hang rather than fail fast); A writes until one
  // write belongs to B. B owns the arc from A's id to its own, a uniformly random share of the
  // ring (the node keys are random), so this may take many writes. It is the newest write, so
  // the property's history (the newest 100) still shows it at the end.
  b.child.kill('SIGSTOP');
  const held: string[] = [];
  for (let i = 0; i < 4_000 && held.length < 1; i++) {
    const res = await fetch(`${a.url}things/thermostat/properties/targetTemperature`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(10 + (i % 40) / 2) });
    if (res.status !== 204) t.fail(`write ${i} answered ${res.status}`);
    const key = /ledger\/tx\/([0-9a-f]{40})>/.exec(res.headers.get('link') ?? '')?.[1];
    if (key !== undefined && ownerOf(sorted, key).id === bId) held.push(key);
  }
  t.ok(held.length > 0, `${held.length} writes belong to the frozen owner`);

  // The sender dies with those transactions queued (a submission already on the wire may
  // still reach the owner: then the restarted sender's retry gets the same id), and the owner
  // comes back.
  await a.stop('SIGKILL');
  b.child.kill('SIGCONT');

  // The sender restarts on the same data and address (as a device does); its outbox delivers
  // what it left.
  const again = await startNode(t, [...argsA, '--join', b.url], { FLOWCHAIN_HOST: '127.0.0.1', FLOWCHAIN_PORT: new URL(a.url).port, FLOWCHAIN_PEER_PORT: aPeerPort });
  for (const key of held) {
    let receipt: Receipt | undefined;
    for (let attempt = 0; attempt < 80 && receipt === undefined; attempt++) {
      const res = await fetch(`${b.url}ledger/tx/${key}`);
      const body = res.status === 200 ? ((await res.json()) as Receipt) : undefined;
      if (body?.txId !== undefined) receipt = body;
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
    t.match(receipt, { hData: key, status: /^(pending|mined)$/, owner: { id: bId } }, `the owner stored ${key.slice(0, 8)}… after the sender's restart`);
  }
  // The owner's answer can trail its store (it waits for replication and the index put), so
  // the sender settles a little later: then everything it held, readings too, is delivered.
  let pending: unknown;
  for (let attempt = 0; attempt < 120 && pending !== 0; attempt++) {
    pending = await getJson(`${again.url}things/ledger/properties/outbox`);
    if (pending !== 0) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (pending !== 0) {
    const warnings = (node: { logs: Record<string, unknown>[] }) => JSON.stringify(node.logs.filter((entry) => Number(entry.level) >= 40).slice(-8));
    t.comment(`sender warnings: ${warnings(again)}\nowner warnings: ${warnings(b)}\nsender ring: ${JSON.stringify(await getJson(`${again.url}ring`))}\nowner ring: ${JSON.stringify(await getJson(`${b.url}ring`))}`);
  }
  t.equal(pending, 0, 'the outbox empties');
  const history = await getJson<{ hData: string; txId?: string }[]>(`${again.url}things/thermostat/properties/targetTemperature/history`);
  for (const key of held) t.match(history.find((entry) => entry.hData === key), { txId: /^[0-9a-f]{64}$/ }, 'the sender\'s history has its transaction id');
  t.equal(await again.stop(), 0);
  t.equal(await b.stop(), 0);
});

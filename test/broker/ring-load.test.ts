/**
 * Recorded writes across four real processes under load and under a crash: what every node
 * acknowledged is readable (and, once mined, verifiable offline) from every node afterwards,
 * and every outbox drains.
 */
import t from 'tap';
import type { NodeProcess } from '../helpers/node-process.js';
import { verifyReceipt, type ReceiptTrust } from '../../src/ledger/receipt.js';
import { getJson, settledRing, startRing } from '../helpers/ring-processes.js';
import { testAuthority } from '../helpers/test-servient.js';

// Real processes on a shared 2-core machine: more than tap's 120 s per file when the suite runs beside it.
t.setTimeout(360_000);

const PROPERTY = 'things/thermostat/properties/targetTemperature';

/**
 * Writes from `connections` concurrent clients until `count` writes are answered; returns the
 * acknowledged transaction ids (or H_DATA for those answered as queued). `progress.answered`
 * counts answers as they come.
 */
async function writeLoad(node: NodeProcess, count: number, connections: number, progress = { answered: 0 }): Promise<{ txIds: string[]; keys: string[]; failed: number }> {
  const txIds: string[] = [];
  const keys: string[] = [];
  let sent = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (sent < count) {
        const n = sent++;
        const res = await fetch(`${node.url}${PROPERTY}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(5 + (n % 50) / 2) }).catch(() => undefined);
        progress.answered++;
        if (res?.status !== 204) {
          failed++;
          continue;
        }
        const id = res.headers.get('flowchain-tx-id');
        if (id !== null) txIds.push(...id.split(', '));
        else keys.push(/ledger\/tx\/([0-9a-f]{40})>/.exec(res.headers.get('link') ?? '')![1]!);
      }
    }),
  );
  return { txIds, keys, failed };
}

/** Polls every node's outbox (the ledger Thing's property) until all are empty, bounded. */
async function drained(nodes: readonly NodeProcess[], attempts = 240): Promise<number[]> {
  let pending: number[] = [];
  for (let i = 0; i < attempts; i++) {
    pending = await Promise.all(nodes.map((n) => getJson<number>(`${n.url}things/ledger/properties/outbox`)));
    if (pending.every((p) => p === 0)) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return pending;
}

/**
 * Which of the receipts of `refs` `node` cannot serve (each must answer 200 with its id). With
 * `trust`, each must also verify offline against the ring's authority once mined: those not
 * mined yet are read again together each second (blocks seal every second), at most
 * `rounds` times; one that still fails is listed with its fault.
 */
async function unreadable(node: NodeProcess, refs: readonly string[], trust?: ReceiptTrust, rounds = 60): Promise<string[]> {
  const missing: string[] = [];
  let waiting = [...refs];
  for (let round = 0; round < rounds && waiting.length > 0; round++) {
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, 1_000));
    const unmined: string[] = [];
    for (let i = 0; i < waiting.length; i += 50) {
      const chunk = waiting.slice(i, i + 50);
      const answers = await Promise.all(chunk.map(async (ref) => ({ ref, res: await fetch(`${node.url}ledger/tx/${ref}`) })));
      for (const { ref, res } of answers) {
        const body = (await res.json()) as { txId?: string; hData?: string; status?: string };
        if (res.status !== 200 || (body.txId !== ref && body.hData !== ref)) missing.push(ref);
        else if (trust === undefined) continue;
        else if (body.status !== 'mined' && body.status !== 'anchored') unmined.push(ref);
        else {
          const check = verifyReceipt(body, trust);
          if (!check.ok) missing.push(`${ref}: ${check.fault}`);
        }
      }
    }
    waiting = unmined;
  }
  return [...missing, ...waiting.map((ref) => `${ref}: not mined after ${rounds} s`)];
}

t.test('5,000 recorded writes at full speed on a ring of four: every outbox empties, every receipt reads and verifies from every node', async (t) => {
  const authority = testAuthority(t);
  const nodes = await startRing(t, 4, [], authority);
  const sorted = await settledRing(nodes);
  t.equal(new Set(sorted.map((r) => r.successors[0]?.id)).size, 4, 'one ring of four');
  const loads = await Promise.all(nodes.map((node) => writeLoad(node, 1_250, 12)));
  t.same(loads.map((l) => l.failed), [0, 0, 0, 0], 'every write was answered 204');
  const pending = await drained(nodes);
  t.same(pending, [0, 0, 0, 0], 'every outbox is empty');
  const refs = loads.flatMap((l) => [...l.txIds, ...l.keys]);
  t.ok(refs.length >= 5_000, `${refs.length} transactions acknowledged or queued`);
  const trust = { authority: authority.certificate, crl: authority.crl };
  for (const node of nodes) t.same(await unreadable(node, refs, trust), [], `every receipt reads from ${node.url} and verifies offline against the ring's authority`);
  const sample = await Promise.all(refs.slice(0, 50).map((ref) => getJson<{ tx: { v?: number; batch?: { count: number } } }>(`${nodes[0]!.url}ledger/tx/${ref}`)));
  t.ok(sample.every((receipt) => receipt.tx.v === 2), 'the transactions are signed in batches');
  t.ok(sample.some((receipt) => (receipt.tx.batch?.count ?? 0) > 1), `under load a batch signs several (the first 50 came in batches of ${[...new Set(sample.map((r) => r.tx.batch?.count))].join(', ')})`);
  for (const node of nodes) t.equal(await node.stop(), 0);
});

t.test('a node killed under write load: after the ring heals every outbox drains and nothing acknowledged is lost', async (t) => {
  const nodes = await startRing(t, 4);
  await settledRing(nodes);
  const victim = nodes[3]!;
  const writers = nodes.slice(0, 2);
  const progress = { answered: 0 };
  const loads = writers.map((node) => writeLoad(node, 600, 8, progress));
  // Kill a node that is no writer (it owns about a quarter of the keys) once a third of the writes are answered.
  while (progress.answered < 400) await new Promise((resolve) => setTimeout(resolve, 20));
  await victim.stop('SIGKILL');
  const results = await Promise.all(loads);
  const survivors = nodes.slice(0, 3);
  t.same(results.map((r) => r.failed), [0, 0], 'writes were answered throughout (queued while their owner was gone)');
  const pending = await drained(survivors);
  t.same(pending, [0, 0, 0], 'every surviving outbox drained after the ring healed');
  const refs = results.flatMap((r) => [...r.txIds, ...r.keys]);
  for (const node of survivors) t.same(await unreadable(node, refs), [], `all ${refs.length} receipts read from ${node.url}`);
  for (const node of survivors) t.equal(await node.stop(), 0);
});

/**
 * An outsider against a ring started as the README says: a real process of its own, with a
 * key it made and a "membership" from an authority it made, tries what issue 12 found it could
 * do (join and take over, notify, overwrite a record, store garbage, submit a forged
 * transaction, fill the disk). Each attempt is refused with a code and changes nothing; after
 * it gives up, every acknowledged receipt still reads from every node.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { runCli } from '../helpers/node-process.js';
import { getJson, settledRing, startRing } from '../helpers/ring-processes.js';
import { tempDir } from '../helpers/test-servient.js';

// Real processes on a shared 2-core machine: more than tap's 120 s per file when the suite runs beside it.
t.setTimeout(360_000);

const OUTSIDER = fileURLToPath(new URL('../helpers/outsider.mjs', import.meta.url));

t.test('an outsider with a key and a certificate of its own can change nothing on a ring', async (t) => {
  const nodes = await startRing(t, 3);
  const before = await settledRing(nodes);
  const written: string[] = [];
  for (const node of nodes) {
    for (let k = 0; k < 10; k++) {
      const res = await fetch(`${node.url}things/thermostat/properties/targetTemperature`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(20 + k / 2) });
      t.equal(res.headers.get('flowchain-tx-status'), 'stored');
      written.push(res.headers.get('flowchain-tx-id')!);
    }
  }
  const values = await Promise.all(nodes.map((n) => getJson(`${n.url}things/thermostat/properties`)));

  // 1. Join through a member with a self-made membership: refused at start-up, with the code.
  const rogue = tempDir(t);
  const init = await runCli(['ring', 'init', '--authority', join(rogue, 'authority')]);
  t.equal(init.code, 0);
  t.equal((await runCli(['ring', 'admit', '--authority', join(rogue, 'authority'), '--data', join(rogue, 'node')])).code, 0);
  const join1 = await runCli(['start', '--host', '127.0.0.1', '--port', '0', '--peer-port', '0', '--data', join(rogue, 'node'), '--join', nodes[0]!.url]);
  t.equal(join1.code, 1, 'the outsider node does not start');
  t.match(join1.stderr, /FLOWCHAIN_ERR_PEER_NOT_MEMBER/, 'and says why, with the code');

  // 2-6. Peer requests from a process of its own.
  const thermostat = (await getJson<{ id: string }>(`${nodes[0]!.url}things/thermostat`)).id;
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [OUTSIDER, before[0]!.url, join(rogue, 'outsider-authority'), thermostat], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.once('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`outsider exited ${code}`))));
  });
  const results = JSON.parse(output) as Record<string, { status?: number; code?: string }>;
  for (const [attack, outcome] of Object.entries(results)) t.match(outcome, { status: 403, code: 'FLOWCHAIN_ERR_PEER_NOT_MEMBER' }, `${attack}: refused with the code`);

  // Nothing changed: the ring, the values, every receipt.
  const after = await settledRing(nodes);
  t.same(after.map((r) => [r.id, r.predecessor?.id, r.successors.map((s) => s.id)]), before.map((r) => [r.id, r.predecessor?.id, r.successors.map((s) => s.id)]), 'the ring is the same three nodes in the same order');
  t.same(await Promise.all(nodes.map((n) => getJson(`${n.url}things/thermostat/properties`))).then((v) => v.map((x) => (x as { targetTemperature: number }).targetTemperature)), values.map((x) => (x as { targetTemperature: number }).targetTemperature), 'no value changed');
  for (const node of nodes) {
    for (const txId of written) t.equal((await fetch(`${node.url}ledger/tx/${txId}`)).status, 200, `${txId.slice(0, 8)}… reads from ${node.url}`);
  }
  for (const node of nodes) t.equal(await node.stop(), 0);
});

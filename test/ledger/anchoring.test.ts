/**
 * Anchoring end to end against a real local Ethereum node: anvil, Foundry's development node,
 * from its npm package for this platform (@foundry-rs/anvil-linux-amd64, an optional
 * dependency: the registry this project installs from carries only that build of
 * @foundry-rs/anvil), run offline as a child process on port 0. A node process anchors its blocks there; a receipt
 * downloaded from it verifies offline and on the chain with `flowchain verify-receipt`, and
 * fails on any tampering; `flowchain verify` checks the stored chain and names a changed block.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { privateKeyToAccount } from 'viem/accounts';
import { Database } from '../../src/storage.js';
import { createRandom } from '../../src/common/random.js';
import { runCli, startNode } from '../helpers/node-process.js';
import { getJson } from '../helpers/ring-processes.js';
import { tempDir } from '../helpers/test-servient.js';

/** The anvil binary installed for this platform, if any. */
function anvilBinary(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@foundry-rs/anvil-linux-amd64/package.json')), 'bin', 'anvil');
  } catch {
    return undefined;
  }
}

/** Starts anvil on a free port; stopped at teardown. Resolves with its JSON-RPC URL. */
async function startAnvil(t: Test, bin: string): Promise<string> {
  const child = spawn(bin, ['--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    child.kill('SIGTERM');
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const port = /Listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1];
      if (port !== undefined) resolve(`http://127.0.0.1:${port}`);
    });
    child.once('exit', (code) => reject(new Error(`anvil exited with ${code}: ${out}`)));
  });
}

async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  return ((await res.json()) as { result: unknown }).result;
}

interface Receipt {
  status: string;
  txId: string;
  tx: { data: { value: unknown } };
  minedIn?: { header: { height: number } };
  anchor?: { root: string; ref: { kind: string; chainId: number; txHash: string; blockNumber: number } };
}

const anvil = anvilBinary();
const elsewhere = process.platform !== 'linux' || process.arch !== 'x64';
t.test('a write is mined, anchored on a local chain, and its receipt verifies offline and on the chain', { skip: anvil === undefined && elsewhere ? `no anvil build installed for ${process.platform}-${process.arch}: npm i -D @foundry-rs/anvil` : false }, async (t) => {
  if (anvil === undefined) return void t.fail('@foundry-rs/anvil-linux-amd64 is not installed: run npm ci');
  const chainUrl = await startAnvil(t, anvil);
  // A throwaway key for the throwaway chain, funded by anvil's own cheat method.
  const random = createRandom(2026);
  const key = `0x${Array.from({ length: 32 }, () => Math.floor(random.next() * 256).toString(16).padStart(2, '0')).join('')}` as const;
  const account = privateKeyToAccount(key);
  await rpc(chainUrl, 'anvil_setBalance', [account.address, '0x8ac7230489e80000']);
  const dir = tempDir(t);
  const keyFile = join(dir, 'anchor.key');
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  const data = join(dir, 'node');
  const node = await startNode(t, ['--data', data, '--log-level', 'info', '--anchor', 'ethereum', '--anchor-rpc', chainUrl, '--anchor-key-file', keyFile, '--anchor-every', '1', '--block-interval', '200', '--difficulty', '16']);

  const put = await fetch(`${node.url}things/thermostat/properties/targetTemperature`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '22.5' });
  t.equal(put.status, 204);
  const txId = put.headers.get('flowchain-tx-id')!;
  t.match(txId, /^[0-9a-f]{64}$/, 'stored at its owner (this node, alone in its ring)');
  let receipt: Receipt | undefined;
  const seen = new Set<string>();
  for (let i = 0; i < 100 && receipt?.status !== 'anchored'; i++) {
    receipt = await getJson<Receipt>(`${node.url}ledger/tx/${txId}`);
    seen.add(receipt.status);
    if (receipt.status !== 'anchored') await new Promise((resolve) => setTimeout(resolve, 200));
  }
  t.equal(receipt?.status, 'anchored', `anchored (went through ${[...seen].join(', ')})`);
  t.match(receipt?.anchor?.ref, { kind: 'ethereum', chainId: 31337, txHash: /^0x[0-9a-f]{64}$/ });
  const onChain = (await rpc(chainUrl, 'eth_getTransactionByHash', [receipt!.anchor!.ref.txHash])) as { input: string; from: string };
  t.equal(onChain.from, account.address.toLowerCase(), 'sent by the configured account');
  t.ok(onChain.input.endsWith(receipt!.anchor!.root), 'the chain carries the anchor root');
  t.match(await getJson(`${node.url}ledger`), { anchoring: 'ethereum', lastAnchor: { ref: { kind: 'ethereum' } } });
  t.ok((await getJson<unknown[]>(`${node.url}ledger/anchors`)).length >= 1, 'listed under /ledger/anchors');

  const file = join(dir, 'receipt.json');
  writeFileSync(file, JSON.stringify(receipt));
  const offline = await runCli(['verify-receipt', file]);
  t.equal(offline.code, 0, offline.stdout + offline.stderr);
  t.match(offline.stdout, /receipt OK: anchored .*not checked on a chain/);
  const checked = await runCli(['verify-receipt', file, '--anchor-rpc', chainUrl]);
  t.equal(checked.code, 0, checked.stdout + checked.stderr);
  t.match(checked.stdout, /checked on the chain/);

  const tampered: [string, (r: Receipt) => void, RegExp][] = [
    ['the value', (r) => (r.tx.data.value = 99), /H_DATA/],
    ['the anchor root', (r) => (r.anchor!.root = r.anchor!.root.replace(/^./, (c) => (c === '0' ? '1' : '0'))), /anchor/],
    ['the anchoring transaction', (r) => (r.anchor!.ref.txHash = `0x${'ab'.repeat(32)}`), /no transaction/],
    ['the chain id', (r) => (r.anchor!.ref.chainId = 1), /chain/],
  ];
  for (const [what, change, reason] of tampered) {
    const copy = JSON.parse(JSON.stringify(receipt)) as Receipt;
    change(copy);
    writeFileSync(file, JSON.stringify(copy));
    const result = await runCli(['verify-receipt', file, '--anchor-rpc', chainUrl]);
    t.equal(result.code, 1, `${what} changed: rejected`);
    t.match(result.stdout, reason, result.stdout);
  }

  t.equal(await node.stop(), 0);
  const sound = await runCli(['verify', '--data', data]);
  t.equal(sound.code, 0, sound.stdout + sound.stderr);
  t.match(sound.stdout, /chain OK: \d+ blocks/);
  // One byte of the mined block's header, changed on disk.
  const database = await Database.open(join(data, 'db'));
  const section = database.section('ledger');
  const height = receipt!.minedIn!.header.height;
  const key16 = `b/${height.toString(16).padStart(16, '0')}`;
  const block = (await section.get(key16)) as { header: { openedAt: number } };
  await section.put(key16, { ...block, header: { ...block.header, openedAt: block.header.openedAt - 1 } });
  await database.close();
  const bad = await runCli(['verify', '--data', data]);
  t.equal(bad.code, 1);
  t.match(bad.stdout, new RegExp(`chain BAD at block ${height}: hash`));
});

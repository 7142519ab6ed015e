import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { fetchTrusting } from './helpers/https-fetch.js';
import { CLI, runCli, startNode } from './helpers/node-process.js';
import { minedReceipt } from './helpers/ring-processes.js';
import { selfSignedCertificate } from './helpers/self-signed.js';
import { tempDir, testAuthority } from './helpers/test-servient.js';

const putJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

t.test('a node started from the command line serves, shuts down cleanly on SIGTERM, and keeps writes across restarts', async (t) => {
  const data = tempDir(t);
  const first = await startNode(t, ['--data', data, '--seed', '1']);
  t.match(await (await fetch(`${first.url}health`)).json(), { status: 'ok', things: 5 });
  t.equal((await putJson(`${first.url}things/thermostat/properties/targetTemperature`, 19.5)).status, 204);
  t.equal(await first.stop('SIGTERM'), 0, 'graceful exit code');
  t.ok(first.logs.some((l) => l.msg === 'stopped'), 'logged its shutdown');

  const second = await startNode(t, ['--data', data]);
  t.equal(await (await fetch(`${second.url}things/thermostat/properties/targetTemperature`)).json(), 19.5);
  t.equal(await second.stop('SIGINT'), 0, 'SIGINT is graceful too');
});

t.test('FLOWCHAIN_* environment variables configure the node', async (t) => {
  const data = tempDir(t);
  const node = await startNode(t, [], { FLOWCHAIN_HOST: '127.0.0.1', FLOWCHAIN_PORT: '0', FLOWCHAIN_DATA: data, FLOWCHAIN_SEED: '3' });
  t.match(node.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  t.equal((await fetch(`${node.url}health`)).status, 200);
  t.match(node.logs.find((l) => l.msg === 'things loaded'), { seed: 3 });
  t.match(node.logs.find((l) => typeof l.url === 'string'), { data });
  await node.stop();
});

t.test('--auth-token-file protects writes; the token never appears in the logs', async (t) => {
  const dir = tempDir(t);
  const tokenFile = join(dir, 'token');
  const token = 'c2VjcmV0LXRva2VuLWZvci10ZXN0cw';
  writeFileSync(tokenFile, `${token}\n`);
  const node = await startNode(t, ['--data', join(dir, 'data'), '--auth-token-file', tokenFile, '--log-level', 'debug']);
  const url = `${node.url}things/smart-plug/properties/on`;
  const denied = await putJson(url, true);
  t.equal(denied.status, 401);
  t.match(denied.headers.get('www-authenticate'), /^Bearer realm="flowchain"/);
  t.equal((await putJson(url, true, { authorization: `Bearer ${token}` })).status, 204);
  await node.stop();
  t.notMatch(JSON.stringify(node.logs), token);
});

t.test('--basic-auth-file protects writes with HTTP Basic; the credentials never appear in the logs', async (t) => {
  const dir = tempDir(t);
  const users = join(dir, 'users');
  const password = 'cGFzc3dvcmQtZm9yLWJhc2ljLXRlc3Rz';
  writeFileSync(users, `ops:${password}\n`);
  const node = await startNode(t, ['--data', join(dir, 'data'), '--basic-auth-file', users, '--log-level', 'debug']);
  const url = `${node.url}things/smart-plug/properties/on`;
  const header = `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`;
  const wrong = await putJson(url, true, { authorization: `Basic ${Buffer.from('ops:not-the-password-at-all').toString('base64')}` });
  t.equal(wrong.status, 401);
  t.equal(wrong.headers.get('www-authenticate'), 'Basic realm="flowchain", charset="UTF-8"');
  t.equal((await putJson(url, true, { authorization: header })).status, 204);
  t.match(node.logs.find((l) => String(l.msg).startsWith('Flowchain node listening')), { auth: true, schemes: ['basic'] });
  await node.stop();
  t.notMatch(JSON.stringify(node.logs), password);
  t.notMatch(JSON.stringify(node.logs), header.slice(6));
  const short = join(dir, 'short');
  writeFileSync(short, 'ops:short\n');
  const refused = await runCli(['start', '--port', '0', '--host', '127.0.0.1', '--data', join(dir, 'other'), '--basic-auth-file', short]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /FLOWCHAIN_ERR_CONFIG_INVALID: basic-auth-file: .*short line 1: the password must have at least 16 characters/);
});

t.test('--tls-cert and --tls-key serve HTTPS; a missing or invalid file stops start-up naming it', async (t) => {
  const dir = tempDir(t);
  const { cert, key } = selfSignedCertificate();
  writeFileSync(join(dir, 'cert.pem'), cert);
  writeFileSync(join(dir, 'key.pem'), key);
  writeFileSync(join(dir, 'junk.pem'), 'junk');
  const node = await startNode(t, ['--data', join(dir, 'data'), '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')]);
  t.match(node.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
  const td = (await (await fetchTrusting(cert)(`${node.url}things/smart-plug`)).json()) as { base: string };
  t.equal(td.base, node.url, 'TDs send consumers to https');
  await node.stop();
  for (const [args, message] of [
    [['--tls-cert', join(dir, 'nope.pem'), '--tls-key', join(dir, 'key.pem')], /FLOWCHAIN_ERR_CONFIG_INVALID: tls-cert: cannot read .*nope\.pem/],
    [['--tls-cert', join(dir, 'junk.pem'), '--tls-key', join(dir, 'key.pem')], /FLOWCHAIN_ERR_CONFIG_INVALID: tls-cert: .*junk\.pem is not a PEM certificate/],
    [['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'junk.pem')], /FLOWCHAIN_ERR_CONFIG_INVALID: tls-key: .*junk\.pem is not a PEM private key/],
  ] as const) {
    const result = await runCli(['start', '--port', '0', '--host', '127.0.0.1', '--data', join(dir, 'other'), ...args]);
    t.equal(result.code, 1);
    t.match(result.stderr, message);
  }
});

t.test('a bad TD file stops start-up with a non-zero exit and a message naming the file and field', async (t) => {
  const things = t.testdir({ 'broken.td.json': JSON.stringify({ '@context': 'https://www.w3.org/2022/wot/td/v1.1', title: 'x', driver: { type: 'nope' } }) });
  const result = await runCli(['start', '--port', '0', '--host', '127.0.0.1', '--data', tempDir(t), '--things', things]);
  t.equal(result.code, 1);
  t.match(result.stderr, /FLOWCHAIN_ERR_DRIVER_UNKNOWN: .*broken\.td\.json: \/driver\/type/);
});

t.test('a bad config stops start-up naming the option', async (t) => {
  const result = await runCli(['start', '--port', 'eighty']);
  t.equal(result.code, 1);
  t.match(result.stderr, /FLOWCHAIN_ERR_CONFIG_INVALID: --port/);
  const badFile = join(tempDir(t), 'config.json');
  writeFileSync(badFile, JSON.stringify({ prot: 1 }));
  const fromFile = await runCli(['start', '--config', badFile]);
  t.equal(fromFile.code, 1);
  t.match(fromFile.stderr, /config\.json: prot/);
});

t.test('a port that is in use stops start-up with FLOWCHAIN_ERR_CONFIG_INVALID naming the port', async (t) => {
  const running = await startNode(t, ['--data', tempDir(t)]);
  const port = new URL(running.url).port;
  const result = await runCli(['start', '--port', port, '--host', '127.0.0.1', '--data', tempDir(t)]);
  t.equal(result.code, 1);
  t.match(result.stderr, new RegExp(`FLOWCHAIN_ERR_CONFIG_INVALID: cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
  await running.stop();
});

/** Runs the command with `input` on its stdin, to completion. */
function runCliWithInput(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

t.test('help, help COMMAND and COMMAND --help print the commands or that command\'s options and exit 0', async (t) => {
  for (const args of [['--help'], ['help']]) {
    const help = await runCli(args);
    t.equal(help.code, 0, args.join(' '));
    t.match(help.stdout, /^Usage: flowchain COMMAND \[options\]$/m);
    t.match(help.stdout, /^ {2}verify-receipt +check a receipt offline/m);
  }
  for (const args of [['start', '--help'], ['help', 'start']]) {
    const help = await runCli(args);
    t.equal(help.code, 0, args.join(' '));
    t.match(help.stdout, /^Usage: flowchain start \[options\]$/m);
    t.match(help.stdout, /^ {2}--port PORT +TCP port of the HTTP API.*\[default: 8080; env: FLOWCHAIN_PORT\]$/m);
  }
  const receipt = await runCli(['verify-receipt', '--help']);
  t.equal(receipt.code, 0);
  t.match(receipt.stdout, /^Usage: flowchain verify-receipt FILE/m);
  t.notMatch(receipt.stdout, /--port/, 'only the options of that command');
  const admit = await runCli(['help', 'ring', 'admit']);
  t.match(admit.stdout, /^ {2}--days N +how many days the membership is valid \[default: 365\]$/m);
});

t.test('--version prints the version in package.json and exits 0', async (t) => {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const result = await runCli(['--version']);
  t.equal(result.code, 0);
  t.equal(result.stdout, `${version}\n`);
});

t.test('a mistyped option or command exits 2 naming the nearest one; no command prints the commands', async (t) => {
  const option = await runCli(['start', '--prot', '8080']);
  t.equal(option.code, 2);
  t.equal(option.stdout, '');
  t.match(option.stderr, /^flowchain start: unknown option --prot; did you mean --port\?\nRun 'flowchain help start'/);
  const command = await runCli(['strat']);
  t.equal(command.code, 2);
  t.match(command.stderr, /^flowchain: unknown command strat; did you mean start\?/);
  const elsewhere = await runCli(['verify', '--port', '8080']);
  t.equal(elsewhere.code, 2);
  t.match(elsewhere.stderr, /--port is not one of its options \(flowchain start and flowchain ring take it\)/);
  const none = await runCli([]);
  t.equal(none.code, 2);
  t.match(none.stderr, /^flowchain: name a command\nUsage: flowchain COMMAND/);
});

t.test('verify-receipt - reads the receipt from stdin; a TD is not a receipt, and the message says where receipts come from', async (t) => {
  const data = tempDir(t);
  const node = await startNode(t, ['--data', data, '--difficulty', '16']);
  const put = await putJson(`${node.url}things/thermostat/properties/targetTemperature`, 20.5);
  t.equal(put.status, 204);
  const receipt = await minedReceipt<{ status: string }>(node.url, put.headers.get('flowchain-tx-id')!);
  t.equal(receipt.status, 'mined');
  const fromStdin = await runCliWithInput(['verify-receipt', '-'], JSON.stringify(receipt));
  t.equal(fromStdin.code, 0, fromStdin.stdout + fromStdin.stderr);
  t.match(fromStdin.stdout, /^receipt OK: mined in block \d+, not anchored$/m);
  // Against the ring's authority: the node founded its own ring, its membership is in DATA/ring.
  const member = await runCliWithInput(['verify-receipt', '-', '--authority', join(data, 'ring')], JSON.stringify(receipt));
  t.equal(member.code, 0, member.stdout + member.stderr);
  t.match(member.stdout, /^receipt OK: mined in block \d+, mined by a member of the ring of .*ring, not anchored$/m);
  const certificateOnly = await runCliWithInput(['verify-receipt', '-', '--authority', join(data, 'ring', 'authority.crt')], JSON.stringify(receipt));
  t.equal(certificateOnly.code, 0, 'or given the authority certificate alone');
  const stranger = testAuthority(t);
  const otherRing = await runCliWithInput(['verify-receipt', '-', '--authority', stranger.directory], JSON.stringify(receipt));
  t.equal(otherRing.code, 1);
  t.match(otherRing.stdout, /^receipt BAD: the owner's membership: the certificate is not from this ring's authority/);
  const td = await (await fetch(`${node.url}things/thermostat`)).text();
  await node.stop();

  const tdFromStdin = await runCliWithInput(['verify-receipt', '-'], td);
  t.equal(tdFromStdin.code, 1);
  t.match(tdFromStdin.stdout, /^receipt BAD: stdin is not a receipt but a Thing Description \(Thermostat\); a receipt is the JSON a node serves at GET \/ledger\/tx\/\{txId\}/);
  const file = join(tempDir(t), 'thermostat.td.json');
  writeFileSync(file, td);
  const tdFile = await runCli(['verify-receipt', file]);
  t.equal(tdFile.code, 1);
  t.match(tdFile.stdout, `receipt BAD: ${file} is not a receipt but a Thing Description`);
  const missing = await runCli(['verify-receipt', join(tempDir(t), 'nope.json')]);
  t.equal(missing.code, 2, 'a file that cannot be read is a usage error');
  t.match(missing.stderr, /^flowchain verify-receipt: cannot read .*nope\.json: ENOENT/);
});

t.test('data directory errors name their cause: a file where the directory should be, a database a running node holds', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'data');
  writeFileSync(file, 'not a directory');
  const notDirectory = await runCli(['start', '--host', '127.0.0.1', '--port', '0', '--data', file]);
  t.equal(notDirectory.code, 1);
  t.match(notDirectory.stderr, `flowchain: FLOWCHAIN_ERR_STORE_NOT_DIRECTORY: cannot open the database in ${join(file, 'db')}: ${file} is a file, not a directory`);

  const data = join(dir, 'running');
  const node = await startNode(t, ['--data', data]);
  const locked = await runCli(['verify', '--data', data]);
  t.equal(locked.code, 1);
  t.match(locked.stderr, /^flowchain: FLOWCHAIN_ERR_STORE_LOCKED: cannot open the database in .*running\/db: it is locked by another process/);
  if (existsSync('/proc/locks')) t.match(locked.stderr, `pid ${node.child.pid} (`, 'names the node holding it');
  t.equal(await node.stop(), 0);
  t.equal((await runCli(['verify', '--data', data])).code, 0, 'opens once the node stopped');
});

t.test('flowchain ring stops every node once, gracefully, when its whole process group gets Ctrl-C', async (t) => {
  const ports = await freePorts(4);
  const ring = spawn(process.execPath, [CLI, 'ring', '--nodes', '2', '--port', String(ports[0]), '--peer-port', String(ports[2]), '--data', tempDir(t)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, FLOWCHAIN_MQTT_PORT: '0', FLOWCHAIN_COAP_PORT: 'off' },
  });
  t.teardown(() => void (ring.exitCode === null && process.kill(-ring.pid!, 'SIGKILL')));
  let output = '';
  ring.stdout.on('data', (c: Buffer) => (output += c.toString()));
  ring.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => ring.once('exit', resolve));
  // Both nodes started (each says so once its start() resolved).
  for (let i = 0; i < 300 && (output.match(/Flowchain node listening/g) ?? []).length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  // What a terminal does on Ctrl-C: the signal goes to every process of the foreground group.
  process.kill(-ring.pid!, 'SIGINT');
  t.equal(await exited, 0, 'every node stopped cleanly');
  t.equal((output.match(/"shutting down"/g) ?? []).length, 2, 'each node shut down once');
  t.notMatch(output, /second signal/, 'no node took the one Ctrl-C for two');
});

/** `count` consecutive TCP ports, free on the loopback interface a moment ago. */
async function freePorts(count: number): Promise<number[]> {
  const { createServer } = await import('node:net');
  for (;;) {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const base = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const servers = [];
    let free = true;
    for (let port = base; port < base + count; port++) {
      const server = createServer();
      free = await new Promise<boolean>((resolve) => server.once('error', () => resolve(false)).listen(port, '127.0.0.1', () => resolve(true)));
      servers.push(server);
      if (!free) break;
    }
    await Promise.all(servers.map((server) => new Promise((resolve) => (server.listening ? server.close(resolve) : resolve(undefined)))));
    if (free) return Array.from({ length: count }, (_, i) => base + i);
  }
}

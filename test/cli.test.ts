import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { fetchTrusting } from './helpers/https-fetch.js';
import { runCli, startNode } from './helpers/node-process.js';
import { selfSignedCertificate } from './helpers/self-signed.js';
import { tempDir } from './helpers/test-servient.js';

const putJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

t.test('a node started from the command line serves, shuts down cleanly on SIGTERM, and keeps writes across restarts', async (t) => {
  const data = tempDir(t);
  const first = await startNode(t, ['--data', data, '--seed', '1']);
  t.match(await (await fetch(`${first.url}health`)).json(), { status: 'ok', things: 4 });
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

t.test('--help prints usage and exits 0; an unknown command exits 2', async (t) => {
  const help = await runCli(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: flowchain start/);
  t.equal((await runCli(['frobnicate'])).code, 2);
});

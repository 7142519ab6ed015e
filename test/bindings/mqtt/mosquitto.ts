/**
 * Debian's Mosquitto for the MQTT binding's tests: a broker started on a free port with a
 * config file the test writes, and `mosquitto_pub` / `mosquitto_sub` as independent clients.
 * Everything started is stopped at teardown.
 */
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Test } from 'tap';
import { tempDir } from '../../helpers/test-servient.js';

/** A port nothing listens on now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** A running Mosquitto. */
export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts `mosquitto` on a free loopback port (anonymous, or for one `user` only; over TLS with `tls`); resolved once it listens. */
export async function startMosquitto(t: Test, options: { readonly port?: number; readonly user?: { readonly name: string; readonly password: string }; readonly tls?: { readonly cert: string; readonly key: string } } = {}): Promise<Mosquitto> {
  const port = options.port ?? (await freePort());
  const dir = tempDir(t);
  const conf = join(dir, 'mosquitto.conf');
  const access: string[] = [];
  if (options.user !== undefined) {
    const passwords = join(dir, 'passwords');
    await run('mosquitto_passwd', ['-b', '-c', passwords, options.user.name, options.user.password]);
    // Started as root, mosquitto reads the file as its own user (it drops privileges first).
    chmodSync(dir, 0o755);
    chmodSync(passwords, 0o644);
    access.push('allow_anonymous false', `password_file ${passwords}`);
  } else {
    access.push('allow_anonymous true');
  }
  if (options.tls !== undefined) {
    writeFileSync(join(dir, 'cert.pem'), options.tls.cert);
    writeFileSync(join(dir, 'key.pem'), options.tls.key);
    // mosquitto reads them as its own user (it drops privileges first).
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'key.pem'), 0o644);
    access.push(`certfile ${join(dir, 'cert.pem')}`, `keyfile ${join(dir, 'key.pem')}`);
  }
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, ...access, 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information', ''].join('\n'));
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let exited = false;
  const gone = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const limit = setTimeout(() => child.kill(), 10_000);
  await new Promise<void>((resolve, reject) => {
    let log = '';
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (/running/.test(log)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`mosquitto exited with ${code}: ${log}`)));
  }).finally(() => clearTimeout(limit));
  // Should a teardown before this one throw, the broker still goes when the test process does.
  const orphaned = () => void (exited || child.kill('SIGKILL'));
  process.once('exit', orphaned);
  const stop = async () => {
    process.off('exit', orphaned);
    if (!exited) child.kill('SIGTERM');
    await gone;
  };
  t.teardown(stop);
  return { port, url: `${options.tls === undefined ? 'mqtt' : 'mqtts'}://127.0.0.1:${port}`, stop };
}

/** One message as mosquitto_sub prints it. */
export interface Received {
  readonly retained: boolean;
  readonly contentType: string;
  readonly correlation: string;
  readonly payload: string;
}

/**
 * Runs `mosquitto_sub` for `count` messages on `topic`; `ready` resolves once the broker
 * acknowledged the subscription, `messages` with what it printed (rejected after `seconds`).
 */
export function mosquittoSub(t: Test, port: number, topic: string, options: { readonly count?: number; readonly v5?: boolean; readonly seconds?: number; readonly cafile?: string } = {}): { ready: Promise<void>; messages: Promise<Received[]> } {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-C', String(options.count ?? 1), '-W', String(options.seconds ?? 10), '-d', '-F', '\\nMSG %r|%C|%D|%x\\n', '-V', options.v5 === false ? 'mqttv311' : 'mqttv5'];
  if (options.cafile !== undefined) args.push('--cafile', options.cafile);
  // Line-buffered (coreutils' stdbuf): its debug line saying the subscription was acknowledged must arrive when printed, not at exit.
  const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void (child.exitCode === null && child.kill()));
  let out = '';
  let err = '';
  let markReady: () => void = () => undefined;
  let notReady: (err: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => ((markReady = resolve), (notReady = reject)));
  ready.catch(() => undefined);
  child.once('exit', (code) => notReady(new Error(`mosquitto_sub ${args.join(' ')} exited with ${code} before its subscription was acknowledged: ${err}${out}`)));
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (/received SUBACK/.test(out)) markReady();
  });
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  // 'close', not 'exit': a process can exit before its last output is read.
  const messages = new Promise<Received[]>((resolve, reject) => {
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`mosquitto_sub ${args.join(' ')} exited with ${code}: ${err}${out}`));
      resolve(out.split('\n').filter((line) => line.startsWith('MSG ')).map((line) => {
        const [retained, contentType, correlation, hex] = line.slice(4).split('|');
        return { retained: retained === '1', contentType: contentType!, correlation: correlation!, payload: Buffer.from(hex!.trim(), 'hex').toString('utf8') };
      }));
    });
  });
  // Awaited by the test when it wants them; a failure meanwhile is not an unhandled rejection.
  messages.catch(() => undefined);
  return { ready, messages };
}

/** Runs `mosquitto_pub` and resolves once it has published (rejects on a non-zero exit). */
export function mosquittoPub(port: number, topic: string, message: string, options: { readonly v5?: boolean; readonly responseTopic?: string; readonly correlation?: string; readonly qos?: number; readonly retain?: boolean } = {}): Promise<void> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-m', message, '-q', String(options.qos ?? 1), '-V', options.v5 === false ? 'mqttv311' : 'mqttv5'];
  if (options.responseTopic !== undefined) args.push('-D', 'publish', 'response-topic', options.responseTopic);
  if (options.correlation !== undefined) args.push('-D', 'publish', 'correlation-data', options.correlation);
  if (options.retain === true) args.push('-r');
  const child = spawn('mosquitto_pub', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  // mosquitto_pub has no time limit of its own: one that is not done in 10 s failed.
  const limit = setTimeout(() => child.kill(), 10_000);
  return new Promise((resolve, reject) => child.once('close', (code) => {
    clearTimeout(limit);
    if (code === 0) resolve();
    else reject(new Error(`mosquitto_pub ${args.join(' ')} exited with ${code}: ${err}`));
  }));
}

/** Runs a command to its end (rejects on a non-zero exit). */
function run(command: string, args: readonly string[]): Promise<void> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve, reject) => child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${err}`)))));
}

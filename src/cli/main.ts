/**
 * The `flowchain` command, loaded by its entry (../cli.ts) once the Node.js version is known to
 * be supported: reads the command line (invocation.ts: help, the version, usage errors with the
 * nearest name), then flags, environment and config file, sets up logging, starts the servient
 * and shuts it down gracefully on SIGINT/SIGTERM; and the offline commands. With the entry, the
 * only module that touches `process`. Exits 0 on success (help and --version included), 1 when
 * a command fails, 2 when the command line is wrong.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { BUNDLED_THINGS } from '../bundled.js';
import { isLoopbackHost } from '../common/loopback.js';
import { parseCommandLine, readAnchorKey, readAuthToken, readBasicCredentials, readTlsFiles, type CommandLine, type Config } from '../config.js';
import { isFlowchainError } from '../errors.js';
import { verifyReceipt, type ReceiptTrust } from '../ledger/receipt.js';
import { admitNodeData, loadIdentity } from '../membership/admit-node.js';
import { RingAuthority, writeMembership } from '../membership/ring-authority.js';
import { Membership, MEMBERSHIP_FILES, readReceiptTrust } from '../membership/membership.js';
import { NodeIdentity } from '../node-identity.js';
import { Servient, verifyStoredChain } from '../servient.js';
import type { CommandName } from './commands.js';
import { resolveInvocation } from './invocation.js';
import { notAReceipt, RECEIPT_SOURCE } from './receipt-input.js';

const readText = (path: string): string => readFileSync(path, 'utf8');

/**
 * V8 flags a node process runs with (the `flowchain` command's shebang and `npm start` pass
 * the same): a small young generation keeps an idle node's memory near 100 MB instead of 130.
 */
const V8_FLAGS = ['--max-semi-space-size=2'];

function createLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    // Human-readable lines on a terminal, JSON lines everywhere else (files, containers, CI).
    ...(process.stdout.isTTY ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
    // Credentials never reach a log line, whichever scheme carries them.
    redact: ['req.headers.authorization', 'headers.authorization', 'req.headers["proxy-authorization"]', 'headers["proxy-authorization"]'],
  });
}

/** Runs one command, given its arguments (after its name), its own flags and the configuration. */
type Handler = (args: readonly string[], flags: CommandLine['commandFlags'], config: Config) => Promise<number>;

/** One handler per command of cli/commands.ts (`help` is answered before any runs). */
const HANDLERS: Record<Exclude<CommandName, 'help'>, Handler> = {
  start: (_args, _flags, config) => runStart(config),
  ring: (_args, _flags, config) => runRing(config),
  'ring init': (_args, flags, config) => runMembership('init', flags, config),
  'ring admit': (_args, flags, config) => runMembership('admit', flags, config),
  'ring revoke': (_args, flags, config) => runMembership('revoke', flags, config),
  id: (_args, _flags, config) => runId(config),
  verify: (_args, _flags, config) => runVerify(config),
  'verify-receipt': ([file], flags, config) => runVerifyReceipt(file!, flags.authority, config),
};

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const invocation = resolveInvocation(argv);
  if (invocation.kind === 'help') {
    process.stdout.write(`${invocation.text}\n`);
    return 0;
  }
  if (invocation.kind === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (invocation.kind === 'usage-error') {
    process.stderr.write(`${invocation.message}\n${invocation.hint}\n`);
    return 2;
  }
  const { config, commandFlags } = parseCommandLine({ argv, env: process.env, readFile: readText, defaultThings: BUNDLED_THINGS });
  return HANDLERS[invocation.command.name as Exclude<CommandName, 'help'>](invocation.arguments, commandFlags, config);
}

/** The version in package.json (beside dist/, whose cli/ this module runs from). */
function packageVersion(): string {
  return (JSON.parse(readText(fileURLToPath(new URL('../../package.json', import.meta.url)))) as { version: string }).version;
}

/** `flowchain start`: one node, until SIGINT or SIGTERM. */
async function runStart(config: Config): Promise<number> {
  const authToken = config.authTokenFile === undefined ? undefined : readAuthToken(config.authTokenFile, readText);
  const basicCredentials = config.basicAuthFile === undefined ? undefined : readBasicCredentials(config.basicAuthFile, readText);
  const tls = config.tlsCert === undefined || config.tlsKey === undefined ? undefined : readTlsFiles(config.tlsCert, config.tlsKey, readText);
  const logger = createLogger(config);
  const anchorKey = config.anchor === 'ethereum' ? readAnchorKey(config.anchorKeyFile!, readText) : undefined;
  const servient = await Servient.create(config, { logger, ...(authToken === undefined ? {} : { authToken }), ...(basicCredentials === undefined ? {} : { basicCredentials }), ...(tls === undefined ? {} : { tls }), ...(anchorKey === undefined ? {} : { anchorKey }) });
  const address = await servient.start();
  const auth = [...(authToken === undefined ? [] : ['bearer']), ...(basicCredentials === undefined ? [] : ['basic'])];
  logger.info({ url: address.url, data: config.data, things: config.things, auth: auth.length > 0, schemes: auth, tls: tls !== undefined }, `Flowchain node listening on ${address.url}`);
  if (auth.length > 0 && tls === undefined && !config.publicUrl?.startsWith('https:') && !isLoopbackHost(config.host)) {
    logger.warn({ host: config.host }, 'credentials are configured but the port speaks plain HTTP: they cross the network in clear text; serve HTTPS with --tls-cert and --tls-key (or put a TLS proxy in front and set --public-url https://…)');
  }

  await new Promise<void>((resolve) => {
    let stopping = false;
    const shutdown = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal, exiting at once');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      servient.stop().then(resolve, (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exitCode = 1;
        resolve();
      });
    };
    // `on`, not `once`: a second signal must reach the handler to force the exit.
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  });
  logger.info('stopped');
  // Node-RED leaves timers behind once stopped (its login sessions' expiry), so a node that ran
  // flows exits here, as Node-RED's own command does after stopping; pino flushes on exit.
  if (config.flows) process.exit(Number(process.exitCode ?? 0));
  return Number(process.exitCode ?? 0);
}

/**
 * `flowchain ring`: starts `config.nodes` real node processes on 127.0.0.1, ports port..port+N-1,
 * data in DATA/node-I; the first founds the ring and the others join through it. Signals are
 * passed on; it exits when every node has.
 */
async function runRing(config: Config): Promise<number> {
  // The nodes run through the entry too, as `flowchain start` would.
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  const base = config.port === 0 ? 8080 : config.port;
  const peerBase = config.peerPort === 0 ? 9080 : config.peerPort;
  // One private ring: an authority beside the nodes' data admits every node before it starts.
  const authority = RingAuthority.open(join(config.data, 'authority'), authorityComponents);
  for (let i = 0; i < config.nodes; i++) await admitNodeData(authority, join(config.data, `node-${i}`));
  process.stderr.write(`flowchain ring: the ring's authority is in ${authority.directory}\n`);
  const children = Array.from({ length: config.nodes }, (_, i) => {
    const args = [cli, 'start', '--host', '127.0.0.1', '--port', String(base + i), '--peer-port', String(peerBase + i), '--data', join(config.data, `node-${i}`), '--things', config.things ?? BUNDLED_THINGS, '--successors', String(config.successors), '--log-level', config.logLevel];
    if (i > 0) args.push('--join', `http://127.0.0.1:${base}/`);
    // Each its own MQTT and CoAP port too (port 0: a free one each; off: none).
    if (config.mqtt !== undefined) args.push('--mqtt', config.mqtt);
    args.push('--mqtt-port', String(config.mqttPort === 0 ? 0 : config.mqttPort + i));
    args.push('--coap-port', config.coapPort === 'off' || config.coapPort === 0 ? String(config.coapPort) : String(config.coapPort + i));
    return { i, args };
  });
  const exits: Promise<number>[] = [];
  const running: ReturnType<typeof spawn>[] = [];
  for (const { i, args } of children) {
    // Each in a process group of its own: a signal to this one's group (Ctrl-C in a terminal,
    // a service manager) reaches the nodes once, through this process, not twice.
    const child = spawn(process.execPath, [...V8_FLAGS, ...args], { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
    running.push(child);
    exits.push(new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1))));
    process.stderr.write(`flowchain ring: node ${i} on http://127.0.0.1:${base + i}/\n`);
    // The others join through the founder: wait until it answers (bounded).
    if (i === 0 && !(await answers(`http://127.0.0.1:${base}/health`, 15_000))) {
      running.forEach((c) => c.kill('SIGTERM'));
      process.stderr.write(`flowchain ring: the first node did not start on port ${base}\n`);
      return 1;
    }
  }
  // One signal delivered twice at once (timeout(1) sends it to this process and to its group) is
  // passed on once; a second one later (Ctrl-C again) makes the nodes exit at once.
  let forwarded = 0;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (Date.now() - forwarded < 250) return;
      forwarded = Date.now();
      running.forEach((child) => child.kill(signal));
    });
  }
  // Nor do they outlive this process when it ends some other way.
  process.once('exit', () => running.forEach((child) => child.exitCode === null && child.kill('SIGTERM')));
  const codes = await Promise.all(exits);
  return codes.every((code) => code === 0) ? 0 : 1;
}

/** The wall clock and the CSPRNG, for the ring authority. */
const authorityComponents = { now: () => new Date(), randomBytes: (n: number) => new Uint8Array(randomBytes(n)) };

/** `flowchain ring init|admit|revoke`: the ring authority's commands. */
async function runMembership(subcommand: 'init' | 'admit' | 'revoke', flags: CommandLine['commandFlags'], config: Config): Promise<number> {
  const directory = flags.authority;
  if (directory === undefined) {
    process.stderr.write(`flowchain ring ${subcommand}: name the authority's directory with --authority DIR\n`);
    return 2;
  }
  if (subcommand === 'init') {
    const authority = RingAuthority.create(directory, authorityComponents);
    process.stdout.write(`ring authority created in ${authority.directory} (keep authority.key off the ring; admit nodes with flowchain ring admit)\n`);
    return 0;
  }
  const authority = RingAuthority.load(directory, authorityComponents);
  if (subcommand === 'admit') {
    const days = flags.days === undefined ? 365 : Number(flags.days);
    if (flags.key !== undefined) {
      if (flags.out === undefined || !/^[0-9a-fA-F]{64}$/.test(flags.key)) {
        process.stderr.write('flowchain ring admit --key HEX --out DIR: the key is 64 hex digits (flowchain id prints it), DIR where the membership goes\n');
        return 2;
      }
      writeMembership(flags.out, authority.admit(Uint8Array.from(Buffer.from(flags.key, 'hex')), days));
      process.stdout.write(`admitted node ${authority.ringIdFor(Uint8Array.from(Buffer.from(flags.key, 'hex'))).toString(16).padStart(40, '0')}: its membership is in ${flags.out} (give it to that node as DATA/ring or --membership)\n`);
      return 0;
    }
    const id = await admitNodeData(authority, config.data, days);
    process.stdout.write(`admitted node ${id}: its membership is in ${join(config.data, 'ring')}\n`);
    return 0;
  }
  if (flags.node === undefined) {
    process.stderr.write('flowchain ring revoke: name the node with --node ID (40 hex digits)\n');
    return 2;
  }
  const crl = authority.revoke(flags.node);
  if (existsSync(join(config.data, 'ring', 'node.crt'))) writeFileSync(join(config.data, 'ring', 'crl.pem'), crl);
  process.stdout.write(`node ${flags.node} revoked: the new CRL is ${join(directory, 'crl.pem')}; members pass it on to each other once one of them has it\n`);
  return 0;
}

/** `flowchain id --data DIR`: a stopped node's ring id and public key (what `ring admit --key` takes). */
async function runId(config: Config): Promise<number> {
  const identity = await loadIdentity(config.data);
  // The ring id is the one the authority certified, once the node is admitted.
  const membership = Membership.load(config.membership ?? join(config.data, 'ring'), identity.publicKey);
  const ring = membership === undefined ? '' : `ring-id ${membership.ringId.toString(16).padStart(40, '0')}\n`;
  process.stdout.write(`id ${identity.id.toString(16).padStart(40, '0')}\nkey ${Buffer.from(identity.publicKey).toString('hex')}\n${ring}`);
  return 0;
}

/** `flowchain verify --data DIR`: re-checks the stored chain of a stopped node; 1 names the first bad block. */
async function runVerify(config: Config): Promise<number> {
  const report = await verifyStoredChain(config.data);
  if (report.fault === undefined) {
    process.stdout.write(`chain OK: ${report.blocks} blocks, ${report.transactions} transactions\n`);
    return 0;
  }
  process.stdout.write(`chain BAD at block ${report.fault.height}: ${report.fault.reason} (${report.blocks} blocks before it are sound)\n`);
  return 1;
}

/**
 * `flowchain verify-receipt FILE|- [--anchor-rpc URL]`: checks a receipt (from a file, or stdin
 * for `-`) offline, and its anchor on a chain when asked. A file it cannot read is a usage
 * error (2); one that is not a receipt fails (1) saying where receipts come from.
 */
async function runVerifyReceipt(file: string, authority: string | undefined, config: Config): Promise<number> {
  const name = file === '-' ? 'stdin' : file;
  let text: string;
  let trust: ReceiptTrust | undefined;
  try {
    trust = authority === undefined ? undefined : readReceiptTrust(authority);
    text = file === '-' ? await readStdin() : readText(file);
  } catch (err) {
    process.stderr.write(`flowchain verify-receipt: cannot read ${(err as { path?: string }).path ?? name}: ${(err as Error).message}\n`);
    return 2;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    process.stdout.write(`receipt BAD: ${name} is not JSON: ${(err as Error).message}\n`);
    return 1;
  }
  const other = notAReceipt(raw);
  if (other !== undefined) {
    process.stdout.write(`receipt BAD: ${name} is not a receipt but ${other}; ${RECEIPT_SOURCE}\n`);
    return 1;
  }
  const result = verifyReceipt(raw, trust);
  if (!result.ok) {
    process.stdout.write(`receipt BAD: ${result.fault}\n`);
    return 1;
  }
  if (result.anchor !== null && config.anchorRpc !== undefined) {
    try {
      const { checkEthereumAnchor } = await import('../ledger/ethereum-anchorer.js');
      await checkEthereumAnchor(config.anchorRpc, result.anchor.ref, result.anchor);
    } catch (err) {
      process.stdout.write(`receipt BAD: ${(err as Error).message}\n`);
      return 1;
    }
  }
  const anchored = result.anchor === null ? 'not anchored' : `anchored in ${JSON.stringify(result.anchor.ref)}${config.anchorRpc === undefined ? ' (not checked on a chain: pass --anchor-rpc)' : ', checked on the chain'}`;
  const member = trust === undefined ? '' : `, mined by a member of the ring of ${authority}`;
  process.stdout.write(`receipt OK: ${result.status} in block ${result.height}${member}, ${anchored}\n`);
  return 0;
}

/** The authority a receipt's owner is checked against: a directory holding authority.crt (and crl.pem, if there), or the certificate file. */

/** Everything on stdin, as text (a terminal is told how to end it). */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('flowchain verify-receipt: reading the receipt from stdin (end it with Ctrl-D)\n');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Polls `url` until it answers 200, for at most `limitMs`. */
async function answers(url: string, limitMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await fetch(url).then((r) => r.ok, () => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** Runs the command `process.argv` names and sets the process's exit code; never rejects. */
export async function runCommand(): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (err) {
    // Start-up failures are for a person: one plain line naming the code, file and field.
    const message = isFlowchainError(err) ? `${err.code}: ${err.message}` : String((err as Error)?.stack ?? err);
    process.stderr.write(`flowchain: ${message}\n`);
    process.exitCode = 1;
  }
}

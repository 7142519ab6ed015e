/**
 * Typed configuration: defaults < config file < FLOWCHAIN_* environment < command-line flags.
 * Pure apart from the injected file reader, so every rule is unit-testable.
 *
 * Throws FLOWCHAIN_ERR_CONFIG_INVALID naming the flag, variable or file key that is wrong.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { parseArgs } from 'node:util';
import { formatDuration, parseDuration } from './common/duration.js';
import { FlowchainError } from './errors.js';

/** Log levels pino understands. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Everything `flowchain start` needs. */
export interface Config {
  /** TCP port to listen on; 0 picks a free one. */
  readonly port: number;
  readonly host: string;
  /** Directory of the node's LevelDB database. */
  readonly data: string;
  /** Directory of `*.td.json` files; none means no Things from files (the `flowchain` command defaults to the bundled samples). */
  readonly things: string | undefined;
  /** Base URL written into TDs; when absent it follows each request's Host header. */
  readonly publicUrl: string | undefined;
  /** File holding the bearer token that writes and actions require; absent means no auth. */
  readonly authTokenFile: string | undefined;
  /** File of `user:password` lines whose HTTP Basic credentials writes and actions accept (either these or the token, when both are set). */
  readonly basicAuthFile: string | undefined;
  /** PEM certificate (chain) the HTTP port serves HTTPS with; needs tlsKey. Absent means plain HTTP. */
  readonly tlsCert: string | undefined;
  /** PEM private key of tlsCert. */
  readonly tlsKey: string | undefined;
  /** Seed of the simulated devices; absent means a random seed. */
  readonly seed: number | undefined;
  readonly logLevel: LogLevel;
  /** Largest accepted request body or WebSocket message, in bytes. */
  readonly bodyLimit: number;
  /** Bytes a streaming consumer (WebSocket or SSE) may fall behind before it is disconnected. */
  readonly wsBufferLimit: number;
  /** How long a long-poll request waits for a change, in milliseconds. */
  readonly longPollTimeoutMs: number;
  /** How long a Thing's read, write or action handler may take before the request fails with FLOWCHAIN_ERR_HANDLER_TIMEOUT. */
  readonly handlerTimeoutMs: number;
  /** A request's line and headers must arrive within this long, in milliseconds; a connection that sends nothing is closed after it. */
  readonly headersTimeoutMs: number;
  /** A whole request, body included, must arrive within this long, in milliseconds (responses, streams included, are not limited). */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long, in milliseconds. */
  readonly keepAliveTimeoutMs: number;
  /** Most open connections to the HTTP port (HTTP, SSE, WebSocket together); more are refused. */
  readonly maxConnections: number;
  /** Browser origins (scheme://host[:port]) allowed to read this node's resources and call its forms (CORS); `*` allows any; none: same origin only. Writes still need the credentials. */
  readonly corsOrigins: readonly string[];
  /** A ring member to join through: its HTTP URL (or its wss:// peer URL); absent means this node founds a ring. */
  readonly join: string | undefined;
  /** Take part in introduction on the LAN (mDNS, `_wot._tcp`, subtype `_directory`): announce this node and, without `join`, join a member of its ring found there. */
  readonly discover: boolean;
  /** How long `discover` looks for a member before the node runs on its own, in milliseconds. */
  readonly discoverWaitMs: number;
  /** Run Node-RED in the node's process: its editor at /flows, its flows in the data directory's `flows/`. */
  readonly flows: boolean;
  /** TCP port of the mutual-TLS peer endpoint other ring members dial; 0 picks a free one. */
  readonly peerPort: number;
  /** UDP port of the CoAP binding (RFC 7252; no DTLS, so read-only when writes need credentials); 0 picks a free one, `off` serves no CoAP. */
  readonly coapPort: number | 'off';
  /** The peer URL other members dial (wss://HOST:PORT/); absent means the public URL's host, or the listening host, and peerPort. */
  readonly peerUrl: string | undefined;
  /** Directory of this node's ring membership (authority.crt, node.crt, crl.pem); absent means DATA/ring. */
  readonly membership: string | undefined;
  /** r, the length of the Chord successor list. */
  readonly successors: number;
  /** When a write is answered: once its owner stored the transaction (`owner`), or at once (`local`). */
  readonly ack: 'owner' | 'local';
  /** How long a write waits for its owner's acknowledgement before it is answered as queued, in milliseconds. */
  readonly ackTimeoutMs: number;
  /**
   * How many members must prove they hold a transaction before it counts as stored: its owner
   * and (quorum − 1) of the owner's successors, each by a signed holding proof (at most the
   * members the ring has).
   */
  readonly ackQuorum: number;
  /** Most transactions waiting in this node's outbox; past it writes answer 503 FLOWCHAIN_ERR_BUSY (and readings are not taken). */
  readonly outboxLimit: number;
  /** Most transactions this node's ledger holds unmined; past it, owners tell senders to wait (they keep them queued). */
  readonly backlogLimit: number;
  /** `flowchain ring`: how many node processes to start (on port, port + 1, ...). */
  readonly nodes: number;
  /** A block is sealed this long after it opened (or when full), in milliseconds. */
  readonly blockIntervalMs: number;
  /** Most transactions in one block. */
  readonly maxBlockTx: number;
  /** The work per block: expected hashes at stake 1 (the first block's, and every block's once reached). */
  readonly difficulty: number;
  /** This node's stake: the puzzle's target is multiplied by it. */
  readonly stake: number;
  /** The share of one core the miner may use (a duty cycle), from 0.01 to 1. */
  readonly miningShare: number;
  /** Anchor plugin: `none`, or `ethereum` (needs anchorRpc and anchorKeyFile). */
  readonly anchor: 'none' | 'ethereum';
  /** JSON-RPC URL of the EVM chain to anchor onto. */
  readonly anchorRpc: string | undefined;
  /** File holding the anchoring account's private key (0x and 64 hex digits). */
  readonly anchorKeyFile: string | undefined;
  /** Anchor once this many blocks are unanchored ... */
  readonly anchorEveryBlocks: number;
  /** ... or this often, in milliseconds, whichever comes first. */
  readonly anchorIntervalMs: number;
  /** How long recorded property values are kept, in milliseconds; `Infinity` (`forever`) keeps them all. */
  readonly retainHistory: number;
  /**
   * How long the ledger keeps transaction bodies, in milliseconds; `Infinity` (`forever`) keeps
   * them all. Blocks sealed longer ago (and anchored, with an anchor plugin) lose their
   * transactions' records; headers, Merkle roots and anchors stay. With anchoring, at least
   * {@link minimumLedgerRetention}.
   */
  readonly retainLedger: number;
  /** The MQTT broker the node publishes its Things to (mqtt:// or mqtts://, MQTT 5), or `off`; absent: a broker embedded in the node, on mqttPort. */
  readonly mqtt: string | undefined;
  /** TCP port of the embedded MQTT broker; 0 picks a free one. Unused with `mqtt`. */
  readonly mqttPort: number;
  /** The first topic levels of the node's MQTT topics. */
  readonly mqttPrefix: string;
  /** The user name the node connects to `mqtt` with. */
  readonly mqttUsername: string | undefined;
  /** File holding the password of mqttUsername. */
  readonly mqttPasswordFile: string | undefined;
  /** PEM file of the CA certificates an mqtts:// broker's certificate is checked against (absent: the system's). */
  readonly mqttCaFile: string | undefined;
}

type Key = keyof Config;

interface OptionSpec {
  readonly flag: string;
  readonly env: string;
  readonly parse: (raw: unknown, where: string) => unknown;
  /** A flag that takes no value (`--discover`); its variable is `true`/`false`, `1`/`0`. */
  readonly boolean?: true;
  /** How help shows the default, when `String(value)` would not do. */
  readonly shown?: (value: never) => string;
}

const fail = (where: string, reason: string): never => {
  throw new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', `${where}: ${reason}`, { field: where });
};

const integer = (min: number, max: number) => (raw: unknown, where: string): number => {
  const value = typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    return fail(where, `must be an integer from ${min} to ${max}`);
  }
  return value;
};

const portOrOff = (raw: unknown, where: string): number | 'off' => (raw === 'off' ? 'off' : integer(0, 65535)(raw, where));

const fraction = (min: number, max: number) => (raw: unknown, where: string): number => {
  const value = typeof raw === 'string' && /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) return fail(where, `must be a number from ${min} to ${max}`);
  return value;
};

const text = (raw: unknown, where: string): string => {
  if (typeof raw !== 'string' || raw.trim() === '') return fail(where, 'must be a non-empty string');
  return raw;
};

/** An absolute URL with one of `protocols`; `expected` says what it should be in the error. */
const url = (protocols: readonly string[], expected: string) => (raw: unknown, where: string): URL => {
  const value = text(raw, where);
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    // reported below
  }
  if (parsed === undefined || !protocols.includes(parsed.protocol)) return fail(where, `must be ${expected}`);
  return parsed;
};

const httpUrl = (raw: unknown, where: string): string => {
  const parsed = url(['http:', 'https:'], 'an absolute http(s) URL')(raw, where);
  // The WHATWG parser already refuses ports above 65535; port 0 is no place to reach a node.
  if (parsed.port === '0') return fail(where, 'must name a port from 1 to 65535');
  if (parsed.username !== '' || parsed.password !== '') return fail(where, 'must not carry credentials');
  if (parsed.search !== '' || parsed.hash !== '') return fail(where, 'must not carry a query or a fragment');
  return parsed.href.endsWith('/') ? parsed.href : `${parsed.href}/`;
};

const joinUrl = (raw: unknown, where: string): string => url(['ws:', 'wss:', 'http:', 'https:'], "a ring member's http:// URL (or its wss:// peer URL)")(raw, where).href;
const wssUrl = (raw: unknown, where: string): string => url(['wss:'], 'a wss:// URL')(raw, where).href;

/** A comma-separated list (or, in a config file, an array) of origins, or `*`. */
const origins = (raw: unknown, where: string): readonly string[] => {
  const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',').map((item) => item.trim()).filter((item) => item !== '') : fail(where, 'must be a comma-separated list of origins');
  return items.map((item: unknown) => {
    if (item === '*') return '*';
    const parsed = url(['http:', 'https:'], 'an origin such as https://example.org:8443, or *')(item, where);
    // RFC 6454 §6.2: an origin is scheme, host and port; the browser's Origin header has no path.
    if (parsed.pathname !== '/' || parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || String(item).endsWith('/')) return fail(where, `${String(item)} is not an origin (scheme://host[:port], no path)`);
    return parsed.origin;
  });
};

const level = (raw: unknown, where: string): LogLevel => {
  if (!LOG_LEVELS.includes(raw as LogLevel)) return fail(where, `must be one of ${LOG_LEVELS.join(', ')}`);
  return raw as LogLevel;
};

/** One row per option: its flag, environment variable and parser. Config-file keys are the field names. */
const ackMode = (raw: unknown, where: string): 'owner' | 'local' => {
  if (raw !== 'owner' && raw !== 'local') return fail(where, 'must be owner or local');
  return raw;
};

const flag = (raw: unknown, where: string): boolean => {
  if (raw === true || raw === 'true' || raw === '1') return true;
  if (raw === false || raw === 'false' || raw === '0') return false;
  return fail(where, 'must be true or false');
};

/** `off`, or a broker's mqtt:// or mqtts:// URL (its credentials go in their own options). */
const mqttBroker = (raw: unknown, where: string): string => {
  if (raw === 'off') return 'off';
  const parsed = url(['mqtt:', 'mqtts:'], 'an mqtt:// or mqtts:// URL of a broker, or off')(raw, where);
  if (parsed.username !== '' || parsed.password !== '') return fail(where, 'must not carry credentials (use --mqtt-username and --mqtt-password-file)');
  if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search !== '' || parsed.hash !== '') return fail(where, 'must name a broker only (no path, query or fragment)');
  return `${parsed.protocol}//${parsed.host}`;
};

/** Topic levels without wildcards, not a `$` system topic (MQTT 5.0 §4.7). */
const topicPrefix = (raw: unknown, where: string): string => {
  const value = text(raw, where);
  if (/[+#\u0000]/.test(value) || value.startsWith('$') || value.startsWith('/') || value.endsWith('/') || value.includes('//')) return fail(where, 'must be topic levels such as flowchain or site/a (no wildcards, no leading $ or /)');
  return value;
};

/**
 * A retention period: a duration (`30d`, `12h`, `P7D`; see common/duration.ts) or a number of
 * milliseconds (config files), or `forever` to keep everything (Infinity).
 */
const retention = (raw: unknown, where: string): number => {
  if (raw === 'forever') return Number.POSITIVE_INFINITY;
  const ms = typeof raw === 'string' ? parseDuration(raw.trim()) : typeof raw === 'number' && Number.isSafeInteger(raw) && raw > 0 ? raw : undefined;
  if (ms === undefined) return fail(where, 'must be a duration such as 30d, 12h or P7D, or forever');
  return ms;
};
const shownRetention = (ms: number): string => (ms === Number.POSITIVE_INFINITY ? 'forever' : formatDuration(ms));

/**
 * The shortest ledger retention anchoring allows: a block is covered by an anchor within
 * `anchorEveryBlocks` blocks or one anchor interval, whichever comes first; one failed attempt
 * is retried at the next interval. Two anchor intervals and one full run of blocks leave room
 * for both, so a block's transactions are never due for pruning before it could be anchored.
 * (Pruning also waits for the anchor itself; this rule keeps the configured retention honest.)
 */
export function minimumLedgerRetention(config: Pick<Config, 'anchorIntervalMs' | 'blockIntervalMs' | 'anchorEveryBlocks'>): number {
  return 2 * config.anchorIntervalMs + config.blockIntervalMs * config.anchorEveryBlocks;
}

const anchorKind = (raw: unknown, where: string): 'none' | 'ethereum' => {
  if (raw !== 'none' && raw !== 'ethereum') return fail(where, 'must be none or ethereum');
  return raw;
};

const OPTIONS: Record<Key, OptionSpec> = {
  port: { flag: 'port', env: 'FLOWCHAIN_PORT', parse: integer(0, 65535) },
  host: { flag: 'host', env: 'FLOWCHAIN_HOST', parse: text },
  data: { flag: 'data', env: 'FLOWCHAIN_DATA', parse: text },
  things: { flag: 'things', env: 'FLOWCHAIN_THINGS', parse: text },
  publicUrl: { flag: 'public-url', env: 'FLOWCHAIN_PUBLIC_URL', parse: httpUrl },
  authTokenFile: { flag: 'auth-token-file', env: 'FLOWCHAIN_AUTH_TOKEN_FILE', parse: text },
  basicAuthFile: { flag: 'basic-auth-file', env: 'FLOWCHAIN_BASIC_AUTH_FILE', parse: text },
  tlsCert: { flag: 'tls-cert', env: 'FLOWCHAIN_TLS_CERT', parse: text },
  tlsKey: { flag: 'tls-key', env: 'FLOWCHAIN_TLS_KEY', parse: text },
  seed: { flag: 'seed', env: 'FLOWCHAIN_SEED', parse: integer(0, 0xffff_ffff) },
  logLevel: { flag: 'log-level', env: 'FLOWCHAIN_LOG_LEVEL', parse: level },
  bodyLimit: { flag: 'body-limit', env: 'FLOWCHAIN_BODY_LIMIT', parse: integer(1024, 16 * 1024 * 1024) },
  wsBufferLimit: { flag: 'ws-buffer-limit', env: 'FLOWCHAIN_WS_BUFFER_LIMIT', parse: integer(16 * 1024, 256 * 1024 * 1024) },
  longPollTimeoutMs: { flag: 'long-poll-timeout', env: 'FLOWCHAIN_LONG_POLL_TIMEOUT', parse: integer(100, 600_000) },
  handlerTimeoutMs: { flag: 'handler-timeout', env: 'FLOWCHAIN_HANDLER_TIMEOUT', parse: integer(100, 600_000) },
  headersTimeoutMs: { flag: 'headers-timeout', env: 'FLOWCHAIN_HEADERS_TIMEOUT', parse: integer(100, 600_000) },
  requestTimeoutMs: { flag: 'request-timeout', env: 'FLOWCHAIN_REQUEST_TIMEOUT', parse: integer(100, 3_600_000) },
  keepAliveTimeoutMs: { flag: 'keep-alive-timeout', env: 'FLOWCHAIN_KEEP_ALIVE_TIMEOUT', parse: integer(100, 600_000) },
  maxConnections: { flag: 'max-connections', env: 'FLOWCHAIN_MAX_CONNECTIONS', parse: integer(1, 1_000_000) },
  corsOrigins: { flag: 'cors-origins', env: 'FLOWCHAIN_CORS_ORIGINS', parse: origins },
  join: { flag: 'join', env: 'FLOWCHAIN_JOIN', parse: joinUrl },
  discover: { flag: 'discover', env: 'FLOWCHAIN_DISCOVER', parse: flag, boolean: true },
  discoverWaitMs: { flag: 'discover-wait', env: 'FLOWCHAIN_DISCOVER_WAIT', parse: integer(100, 600_000) },
  flows: { flag: 'flows', env: 'FLOWCHAIN_FLOWS', parse: flag, boolean: true },
  peerPort: { flag: 'peer-port', env: 'FLOWCHAIN_PEER_PORT', parse: integer(0, 65535) },
  coapPort: { flag: 'coap-port', env: 'FLOWCHAIN_COAP_PORT', parse: portOrOff },
  peerUrl: { flag: 'peer-url', env: 'FLOWCHAIN_PEER_URL', parse: wssUrl },
  membership: { flag: 'membership', env: 'FLOWCHAIN_MEMBERSHIP', parse: text },
  successors: { flag: 'successors', env: 'FLOWCHAIN_SUCCESSORS', parse: integer(1, 32) },
  ack: { flag: 'ack', env: 'FLOWCHAIN_ACK', parse: ackMode },
  ackTimeoutMs: { flag: 'ack-timeout', env: 'FLOWCHAIN_ACK_TIMEOUT', parse: integer(100, 600_000) },
  ackQuorum: { flag: 'ack-quorum', env: 'FLOWCHAIN_ACK_QUORUM', parse: integer(1, 16) },
  outboxLimit: { flag: 'outbox-limit', env: 'FLOWCHAIN_OUTBOX_LIMIT', parse: integer(1, 10_000_000) },
  backlogLimit: { flag: 'backlog-limit', env: 'FLOWCHAIN_BACKLOG_LIMIT', parse: integer(1, 10_000_000) },
  nodes: { flag: 'nodes', env: 'FLOWCHAIN_NODES', parse: integer(1, 64) },
  blockIntervalMs: { flag: 'block-interval', env: 'FLOWCHAIN_BLOCK_INTERVAL', parse: integer(10, 3_600_000) },
  maxBlockTx: { flag: 'max-block-tx', env: 'FLOWCHAIN_MAX_BLOCK_TX', parse: integer(1, 65_536) },
  difficulty: { flag: 'difficulty', env: 'FLOWCHAIN_DIFFICULTY', parse: integer(1, 2 ** 40) },
  stake: { flag: 'stake', env: 'FLOWCHAIN_STAKE', parse: integer(1, 1_000_000) },
  miningShare: { flag: 'mining-share', env: 'FLOWCHAIN_MINING_SHARE', parse: fraction(0.01, 1) },
  anchor: { flag: 'anchor', env: 'FLOWCHAIN_ANCHOR', parse: anchorKind },
  anchorRpc: { flag: 'anchor-rpc', env: 'FLOWCHAIN_ANCHOR_RPC', parse: httpUrl },
  anchorKeyFile: { flag: 'anchor-key-file', env: 'FLOWCHAIN_ANCHOR_KEY_FILE', parse: text },
  anchorEveryBlocks: { flag: 'anchor-every', env: 'FLOWCHAIN_ANCHOR_EVERY', parse: integer(1, 1_000_000) },
  anchorIntervalMs: { flag: 'anchor-interval', env: 'FLOWCHAIN_ANCHOR_INTERVAL', parse: integer(1_000, 86_400_000) },
  retainHistory: { flag: 'retain-history', env: 'FLOWCHAIN_RETAIN_HISTORY', parse: retention, shown: shownRetention },
  retainLedger: { flag: 'retain-ledger', env: 'FLOWCHAIN_RETAIN_LEDGER', parse: retention, shown: shownRetention },
  mqtt: { flag: 'mqtt', env: 'FLOWCHAIN_MQTT', parse: mqttBroker },
  mqttPort: { flag: 'mqtt-port', env: 'FLOWCHAIN_MQTT_PORT', parse: integer(0, 65535) },
  mqttPrefix: { flag: 'mqtt-prefix', env: 'FLOWCHAIN_MQTT_PREFIX', parse: topicPrefix },
  mqttUsername: { flag: 'mqtt-username', env: 'FLOWCHAIN_MQTT_USERNAME', parse: text },
  mqttPasswordFile: { flag: 'mqtt-password-file', env: 'FLOWCHAIN_MQTT_PASSWORD_FILE', parse: text },
  mqttCaFile: { flag: 'mqtt-ca-file', env: 'FLOWCHAIN_MQTT_CA_FILE', parse: text },
};

/** The values used when nothing else says otherwise; `things` is supplied by the caller. */
export const DEFAULTS: Omit<Config, 'things'> = {
  port: 8080,
  host: '0.0.0.0',
  data: './data',
  publicUrl: undefined,
  authTokenFile: undefined,
  basicAuthFile: undefined,
  tlsCert: undefined,
  tlsKey: undefined,
  seed: undefined,
  logLevel: 'info',
  bodyLimit: 64 * 1024,
  wsBufferLimit: 1024 * 1024,
  longPollTimeoutMs: 25_000,
  // The Thing runtime's own default (DEFAULT_HANDLER_TIMEOUT_MS; config imports no layer above it).
  handlerTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1_024,
  corsOrigins: [],
  join: undefined,
  discover: false,
  discoverWaitMs: 3_000,
  flows: false,
  peerPort: 9080,
  coapPort: 5683,
  peerUrl: undefined,
  membership: undefined,
  successors: 4,
  ack: 'owner',
  ackTimeoutMs: 10_000,
  ackQuorum: 2,
  outboxLimit: 20_000,
  backlogLimit: 65_536,
  nodes: 4,
  blockIntervalMs: 1_000,
  maxBlockTx: 4_096,
  difficulty: 1_024,
  stake: 1,
  miningShare: 0.1,
  anchor: 'none',
  anchorRpc: undefined,
  anchorKeyFile: undefined,
  anchorEveryBlocks: 10,
  anchorIntervalMs: 60_000,
  retainHistory: 30 * 86_400_000,
  retainLedger: 90 * 86_400_000,
  mqtt: undefined,
  mqttPort: 1883,
  mqttPrefix: 'flowchain',
  mqttUsername: undefined,
  mqttPasswordFile: undefined,
  mqttCaFile: undefined,
};

/** What {@link parseCommandLine} found. */
export interface CommandLine {
  readonly command: string | undefined;
  /** What follows the command (the file of `verify-receipt`, the sub-command of `ring`). */
  readonly positionals: readonly string[];
  /** Options of the membership commands (`ring init|admit|revoke`), which are not node configuration. */
  readonly commandFlags: Readonly<Partial<Record<CommandFlag, string>>>;
  readonly help: boolean;
  readonly config: Config;
}

/** Options of the membership commands. */
export const COMMAND_FLAGS = ['authority', 'key', 'out', 'days', 'node'] as const;
export type CommandFlag = (typeof COMMAND_FLAGS)[number];

/** I/O the resolver needs, injected so tests need no files. */
export interface ConfigSources {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads a config file as text. */
  readonly readFile: (path: string) => string;
  /** Default directory of TD files (the bundled samples). */
  readonly defaultThings: string;
}

/** Usage text for `flowchain --help`. */
export function usage(): string {
  const rows = (Object.keys(OPTIONS) as Key[]).map((key) => {
    const spec = OPTIONS[key];
    const value = (DEFAULTS as Record<string, unknown>)[key];
    const fallback = key === 'things' ? 'bundled samples' : Array.isArray(value) ? value.join(',') || '-' : spec.shown !== undefined ? spec.shown(value as never) : String(value ?? '-');
    return `  --${spec.flag.padEnd(20)} ${spec.env.padEnd(30)} default ${fallback}`;
  });
  return [
    'Usage: flowchain start [options]      run one node',
    '       flowchain ring --nodes N [options]  run N nodes on loopback that join one private ring (authority in DATA/authority)',
    '       flowchain ring init --authority DIR  create a ring authority (its key never needs to be on a node)',
    '       flowchain ring admit --authority DIR --data NODE_DATA [--days N]  admit a stopped node: writes NODE_DATA/ring',
    '       flowchain ring admit --authority DIR --key HEX --out DIR [--days N]  admit a node by its public key (flowchain id)',
    '       flowchain ring revoke --authority DIR --node ID [--data NODE_DATA]  revoke a node; copy crl.pem to any member (or name its data)',
    '       flowchain id --data DIR             print a stopped node\'s ring id and public key',
    '       flowchain verify --data DIR         re-check the stored chain (node stopped); names the first bad block',
    '       flowchain verify-receipt FILE [--anchor-rpc URL]  check a downloaded receipt offline (and its anchor on the chain)',
    '',
    'Options (flag, environment variable, default):',
    '  --config FILE        FLOWCHAIN_CONFIG               JSON file with the same keys as Config',
    ...rows,
  ].join('\n');
}

/**
 * Resolves the command and configuration from flags, environment and an optional JSON config
 * file (`--config` or FLOWCHAIN_CONFIG), in that order of precedence.
 */
export function parseCommandLine(sources: ConfigSources): CommandLine {
  const flagOptions = Object.fromEntries(Object.values(OPTIONS).map((spec) => [spec.flag, { type: spec.boolean ? ('boolean' as const) : ('string' as const) }]));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...sources.argv],
      options: { ...flagOptions, ...Object.fromEntries(COMMAND_FLAGS.map((flag) => [flag, { type: 'string' as const }])), config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    return fail('command line', (err as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const merged: Record<string, unknown> = { ...DEFAULTS, things: sources.defaultThings };

  const configPath = (values.config as string | undefined) ?? sources.env.FLOWCHAIN_CONFIG;
  if (configPath !== undefined) Object.assign(merged, readConfigFile(configPath, sources.readFile));
  for (const [key, spec] of Object.entries(OPTIONS) as [Key, OptionSpec][]) {
    const fromEnv = sources.env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') merged[key] = spec.parse(fromEnv, spec.env);
    const fromFlag = values[spec.flag];
    if (fromFlag !== undefined) merged[key] = spec.parse(fromFlag, `--${spec.flag}`);
  }
  if (merged.anchor === 'ethereum' && (merged.anchorRpc === undefined || merged.anchorKeyFile === undefined)) {
    fail('--anchor', 'ethereum needs --anchor-rpc and --anchor-key-file');
  }
  if ((merged.tlsCert === undefined) !== (merged.tlsKey === undefined)) fail(merged.tlsCert === undefined ? '--tls-cert' : '--tls-key', '--tls-cert and --tls-key go together');
  // TDs' forms follow the public URL: with HTTPS on the port, an http:// one would send consumers nowhere.
  if (merged.tlsCert !== undefined && typeof merged.publicUrl === 'string' && !merged.publicUrl.startsWith('https:')) {
    fail('--public-url', 'must be an https:// URL when --tls-cert serves HTTPS');
  }
  if (merged.mqtt === undefined || merged.mqtt === 'off') {
    const given = (['mqttUsername', 'mqttPasswordFile', 'mqttCaFile'] as const).find((key) => merged[key] !== undefined);
    if (given !== undefined) fail(`--${OPTIONS[given].flag}`, 'is for the broker --mqtt names: give --mqtt URL');
  }
  const anchoring = merged as Pick<Config, 'anchor' | 'anchorIntervalMs' | 'blockIntervalMs' | 'anchorEveryBlocks' | 'retainLedger'>;
  if (anchoring.anchor !== 'none' && anchoring.retainLedger < minimumLedgerRetention(anchoring)) {
    fail('--retain-ledger', `must be at least ${formatDuration(minimumLedgerRetention(anchoring))} with --anchor ${anchoring.anchor}: two anchor intervals and --anchor-every blocks, so blocks are anchored before their transactions are pruned`);
  }
  // Node refuses a headers timeout longer than the request timeout it is part of.
  if ((merged.headersTimeoutMs as number) > (merged.requestTimeoutMs as number)) {
    fail('--headers-timeout', `must not exceed the request timeout (${merged.requestTimeoutMs as number} ms)`);
  }
  const commandFlags = Object.fromEntries(COMMAND_FLAGS.flatMap((flag) => (typeof values[flag] === 'string' ? [[flag, values[flag]]] : [])));
  return { command: parsed.positionals[0], help: values.help === true, positionals: parsed.positionals.slice(1), commandFlags, config: merged as unknown as Config };
}

function readConfigFile(path: string, readFile: (path: string) => string): Partial<Config> {
  let json: unknown;
  try {
    json = JSON.parse(readFile(path));
  } catch (err) {
    return fail(path, `cannot be read as JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail(path, 'must hold a JSON object');
  const result: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(json)) {
    if (!Object.hasOwn(OPTIONS, key)) fail(`${path}: ${key}`, `is not an option (known: ${Object.keys(OPTIONS).join(', ')})`);
    result[key] = OPTIONS[key as Key].parse(raw, `${path}: ${key}`);
  }
  return result as Partial<Config>;
}

/** The smallest bearer token accepted, so a typo'd one-character file cannot become the secret. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Reads the bearer token from `path` (surrounding whitespace ignored).
 * Throws FLOWCHAIN_ERR_CONFIG_INVALID when it cannot be read or is too short.
 */
export function readAuthToken(path: string, readFile: (path: string) => string): string {
  let token: string;
  try {
    token = readFile(path).trim();
  } catch (err) {
    return fail('auth-token-file', `cannot read ${path}: ${(err as Error).message}`);
  }
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    fail('auth-token-file', `${path} must hold one token of at least ${MIN_TOKEN_LENGTH} characters without spaces`);
  }
  return token;
}

/** A certificate and its private key, as PEM text. */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
}

/**
 * Reads the HTTPS certificate and key from their files and checks them before anything
 * listens: the certificate must parse as X.509, the key as a private key, and the key must be
 * the certificate's. Throws FLOWCHAIN_ERR_CONFIG_INVALID naming the file (field `tls-cert` or
 * `tls-key`).
 */
export function readTlsFiles(certPath: string, keyPath: string, readFile: (path: string) => string): TlsFiles {
  const read = (path: string, field: string): string => {
    try {
      return readFile(path);
    } catch (err) {
      return fail(field, `cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const cert = read(certPath, 'tls-cert');
  const key = read(keyPath, 'tls-key');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (err) {
    return fail('tls-cert', `${certPath} is not a PEM certificate: ${(err as Error).message}`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    return fail('tls-key', `${keyPath} is not a PEM private key: ${(err as Error).message}`);
  }
  if (!certificate.checkPrivateKey(privateKey)) fail('tls-key', `${keyPath} is not the private key of the certificate in ${certPath}`);
  return { cert, key };
}

/** One user's HTTP Basic credentials (RFC 7617). */
export interface BasicCredential {
  readonly user: string;
  readonly password: string;
}

/**
 * Reads HTTP Basic credentials from `path`: one `user:password` per line (surrounding
 * whitespace ignored; blank lines and lines starting with `#` skipped). A user is not empty and
 * has no colon (RFC 7617 §2); a password has at least {@link MIN_TOKEN_LENGTH} characters, as a
 * bearer token must; no user appears twice; neither holds control characters. Messages name
 * the file and the line, never what it holds.
 * Throws FLOWCHAIN_ERR_CONFIG_INVALID when the file cannot be read or breaks a rule.
 */
export function readBasicCredentials(path: string, readFile: (path: string) => string): BasicCredential[] {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    return fail('basic-auth-file', `cannot read ${path}: ${(err as Error).message}`);
  }
  const credentials: BasicCredential[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${path} line ${index + 1}`;
    const colon = line.indexOf(':');
    if (colon <= 0 || /[\u0000-\u001f\u007f]/.test(line)) fail('basic-auth-file', `${where} must be user:password (a user without a colon, no control characters)`);
    const user = line.slice(0, colon);
    const password = line.slice(colon + 1);
    if (password.length < MIN_TOKEN_LENGTH) fail('basic-auth-file', `${where}: the password must have at least ${MIN_TOKEN_LENGTH} characters`);
    if (credentials.some((c) => c.user === user)) fail('basic-auth-file', `${where}: the user appears on an earlier line too`);
    credentials.push({ user, password });
  });
  if (credentials.length === 0) fail('basic-auth-file', `${path} holds no user:password line`);
  return credentials;
}

/**
 * Reads the anchoring account's private key from `path`: 0x and 64 hex digits.
 * Throws FLOWCHAIN_ERR_CONFIG_INVALID when it cannot be read or is not a key.
 */
export function readAnchorKey(path: string, readFile: (path: string) => string): `0x${string}` {
  let key: string;
  try {
    key = readFile(path).trim();
  } catch (err) {
    return fail('anchor-key-file', `cannot read ${path}: ${(err as Error).message}`);
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) fail('anchor-key-file', `${path} must hold one private key: 0x and 64 hex digits`);
  return key as `0x${string}`;
}

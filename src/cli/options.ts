/**
 * Every option the `flowchain` command takes, as its help shows it: the argument it names, what
 * it does, its default and its environment variable. Node configuration rows are keyed by their
 * {@link Config} field, so a field without a row fails the type check; their defaults come from
 * config.ts's {@link DEFAULTS}. Which command takes which option is the command table's
 * business (commands.ts).
 *
 * Pure data; throws nothing.
 */
import { formatDuration } from '../common/duration.js';
import { DEFAULTS, LOG_LEVELS, type CommandFlag, type Config } from '../config.js';

/** One option as help prints it and the argument checker reads it. */
export interface OptionHelp {
  /** The long name, without `--`. */
  readonly flag: string;
  /** A one-letter alias, without `-`. */
  readonly short?: string;
  /** What its value is called (`PORT`, `DIR`); absent for a switch, which takes no value. */
  readonly argument?: string;
  readonly description: string;
  /** The value used when the option is not given; absent when there is none to state. */
  readonly default?: string;
  /** The FLOWCHAIN_* variable that sets it too. */
  readonly env?: string;
}

/** A node configuration option: what help says beyond what config.ts knows. */
interface ConfigOptionText {
  readonly flag: string;
  /** Absent for a switch. */
  readonly argument?: string;
  readonly description: string;
  /** Says the default in words where the value alone would not (`DATA/ring`, `random`). */
  readonly default?: string;
}

/** Node configuration: one row per {@link Config} field. */
const CONFIG_OPTIONS: Record<keyof Config, ConfigOptionText> = {
  port: { flag: 'port', argument: 'PORT', description: 'TCP port of the HTTP API (REST, WebSocket, SSE, dashboard); 0 picks a free one' },
  host: { flag: 'host', argument: 'HOST', description: 'address to listen on' },
  data: { flag: 'data', argument: 'DIR', description: "the node's data directory: its LevelDB database in DIR/db, its membership in DIR/ring" },
  things: { flag: 'things', argument: 'DIR', description: 'directory of *.td.json files whose Things the node exposes', default: 'the bundled samples' },
  publicUrl: { flag: 'public-url', argument: 'URL', description: 'base URL written into TDs (http or https; no credentials, query or fragment)', default: "the request's Host header" },
  authTokenFile: { flag: 'auth-token-file', argument: 'FILE', description: 'file holding the bearer token that writes and actions require (at least 16 characters)', default: 'none: no token' },
  basicAuthFile: { flag: 'basic-auth-file', argument: 'FILE', description: 'file of user:password lines whose HTTP Basic credentials writes and actions accept', default: 'none: no HTTP Basic' },
  tlsCert: { flag: 'tls-cert', argument: 'FILE', description: 'PEM certificate (or chain) to serve HTTPS with; needs --tls-key', default: 'none: plain HTTP' },
  tlsKey: { flag: 'tls-key', argument: 'FILE', description: 'PEM private key of --tls-cert' },
  seed: { flag: 'seed', argument: 'N', description: 'seed of the simulated devices (logged at start-up)', default: 'random' },
  logLevel: { flag: 'log-level', argument: 'LEVEL', description: `log level: ${LOG_LEVELS.join(', ')}` },
  bodyLimit: { flag: 'body-limit', argument: 'BYTES', description: 'largest request body or WebSocket message' },
  wsBufferLimit: { flag: 'ws-buffer-limit', argument: 'BYTES', description: 'bytes a WebSocket or SSE consumer may fall behind before it is disconnected' },
  longPollTimeoutMs: { flag: 'long-poll-timeout', argument: 'MS', description: 'how long a long-poll request waits for a change' },
  handlerTimeoutMs: { flag: 'handler-timeout', argument: 'MS', description: "how long a Thing's handler may take before its request fails (504); keep consumers waiting longer" },
  headersTimeoutMs: { flag: 'headers-timeout', argument: 'MS', description: "a request's line and headers must arrive within this long" },
  requestTimeoutMs: { flag: 'request-timeout', argument: 'MS', description: 'a whole request, body included, must arrive within this long (at least --headers-timeout)' },
  keepAliveTimeoutMs: { flag: 'keep-alive-timeout', argument: 'MS', description: 'an idle keep-alive connection is closed after this long' },
  maxConnections: { flag: 'max-connections', argument: 'N', description: 'most open connections to the HTTP port (HTTP, SSE and WebSocket together)' },
  corsOrigins: { flag: 'cors-origins', argument: 'ORIGINS', description: 'comma-separated browser origins (scheme://host[:port]) that may call this node across origins, or *', default: 'none: same origin only' },
  join: { flag: 'join', argument: 'URL', description: "a ring member to join through: its http(s) URL, or its wss:// peer URL", default: 'none: found a new ring' },
  discover: { flag: 'discover', description: 'announce this node on the LAN (mDNS) and, without --join, join a member found there', default: 'off' },
  discoverWaitMs: { flag: 'discover-wait', argument: 'MS', description: 'how long --discover looks for a member before the node runs alone' },
  flows: { flag: 'flows', description: 'run Node-RED in this node: its editor at /flows (behind the node\'s credentials), flows kept in DATA/flows', default: 'off' },
  peerPort: { flag: 'peer-port', argument: 'PORT', description: 'TCP port of the mutual-TLS peer endpoint other members dial; 0 picks a free one' },
  coapPort: { flag: 'coap-port', argument: 'PORT', description: 'UDP port of the CoAP binding (no DTLS: read-only when writes need credentials); 0 picks a free one, off serves no CoAP' },
  peerUrl: { flag: 'peer-url', argument: 'URL', description: 'the wss:// URL other members dial', default: "wss:// + the public URL's host (or --host) + --peer-port" },
  membership: { flag: 'membership', argument: 'DIR', description: "directory of this node's ring membership (authority.crt, node.crt, crl.pem)", default: 'DATA/ring' },
  successors: { flag: 'successors', argument: 'N', description: 'r, the length of the Chord successor list' },
  ack: { flag: 'ack', argument: 'MODE', description: 'when a write is answered: owner (once its owner stored the transaction) or local (at once)' },
  ackTimeoutMs: { flag: 'ack-timeout', argument: 'MS', description: "how long a write waits for its owner's acknowledgement before it is answered as queued" },
  ackQuorum: { flag: 'ack-quorum', argument: 'N', description: 'members, the owner included, that must prove they hold a transaction before it counts as stored' },
  outboxLimit: { flag: 'outbox-limit', argument: 'N', description: 'most transactions waiting in the outbox; past it writes answer 503 FLOWCHAIN_ERR_BUSY' },
  backlogLimit: { flag: 'backlog-limit', argument: 'N', description: 'most unmined transactions the ledger holds; past it senders are told to wait' },
  nodes: { flag: 'nodes', argument: 'N', description: 'how many node processes to start' },
  blockIntervalMs: { flag: 'block-interval', argument: 'MS', description: 'a block is sealed this long after it opened (or when full)' },
  maxBlockTx: { flag: 'max-block-tx', argument: 'N', description: 'most transactions in one block' },
  difficulty: { flag: 'difficulty', argument: 'N', description: 'the work per block: expected hashes at stake 1' },
  stake: { flag: 'stake', argument: 'N', description: "this node's stake (the puzzle's target is multiplied by it)" },
  miningShare: { flag: 'mining-share', argument: 'SHARE', description: 'the share of one core the miner may use, from 0.01 to 1' },
  anchor: { flag: 'anchor', argument: 'KIND', description: 'anchor plugin: none, or ethereum (needs --anchor-rpc and --anchor-key-file)' },
  anchorRpc: { flag: 'anchor-rpc', argument: 'URL', description: 'JSON-RPC URL of the EVM chain to anchor onto' },
  anchorKeyFile: { flag: 'anchor-key-file', argument: 'FILE', description: "file holding the anchoring account's private key (0x and 64 hex digits)" },
  anchorEveryBlocks: { flag: 'anchor-every', argument: 'N', description: 'anchor once this many blocks are unanchored (or at --anchor-interval)' },
  anchorIntervalMs: { flag: 'anchor-interval', argument: 'MS', description: 'anchor this often (or at --anchor-every blocks)' },
  retainHistory: { flag: 'retain-history', argument: 'DURATION', description: 'how long the history of property values and events is kept (30d, 12h, P7D...), or forever', default: formatDuration(DEFAULTS.retainHistory) },
  retainLedger: {
    flag: 'retain-ledger',
    argument: 'DURATION',
    description: 'how long the ledger keeps transactions (30d, 12h, P7D...), or forever; older blocks (anchored ones, with --anchor) keep their headers, not their transactions',
    default: formatDuration(DEFAULTS.retainLedger),
  },
  mqtt: { flag: 'mqtt', argument: 'URL', description: "the MQTT broker (mqtt:// or mqtts://, MQTT 5) the node publishes its Things to, or off", default: 'a broker embedded in the node, on --mqtt-port' },
  mqttPort: { flag: 'mqtt-port', argument: 'PORT', description: 'TCP port of the embedded MQTT broker (MQTT 5 and 3.1.1); 0 picks a free one; taken: the node runs without MQTT' },
  mqttPrefix: { flag: 'mqtt-prefix', argument: 'TOPIC', description: "the first levels of the node's MQTT topics (nodes sharing a broker need their own)" },
  mqttUsername: { flag: 'mqtt-username', argument: 'NAME', description: 'the user name the node connects to --mqtt with', default: 'none' },
  mqttPasswordFile: { flag: 'mqtt-password-file', argument: 'FILE', description: 'file holding the password of --mqtt-username', default: 'none' },
  mqttCaFile: { flag: 'mqtt-ca-file', argument: 'FILE', description: "PEM CA certificates an mqtts:// broker's certificate is checked against", default: "the system's" },
};

/** Options of the ring authority's commands, which are not node configuration. */
const COMMAND_OPTIONS: Record<CommandFlag, Omit<OptionHelp, 'flag'>> = {
  authority: { argument: 'DIR', description: "the ring authority's directory (authority.key, authority.crt, crl.pem)" },
  key: { argument: 'HEX', description: "the node's public key, 64 hex digits (flowchain id prints it); needs --out" },
  out: { argument: 'DIR', description: 'directory the membership (node.crt, authority.crt, crl.pem) is written to' },
  days: { argument: 'N', description: 'how many days the membership is valid', default: '365' },
  node: { argument: 'ID', description: "the node's ring id, 40 hex digits (ring admit and flowchain id print it)" },
};

/**
 * The flags of every node setting (all of {@link Config} but `ring`'s node count): what
 * `flowchain start` takes. A setting added to config.ts is an option of `start` with its row here.
 */
export const NODE_FLAGS: readonly string[] = Object.values(CONFIG_OPTIONS)
  .map((option) => option.flag)
  .filter((flag) => flag !== 'nodes');

/** Options every command takes, or that read configuration. */
const GENERAL_OPTIONS: readonly OptionHelp[] = [
  { flag: 'help', short: 'h', description: 'print this help and exit' },
  { flag: 'version', description: "print flowchain's version and exit" },
  { flag: 'config', argument: 'FILE', description: 'JSON file of node configuration, keyed by field name (flags and FLOWCHAIN_* variables win over it)', env: 'FLOWCHAIN_CONFIG' },
];

/** The variable config.ts reads for a flag: FLOWCHAIN_ and the flag in upper snake case. */
const variableOf = (flag: string): string => `FLOWCHAIN_${flag.toUpperCase().replaceAll('-', '_')}`;

/** A default as help states it. */
function shownDefault(value: unknown): string {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return 'none';
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return String(value);
}

/** Every option by its long name. */
export const OPTIONS: ReadonlyMap<string, OptionHelp> = new Map<string, OptionHelp>([
  ...GENERAL_OPTIONS.map((option): [string, OptionHelp] => [option.flag, option]),
  ...(Object.entries(CONFIG_OPTIONS) as [keyof Config, ConfigOptionText][]).map(([key, text]): [string, OptionHelp] => [
    text.flag,
    { ...text, default: text.default ?? shownDefault((DEFAULTS as Partial<Config>)[key]), env: variableOf(text.flag) },
  ]),
  ...(Object.entries(COMMAND_OPTIONS) as [CommandFlag, Omit<OptionHelp, 'flag'>][]).map(([flag, text]): [string, OptionHelp] => [flag, { flag, ...text }]),
]);

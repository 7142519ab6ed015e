/**
 * The `flowchain` commands: what each is called, what it takes and what its help says. One row
 * per command, so giving a command an option is one entry in its `options` (a name from
 * options.ts, or that name with a description of its own for this command). The handlers that
 * run them are in main.ts, one per name.
 *
 * Pure data; throws nothing.
 */
import { NODE_FLAGS } from './options.js';

/** An option a command takes: its name in options.ts, or that name with wording for this command. */
export type CommandOption = string | { readonly flag: string; readonly description?: string; readonly default?: string };

/** One command as help shows it and the argument checker enforces it. */
export interface CommandSpec {
  /** Its words after `flowchain` (`ring admit`). */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Its synopsis lines after `flowchain NAME`. */
  readonly usage: readonly string[];
  /** What it does, in a few sentences, and what its exit codes mean. */
  readonly description: readonly string[];
  /** How many positional arguments it takes. */
  readonly arguments: { readonly min: number; readonly max: number; readonly names: string };
  /** The options it takes besides --help and --version, in the order help lists them. */
  readonly options: readonly CommandOption[];
}

/** Options that only shape a running node: every node setting (options.ts), and a config file. */
const NODE_OPTIONS = [...NODE_FLAGS, 'config'];

const NONE = { min: 0, max: 0, names: '' };

/** Every command, in the order `flowchain help` lists them. */
export const COMMANDS = [
  {
    name: 'start',
    summary: 'run one node',
    usage: ['[options]'],
    description: ['Runs one node until SIGINT or SIGTERM, which shut it down gracefully. Every option can also be set by its FLOWCHAIN_* variable or in a --config file.'],
    arguments: NONE,
    options: NODE_OPTIONS,
  },
  {
    name: 'ring',
    summary: 'run N nodes on loopback that join one private ring',
    usage: ['[--nodes N] [options]', 'init|admit|revoke [options]'],
    description: [
      'Starts N node processes on 127.0.0.1 (ports PORT..PORT+N-1), each with its data in DATA/node-I, all admitted by one authority in DATA/authority; the first founds the ring and the others join it. Exits when every node has.',
      'Node I also takes MQTT port FLOWCHAIN_MQTT_PORT+I (1883+I) and CoAP port FLOWCHAIN_COAP_PORT+I (5683+I); 0 gives each a free one, off none.',
    ],
    arguments: NONE,
    options: [
      'nodes',
      { flag: 'port', description: "the first node's HTTP port; node I listens on PORT+I (0 means 8080)" },
      { flag: 'peer-port', description: "the first node's peer port; node I listens on PEER_PORT+I (0 means 9080)" },
      { flag: 'data', description: 'directory of the nodes\' data (DATA/node-I) and of the ring authority (DATA/authority)' },
      'things', 'successors', 'log-level', 'config',
    ],
  },
  {
    name: 'ring init',
    summary: "create a ring authority (its key never needs to be on a node)",
    usage: ['--authority DIR'],
    description: ['Creates a ring authority in DIR: its key (authority.key, mode 0600), its certificate and an empty CRL.'],
    arguments: NONE,
    options: ['authority'],
  },
  {
    name: 'ring admit',
    summary: 'admit a node to a ring',
    usage: ['--authority DIR --data NODE_DATA [--days N]', '--authority DIR --key HEX --out DIR [--days N]'],
    description: ['Admits a stopped (or not yet started) node by its data directory, writing its membership to NODE_DATA/ring; or a node elsewhere by its public key (flowchain id prints it), writing its membership to --out.'],
    arguments: NONE,
    options: [{ flag: 'data', description: "the stopped node's data directory (its membership goes to DATA/ring)" }, 'authority', 'days', 'key', 'out', 'config'],
  },
  {
    name: 'ring revoke',
    summary: "revoke a node's membership",
    usage: ['--authority DIR --node ID [--data NODE_DATA]'],
    description: ['Issues a newer CRL without the node; copy DIR/crl.pem to any member (or name a stopped member\'s data), and members pass it on to each other.'],
    arguments: NONE,
    options: ['authority', 'node', { flag: 'data', description: "a stopped member's data directory to write the new CRL to", default: 'none' }, 'config'],
  },
  {
    name: 'id',
    summary: "print a stopped node's ring id and public key",
    usage: ['--data DIR'],
    description: ["Prints the node's id and public key (what ring admit --key takes) and, once it is admitted, the ring id its authority certified."],
    arguments: NONE,
    options: ['data', 'membership', 'config'],
  },
  {
    name: 'verify',
    summary: "re-check a stopped node's stored chain",
    usage: ['--data DIR'],
    description: ['Re-checks every stored block and transaction signature of a stopped node. Exits 0 when the chain is sound, 1 naming the first bad block.'],
    arguments: NONE,
    options: ['data', 'config'],
  },
  {
    name: 'verify-receipt',
    summary: 'check a receipt offline (and its anchor on a chain)',
    usage: ['FILE [--authority DIR|FILE] [--anchor-rpc URL]', '- [--authority DIR|FILE] [--anchor-rpc URL]   (the receipt on stdin)'],
    description: [
      'Checks a receipt, the JSON a node serves at GET /ledger/tx/{txId} (txId from the Flowchain-Tx-Id header of a write), offline: the transaction, its block header and signature, the Merkle paths; with --anchor-rpc, also the anchoring transaction on that chain.',
      'Exits 0 when it verifies, 1 when it does not (or FILE holds no receipt), 2 when FILE cannot be read.',
    ],
    arguments: { min: 1, max: 1, names: 'FILE (or - for stdin)' },
    options: [
      {
        flag: 'authority',
        description: "also check that the receipt's owner was a member of this ring when it mined the block: the authority's directory or a member's DATA/ring (authority.crt, and crl.pem if there), or an authority.crt file",
        default: 'none: the block signer is checked, not its membership',
      },
      { flag: 'anchor-rpc', description: 'JSON-RPC URL of the chain to check the anchor on', default: 'none: the anchor is not checked on a chain' },
      'config',
    ],
  },
  {
    name: 'help',
    summary: 'print the commands, or the options of one',
    usage: ['[COMMAND]'],
    description: ['Prints the commands, or what COMMAND takes (the same as flowchain COMMAND --help).'],
    arguments: { min: 0, max: 2, names: 'COMMAND' },
    options: [],
  },
] as const satisfies readonly CommandSpec[];

/** A command's name (`ring admit`). */
export type CommandName = (typeof COMMANDS)[number]['name'];

/** The command called `name`, if any. */
export function findCommand(name: string): CommandSpec | undefined {
  return (COMMANDS as readonly CommandSpec[]).find((command) => command.name === name);
}

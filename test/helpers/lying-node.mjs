// A ring member that lies, as a full node: the real servient of `flowchain start` (built
// modules, dist/), admitted by the ring's authority beforehand and joined to the ring like any
// other node, whose peer handlers lie about what it keeps. It differs from an honest node only
// in the three prototypes patched below, before the servient is built:
//
//   - as a key's owner, `TransactionOwner.prototype.submit` answers every transaction with a
//     well-formed acknowledgement (H_txID of a made-up H_BLOCK, itself as owner, status
//     pending, three replicas claimed) and no holding proofs, and files and stores nothing;
//   - the ring store's section (`Database.prototype.section('ring')`) drops every write and
//     reads empty: records other owners replicate to it, keys handed over to it and records it
//     owns are all lost, although the store goes on signing holding proofs for what it believes
//     it wrote (so as a successor it also claims copies it does not keep);
//   - every `store-get` it is asked (as owner, or as a replica with `local`) answers "not
//     found" (`ChordNode.prototype.register` swaps the ring store's handler; a section that
//     reads empty alone would not do: the owner's read repair fetches from its successors).
//
//   node lying-node.mjs [flowchain start flags...]
//
// Takes the flags of `flowchain start` (--data, --join, --host, --port, --peer-port, ...) and
// prints what it does: JSON log lines on stdout, among them "Flowchain node listening on URL"
// with `url`, as `dist/cli.js start` does. SIGTERM or SIGINT stop it gracefully.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { transactionId } from '../../dist/broker/data-transaction.js';
import { MAX_SUBMISSION, TransactionOwner } from '../../dist/broker/transaction-owner.js';
import { BUNDLED_THINGS } from '../../dist/bundled.js';
import { parseCommandLine } from '../../dist/config.js';
import { ChordNode } from '../../dist/dht/chord-node.js';
import { FlowchainError } from '../../dist/errors.js';
import { Servient } from '../../dist/servient.js';
import { Database } from '../../dist/storage.js';

/** The servient, once built: the faked acknowledgements name its ring place as their owner. */
let servient;

// 1. Faked acknowledgements: nothing checked, filed, stored or replicated; no proofs.
TransactionOwner.prototype.submit = async function submit(raws) {
  if (!Array.isArray(raws) || raws.length === 0 || raws.length > MAX_SUBMISSION) {
    throw new FlowchainError('FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', `txs is an array of 1 to ${MAX_SUBMISSION} transactions`, { field: 'txs' });
  }
  const owner = servient.ring.self;
  return {
    results: raws.map((raw) => {
      const hData = String(raw?.hData);
      const hBlock = randomBytes(32).toString('hex');
      return { ack: { txId: transactionId(hBlock, hData), hData, hBlock, owner, replicas: 3, status: 'pending' } };
    }),
    proofs: [],
  };
};

// 2. No replicas (nor anything else of the ring store) kept: writes dropped, reads empty.
const section = Database.prototype.section;
Database.prototype.section = function lyingSection(name) {
  const real = section.call(this, name);
  if (name !== 'ring') return real;
  const nothing = async function* () {};
  return {
    get: async () => undefined,
    getMany: async (keys) => keys.map(() => undefined),
    put: async () => undefined,
    // Writes prepared on other sections to go along are written (they are not the ring's).
    batch: async (_operations, alongside = []) => (alongside.length > 0 ? real.batch([], alongside) : undefined),
    prepare: () => ({ commit: async () => undefined }),
    entries: nothing,
    keys: nothing,
  };
};

// 3. "Not found" to every store-get.
const register = ChordNode.prototype.register;
ChordNode.prototype.register = function lyingRegister(type, handler) {
  return register.call(this, type, type === 'store-get' ? async () => ({ found: false }) : handler);
};

// What `dist/cli.js start` does, with the patched prototypes.
const { config } = parseCommandLine({ argv: ['start', ...process.argv.slice(2)], env: process.env, readFile: (path) => readFileSync(path, 'utf8'), defaultThings: BUNDLED_THINGS });
const logger = pino({ level: config.logLevel });
servient = await Servient.create(config, { logger });
const address = await servient.start();
logger.info({ url: address.url, data: config.data, things: config.things, ringId: servient.ring.self.id, lying: true }, `Flowchain node listening on ${address.url}`);

let stopping = false;
const shutdown = (signal) => {
  if (stopping) process.exit(1);
  stopping = true;
  logger.info({ signal }, 'shutting down');
  servient.stop().then(
    () => process.exit(0),
    (err) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

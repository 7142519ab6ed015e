/**
 * The composition root: builds every part of a node from its configuration, checks every
 * Thing Description before serving it, and starts and stops the parts in order.
 *
 * Throws FLOWCHAIN_ERR_TD_INVALID, FLOWCHAIN_ERR_TD_CONTEXT_UNKNOWN,
 * FLOWCHAIN_ERR_DRIVER_UNKNOWN and FLOWCHAIN_ERR_STORE_FAILED from {@link Servient.create}.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DASHBOARD_FILES, loadBundledContexts, loadTdSchema, w3cContexts } from './bundled.js';
import type { BasicCredential, Config, TlsFiles } from './config.js';
import { FlowchainError, isFlowchainError } from './errors.js';
import { Broker } from './broker/broker.js';
import type { VerifyReport } from './broker/ledger-sink.js';
import type { DataTransaction } from './broker/data-transaction.js';
import { History } from './broker/history.js';
import { LEDGER_THING, ledgerDriver, ledgerThingDescription } from './broker/ledger-thing.js';
import { Outbox } from './broker/outbox.js';
import { buildApp, type HttpApp, type HttpLogger } from './http/app.js';
import { ChainStore } from './ledger/chain-store.js';
import { Miner } from './ledger/miner.js';
import { verifyChain, VirtualChain } from './ledger/virtual-chain.js';
import { NodeIdentity } from './node-identity.js';
import { RingService } from './dht/ring-service.js';
import { RingDirectory } from './directory/ring-directory.js';
import { resolveMembership } from './membership/founding.js';
import type { MembershipDocuments } from './membership/membership.js';
import { Database } from './storage.js';
import { expandThingDescription, type ContextDocuments } from './td/json-ld.js';
import { buildNodeDescription, buildThingDescription, type ExposureOptions } from './td/td-builder.js';
import { isUuid, nameBasedId } from './td/thing-id.js';
import { TdValidator } from './td/td-validator.js';
import { systemClock, type Clock } from './common/clock.js';
import type { DriverFactory } from './thing/drivers/device-driver.js';
import { builtinDrivers } from './thing/drivers/builtin-drivers.js';
import { ExposedThing } from './thing/exposed-thing.js';
import { PropertyStore } from './thing/property-store.js';
import { createRandom, deriveSeed } from './thing/random.js';
import { readThingFiles, type ThingFile } from './thing/thing-files.js';
import { ThingRegistry } from './thing/thing-registry.js';

/** Collaborators a servient can be given instead of the real ones (tests inject a clock). */
export interface ServientComponents {
  readonly clock?: Clock;
  readonly logger?: HttpLogger;
  readonly drivers?: ReadonlyMap<string, DriverFactory>;
  /** The bearer token, already read from --auth-token-file. */
  readonly authToken?: string;
  /** HTTP Basic credentials, already read from --basic-auth-file. */
  readonly basicCredentials?: readonly BasicCredential[];
  /** The HTTPS certificate and key, already read from --tls-cert and --tls-key. */
  readonly tls?: TlsFiles;
  /** The anchoring account's private key, already read from --anchor-key-file. */
  readonly anchorKey?: `0x${string}`;
  /** This node's ring membership, instead of the documents in its membership directory. */
  readonly membership?: MembershipDocuments;
}

/** Where a started servient listens. */
export interface Address {
  readonly host: string;
  readonly port: number;
  readonly url: string;
}

/** One Flowchain node. */
export class Servient {
  readonly app: HttpApp;
  readonly registry: ThingRegistry;
  readonly nodeId: string;
  readonly ring: RingService;
  readonly broker: Broker;
  readonly chain: VirtualChain;
  readonly directory: RingDirectory;
  readonly #config: Config;
  readonly #database: Database;
  readonly #auth: Pick<ExposureOptions, 'bearerAuth' | 'basicAuth'>;
  /** What the HTTP port speaks. */
  readonly #scheme: 'http' | 'https';

  private constructor(init: { app: HttpApp; registry: ThingRegistry; nodeId: string; config: Config; database: Database; ring: RingService; broker: Broker; chain: VirtualChain; directory: RingDirectory; auth: Pick<ExposureOptions, 'bearerAuth' | 'basicAuth'>; scheme: 'http' | 'https' }) {
    this.app = init.app;
    this.directory = init.directory;
    this.#auth = init.auth;
    this.#scheme = init.scheme;
    this.registry = init.registry;
    this.nodeId = init.nodeId;
    this.broker = init.broker;
    this.chain = init.chain;
    this.ring = init.ring;
    this.#config = init.config;
    this.#database = init.database;
  }

  /** Builds a node: opens its database, loads and checks its Things, builds the HTTP app. */
  static async create(config: Config, components: ServientComponents = {}): Promise<Servient> {
    const clock = components.clock ?? systemClock;
    const drivers = components.drivers ?? builtinDrivers;
    const files = await readThingFiles(config.things);
    const validator = new TdValidator(loadTdSchema());
    const auth = { bearerAuth: components.authToken !== undefined, basicAuth: (components.basicCredentials ?? []).length > 0 };
    // Served TDs must expand with the W3C contexts alone, as any JSON-LD processor would.
    const checker = new DescriptionChecker(validator, w3cContexts(loadBundledContexts()), { base: config.publicUrl ?? `${components.tls ? 'https' : 'http'}://localhost/`, ...auth });

    const database = await Database.open(join(config.data, 'db'));
    try {
      const nodeNamespace = await nodeUuid(database);
      const nodeId = `urn:uuid:${nodeNamespace}`;
      const store = new PropertyStore(database.section('properties'));
      const seed = config.seed ?? Math.floor(Math.random() * 0x1_0000_0000);
      const systemRandom = (n: number) => new Uint8Array(randomBytes(n));
      const identity = await NodeIdentity.load(database.section('identity'));
      const { membership, founded } = resolveMembership({
        publicKey: identity.publicKey,
        ...(components.membership ? { documents: components.membership } : {}),
        directory: config.membership ?? join(config.data, 'ring'),
        authorityDirectory: join(config.data, 'ring-authority'),
        joining: config.join !== undefined,
        now: () => new Date(),
        randomBytes: systemRandom,
      });
      if (founded !== undefined) components.logger?.info({ authority: founded }, `founded a private ring: its authority is in ${founded}; admit other nodes with \`flowchain ring admit --authority ${founded} --data THEIR_DATA\``);
      const ring = new RingService(
        { clock, identity, membership, section: database.section('ring'), ...(components.logger ? { log: components.logger } : {}) },
        {
          host: config.host,
          port: config.peerPort,
          ...(config.peerUrl ? { advertisedUrl: config.peerUrl } : config.publicUrl ? { advertisedUrl: `wss://${new URL(config.publicUrl).hostname}:${config.peerPort}/` } : {}),
          successorListSize: config.successors,
          maintenanceIntervalMs: 1_000,
          requestTimeoutMs: 5_000,
          ...peerLimits(config.bodyLimit),
        },
      );
      const directory = new RingDirectory({ store: ring.store, identity, clock, ...(components.logger ? { log: components.logger } : {}) });
      const outbox = new Outbox<DataTransaction>({ section: database.section('outbox'), deadLetters: database.section('dead-letters'), clock }, { backoffMs: OUTBOX_BACKOFF_MS });
      await outbox.open();
      const chain = new VirtualChain(
        {
          store: new ChainStore(database.section('ledger')),
          identity,
          clock,
          randomBytes: systemRandom,
          miner: new Miner({ share: config.miningShare }),
          // viem (the anchorer's client) is loaded only by a node that anchors: it weighs 16 MB.
          ...(config.anchor === 'ethereum' && components.anchorKey !== undefined ? { anchorer: new (await import('./ledger/ethereum-anchorer.js')).EthereumAnchorer({ rpcUrl: config.anchorRpc!, privateKey: components.anchorKey }) } : {}),
          ...(components.logger ? { log: components.logger } : {}),
        },
        { blockIntervalMs: config.blockIntervalMs, maxBlockTx: config.maxBlockTx, difficulty: config.difficulty, stake: config.stake, anchorEveryBlocks: config.anchorEveryBlocks, anchorIntervalMs: config.anchorIntervalMs },
      );
      const broker = new Broker(
        { ring, identity, clock, randomBytes: systemRandom, outbox, history: new History(database.section('history')), ledger: chain, hosts: directory, ...(components.logger ? { log: components.logger } : {}) },
        { ack: config.ack, ackTimeoutMs: config.ackTimeoutMs, maxSubmissionBytes: peerLimits(config.bodyLimit).maxPayload / 2 },
      );
      const things: ExposedThing[] = [];
      const reserved = files.find((file) => file.slug === LEDGER_THING);
      if (reserved !== undefined) throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', `${reserved.path}: the name ${LEDGER_THING} is reserved for the node's ledger Thing`, { field: '/' });
      const sources = [
        ...files.map((file) => ({ ...file, driver: () => driverFor(file, drivers) })),
        { slug: LEDGER_THING, path: 'ledger Thing', td: ledgerThingDescription(config.anchor !== 'none'), driver: () => ledgerDriver(broker, chain, config.anchor !== 'none') },
      ];
      for (const file of sources) {
        const thing = await inFile(file.path, async () => {
          const exposed = await ExposedThing.create(
            { store, clock, random: createRandom(deriveSeed(seed, file.slug)), driverFactory: file.driver(), journal: broker },
            { slug: file.slug, id: typeof file.td.id === 'string' ? file.td.id : nameBasedId(nodeNamespace, file.slug), td: file.td },
          );
          await checker.check(exposed, file.path);
          return exposed;
        });
        things.push(thing);
      }
      const ids = new Map<string, string>();
      for (const thing of things) {
        const other = ids.get(thing.id);
        if (other !== undefined) throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', `${thing.slug}.td.json: /id ${thing.id} is already the id of ${other}.td.json`, { field: '/id' });
        ids.set(thing.id, thing.slug);
      }
      const registry = new ThingRegistry(things);
      await checker.checkNode(nodeId, registry);
      const app = await buildApp({
        ring,
        ledger: broker,
        chain,
        registry,
        clock,
        nodeId,
        authToken: components.authToken,
        ...(components.basicCredentials ? { basicCredentials: components.basicCredentials } : {}),
        publicUrl: config.publicUrl,
        bodyLimit: config.bodyLimit,
        wsBufferLimit: config.wsBufferLimit,
        longPollTimeoutMs: config.longPollTimeoutMs,
        connections: { headersTimeoutMs: config.headersTimeoutMs, requestTimeoutMs: config.requestTimeoutMs, keepAliveTimeoutMs: config.keepAliveTimeoutMs, maxConnections: config.maxConnections },
        ...(components.tls ? { tls: components.tls } : {}),
        logger: components.logger,
        validator,
        dashboard: DASHBOARD_FILES,
      });
      components.logger?.info({ things: things.map((t) => t.slug), nodeId, seed }, 'things loaded');
      return new Servient({ app, registry, nodeId, config, database, ring, broker, chain, directory, auth, scheme: components.tls ? 'https' : 'http' });
    } catch (err) {
      await database.close();
      throw err;
    }
  }

  /** Reopens and verifies the chain, starts the devices, listens, then joins (or founds) the ring. */
  async start(): Promise<Address> {
    try {
      await this.chain.start();
    } catch (err) {
      await this.stop();
      throw err;
    }
    for (const thing of this.registry.list()) thing.start();
    try {
      await this.app.listen({ port: this.#config.port, host: this.#config.host });
    } catch (err) {
      await this.stop();
      const reason = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'the port is in use' : (err as Error).message;
      throw new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', `cannot listen on ${this.#config.host}:${this.#config.port}: ${reason}`, { field: 'port', cause: err });
    }
    const address = this.app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : this.#config.port;
    const host = this.#config.host;
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    const url = this.#config.publicUrl ?? `${this.#scheme}://${shown}:${port}/`;
    try {
      await this.ring.start(this.#config.join);
      // The ring learns which Things this node hosts before any of their transactions leave:
      // owners check it.
      const exposure = { base: url, ...this.#auth };
      await this.directory.start(url, this.registry.list().map((thing) => ({ thingId: thing.id, td: buildThingDescription(thing.td, thing, exposure) })));
      this.broker.start();
    } catch (err) {
      await this.stop();
      throw err;
    }
    return { host, port, url: `${this.#scheme}://${shown}:${port}/` };
  }

  /**
   * Stops sending transactions (queued ones stay in the outbox), leaves the ring, stops
   * accepting requests, ends streams, stops the devices, waits for writes, closes the database.
   */
  async stop(): Promise<void> {
    await this.broker.stop();
    this.directory.stop();
    await this.ring.stop();
    await this.app.close();
    await Promise.all(this.registry.list().map((thing) => thing.stop()));
    await this.chain.stop();
    await this.#database.close();
  }
}

/** Re-checks the chain stored under `data` (the node must be stopped: LevelDB allows one user), signatures included. */
export async function verifyStoredChain(data: string): Promise<VerifyReport> {
  if (!existsSync(join(data, 'db'))) throw new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', `--data: ${data} holds no node's data`, { field: 'data' });
  const database = await Database.open(join(data, 'db'));
  try {
    return (await verifyChain(new ChainStore(database.section('ledger')), true)).report;
  } finally {
    await database.close();
  }
}

/**
 * Peer limits that fit any accepted write: a transaction holds a value of at most bodyLimit
 * plus its hashes and signature, and the ring store takes values up to a quarter of a frame.
 */
function peerLimits(bodyLimit: number): { readonly maxPayload: number; readonly maxValueBytes: number } {
  const maxValueBytes = bodyLimit + 8 * 1024;
  return { maxPayload: 4 * maxValueBytes, maxValueBytes };
}

/** Retries of an undelivered transaction: quick at first, then every 5 s while its owner is away. */
const OUTBOX_BACKOFF_MS = [250, 500, 1_000, 2_000, 5_000];

/** The node's namespace UUID, created on first start and kept in the database. */
async function nodeUuid(database: Database): Promise<string> {
  const meta = database.section('meta');
  const stored = await meta.get('node-uuid');
  if (isUuid(stored)) return stored;
  const created = randomUUID();
  await meta.put('node-uuid', created);
  return created;
}

function driverFor(file: ThingFile, drivers: ReadonlyMap<string, DriverFactory>): DriverFactory {
  const type = (file.td.driver as { type: string }).type;
  const factory = drivers.get(type);
  if (factory === undefined) {
    throw new FlowchainError('FLOWCHAIN_ERR_DRIVER_UNKNOWN', `/driver/type ${type} is not a known driver (known: ${[...drivers.keys()].join(', ')})`, { field: '/driver/type' });
  }
  const declared = { properties: file.td.properties, actions: file.td.actions, events: file.td.events };
  for (const kind of ['properties', 'actions', 'events'] as const) {
    for (const name of factory.affordances[kind]) {
      if (!declared[kind]?.[name]) {
        throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', `/${kind}/${name} is required by driver ${type}`, { field: `/${kind}/${name}` });
      }
    }
  }
  return factory;
}

/** Start-up check of every TD as it will be served: JSON Schema and offline JSON-LD expansion with the W3C contexts only. */
class DescriptionChecker {
  readonly #validator: TdValidator;
  readonly #contexts: ContextDocuments;
  readonly #exposure: ExposureOptions;

  constructor(validator: TdValidator, contexts: ContextDocuments, exposure: ExposureOptions) {
    this.#validator = validator;
    this.#contexts = contexts;
    this.#exposure = exposure;
  }

  async check(thing: ExposedThing, source: string): Promise<void> {
    await this.#checkTd(buildThingDescription(thing.td, thing, this.#exposure), source);
  }

  async checkNode(nodeId: string, registry: ThingRegistry): Promise<void> {
    const listed = registry.list().map((t) => ({ slug: t.slug, title: t.td.title }));
    await inFile('node TD', () => this.#checkTd(buildNodeDescription(nodeId, listed, this.#exposure), 'node TD'));
  }

  async #checkTd(td: object, source: string): Promise<void> {
    this.#validator.assertValid(td, source);
    await expandThingDescription(td, this.#contexts);
  }
}

/** Runs `task`, naming `source` in any Flowchain error that does not name it yet. */
async function inFile<T>(source: string, task: () => Promise<T>): Promise<T> {
  try {
    return await task();
  } catch (err) {
    if (!isFlowchainError(err) || err.message.startsWith(source)) throw err;
    throw new FlowchainError(err.code, `${source}: ${err.message}`, { field: err.field, cause: err });
  }
}

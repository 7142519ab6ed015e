/**
 * The composition root: builds every part of a node, produces and exposes its Things (those of
 * the TD files and those an application produces at run time), and starts and stops the
 * long-lived parts in order. It composes; what each part does lives in its own layer.
 *
 * A servient is both server and client (W3C WoT Architecture §6.7): `produce()` makes a Thing
 * this node exposes, `consume()` and `requestThingDescription()` reach Things of other nodes.
 *
 * Throws FLOWCHAIN_ERR_TD_INVALID, FLOWCHAIN_ERR_TD_TERM_UNKNOWN, FLOWCHAIN_ERR_TD_CONTEXT_UNKNOWN,
 * FLOWCHAIN_ERR_DRIVER_UNKNOWN, FLOWCHAIN_ERR_DRIVER_FAILED, FLOWCHAIN_ERR_CONFIG_INVALID and
 * FLOWCHAIN_ERR_STORE_FAILED from {@link Servient.create} and {@link Servient.produce}.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { pino } from 'pino';
import { DASHBOARD_FILES, loadBundledContexts, loadTdSchema, w3cContexts } from './bundled.js';
import { Broker } from './broker/broker.js';
import type { UnsignedTransaction } from './broker/data-transaction.js';
import { History } from './broker/history.js';
import { ThingHistory } from './history/thing-history.js';
import type { LedgerPlugin, VerifyReport } from './broker/ledger-sink.js';
import { LEDGER_THING, ledgerDevice, ledgerThingDescription } from './broker/ledger-thing.js';
import { ALERTS_THING, ALERTS_TD, alertsDevice } from './alerts/alerts-thing.js';
import { Outbox } from './broker/outbox.js';
import { consumeThing, fetchThingDescription, type ConsumeOptions, type ConsumedThing } from './client/consumed-thing.js';
import { exploreDirectory, type ThingDiscoveryProcess, type ThingFilter } from './client/discovery.js';
import { systemClock, type Clock } from './common/clock.js';
import { createRandom, deriveSeed } from './common/random.js';
import { pooledRandomBytes } from './common/system-random.js';
import { DEFAULTS, type BasicCredential, type Config, type TlsFiles } from './config.js';
import { BUILTIN_DEVICES } from './devices/builtin-devices.js';
import type { Device, DeviceFactory } from './devices/device.js';
import { deviceFor } from './devices/device-modules.js';
import { RingService } from './dht/ring-service.js';
import { bonjourMdns, LanIntroduction, type Mdns } from './directory/lan-introduction.js';
import { RingDirectory } from './directory/ring-directory.js';
import { TdDirectory } from './directory/td-directory.js';
import { FlowchainError, isFlowchainError } from './errors.js';
import { buildApp, buildNodeDescription, HTTP_CLIENT_BINDINGS, HTTP_FORMS, HttpAuth, HttpServerBinding, receiptUrl, type HttpApp, type HttpLogger } from './bindings/http/index.js';
import { COAP_CLIENT_BINDINGS, CoapServerBinding } from './bindings/coap/index.js';
import { mqttClient, mqttServerBindingOf } from './bindings/mqtt/index.js';
import { FlowRuntime } from './flows/node-red-runtime.js';
import type { Anchorer } from './ledger/anchoring.js';
import { ChainStore } from './ledger/chain-store.js';
import { Miner } from './ledger/miner.js';
import { verifyChain, VirtualChain } from './ledger/virtual-chain.js';
import { Retention } from './common/retention.js';
import { resolveMembership } from './membership/founding.js';
import type { MembershipDocuments } from './membership/membership.js';
import { NodeIdentity } from './node-identity.js';
import { Database } from './storage.js';
import { expandThingDescription, type ContextDocuments } from './td/json-ld.js';
import { buildThingDescription, protectedScheme, type ExposureOptions, type FormSource } from './td/td-builder.js';
import { TdValidator } from './td/td-validator.js';
import { TdVocabulary } from './td/td-vocabulary.js';
import type { ThingDescription, ThingFragment } from './td/thing-description.js';
import { hostNamespace, isUuid, nameBasedId } from './td/thing-id.js';
import { ActionStore } from './thing/action-store.js';
import { ExposedThing, type ExposureHost } from './thing/exposed-thing.js';
import { PropertyStore } from './thing/property-store.js';
import type { BindingHost, ClientBinding, CredentialRule, ServerBinding } from './thing/protocol-binding.js';
import { readThingFiles, SLUG } from './thing/thing-files.js';
import { ThingRegistry } from './thing/thing-registry.js';

/** What a node is built from besides its configuration; every member is optional. */
export interface ServientComponents {
  /** The clock of every timer (tests inject a manual one). */
  readonly clock?: Clock;
  /**
   * A pino-compatible logger. None: `createServient` logs warnings and errors to stderr
   * (`Servient.create`, the composition root's own entry, stays silent).
   */
  readonly logger?: HttpLogger;
  /** Devices by the `type` TD files name, in addition to the built-in ones (a name of yours replaces a built-in of that name). */
  readonly devices?: Readonly<Record<string, DeviceFactory>>;
  /** The ledger plugin; by default this node's chain of virtual blocks (`/ledger` views come with that one only). */
  readonly ledger?: LedgerPlugin;
  /** The anchor plugin of the default ledger; by default the one `anchor` in the configuration names. */
  readonly anchorer?: Anchorer;
  /** The bearer token writes and actions require (what --auth-token-file holds); none means open. */
  readonly authToken?: string;
  /** HTTP Basic credentials (what --basic-auth-file holds). */
  readonly basicCredentials?: readonly BasicCredential[];
  /** The HTTPS certificate and key (what --tls-cert and --tls-key name). */
  readonly tls?: TlsFiles;
  /** The anchoring account's private key (what --anchor-key-file holds). */
  readonly anchorKey?: `0x${string}`;
  /** This node's ring membership, instead of the documents in its membership directory. */
  readonly membership?: MembershipDocuments;
  /** The mDNS that `discover` uses; by default multicast DNS on UDP 5353. */
  readonly mdns?: Mdns;
  /** Fresh UUIDs for the ids of anonymous TDs registered in the directory (tests inject a fixed sequence); by default crypto.randomUUID. */
  readonly randomUuid?: () => string;
  /** Protocol bindings besides HTTP (README, "Protocol bindings"). */
  readonly bindings?: ServientBindings;
}

/**
 * Protocol bindings a node adds to its own HTTP one: each server binding's forms appear in
 * every served TD after HTTP's, and it is started after the HTTP server and stopped before it;
 * client bindings follow the forms HTTP's do not accept (and any a consumer prefers them for).
 */
export interface ServientBindings {
  readonly server?: readonly ServerBinding[];
  readonly client?: readonly ClientBinding[];
}

/** Options of {@link createServient}: configuration (the keys of a config file) and components. */
export interface ServientOptions extends ServientComponents {
  /** What is not given takes the defaults of `flowchain --help`; no TD files are read unless `things` names a directory. */
  readonly config?: Partial<Config>;
}

/** How a Thing is produced: its URL segment, if not the slug of its title. */
export interface ProduceOptions {
  readonly slug?: string;
}

/** Where a started servient listens. */
export interface Address {
  readonly host: string;
  readonly port: number;
  readonly url: string;
}

/** A long-lived part: started in order, stopped in the reverse order. */
interface Part {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Builds a Flowchain node (the public entry point). Nothing listens until `start()`.
 *
 * ```ts
 * const servient = await createServient({ config: { port: 8080, data: './data' } });
 * const thing = await servient.produce({ title: 'Lamp', properties: { on: { type: 'boolean' } } });
 * await thing.expose();
 * await servient.start();
 * ```
 */
export async function createServient(options: ServientOptions = {}): Promise<Servient> {
  const { config, ...components } = options;
  // Without a logger of its own, an application still hears of warnings and errors (a handler that throws, say).
  return Servient.create({ ...DEFAULTS, things: undefined, ...config }, { ...components, logger: components.logger ?? pino({ level: 'warn' }, pino.destination(2)) });
}

/** One Flowchain node. */
export class Servient {
  /** @internal The HTTP application (diagnostics and tests: `app.inject`). */
  readonly app: HttpApp;
  /** @internal */
  readonly registry: ThingRegistry;
  /** The node's own TD id (its Thing Directory's). */
  readonly nodeId: string;
  /** @internal */
  readonly ring: RingService;
  /** @internal */
  readonly broker: Broker;
  /** @internal */
  readonly chain: LedgerPlugin;
  /** @internal */
  readonly directory: RingDirectory;
  /** @internal The Thing Description Directory: TDs registered at this node. */
  readonly tdd: TdDirectory;
  /** @internal The history of the Things' values and events. */
  readonly history: ThingHistory;
  readonly #config: Config;
  readonly #database: Database;
  readonly #clock: Clock;
  readonly #store: PropertyStore;
  readonly #actions: ActionStore;
  readonly #checker: DescriptionChecker;
  readonly #namespace: string;
  readonly #seed: number;
  /** The security the node's TDs declare. */
  readonly #auth: Pick<ExposureOptions, 'bearerAuth' | 'basicAuth'>;
  /** The server bindings, HTTP first: their forms make up every TD, in this order. */
  readonly #servers: readonly ServerBinding[];
  readonly #http: HttpServerBinding;
  /** What the server bindings serve. */
  readonly #bindingHost: BindingHost;
  /** The client bindings `consume()` follows forms with. */
  readonly #clients: readonly ClientBinding[];
  /** What the HTTP port speaks. */
  readonly #scheme: 'http' | 'https';
  readonly #log: DeviceLog;
  readonly #devices = new Map<ExposedThing, Device>();
  readonly #running = new Set<Device>();
  /** Things produced and not destroyed, by slug (exposed or not): slugs and ids stay unique. */
  readonly #produced = new Map<string, ExposedThing>();
  readonly #host: ExposureHost;
  /** Introduction on the LAN (--discover). */
  readonly #lan: LanIntroduction | undefined;
  readonly #parts: Part[];
  #started: Part[] = [];
  #url: string | undefined;
  /** The HTTP port it listens on. */
  #port: number | undefined;

  private constructor(init: {
    config: Config;
    database: Database;
    clock: Clock;
    store: PropertyStore;
    actions: ActionStore;
    checker: DescriptionChecker;
    namespace: string;
    seed: number;
    auth: Pick<ExposureOptions, 'bearerAuth' | 'basicAuth'>;
    scheme: 'http' | 'https';
    log: DeviceLog;
    http: HttpServerBinding;
    servers: readonly ServerBinding[];
    clients: readonly ClientBinding[];
    bindingHost: BindingHost;
    registry: ThingRegistry;
    ring: RingService;
    broker: Broker;
    chain: LedgerPlugin;
    directory: RingDirectory;
    lan: LanIntroduction | undefined;
    flows: FlowRuntime | undefined;
    tdd: TdDirectory;
    history: ThingHistory;
  }) {
    this.#config = init.config;
    this.#database = init.database;
    this.#clock = init.clock;
    this.#store = init.store;
    this.#actions = init.actions;
    this.#checker = init.checker;
    this.#namespace = init.namespace;
    this.#seed = init.seed;
    this.#auth = init.auth;
    this.#scheme = init.scheme;
    this.#log = init.log;
    this.#http = init.http;
    this.app = init.http.app;
    this.#servers = init.servers;
    this.#clients = init.clients;
    this.#bindingHost = init.bindingHost;
    this.registry = init.registry;
    this.nodeId = `urn:uuid:${init.namespace}`;
    this.ring = init.ring;
    this.broker = init.broker;
    this.chain = init.chain;
    this.directory = init.directory;
    this.#lan = init.lan;
    this.tdd = init.tdd;
    this.history = init.history;
    this.#host = { expose: (thing) => this.#expose(thing), destroy: (thing) => this.#withdraw(thing) };
    // Old data goes once past its retention: at start, then every 10 minutes (src/common/retention.ts).
    const chain = this.chain;
    const retention = new Retention(
      { clock: init.clock, log: init.log },
      {
        tasks: [
          ...(chain.prune === undefined ? [] : [{ name: 'ledger', retainMs: init.config.retainLedger, prune: (before: number) => chain.prune!(before) }]),
          { name: 'history', retainMs: init.config.retainHistory, prune: (before: number) => init.history.prune(before) },
        ],
      },
    );
    // Started in this order, stopped in the reverse one.
    this.#parts = [
      { name: 'ledger', start: () => this.chain.start(), stop: () => this.chain.stop() },
      { name: 'retention', start: async () => retention.start(), stop: () => retention.stop() },
      { name: 'http', start: () => this.#listen(), stop: () => this.#http.stop() },
      ...this.#servers.filter((binding) => binding !== this.#http).map((binding) => ({ name: `binding ${binding.name}`, start: () => binding.start(this.#bindingHost), stop: () => binding.stop() })),
      { name: 'ring', start: async () => void (await this.ring.start(this.#config.join ?? (await this.#discovered()))), stop: () => this.ring.stop() },
      // A member announces itself on the LAN once it is in its ring, so others can join through it.
      ...(this.#lan === undefined ? [] : [{ name: 'lan', start: async () => this.#lan!.announce(this.#port!, this.#scheme), stop: () => this.#lan!.close() }]),
      // The ring learns which Things this node hosts before any of their transactions leave: owners check it.
      {
        name: 'directory',
        start: async () => {
          await this.directory.start(this.#url!, this.registry.list().map((thing) => this.#hosted(thing)));
          this.tdd.start();
        },
        stop: async () => {
          this.tdd.stop();
          this.directory.stop();
        },
      },
      { name: 'broker', start: async () => this.broker.start(), stop: () => this.broker.stop() },
      { name: 'devices', start: async () => void (await Promise.all([...this.#devices.values()].map((device) => this.#startDevice(device)))), stop: () => this.#stopDevices() },
      // Flows last: they find the node whole, and stop before anything they use.
      ...(init.flows === undefined ? [] : [{ name: 'flows', start: () => init.flows!.start(), stop: () => init.flows!.stop() }]),
    ];
  }

  /** Builds a node from a whole configuration: opens its database and produces the Things of its TD files. */
  static async create(config: Config, components: ServientComponents = {}): Promise<Servient> {
    const clock = components.clock ?? systemClock;
    const log: DeviceLog = components.logger ?? { warn: () => undefined, info: () => undefined };
    // Every TD that enters (TD files, produce(), directory registrations) uses known terms only.
    const tdSchema = loadTdSchema();
    const validator = new TdValidator(tdSchema, new TdVocabulary(tdSchema, loadBundledContexts()));
    const auth = { bearerAuth: components.authToken !== undefined, basicAuth: (components.basicCredentials ?? []).length > 0 };
    const scheme = components.tls ? 'https' : 'http';
    // Served TDs must expand with the W3C contexts alone, as any JSON-LD processor would.
    // CoAP (src/bindings/coap/) unless --coap-port off; its TDs and receipts are the node's, built when a request comes.
    const coap = config.coapPort === 'off' ? [] : [new CoapServerBinding({ describe: (thing, base) => buildThingDescription(thing.td, thing, { base, ...auth }, formSources), httpBase: () => servient?.url, receiptUrl: (ref) => (servient?.url === undefined ? undefined : receiptUrl(servient.url, ref)) }, { host: config.host, port: config.coapPort })];
    // MQTT (src/bindings/mqtt/) unless --mqtt off: the user's broker, or one embedded on --mqtt-port; receipts are the node's HTTP ones.
    const mqtt = mqttServerBindingOf(config, { clock, receiptUrl: (ref) => (servient?.url === undefined ? undefined : receiptUrl(servient.url, ref)) });
    const extraServers = [...coap, ...(mqtt === undefined ? [] : [mqtt]), ...(components.bindings?.server ?? [])];
    // HTTP's forms first, then each other binding's, in every TD the node builds.
    const formSources: readonly FormSource[] = [HTTP_FORMS, ...extraServers];
    const checker = new DescriptionChecker(validator, w3cContexts(loadBundledContexts()), { base: config.publicUrl ?? `${scheme}://localhost/`, ...auth }, formSources);
    const files = config.things === undefined ? [] : await readThingFiles(config.things);
    const database = await Database.open(join(config.data, 'db'));
    let servient: Servient | undefined;
    try {
      const store = new PropertyStore(database.section('properties'));
      const seed = config.seed ?? Math.floor(Math.random() * 0x1_0000_0000);
      const systemRandom = pooledRandomBytes();
      const identity = await NodeIdentity.load(database.section('identity'));
      const namespace = await nodeUuid(database, identity.publicKey);
      const { membership, founded } = resolveMembership({
        publicKey: identity.publicKey,
        ...(components.membership ? { documents: components.membership } : {}),
        directory: config.membership ?? join(config.data, 'ring'),
        authorityDirectory: join(config.data, 'ring-authority'),
        joining: config.join !== undefined,
        now: () => new Date(),
        randomBytes: systemRandom,
      });
      if (founded !== undefined) log.info({ authority: founded }, `founded a private ring: its authority is in ${founded}; admit other nodes with \`flowchain ring admit --authority ${founded} --data THEIR_DATA\``);
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
      const lan = config.discover ? new LanIntroduction(components.mdns ?? bonjourMdns(), { ring: membership.ring, name: `flowchain-${identity.id.toString(16).padStart(40, '0').slice(0, 12)}` }) : undefined;
      const directory = new RingDirectory({ store: ring.store, identity, clock, ...(components.logger ? { log: components.logger } : {}) });
      // Every Thing's values (recorded ones written by the broker, with their transactions) and events.
      const historySections = { properties: database.section('history'), events: database.section('event-history') };
      const history = new ThingHistory({ ...historySections, ...(components.logger ? { log: components.logger } : {}) });
      const outbox = new Outbox<UnsignedTransaction>({ section: database.section('outbox'), deadLetters: database.section('dead-letters'), clock }, { backoffMs: OUTBOX_BACKOFF_MS, maxPending: config.outboxLimit });
      await outbox.open();
      const anchorer = components.anchorer ?? (config.anchor === 'ethereum' && components.anchorKey !== undefined
        // viem (the anchorer's client) is loaded only by a node that anchors: it weighs 16 MB.
        ? new (await import('./ledger/ethereum-anchorer.js')).EthereumAnchorer({ rpcUrl: config.anchorRpc!, privateKey: components.anchorKey })
        : undefined);
      const chain =
        components.ledger ??
        new VirtualChain(
          { store: new ChainStore(database.section('ledger')), identity, clock, randomBytes: systemRandom, miner: new Miner({ share: config.miningShare }), ...(anchorer ? { anchorer } : {}), ...(components.logger ? { log: components.logger } : {}) },
          { blockIntervalMs: config.blockIntervalMs, maxBlockTx: config.maxBlockTx, difficulty: config.difficulty, stake: config.stake, anchorEveryBlocks: config.anchorEveryBlocks, anchorIntervalMs: config.anchorIntervalMs },
        );
      const broker = new Broker(
        { ring, identity, clock, randomBytes: systemRandom, outbox, history: new History(historySections.properties), ledger: chain, hosts: directory, ...(components.logger ? { log: components.logger } : {}) },
        { ack: config.ack, ackTimeoutMs: config.ackTimeoutMs, ackQuorum: config.ackQuorum, maxSubmissionBytes: peerLimits(config.bodyLimit).maxPayload / 2, owner: { maxBacklog: config.backlogLimit, retainLedger: config.retainLedger } },
      );
      const registry = new ThingRegistry();
      const tdd = new TdDirectory({
        section: database.section('registrations'),
        clock,
        validator,
        ring: directory,
        randomUuid: components.randomUuid ?? randomUUID,
        isHosted: (id) => registry.has(id),
        ...(components.logger ? { log: components.logger } : {}),
      });
      await tdd.open();
      const nodeId = `urn:uuid:${namespace}`;
      await checker.checkNode(nodeId);
      const credentials = components.authToken !== undefined || (components.basicCredentials ?? []).length > 0 ? new HttpAuth({ ...(components.authToken === undefined ? {} : { bearerToken: components.authToken }), basic: components.basicCredentials ?? [] }) : undefined;
      const credentialRule: CredentialRule = { required: credentials !== undefined, scheme: protectedScheme(auth), check: (presented) => credentials?.check(presented.authorization, presented.token) ?? 'none' };
      // Node-RED in the node's process (src/flows/) with --flows: its editor is mounted on the node's HTTP server.
      const flows = config.flows ? new FlowRuntime({ credentials: credentialRule, log }, { data: config.data, host: config.host }) : undefined;
      const app = await buildApp({
        ring,
        ledger: broker,
        history,
        ...(chain instanceof VirtualChain ? { chain } : {}),
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
        directory: tdd,
        corsOrigins: config.corsOrigins,
        ringOrigins: async () => new Set((await directory.entries()).filter((entry) => !directory.isOwn(entry)).map((entry) => new URL(entry.host.url).origin)),
        dashboard: DASHBOARD_FILES,
        bindings: formSources,
        ...(flows === undefined ? {} : { mounts: [flows] }),
      });
      const http = new HttpServerBinding({ app }, { host: config.host, port: config.port });
      const bindingHost: BindingHost = { things: registry, credentials: credentialRule, log };
      const servers = [http, ...extraServers];
      const clients = [...HTTP_CLIENT_BINDINGS, ...COAP_CLIENT_BINDINGS, mqttClient, ...(components.bindings?.client ?? [])];
      servient = new Servient({ config, database, clock, store, actions: new ActionStore(database.section('actions')), checker, namespace, seed, auth, scheme, log, http, servers, clients, bindingHost, registry, ring, broker, chain, directory, tdd, lan, flows, history });
      const devices = new Map([...BUILTIN_DEVICES, ...Object.entries(components.devices ?? {})]);
      // The TD files, each with its device, then the node's own ledger Thing.
      for (const file of files) {
        await inFile(file.path, async () => {
          const thing = await servient!.#produce(file.td, file.slug, false);
          const factory = file.driver === undefined ? undefined : await deviceFor(file.driver, devices, config.things!);
          await servient!.#attach(thing, factory, file.driver?.options ?? {});
        });
      }
      await servient.#attach(await servient.#produce(ledgerThingDescription(anchorer !== undefined || config.anchor !== 'none'), LEDGER_THING, true), ledgerDevice(broker, chain), {});
      // The node's alerts Thing: rules on the properties of the Things it hosts (src/alerts/).
      await servient.#attach(await servient.#produce(ALERTS_TD, ALERTS_THING, true), alertsDevice({ section: database.section('alerts'), things: registry }), {});
      components.logger?.info({ things: registry.list().map((t) => t.slug), nodeId, seed }, 'things loaded');
      return servient;
    } catch (err) {
      if (servient !== undefined) await servient.#stopDevices();
      await database.close();
      throw err;
    }
  }

  /**
   * Produces a Thing from a TD fragment (W3C WoT Scripting API §8.2.1): its title and
   * affordances with their data schemas; the node adds its id (unless the fragment has one),
   * base, security and a form for every operation of every binding. The Thing is checked as it
   * will be served (TD 1.1 JSON Schema, JSON-LD expansion) but not exposed: set its handlers,
   * then call `expose()`. Its URL segment is `options.slug` or the slug of its title.
   *
   * Throws FLOWCHAIN_ERR_TD_INVALID naming the field, also for a slug or id another Thing has,
   * and FLOWCHAIN_ERR_TD_TERM_UNKNOWN for a member name its vocabulary lacks (a typo).
   */
  async produce(td: ThingFragment, options: ProduceOptions = {}): Promise<ExposedThing> {
    if (typeof td !== 'object' || td === null || Array.isArray(td)) throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', 'a TD fragment is an object', { field: '/' });
    if (typeof td.title !== 'string' || td.title.trim() === '') throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', 'a TD fragment has a title', { field: '/title' });
    // A fragment without a context is a TD 1.1 one.
    const fragment = { ...td, '@context': td['@context'] ?? TD_CONTEXT } as ThingDescription;
    return this.#produce(fragment, options.slug ?? slugOf(td.title), false);
  }

  /**
   * A Thing of another node (or of this one) to use through its TD's forms alone (W3C WoT
   * Scripting API §8.2.2): HTTP, SSE, long-poll and the `flowchain.v1` WebSocket.
   * Throws FLOWCHAIN_ERR_TD_INVALID for something that is not a TD.
   */
  async consume(td: ThingDescription, options: ConsumeOptions = {}): Promise<ConsumedThing> {
    return consumeThing(td, { clientBindings: this.#clients, ...options });
  }

  /** The TD at `url` (a Thing's or a directory's URL), fetched and checked. Throws FLOWCHAIN_ERR_REMOTE_FAILED or FLOWCHAIN_ERR_TD_INVALID. */
  async requestThingDescription(url: string, options: ConsumeOptions = {}): Promise<ThingDescription> {
    return fetchThingDescription(url, options);
  }

  /**
   * The Things the directory whose TD is at `url` lists (a Flowchain node's
   * `/.well-known/wot`: the whole ring's), as an async iterator, narrowed by a JSONPath query
   * or a `@type` (Scripting API `exploreDirectory`).
   */
  exploreDirectory(url: string, filter: ThingFilter = {}, options: ConsumeOptions = {}): ThingDiscoveryProcess {
    return exploreDirectory(url, filter, options);
  }

  /**
   * The Things of the ring this node is in, through its own directory (Scripting API
   * `discover`). Throws FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED before {@link start}.
   */
  discover(filter: ThingFilter = {}): ThingDiscoveryProcess {
    if (this.#url === undefined) throw new FlowchainError('FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED', 'discover() lists the ring through this node\'s directory: start() the node first', { field: 'discover' });
    return exploreDirectory(`${this.#url}.well-known/wot`, filter);
  }

  /** The Things this node exposes now. */
  get things(): readonly ExposedThing[] {
    return this.registry.list();
  }

  /** This node's HTTP base URL, once started. */
  get url(): string | undefined {
    return this.#url;
  }

  /**
   * Starts the long-lived parts in order: the ledger (its stored chain verified), the HTTP
   * server, the ring (joined or founded), the directory (this node's Things published), the
   * broker (the outbox delivered) and the devices. If one fails, it and those started before it are stopped.
   */
  async start(): Promise<Address> {
    for (const part of this.#parts) {
      // A part that fails half-way (the ring's peer port open, its join refused) is stopped too.
      this.#started.push(part);
      try {
        await part.start();
      } catch (err) {
        await this.stop();
        throw err;
      }
    }
    const address = this.app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : this.#config.port;
    return { host: this.#config.host, port, url: `${this.#scheme}://${shownHost(this.#config.host)}:${port}/` };
  }

  /**
   * Stops what was started, in reverse order: devices, broker (queued transactions stay in the
   * outbox), directory, ring (left gracefully), HTTP (streams end), ledger; then waits for
   * writes in flight and closes the database.
   */
  async stop(): Promise<void> {
    for (const part of this.#started.reverse()) await part.stop();
    this.#started = [];
    // Also when it listens without start() (diagnostics, tests); closing twice is harmless.
    await this.app.close();
    await this.#stopDevices();
    await Promise.all([...this.#produced.values()].map((thing) => thing.stop()));
    await this.#database.close();
  }

  /** Produces a Thing: id and slug unique, checked as it will be served. `internal` allows reserved names. */
  async #produce(td: ThingDescription, slug: string, internal: boolean): Promise<ExposedThing> {
    if (!SLUG.test(slug)) throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', `the slug ${slug} must be lower-case letters, digits and dashes`, { field: '/title' });
    if ((slug === LEDGER_THING || slug === ALERTS_THING) && !internal) throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', `the name ${slug} is reserved for the node's ${slug} Thing`, { field: '/title' });
    if (this.#produced.has(slug)) throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', `another Thing has the slug ${slug}`, { field: '/title' });
    const id = typeof td.id === 'string' ? td.id : nameBasedId(this.#namespace, slug);
    const other = [...this.#produced.values()].find((thing) => thing.id === id);
    if (other !== undefined) throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', `/id ${id} is already the id of ${other.slug}`, { field: '/id' });
    // The ledger Thing's traffic is kept by the chain itself, not twice in the history.
    const history = slug === LEDGER_THING ? undefined : this.history;
    const thing = await ExposedThing.create({ store: this.#store, actions: this.#actions, clock: this.#clock, journal: this.broker, ...(history ? { history } : {}), host: this.#host, log: this.#log }, { slug, id, td, handlerTimeoutMs: this.#config.handlerTimeoutMs });
    await this.#checker.check(thing);
    this.#produced.set(slug, thing);
    return thing;
  }

  /** Wires a produced Thing to its device (if any) and exposes it. */
  async #attach(thing: ExposedThing, factory: DeviceFactory | undefined, options: Readonly<Record<string, unknown>>): Promise<void> {
    if (factory !== undefined) {
      const device = await factory(thing, { options, clock: this.#clock, random: createRandom(deriveSeed(this.#seed, thing.slug)), log: this.#log });
      if (device) this.#devices.set(thing, device);
    }
    await thing.expose();
  }

  /** ExposedThing.expose(): the Thing joins the registry (every binding) and, once started, the ring's directory. */
  async #expose(thing: ExposedThing): Promise<void> {
    this.registry.add(thing);
    if (this.#started.some((part) => part.name === 'directory')) await this.directory.host(this.#hosted(thing));
    const device = this.#devices.get(thing);
    if (device !== undefined && this.#started.some((part) => part.name === 'devices')) await this.#startDevice(device);
  }

  /** ExposedThing.destroy(): its device stops, it leaves the registry and the ring's directory. */
  async #withdraw(thing: ExposedThing): Promise<void> {
    const device = this.#devices.get(thing);
    if (device !== undefined && this.#running.delete(device)) await device.stop?.();
    this.#devices.delete(thing);
    this.registry.remove(thing);
    this.#produced.delete(thing.slug);
    if (this.#started.some((part) => part.name === 'directory')) await this.directory.withdraw(thing.id);
  }

  /** The entry this node publishes for a Thing it hosts: its TD as served at this node's URL. */
  #hosted(thing: ExposedThing) {
    return { thingId: thing.id, slug: thing.slug, td: buildThingDescription(thing.td, thing, { base: this.#url!, ...this.#auth }, this.#servers) };
  }

  async #startDevice(device: Device): Promise<void> {
    this.#running.add(device);
    await device.start?.();
  }

  /** Stops the devices that were started (a device is never stopped without having started). */
  async #stopDevices(): Promise<void> {
    const running = [...this.#running];
    this.#running.clear();
    await Promise.all(running.map((device) => Promise.resolve(device.stop?.()).catch(() => undefined)));
  }

  /** With --discover and no --join: a member of this node's ring found on the LAN to join through, if any. */
  async #discovered(): Promise<string | undefined> {
    if (this.#lan === undefined) return undefined;
    const found = await this.#lan.find(this.#config.discoverWaitMs, this.#clock);
    this.#log.info({ join: found ?? null }, found === undefined ? `no member of this ring announced itself on the LAN within ${this.#config.discoverWaitMs} ms: running on its own` : `joining the ring through ${found}, found on the LAN`);
    return found;
  }

  async #listen(): Promise<void> {
    await this.#http.start(this.#bindingHost);
    const port = this.#http.port ?? this.#config.port;
    this.#port = port;
    this.#url = this.#config.publicUrl ?? `${this.#scheme}://${shownHost(this.#config.host)}:${port}/`;
  }
}

/** What devices get to log with. */
type DeviceLog = { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };

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

/** The TD 1.1 context (TD 1.1 §5.3.1.1). */
const TD_CONTEXT = 'https://www.w3.org/2022/wot/td/v1.1';

/** Retries of an undelivered transaction: quick at first, then every 5 s while its owner is away. */
const OUTBOX_BACKOFF_MS = [250, 500, 1_000, 2_000, 5_000];

/** 0.0.0.0 and :: are shown as loopback in URLs; IPv6 literals get brackets. */
function shownHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
}

/** A title's URL segment: lower-case letters, digits and dashes ("Greenhouse #2" is greenhouse-2). */
export function slugOf(title: string): string {
  return title.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'thing';
}

/**
 * The node's namespace UUID, kept in the database: derived from the node's key on first start,
 * so the ids of the Things it hosts name it as their host ({@link hostNamespace}). A node
 * created before that keeps the random one it drew then (its entries then prove no host).
 */
async function nodeUuid(database: Database, publicKey: Uint8Array): Promise<string> {
  const meta = database.section('meta');
  const stored = await meta.get('node-uuid');
  if (isUuid(stored)) return stored;
  const created = hostNamespace(bytesToHex(publicKey));
  await meta.put('node-uuid', created);
  return created;
}

/** The check of every TD as it will be served: JSON Schema and offline JSON-LD expansion with the W3C contexts only. */
class DescriptionChecker {
  readonly #validator: TdValidator;
  readonly #contexts: ContextDocuments;
  readonly #exposure: ExposureOptions;
  readonly #bindings: readonly FormSource[];

  constructor(validator: TdValidator, contexts: ContextDocuments, exposure: ExposureOptions, bindings: readonly FormSource[]) {
    this.#validator = validator;
    this.#contexts = contexts;
    this.#exposure = exposure;
    this.#bindings = bindings;
  }

  async check(thing: ExposedThing): Promise<void> {
    await this.#checkTd(buildThingDescription(thing.td, thing, this.#exposure, this.#bindings), thing.slug);
  }

  async checkNode(nodeId: string): Promise<void> {
    await inFile('node TD', () => this.#checkTd(buildNodeDescription(nodeId, [{ slug: 'example', title: 'Example' }], this.#exposure), 'node TD'));
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

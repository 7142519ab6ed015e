/**
 * Node-RED's runtime inside the node's process (`flowchain start --flows`), as the original
 * flowchain-app plugin ran its flow engine inside the node: the editor at /flows on the node's
 * own HTTP server (a mount: the HTTP binding hands it the requests and WebSocket upgrades under
 * /flows), flows and their credentials under the node's data directory (`flows/`, Node-RED's
 * user directory: `flows.json`, `flows_cred.json` encrypted with a key Node-RED generates and
 * keeps beside them), the palette with Flowchain's nodes (node-red/flowchain.cjs) beside
 * Node-RED's own. Started after the node's devices, stopped before them.
 *
 * Whoever reaches the editor runs code on the device (a function node), so a node that requires
 * no credentials runs flows only when it listens on loopback. When the node requires
 * credentials, so does the editor: Node-RED's login takes a user name
 * and password that the node's HTTP Basic credentials accept, or any user name with the node's
 * bearer token as the password; Node-RED then gives the editor a session token of its own.
 * Flows have no HTTP endpoints of their own (Node-RED's `http in` nodes are off).
 *
 * Node-RED keeps process-wide state and cannot start again in a process once it has stopped:
 * one node per process runs flows. Throws FLOWCHAIN_ERR_FLOWS_UNAVAILABLE from start() when
 * this process ran flows before, and FLOWCHAIN_ERR_STORE_ACCESS_DENIED naming the directory
 * when the flows directory cannot be written. Requests to /flows while the runtime is not
 * running are refused with FLOWCHAIN_ERR_FLOWS_UNAVAILABLE.
 */
import { EventEmitter } from 'node:events';
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { isLoopbackHost } from '../common/loopback.js';
import { FlowchainError } from '../errors.js';
import type { BindingLog, CredentialRule } from '../thing/protocol-binding.js';

/** Where the editor is served. */
export const FLOWS_PATH = '/flows';

/** The folder of Flowchain's Node-RED nodes (the package's `node-red/`). */
const NODES_DIR = fileURLToPath(new URL('../../node-red/', import.meta.url));

/** As much of Node-RED's embedding API (the `node-red` module) as is used here. */
interface NodeRed {
  init(server: EventEmitter, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly httpAdmin: (request: IncomingMessage, response: ServerResponse, next: (err?: unknown) => void) => void;
}

/** A Node-RED log record (its `level`: 10 fatal, 20 error, 30 warn, 40 info, 50 debug, 60 trace, 98 audit, 99 metric). */
interface NodeRedLogRecord {
  readonly level: number;
  readonly msg: unknown;
  readonly type?: string;
  readonly id?: string;
  readonly name?: string;
}

/** A user of Node-RED's admin API: every one the node's credentials let in may do everything. */
interface AdminUser {
  readonly username: string;
  readonly permissions: '*';
}

/** What the runtime needs of the node. */
export interface FlowRuntimeComponents {
  /** The node's rule for credentials: the editor asks for them when the node does. */
  readonly credentials: CredentialRule;
  readonly log: BindingLog;
}

/** Where flows live, and where the node listens. */
export interface FlowRuntimeInit {
  /** The node's data directory; flows go in its `flows/`. */
  readonly data: string;
  /** The host the node's HTTP port listens on. */
  readonly host: string;
}

/** Whether this process has run Node-RED already (it cannot run twice). */
let used = false;

/** Node-RED in the node's process, mounted at {@link FLOWS_PATH}. */
export class FlowRuntime {
  readonly prefix = FLOWS_PATH;
  readonly #components: FlowRuntimeComponents;
  readonly #userDir: string;
  /** Node-RED's listeners for WebSocket upgrades (its editor's comms). */
  readonly #upgrades = new EventEmitter();
  #red: NodeRed | undefined;

  /**
   * FLOWCHAIN_ERR_CONFIG_INVALID (field `flows`) for a node that requires no credentials and
   * listens beyond loopback: whoever reaches the editor runs code on the device (a function
   * node), so the editor is open only to this machine or behind the node's credentials.
   */
  constructor(components: FlowRuntimeComponents, init: FlowRuntimeInit) {
    if (!components.credentials.required && !isLoopbackHost(init.host)) {
      throw new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', `--flows on a node that listens on ${init.host} needs credentials for its editor, which runs code on this device: give the node --auth-token-file or --basic-auth-file, or listen on loopback only (--host 127.0.0.1)`, { field: 'flows' });
    }
    this.#components = components;
    this.#userDir = join(init.data, 'flows');
  }

  /** Whether the editor and the flows run. */
  get running(): boolean {
    return this.#red !== undefined;
  }

  async start(): Promise<void> {
    try {
      await mkdir(this.#userDir, { recursive: true });
      await access(this.#userDir, constants.W_OK);
    } catch (err) {
      throw new FlowchainError('FLOWCHAIN_ERR_STORE_ACCESS_DENIED', `--flows keeps flows in ${this.#userDir}, which cannot be written: ${(err as Error).message}`, { field: 'data', cause: err });
    }
    if (used) throw new FlowchainError('FLOWCHAIN_ERR_FLOWS_UNAVAILABLE', 'Node-RED ran in this process before and cannot start again: run flows in one node per process');
    used = true;
    // Loaded only by a node that runs flows: Node-RED is large.
    const red = createRequire(import.meta.url)('node-red') as NodeRed;
    red.init(this.#upgrades, this.#settings());
    await red.start();
    this.#red = red;
    this.#components.log.info({ path: FLOWS_PATH, userDir: this.#userDir }, `flows: the Node-RED editor is at ${FLOWS_PATH}/, flows are kept in ${this.#userDir}`);
  }

  async stop(): Promise<void> {
    const red = this.#red;
    this.#red = undefined;
    await red?.stop();
  }

  /** A request under /flows: to the editor and its admin API; `fail` answers what nothing there answers. */
  handle(request: IncomingMessage, response: ServerResponse, fail: (err: FlowchainError) => void): void {
    const red = this.#running();
    const url = request.url ?? FLOWS_PATH;
    // The editor loads its files relative to its own address, which ends with a slash.
    if (url === FLOWS_PATH || url.startsWith(`${FLOWS_PATH}?`)) {
      response.writeHead(308, { location: `${FLOWS_PATH}/${url.slice(FLOWS_PATH.length)}` }).end();
      return;
    }
    request.url = url.slice(FLOWS_PATH.length);
    red.httpAdmin(request, response, (err) => {
      if (response.headersSent) return void response.destroy();
      fail(err === undefined ? new FlowchainError('FLOWCHAIN_ERR_ROUTE_NOT_FOUND', `no resource at ${FLOWS_PATH}${request.url?.split('?')[0] ?? ''}`) : new FlowchainError('FLOWCHAIN_ERR_INTERNAL', 'the flow editor failed to answer', { cause: err }));
    });
  }

  /** A WebSocket upgrade under /flows (the editor's comms). */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#running();
    this.#upgrades.emit('upgrade', request, socket, head);
  }

  #running(): NodeRed {
    if (this.#red === undefined) throw new FlowchainError('FLOWCHAIN_ERR_FLOWS_UNAVAILABLE', 'the flow editor is not running (start the node with --flows, or wait until it has started)');
    return this.#red;
  }

  #settings(): Record<string, unknown> {
    const { credentials, log } = this.#components;
    const user = (username: string): AdminUser => ({ username, permissions: '*' });
    return {
      userDir: this.#userDir,
      flowFile: 'flows.json',
      flowFilePretty: true,
      httpAdminRoot: FLOWS_PATH,
      httpNodeRoot: false,
      nodesDir: [NODES_DIR],
      // Nothing phones home: a device reaches only what it was told to.
      telemetry: { enabled: false, updateNotification: false },
      diagnostics: { enabled: false, ui: false },
      // The palette manager's catalogue of modules is fetched from nodered.org unless it is given none.
      editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } },
      logging: {
        flowchain: {
          // Its banner and routine lines stay out of the node's log: this module says when it runs.
          level: 'warn',
          metrics: false,
          audit: false,
          handler: () => (record: NodeRedLogRecord) => {
            const fields = { flows: record.type ?? 'runtime', ...(record.id === undefined ? {} : { node: record.id }), ...(record.name === undefined ? {} : { name: record.name }) };
            const text = `flows: ${typeof record.msg === 'string' ? record.msg : record.msg instanceof Error ? record.msg.message : JSON.stringify(record.msg)}`;
            if (record.level <= 30) log.warn(fields, text);
          },
        },
      },
      ...(credentials.required
        ? {
            adminAuth: {
              type: 'credentials',
              // Sessions are made only by authenticate() below, so every name they carry was let in.
              users: async (username: string) => user(username),
              authenticate: async (username: string, password: string) => {
                const basic = credentials.check({ authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` });
                return basic === 'valid' || credentials.check({ token: password }) === 'valid' ? user(username) : null;
              },
            },
          }
        : {}),
    };
  }
}

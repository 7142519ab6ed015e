/**
 * Builds the servient's HTTP application: REST, SSE, long-poll and WebSocket on one fastify
 * instance. It never listens; its HttpServerBinding does, and tests drive it with `inject()`.
 * The only folder that imports fastify.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { WS_SUBPROTOCOL } from './route-table.js';
import { HTTP_FORMS } from './http-forms.js';
import type { FormSource } from '../../td/td-builder.js';
import type { Clock } from '../../common/clock.js';
import type { ThingRegistry } from '../../thing/thing-registry.js';
import { HttpAuth } from './auth.js';
import type { BasicCredential } from '../../config.js';
import { Descriptions } from './descriptions.js';
import { acceptJson, type ChainView, type HttpContext, type HistoryView, type LedgerView } from './http-context.js';
import { historyRoutes } from './routes/history-routes.js';
import { chainRoutes, ledgerRoutes } from './routes/ledger-routes.js';
import { frameworkErrorHandler, pathOf, rawProblemResponse, registerProblemHandlers, toFlowchainError, writeProblem } from './problem.js';
import { answerHandshakeErrors, guardServer, serverOptions, settleUpgrade, type ConnectionLimits, type TlsOptions } from './connections.js';
import { requestAuthority } from './host.js';
import { answerPreflight, Cors } from './cors.js';
import { FlowchainError } from '../../errors.js';
import { DIRECTORY_STREAM, directoryRoutes, directoryWriteRoutes, type HostedChange } from './routes/directory-routes.js';
import type { TdDirectory } from '../../directory/td-directory.js';
import { interactionRoutes } from './routes/interaction-routes.js';
import { propertyRoutes } from './routes/property-routes.js';
import { ReplayLog } from './replay-log.js';
import { StreamTracker } from './streams.js';
import { dashboardRoutes, type DashboardFiles } from './routes/dashboard-routes.js';
import type { TdValidator } from '../../td/td-validator.js';
import { wsRoute } from './ws/ws-route.js';
import { ringRoutes } from './routes/ring-routes.js';
import type { RingView } from '../../dht/ring-service.js';

/** The HTTP application (a fastify instance) and the logger type it takes, for the composition root. */
export type { FastifyBaseLogger as HttpLogger, FastifyInstance as HttpApp } from 'fastify';

/** Everything the HTTP layer needs. */
export interface AppOptions {
  readonly registry: ThingRegistry;
  readonly clock: Clock;
  /** The node's TD `id`. */
  readonly nodeId: string;
  /** The bearer token writes and actions accept; undefined when they take none. */
  readonly authToken: string | undefined;
  /** The HTTP Basic credentials writes and actions accept (either these or the token when both are set); none when absent or empty. */
  readonly basicCredentials?: readonly BasicCredential[];
  readonly publicUrl: string | undefined;
  readonly bodyLimit: number;
  readonly wsBufferLimit: number;
  readonly longPollTimeoutMs: number;
  /** Node's header, request and keep-alive timeouts and the connection cap. */
  readonly connections: ConnectionLimits;
  /** The certificate and key to serve HTTPS (and wss:) with; plain HTTP without. */
  readonly tls?: TlsOptions;
  /** A pino-compatible logger; omit for silence (tests). */
  readonly logger?: FastifyBaseLogger;
  /** The ring, when this node takes part in one. */
  readonly ring?: RingView;
  /** Transaction receipts, when the node records changes. */
  readonly ledger?: LedgerView;
  /** The history of the Things' values and events, when the node keeps one. */
  readonly history?: HistoryView;
  /** The node's own chain of blocks, when it keeps one. */
  readonly chain?: ChainView;
  /** Checks TDs as served (GET /things/{id}/validation); omit to leave that route out. */
  readonly validator?: TdValidator;
  /** The Thing Description Directory: registrations and the ring's entries; omit for a read-only, local listing. */
  readonly directory?: TdDirectory;
  /** Origins browsers may call this node from (CORS); `*` for any; none or empty: same origin only. */
  readonly corsOrigins?: readonly string[];
  /**
   * The origins of the ring's members (their public URLs, as their signed directory entries
   * name them): allowed by CORS besides `corsOrigins`, so any member's dashboard drives this
   * node's Things, and reachable from this node's dashboard (its CSP).
   */
  readonly ringOrigins?: () => Promise<ReadonlySet<string>>;
  /** The dashboard's files; omit for a node without the dashboard (most unit tests). */
  readonly dashboard?: DashboardFiles;
  /** The forms of every server binding of the node, in TD order (default: this binding's own, {@link HTTP_FORMS}). */
  readonly bindings?: readonly FormSource[];
  /** Applications mounted under a path of this server (Node-RED's editor at /flows). */
  readonly mounts?: readonly HttpMount[];
}

/**
 * An application mounted under a path of the node's HTTP server: it gets the raw requests
 * (bodies unread) and the WebSocket upgrades under that path, past every route of the node's
 * own. What it throws is answered as problem+json.
 */
export interface HttpMount {
  /** `/flows` takes `/flows` and everything under `/flows/`. */
  readonly prefix: string;
  /** `fail` answers `err` as problem+json, for what the application does not answer itself. */
  handle(request: IncomingMessage, response: ServerResponse, fail: (err: FlowchainError) => void): void;
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/**
 * Per-request log lines at debug level only (at info they would cost as much as a small
 * route), and nothing at all for a request while debug is off. Only the path is logged: a
 * query string may carry an access_token.
 */
class DebugRequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (debugging(request.log)) request.log.debug({ method: request.method, path: request.url.split('?')[0] }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (debugging(reply.log)) reply.log.debug({ method: request.method, path: request.url.split('?')[0], statusCode: reply.statusCode, responseTime: reply.elapsedTime, err: error ?? undefined }, 'request completed');
  }
}

/** Whether `log` writes debug lines (a pino logger says so; fastify's silent default has no such method). */
const debugging = (log: FastifyBaseLogger): boolean => (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('debug') ?? false;

/**
 * Builds the app with every route registered; the caller listens or injects. Before any route,
 * a request is refused with FLOWCHAIN_ERR_SHUTTING_DOWN while the app closes and with
 * FLOWCHAIN_ERR_REQUEST_MALFORMED (field `host`) when its Host is not valid.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit,
    logController: new DebugRequestLog(),
    // Requests that arrive while the node shuts down are refused below, as problem+json.
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler,
    ...serverOptions(options.connections, options.tls),
  }) as unknown as FastifyInstance;
  guardServer(app, options.connections);

  // Only JSON bodies are accepted (anything else is 415). An empty body is "no input", so an
  // action without input can be invoked with or without a Content-Type.
  app.removeAllContentTypeParsers();
  acceptJson(app, 'application/json');

  // The replay log keeps the notifications of every Thing while it is exposed.
  const replay = new ReplayLog(options.clock);
  for (const thing of options.registry.list()) replay.record(thing);
  options.registry.onChange((thing, change) => (change === 'added' ? replay.record(thing) : replay.forget(thing)));
  const basic = options.basicCredentials ?? [];
  const ctx: HttpContext = {
    registry: options.registry,
    descriptions: new Descriptions(options.registry, { nodeId: options.nodeId, bearerAuth: options.authToken !== undefined, basicAuth: basic.length > 0, publicUrl: options.publicUrl, bindings: options.bindings ?? [HTTP_FORMS] }),
    auth: options.authToken === undefined && basic.length === 0 ? undefined : new HttpAuth({ ...(options.authToken === undefined ? {} : { bearerToken: options.authToken }), basic }),
    streams: new StreamTracker(options.clock, options.wsBufferLimit),
    replay,
    clock: options.clock,
    longPollTimeoutMs: options.longPollTimeoutMs,
    ledger: options.ledger,
    validator: options.validator,
    tdd: options.directory,
  };
  // Directory notifications get ids from the replay log, so a stream resumes with Last-Event-ID.
  const unfollowDirectory = options.directory?.onChange((change) => replay.publish(DIRECTORY_STREAM, change.type, change));
  // Hosted Things are in the directory too: one produced and exposed, or destroyed, is
  // notified like a registration (its TD rendered for each subscriber's base).
  const unfollowHosted = options.registry.onChange((thing, change) => {
    const hosted: HostedChange = { type: change === 'added' ? 'thing_created' : 'thing_deleted', id: thing.id, thing };
    replay.publish(DIRECTORY_STREAM, hosted.type, hosted);
  });

  registerProblemHandlers(app);
  let closing = false;
  // Streams never finish on their own: end them first so close() does not wait on them.
  app.addHook('preClose', async () => {
    closing = true;
    ctx.streams.closeAll();
  });
  app.addHook('onClose', async () => {
    unfollowDirectory?.();
    unfollowHosted();
    replay.stop();
  });
  // Before any route (and before the 404 handler), in one hook (each hook costs every
  // request): the CORS headers the Origin earns, so even a refusal is readable by an allowed
  // page; then a node shutting down takes no new work, an upgrade no WebSocket route takes is
  // answered and closed, and the Host must be valid, since TD forms and receipt links are
  // built from it.
  const corsOrigins = options.corsOrigins ?? [];
  const cors = corsOrigins.length > 0 || options.ringOrigins !== undefined ? new Cors({ configured: corsOrigins, ...(options.ringOrigins ? { more: options.ringOrigins } : {}) }) : undefined;
  const admit = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
    try {
      if (closing) {
        reply.header('connection', 'close');
        throw new FlowchainError('FLOWCHAIN_ERR_SHUTTING_DOWN', 'this node is shutting down; try another or retry later');
      }
      settleUpgrade(request, reply);
      requestAuthority(request.raw, request.protocol);
      done();
    } catch (err) {
      done(err as Error);
    }
  };
  app.addHook('onRequest', (request, reply, done) => {
    const decorated = cors?.decorate(request, reply);
    if (decorated === undefined) admit(request, reply, done);
    else void decorated.then(() => admit(request, reply, done));
  });
  // Preflights (WHATWG Fetch §3.2.2), their headers set by the hook above.
  if (cors) app.options('*', answerPreflight);

  directoryRoutes(app, ctx);
  // Its own context: the TD and merge-patch media types are taken by these routes only.
  await app.register(async (writes) => directoryWriteRoutes(writes, ctx));
  propertyRoutes(app, ctx);
  interactionRoutes(app, ctx);
  if (options.ring) ringRoutes(app, options.ring);
  if (options.ledger) ledgerRoutes(app, options.ledger);
  if (options.history) historyRoutes(app, ctx, options.history);
  if (options.chain) chainRoutes(app, options.chain);
  if (options.dashboard) await dashboardRoutes(app, options.dashboard, options.publicUrl, options.ringOrigins);
  const upgrades = await mount(app, options.mounts ?? []);
  // The WebSocket plugin adds hooks to every route of the context it is registered in, so it
  // lives in a child context holding only the WebSocket endpoint.
  await app.register(async (sockets) => {
    await sockets.register(websocket, {
      options: {
        // Frames past bodyLimit are closed by the session with the catalogue's code; the
        // library's own cut-off (no code) is only for the absurdly large.
        maxPayload: 4 * options.bodyLimit,
        handleProtocols: (offered: Set<string>) => (offered.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
        // With mounts, the plugin hears only the upgrades that are not theirs (it only listens
        // for 'upgrade' on what it is given as its server).
        ...(upgrades === undefined ? {} : { server: upgrades as unknown as Server }),
      },
    });
    answerHandshakeErrors(sockets.websocketServer);
    wsRoute(sockets, ctx, { bufferLimit: options.wsBufferLimit, frameLimit: options.bodyLimit });
  });
  return app;
}

/**
 * Routes every method under each mount's prefix to it, bodies unread, and its WebSocket
 * upgrades past fastify. Answers the emitter the WebSocket plugin is to hear the other
 * upgrades from, or undefined when there is no mount.
 */
async function mount(app: FastifyInstance, mounts: readonly HttpMount[]): Promise<EventEmitter | undefined> {
  if (mounts.length === 0) return undefined;
  const owner = (url: string | undefined): HttpMount | undefined => {
    const path = pathOf(url);
    return mounts.find((m) => path === m.prefix || path.startsWith(`${m.prefix}/`));
  };
  await app.register(async (scope) => {
    // The mounted application reads the body itself.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request: FastifyRequest, _payload: unknown, done: (err: Error | null) => void) => done(null));
    for (const m of mounts) {
      const handler = (request: FastifyRequest, reply: FastifyReply): void => {
        reply.hijack();
        const path = pathOf(request.url);
        const fail = (err: unknown): void => writeProblem(reply.raw, toFlowchainError(err) ?? new FlowchainError('FLOWCHAIN_ERR_INTERNAL', 'the mounted application failed'), path);
        try {
          m.handle(request.raw, reply.raw, fail);
        } catch (err) {
          fail(err);
        }
      };
      scope.all(m.prefix, handler);
      scope.all(`${m.prefix}/*`, handler);
    }
  });
  const others = new EventEmitter();
  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const m = owner(request.url);
    if (m === undefined) {
      others.emit('upgrade', request, socket, head);
      return;
    }
    try {
      m.upgrade(request, socket, head);
    } catch (err) {
      socket.end(rawProblemResponse(toFlowchainError(err) ?? new FlowchainError('FLOWCHAIN_ERR_INTERNAL', 'the mounted application failed'), pathOf(request.url)));
    }
  });
  return others;
}

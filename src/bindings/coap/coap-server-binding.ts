/**
 * The CoAP binding's server side (RFC 7252, with the `coap` library): every exposed Thing's
 * properties, actions, events and TD under the paths of route-table.ts, and the node's
 * resources in CoRE Link Format at `/.well-known/core` (RFC 6690).
 *
 * - GET reads a property (2.05), PUT writes it (2.04), POST invokes a synchronous action
 *   (2.04 with its output; an asynchronous one is 4.05, its invocation resource being HTTP's).
 *   Payloads are JSON (Content-Format 50).
 * - GET with Observe: 0 observes a property or subscribes to an event (RFC 7641): a property's
 *   first answer is its value, an event's is empty (no event yet); each change or event is a
 *   notification. Observe: 1 with the same token, a Reset, or an unacknowledged confirmable
 *   notification ends it; so do the Thing's withdrawal and {@link CoapServerBinding.stop}.
 * - Block-wise transfer (RFC 7959) is the library's: an answer of 1024 bytes or more (a TD)
 *   goes in Block2 blocks, or in the blocks a client asks for; a Block1 request is reassembled.
 * - A write answers what became of its data transactions as a JSON payload:
 *   `{"status":"stored"|"queued","transactions":[{"property","status","txId"?,"receipt"}]}`,
 *   each `receipt` the HTTP URL of the transaction's receipt (`ledger/tx/{id}`), as HTTP's
 *   `Flowchain-Tx-*` headers and receipt links say it.
 * - Failures are answered by coap-codes.ts: a 4.xx or 5.xx code with the error's code as
 *   diagnostic payload; a write or invocation that fails changes nothing.
 *
 * Without DTLS a request cannot carry credentials safely, so on a node whose writes need
 * credentials every PUT and POST is refused 4.01 FLOWCHAIN_ERR_AUTH_REQUIRED (and the forms
 * offer none, coap-forms.ts): nothing is writable over CoAP that HTTP would have guarded.
 *
 * Throws FLOWCHAIN_ERR_CONFIG_INVALID (field `coapPort`) from {@link CoapServerBinding.start}
 * when it cannot listen for another reason than a port in use (that one is logged, and the
 * node runs without CoAP forms).
 */
import type { AddressInfo } from 'node:net';
import { createServer, type IncomingMessage, type OutgoingMessage, type ObserveWriteStream, type Server } from 'coap';
import { isThenable } from '../../common/thenable.js';
import { FlowchainError } from '../../errors.js';
import type { ExposedThing } from '../../thing/exposed-thing.js';
import { writeAnswer, type BindingForms, type BindingHost, type DescribedThing, type FormExposure, type ServerBinding } from '../../thing/protocol-binding.js';
import type { ThingDescription } from '../../td/thing-description.js';
import { coapProblem } from './coap-codes.js';
import { coapForms } from './coap-forms.js';
import { COAP_ROUTES, coapPath, CONTENT_FORMAT, matchSegments } from './route-table.js';

/** Where the server listens. */
export interface CoapListenOptions {
  readonly host: string;
  /** 0 for any free port. */
  readonly port: number;
}

/** What the binding needs from the node besides its host: the TDs it serves and where receipts are. */
export interface CoapServerComponents {
  /** The whole TD of `thing` (every binding's forms) under the HTTP `base`. */
  describe(thing: ExposedThing, base: string): ThingDescription;
  /** The node's HTTP base URL (the `base` of TDs served over CoAP), once it listens. */
  httpBase(): string | undefined;
  /** The URL of a transaction's receipt (by id, or by H_DATA while queued): the node's HTTP `ledger/tx/{id}`; undefined before it listens. */
  receiptUrl(ref: string): string | undefined;
}

type Response = OutgoingMessage | ObserveWriteStream;

/** One observation or subscription: how to end it, and which Thing it follows. */
interface Observation {
  readonly thing: ExposedThing;
  end(): void;
}

/** The largest JSON payload taken (after Block1 reassembly). */
const MAX_PAYLOAD_BYTES = 64 * 1024;

/** The CoAP binding: its forms, and the server that answers them. */
export class CoapServerBinding implements ServerBinding {
  readonly name = 'coap';
  readonly #components: CoapServerComponents;
  readonly #listen: CoapListenOptions;
  #server: Server | undefined;
  #host: BindingHost | undefined;
  #port: number | undefined;
  /** Observations by client endpoint and token (RFC 7641 §3.6: the token names the registration). */
  readonly #observations = new Map<string, Observation>();
  #unfollow: (() => void) | undefined;
  /** The port was in use at start: the node runs without CoAP. */
  #unavailable = false;

  constructor(components: CoapServerComponents, init: CoapListenOptions) {
    this.#components = components;
    this.#listen = init;
  }

  /** The port it listens on once started (else the configured one). */
  get port(): number {
    return this.#port ?? this.#listen.port;
  }

  formsFor(thing: DescribedThing, exposure: FormExposure): BindingForms {
    // A node that could not take its CoAP port offers no CoAP forms.
    if (this.#unavailable) return {};
    return coapForms(thing, exposure, this.port);
  }

  async start(host: BindingHost): Promise<void> {
    this.#host = host;
    // An exclusive port: a second node on the same port would silently take the first one's requests.
    const server = createServer({ type: this.#listen.host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false });
    server.on('request', (req: IncomingMessage, res: Response) => this.#handle(req, res));
    this.#unavailable = false;
    const listening = await new Promise<boolean>((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException): void => {
        // Several nodes on one host (`flowchain ring`, a second `npm start`) share the default
        // port: the first serves CoAP, the others run without it and say so, as with MQTT.
        if (err.code === 'EADDRINUSE') return resolve(false);
        reject(new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', `cannot listen for CoAP on ${this.#listen.host}:${this.#listen.port}: ${err.message}`, { field: 'coapPort', cause: err }));
      };
      server.once('error', failed);
      server.listen(this.#listen.port, this.#listen.host, (err?: Error) => {
        server.off('error', failed);
        if (err) return failed(err);
        resolve(true);
      });
    });
    if (!listening) {
      server.close();
      this.#unavailable = true;
      host.log.warn({ host: this.#listen.host, port: this.#listen.port }, `CoAP port ${this.#listen.port} is in use: this node runs without CoAP (its TDs have no CoAP forms); give it another --coap-port, or --coap-port off`);
      return;
    }
    server.on('error', (err: Error) => host.log.warn({ err }, 'CoAP socket error'));
    this.#server = server;
    this.#port = ((server as unknown as { _sock: { address(): AddressInfo } })._sock.address()).port;
    // A withdrawn Thing's observers hear no more of it.
    this.#unfollow = host.things.onChange((thing, change) => {
      if (change !== 'removed') return;
      for (const observation of [...this.#observations.values()]) if (observation.thing === thing) observation.end();
    });
  }

  async stop(): Promise<void> {
    this.#unfollow?.();
    this.#unfollow = undefined;
    for (const observation of [...this.#observations.values()]) observation.end();
    const server = this.#server;
    this.#server = undefined;
    this.#port = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: Response): void {
    this.#answer(req, res).catch((err: unknown) => fail(res, err));
  }

  async #answer(req: IncomingMessage, res: Response): Promise<void> {
    const host = this.#host!;
    const segments = uriPath(req);
    const path = `/${segments.join('/')}`;
    const match = matchSegments(segments);
    if (match === undefined) throw new FlowchainError('FLOWCHAIN_ERR_ROUTE_NOT_FOUND', `no CoAP resource at ${path}`, { field: 'path' });
    const method = req.method;
    const allowed = match.route === COAP_ROUTES.property ? ['GET', 'PUT'] : match.route === COAP_ROUTES.action ? ['POST'] : ['GET'];
    if (!allowed.includes(method)) throw new FlowchainError('FLOWCHAIN_ERR_METHOD_NOT_ALLOWED', `${path} takes ${allowed.join(', ')}`, { field: 'method' });
    // Writes and invocations need credentials on this node, and CoAP without DTLS carries none.
    if (method !== 'GET' && host.credentials.required) {
      throw new FlowchainError('FLOWCHAIN_ERR_AUTH_REQUIRED', 'this node takes writes and invocations with credentials, over HTTP only: CoAP here is read-only', { field: 'method' });
    }
    const observe = req.headers.Observe;
    if (observe === 1) this.#deregister(req);

    if (match.route === COAP_ROUTES.core) return send(res, '2.05', Buffer.from(this.#linkFormat()), CONTENT_FORMAT.linkFormat);
    const thing = host.things.get(match.values.thing!);
    const name = match.values.name!;
    switch (match.route) {
      case COAP_ROUTES.thing:
        return send(res, '2.05', Buffer.from(JSON.stringify(this.#components.describe(thing, this.#base(req)))), CONTENT_FORMAT.tdJson);
      case COAP_ROUTES.properties:
        return sendJson(res, '2.05', await thing.readAllProperties());
      case COAP_ROUTES.property:
        if (method === 'PUT') return this.#write(req, res, thing, name);
        if (observe === 0 && thing.readable(name).observable === true) return this.#observeProperty(req, res, thing, name);
        return sendJson(res, '2.05', await read(thing, name));
      case COAP_ROUTES.action: {
        // An asynchronous action's invocation is a resource to query and cancel, which only HTTP serves: CoAP offers no form for it.
        if (thing.action(name).synchronous === false) throw new FlowchainError('FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED', `action ${name} is asynchronous: invoke it over HTTP, where its invocation can be queried and cancelled`, { field: name });
        const output = await thing.invokeAction(name, jsonPayload(req, false));
        return output === undefined ? send(res, '2.04') : sendJson(res, '2.04', output);
      }
      case COAP_ROUTES.event:
        thing.event(name);
        // A deregistration (Observe: 1) is answered as a plain GET of an event: nothing to show.
        if (observe === 1) return send(res, '2.05');
        if (observe !== 0) throw new FlowchainError('FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED', `event ${name} is followed with Observe (RFC 7641): it has no value to read`, { field: 'observe' });
        return this.#subscribeEvent(req, res, thing, name);
    }
  }

  /** writeproperty: the value checked and recorded by the Thing, the answer naming its transactions. */
  async #write(req: IncomingMessage, res: Response, thing: ExposedThing, name: string): Promise<void> {
    const value = jsonPayload(req, true);
    const receipts = await thing.writeProperty(name, value);
    sendJson(res, '2.04', writeAnswer(receipts, (ref) => this.#components.receiptUrl(ref)));
  }

  async #observeProperty(req: IncomingMessage, res: Response, thing: ExposedThing, name: string): Promise<void> {
    const first = await read(thing, name);
    const stream = res as ObserveWriteStream;
    stream.statusCode = '2.05';
    stream.setOption('Content-Format', 'application/json');
    stream.write(Buffer.from(JSON.stringify(first ?? null)));
    this.#register(req, stream, thing, thing.observeProperty(name, (change) => notify(stream, change.value)));
  }

  async #subscribeEvent(req: IncomingMessage, res: Response, thing: ExposedThing, name: string): Promise<void> {
    const stream = res as ObserveWriteStream;
    stream.statusCode = '2.05';
    // The registration's answer: no event has happened yet, so it is empty (RFC 7641 §4.2 lets a notification be any 2.05 representation).
    stream.write(Buffer.alloc(0));
    stream.setOption('Content-Format', 'application/json');
    this.#register(req, stream, thing, thing.subscribeEvent(name, (event) => notify(stream, event.data)));
  }

  #register(req: IncomingMessage, stream: ObserveWriteStream, thing: ExposedThing, unsubscribe: () => void): void {
    const key = observationKey(req);
    this.#observations.get(key)?.end();
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      unsubscribe();
      if (this.#observations.get(key)?.end === end) this.#observations.delete(key);
      if (!stream.writableEnded) stream.end();
    };
    this.#observations.set(key, { thing, end });
    // A Reset, an unacknowledged notification or the client's deregistration ends the stream.
    stream.on('finish', end);
    stream.on('close', end);
    stream.on('error', end);
  }

  /** RFC 7641 §3.6: a GET with Observe: 1 and the registration's token deregisters it. */
  #deregister(req: IncomingMessage): void {
    this.#observations.get(observationKey(req))?.end();
  }

  /** The HTTP base of the TDs served over CoAP: the node's, on the host the client addressed (Uri-Host) when it named one. */
  #base(req: IncomingMessage): string {
    const base = new URL(this.#components.httpBase() ?? 'http://localhost/');
    const uriHost = req.headers['Uri-Host'];
    if (typeof uriHost === 'string' && uriHost !== '') {
      try {
        base.hostname = uriHost;
      } catch {
        // A host that is no hostname keeps the node's own.
      }
    }
    return base.href;
  }

  /** RFC 6690 §5: each Thing's TD (rt `wot.thing`), its properties (observable ones with `obs`), actions and events. */
  #linkFormat(): string {
    const links: string[] = [];
    for (const thing of this.#host!.things.list()) {
      const at = (route: Parameters<typeof coapPath>[0], name?: string): string => `/${coapPath(route, name === undefined ? { thing: thing.slug } : { thing: thing.slug, name })}`;
      links.push(`<${at(COAP_ROUTES.thing)}>;rt="wot.thing";ct=${CONTENT_FORMAT.tdJson};title="${quoted(thing.td.title)}"`);
      for (const [name, property] of Object.entries(thing.td.properties ?? {})) {
        if (property.writeOnly) continue;
        links.push(`<${at(COAP_ROUTES.property, name)}>;rt="wot.property";ct=${CONTENT_FORMAT.json}${property.observable ? ';obs' : ''}`);
      }
      for (const name of Object.keys(thing.td.actions ?? {})) links.push(`<${at(COAP_ROUTES.action, name)}>;rt="wot.action";ct=${CONTENT_FORMAT.json}`);
      for (const name of Object.keys(thing.td.events ?? {})) links.push(`<${at(COAP_ROUTES.event, name)}>;rt="wot.event";ct=${CONTENT_FORMAT.json};obs`);
    }
    return links.join(',');
  }
}

/** A property's value, answered at once when its read handler answers at once. */
async function read(thing: ExposedThing, name: string): Promise<unknown> {
  const value = thing.readPropertyNow(name);
  return isThenable(value) ? await value : value;
}

/** The JSON payload of a request; none is `undefined` unless `required`. Refuses another Content-Format and `__proto__` keys. */
function jsonPayload(req: IncomingMessage, required: boolean): unknown {
  const format = req.headers['Content-Format'];
  if (format !== undefined && format !== 'application/json' && format !== CONTENT_FORMAT.json) {
    throw new FlowchainError('FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED', `the payload is ${String(format)}; this resource takes application/json (Content-Format ${CONTENT_FORMAT.json})`, { field: 'Content-Format' });
  }
  const payload = req.payload;
  if (payload.length > MAX_PAYLOAD_BYTES) throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_TOO_LARGE', `the payload has ${payload.length} bytes; at most ${MAX_PAYLOAD_BYTES} are taken`, { field: 'payload' });
  if (payload.length === 0) {
    if (required) throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'a write takes the value as a JSON payload', { field: 'payload' });
    return undefined;
  }
  try {
    return JSON.parse(payload.toString('utf8'), (key, value: unknown) => {
      // As fastify's parser does: a key that would reach an object's prototype is refused.
      if (key === '__proto__') throw new SyntaxError('__proto__ is not taken');
      return value;
    });
  } catch (err) {
    throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', `the payload is not JSON (${(err as Error).message})`, { field: 'payload', cause: err });
  }
}

function notify(stream: ObserveWriteStream, value: unknown): void {
  if (!stream.writableEnded) stream.write(Buffer.from(JSON.stringify(value ?? null)));
}

function send(res: Response, code: string, payload?: Buffer, contentFormat?: number): void {
  res.statusCode = code;
  if (contentFormat !== undefined) res.setOption('Content-Format', contentFormat);
  if (isObserveStream(res)) return answerOnce(res, payload);
  res.end(payload);
}

function sendJson(res: Response, code: string, value: unknown): void {
  send(res, code, Buffer.from(JSON.stringify(value ?? null)), CONTENT_FORMAT.json);
}

/** The problem's answer: a 4.xx or 5.xx code, the error's code as diagnostic payload. */
function fail(res: Response, err: unknown): void {
  const problem = coapProblem(err);
  send(res, problem.code, problem.diagnostic);
}

function isObserveStream(res: Response): res is ObserveWriteStream {
  return typeof (res as ObserveWriteStream)._doSend === 'function';
}

/**
 * One answer without the Observe option, to a request that asked to observe: RFC 7641 §4.1
 * (the server does not add the client, a plain answer says so) and §4.2 (an error carries no
 * Observe option). The library's observe stream numbers every message it writes, so the
 * answer goes out through its send primitive, and the stream is then ended as if written.
 */
function answerOnce(stream: ObserveWriteStream, payload: Buffer | undefined): void {
  stream._doSend(payload);
  stream._counter = 1;
  stream.end();
}

/** The request's Uri-Path options, each a decoded segment (the library's `url` joins them, losing a `/` inside one). */
function uriPath(req: IncomingMessage): string[] {
  return packetOf(req).options.filter((option) => option.name === 'Uri-Path').map((option) => option.value.toString('utf8'));
}

function packetOf(req: IncomingMessage): { token?: Buffer; options: { name: string | number; value: Buffer }[] } {
  return req._packet as unknown as { token?: Buffer; options: { name: string | number; value: Buffer }[] };
}

function observationKey(req: IncomingMessage): string {
  const token = packetOf(req).token ?? Buffer.alloc(0);
  return `${req.rsinfo.address}|${req.rsinfo.port}|${token.toString('hex')}`;
}

/** A quoted-string's content (RFC 6690 §2 uses RFC 2616's quoted-string). */
function quoted(text: string): string {
  return text.replace(/["\\]/g, '\\$&');
}

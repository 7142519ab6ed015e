/**
 * Shared helpers of the HTTP-layer tests: problem+json assertions, JSON requests for
 * `inject()`, Thing Description directories with custom devices, a subscription spy, a
 * snapshot of a node's state, and small WebSocket, Server-Sent Events, plain HTTP and raw TCP
 * clients for the tests that need a socket. Everything a helper opens is closed at the test's
 * teardown.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import WebSocket from 'ws';
import { SAMPLE_THINGS } from '../../helpers/sample-things.js';
import { ERRORS, type ErrorCode } from '../../../src/errors.js';
import type { Problem } from '../../../src/bindings/http/problem.js';
import type { WsServerMessage } from '../../../src/bindings/http/ws/ws-protocol.js';
import type { Form, ThingDescription } from '../../../src/td/thing-description.js';
import type { ExposedThing, PropertyChange, ThingEvent, Unsubscribe } from '../../../src/thing/exposed-thing.js';
import type { Servient } from '../../../src/servient.js';
import type { ManualClock } from '../../helpers/manual-clock.js';
import { tempDir } from '../../helpers/test-servient.js';

/** A bearer token long enough for the servient. */
export const AUTH_TOKEN = 'a-token-of-at-least-16-chars';

/** The WebSocket sub-protocol the servient speaks. */
export const SUBPROTOCOL = 'flowchain.v1';

/** A small valid TD 1.1 of a lamp hosted outside Flowchain, as the directory tests register it. */
export function remoteLampTd(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@context': 'https://www.w3.org/2022/wot/td/v1.1',
    id,
    title: 'Lamp',
    securityDefinitions: { nosec_sc: { scheme: 'nosec' } },
    security: 'nosec_sc',
    properties: { on: { type: 'boolean', forms: [{ href: 'http://lamp.example/on' }] } },
    ...extra,
  };
}

/** Parses a response body as JSON. */
export function body<T = unknown>(res: { body: string }): T {
  return JSON.parse(res.body) as T;
}

/** An inject request carrying `value` as a JSON body. */
export function jsonRequest(method: 'PUT' | 'POST', url: string, value: unknown, headers: Record<string, string> = {}): InjectOptions {
  return { method, url, payload: JSON.stringify(value), headers: { 'content-type': 'application/json', ...headers } };
}

/** What a problem response must look like. */
export interface ProblemExpectation {
  readonly status: number;
  readonly code: ErrorCode;
  /** The expected `field`; `null` asserts the member is absent; undefined does not check. */
  readonly field?: string | null;
  /** The expected `instance`; defaults to the request URL. */
  readonly instance?: string;
}

/**
 * Asserts `res` is an RFC 9457 problem+json response with the catalogue's code, status and
 * title, a detail, and the request URL as instance. Returns the problem.
 */
export function assertProblem(t: Test, res: LightMyRequestResponse, expected: ProblemExpectation): Problem {
  t.equal(res.statusCode, expected.status, 'status');
  t.match(res.headers['content-type'], /^application\/problem\+json/, 'problem+json media type');
  let problem: Problem;
  try {
    problem = body<Problem>(res);
  } catch {
    t.fail(`the body is not a JSON problem: ${res.body.slice(0, 200)}`);
    return {} as Problem;
  }
  t.equal(problem.code, expected.code, 'code');
  t.equal(problem.status, expected.status, 'status member');
  t.equal(problem.type, 'about:blank', 'type');
  t.equal(problem.title, ERRORS[expected.code].title, 'title from the catalogue');
  t.ok(typeof problem.detail === 'string' && problem.detail.length > 0, 'a detail');
  if (expected.instance !== undefined) t.equal(problem.instance, expected.instance, 'instance');
  else t.type(problem.instance, 'string', 'instance');
  if (expected.field === null) t.notOk('field' in problem, 'no field');
  else if (expected.field !== undefined) t.equal(problem.field, expected.field, 'field');
  return problem;
}

/** The operation types of a form, as an array. */
export function opsOf(form: Form): string[] {
  if (form.op === undefined) return [];
  return typeof form.op === 'string' ? [form.op] : [...form.op];
}

/** Every form of a TD: Thing-level and those of its properties, actions and events. */
export function allForms(td: ThingDescription): Form[] {
  return [
    ...(td.forms ?? []),
    ...Object.values(td.properties ?? {}).flatMap((p) => p.forms ?? []),
    ...Object.values(td.actions ?? {}).flatMap((a) => a.forms ?? []),
    ...Object.values(td.events ?? {}).flatMap((e) => e.forms ?? []),
  ];
}

/**
 * Resolves once `condition` holds, checking after each turn of the event loop. It gives up
 * after 60 s of real time (a bound on a wait, never a timed assertion: a loaded machine may
 * take many turns to carry a socket's bytes).
 */
export async function until(condition: () => boolean, what = 'condition'): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

type Json = Record<string, unknown>;

function bundledTd(slug: string): Json {
  return JSON.parse(readFileSync(join(SAMPLE_THINGS, `${slug}.td.json`), 'utf8')) as Json;
}

/**
 * A TD directory with two custom devices next to a copy of the bundled thermostat:
 * - `hot-sensor`: an environment sensor that starts at 25.9 °C with its overheat threshold at
 *   26 °C, so overheat fires within a few readings;
 * - `lamp`: a smart plug with extra properties: `label` (observable string, for large
 *   notifications), `secret` (writeOnly, observable) and `level` (integer 0..100, not observable).
 */
export function customThings(t: Test): string {
  const sensor = bundledTd('environment-sensor');
  sensor.title = 'Hot sensor';
  sensor.driver = { type: 'environment-sensor', options: { intervalMs: 1000, temperature: 25.9, humidity: 45, overheatThreshold: 26 } };
  const lamp = bundledTd('smart-plug');
  lamp.title = 'Lamp';
  lamp.properties = {
    ...(lamp.properties as Json),
    label: { title: 'Label', type: 'string', maxLength: 1_000_000, observable: true },
    secret: { title: 'Secret', type: 'string', writeOnly: true, observable: true },
    level: { title: 'Level', type: 'integer', minimum: 0, maximum: 100, observable: false },
  };
  const dir = tempDir(t);
  writeFileSync(join(dir, 'hot-sensor.td.json'), JSON.stringify(sensor));
  writeFileSync(join(dir, 'lamp.td.json'), JSON.stringify(lamp));
  writeFileSync(join(dir, 'thermostat.td.json'), JSON.stringify(bundledTd('thermostat')));
  return dir;
}

/**
 * Advances the clock one driver tick (1 s) at a time until `thing` raises event `name`, and
 * returns that event. Everything listening receives it during the same tick.
 */
export function advanceUntilEvent(clock: ManualClock, thing: ExposedThing, name: string, maxTicks = 1_000): ThingEvent {
  let seen: ThingEvent | undefined;
  const unsubscribe = thing.subscribeEvent(name, (event) => {
    seen ??= event;
  });
  try {
    for (let tick = 0; tick < maxTicks && seen === undefined; tick++) clock.advance(1_000);
  } finally {
    unsubscribe();
  }
  if (seen === undefined) throw new Error(`${thing.slug} raised no ${name} within ${maxTicks} ticks`);
  return seen;
}

/**
 * Counts the live property observations and event subscriptions of one Thing by wrapping its
 * observeProperty and subscribeEvent, so a test can see that every stream unsubscribes.
 */
export class SubscriptionSpy {
  /** Subscriptions opened and not yet closed. */
  active = 0;
  /** Subscriptions ever opened. */
  opened = 0;
  readonly #waiters = new Set<() => void>();

  constructor(thing: ExposedThing) {
    const observe = thing.observeProperty.bind(thing);
    const subscribe = thing.subscribeEvent.bind(thing);
    thing.observeProperty = (name: string, listener: (change: PropertyChange) => void) => this.#track(observe(name, listener));
    thing.subscribeEvent = (name: string, listener: (event: ThingEvent) => void) => this.#track(subscribe(name, listener));
  }

  /** Resolves once `condition` holds (checked at once and after every change). */
  when(condition: (spy: SubscriptionSpy) => boolean): Promise<void> {
    if (condition(this)) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (!condition(this)) return;
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
    });
  }

  #track(unsubscribe: Unsubscribe): Unsubscribe {
    this.active++;
    this.opened++;
    this.#changed();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      unsubscribe();
      this.active--;
      this.#changed();
    };
  }

  #changed(): void {
    for (const check of [...this.#waiters]) check();
  }
}

/** How a WebSocket closed. */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/** Options of a test WebSocket client. */
export interface WsOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Sent as `Authorization: Basic …` (RFC 7617). */
  readonly basic?: { readonly user: string; readonly password: string };
  /** Sent as the `access_token` query parameter. */
  readonly accessToken?: string;
  readonly protocols?: readonly string[];
  /** Largest message the client accepts. */
  readonly maxPayload?: number;
}

function wsUrl(base: string, options: WsOptions): string {
  const url = new URL('ws', base);
  url.protocol = 'ws:';
  if (options.accessToken !== undefined) url.searchParams.set('access_token', options.accessToken);
  return url.href;
}

/** Drops a client socket, whatever state it is in, without an unhandled 'error'. */
function discard(socket: WebSocket): void {
  socket.on('error', () => undefined);
  if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
}

function wsSocket(base: string, options: WsOptions): WebSocket {
  return new WebSocket(wsUrl(base, options), [...(options.protocols ?? [SUBPROTOCOL])], {
    headers:
      options.token !== undefined
        ? { authorization: `Bearer ${options.token}` }
        : options.basic !== undefined
          ? { authorization: `Basic ${Buffer.from(`${options.basic.user}:${options.basic.password}`).toString('base64')}` }
          : {},
    ...(options.maxPayload === undefined ? {} : { maxPayload: options.maxPayload }),
  });
}

type Predicate = (message: WsServerMessage) => boolean;

/** A `flowchain.v1` client that queues what it receives so tests can await it in order. */
export class WsClient {
  readonly socket: WebSocket;
  /** Every message received, in order. */
  readonly received: WsServerMessage[] = [];
  /** Resolves when the socket has closed. */
  readonly closed: Promise<CloseInfo>;
  readonly #queue: WsServerMessage[] = [];
  readonly #waiters: { predicate: Predicate; resolve: (message: WsServerMessage) => void }[] = [];
  #nextId = 1;

  constructor(socket: WebSocket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.on('message', (data) => this.#receive(JSON.parse(data.toString()) as WsServerMessage));
    // A socket the server closes abruptly reports an error before 'close'; 'closed' covers it.
    socket.on('error', () => undefined);
  }

  /** Sends a raw frame (an object is sent as JSON text). */
  send(message: object | string | Buffer, binary = false): void {
    this.socket.send(typeof message === 'object' && !Buffer.isBuffer(message) ? JSON.stringify(message) : message, { binary });
  }

  /** Sends a request (with a fresh numeric id unless it has one) and resolves with its reply. */
  request(message: Record<string, unknown>): Promise<WsServerMessage> {
    const id = (message.id as string | number | undefined) ?? this.#nextId++;
    this.send({ ...message, id });
    return this.next((m) => (m.type === 'result' || m.type === 'error') && m.id === id);
  }

  /** Takes the first message matching `predicate`, waiting for it if it has not arrived. */
  next(predicate: Predicate = () => true): Promise<WsServerMessage> {
    const index = this.#queue.findIndex(predicate);
    if (index >= 0) return Promise.resolve(this.#queue.splice(index, 1)[0] as WsServerMessage);
    return new Promise((resolve) => this.#waiters.push({ predicate, resolve }));
  }

  /** Messages received but not taken yet that match `predicate`. */
  queued(predicate: Predicate = () => true): WsServerMessage[] {
    return this.#queue.filter(predicate);
  }

  /** Closes the socket and waits until it is closed. */
  async close(): Promise<CloseInfo> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close();
    return this.closed;
  }

  #receive(message: WsServerMessage): void {
    this.received.push(message);
    const index = this.#waiters.findIndex((w) => w.predicate(message));
    if (index < 0) {
      this.#queue.push(message);
      return;
    }
    const [waiter] = this.#waiters.splice(index, 1);
    waiter?.resolve(message);
  }
}

/** Asserts `reply` is a result (for request `id` when given) and returns its value. */
export function expectResult(t: Test, reply: WsServerMessage, id?: string | number): unknown {
  if (reply.type !== 'result') {
    t.fail(`expected a result, got ${JSON.stringify(reply)}`);
    return undefined;
  }
  if (id !== undefined) t.equal(reply.id, id, 'result id');
  return reply.value;
}

/** What an error message must carry. */
export interface WsErrorExpectation {
  readonly id: string | number | null;
  readonly code: ErrorCode;
  /** The expected `field`; `null` asserts it is absent; undefined does not check. */
  readonly field?: string | null;
}

/** Asserts `reply` is an error message with the request id and the catalogue's code, status and title. */
export function expectError(t: Test, reply: WsServerMessage, expected: WsErrorExpectation): void {
  if (reply.type !== 'error') {
    t.fail(`expected ${expected.code}, got ${JSON.stringify(reply)}`);
    return;
  }
  t.equal(reply.id, expected.id, 'error id');
  t.equal(reply.error.code, expected.code, 'error code');
  t.equal(reply.error.status, ERRORS[expected.code].status, 'error status');
  t.equal(reply.error.title, ERRORS[expected.code].title, 'error title');
  t.type(reply.error.detail, 'string', 'error detail');
  if (expected.field === null) t.notOk('field' in reply.error, 'no field');
  else if (expected.field !== undefined) t.equal(reply.error.field, expected.field, 'error field');
}

/** Opens a WebSocket to the servient at `base`; it is terminated at teardown. */
export function openWs(t: Test, base: string, options: WsOptions = {}): Promise<WsClient> {
  const socket = wsSocket(base, options);
  t.teardown(() => discard(socket));
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(new WsClient(socket)));
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
  });
}

/** A refused upgrade: its status, headers and problem body. */
export interface RefusedUpgrade {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** Attempts an upgrade that the servient is expected to refuse. */
export function refusedUpgrade(t: Test, base: string, options: WsOptions = {}): Promise<RefusedUpgrade> {
  const socket = wsSocket(base, options);
  t.teardown(() => discard(socket));
  return new Promise((resolve, reject) => {
    socket.once('open', () => reject(new Error('the upgrade was accepted')));
    socket.once('unexpected-response', (req, res) => {
      readBody(res).then((text) => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
        req.destroy();
      }, reject);
    });
  });
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
  });
}

/** One block of an event stream (WHATWG HTML §9.2.6). */
export interface SseBlock {
  readonly id?: string;
  readonly event?: string;
  readonly data?: string;
  readonly retry?: number;
  readonly comments: readonly string[];
}

/** An open Server-Sent Events response, read block by block. */
export class SseStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Resolves when the server ends the response or the connection closes. */
  readonly ended: Promise<void>;
  readonly #response: IncomingMessage;
  readonly #blocks: SseBlock[] = [];
  readonly #waiters: ((block: SseBlock) => void)[] = [];
  #buffer = '';

  constructor(response: IncomingMessage) {
    this.#response = response;
    this.status = response.statusCode ?? 0;
    this.headers = response.headers;
    this.ended = new Promise((resolve) => {
      response.once('end', resolve);
      response.once('close', resolve);
    });
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.#receive(chunk));
    response.on('error', () => undefined);
  }

  /** The next block, whatever it carries. */
  next(): Promise<SseBlock> {
    const block = this.#blocks.shift();
    if (block !== undefined) return Promise.resolve(block);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The next block that carries data, skipping retry and comment-only blocks. */
  async nextEvent(): Promise<SseBlock> {
    for (;;) {
      const block = await this.next();
      if (block.data !== undefined) return block;
    }
  }

  /** Blocks received and not taken yet. */
  get buffered(): readonly SseBlock[] {
    return this.#blocks;
  }

  /** Stops reading, like a client that stalled; the server's send buffer then fills. */
  pause(): void {
    this.#response.pause();
  }

  /** Goes away like a browser tab being closed. */
  close(): void {
    this.#response.destroy();
  }

  #receive(chunk: string): void {
    this.#buffer += chunk;
    for (let end = this.#buffer.indexOf('\n\n'); end >= 0; end = this.#buffer.indexOf('\n\n')) {
      const text = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const block = parseBlock(text);
      const waiter = this.#waiters.shift();
      if (waiter) waiter(block);
      else this.#blocks.push(block);
    }
  }
}

function parseBlock(text: string): SseBlock {
  const fields: { id?: string; event?: string; data?: string; retry?: number; comments: string[] } = { comments: [] };
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) {
      fields.comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (name === 'data') fields.data = fields.data === undefined ? value : `${fields.data}\n${value}`;
    else if (name === 'event') fields.event = value;
    else if (name === 'id') fields.id = value;
    else if (name === 'retry') fields.retry = Number(value);
  }
  return fields;
}

/** Opens an SSE stream at `url` (absolute), with extra request `headers` (a Last-Event-ID); it is destroyed at teardown. */
export function openSse(t: Test, url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers: { accept: 'text/event-stream', ...headers } }, (res) => resolve(new SseStream(res)));
    req.once('error', reject);
    req.end();
    t.teardown(() => req.destroy());
  });
}

/** A plain HTTP response read to its end. */
export interface HttpResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A GET over a real socket that a test can abandon (`abort()`), as a client going away. */
export interface PendingGet {
  readonly response: Promise<HttpResult>;
  abort(): void;
}

/** Sends a GET to `url` (absolute) without connection reuse; destroyed at teardown. */
export function httpGet(t: Test, url: string, headers: Record<string, string> = {}): PendingGet {
  const req = httpRequest(url, { agent: false, headers });
  const response = new Promise<HttpResult>((resolve, reject) => {
    req.once('response', (res) => readBody(res).then((text) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }), reject));
    req.once('error', reject);
  });
  // An abandoned request rejects; the test that abandons it does not await it.
  response.catch(() => undefined);
  req.end();
  t.teardown(() => req.destroy());
  return { response, abort: () => req.destroy() };
}

/** Sends a HEAD to `url` (absolute) without connection reuse and reads the response; destroyed at teardown. */
export function httpHead(t: Test, url: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  const req = httpRequest(url, { method: 'HEAD', agent: false, headers });
  t.teardown(() => req.destroy());
  return new Promise<HttpResult>((resolve, reject) => {
    req.once('response', (res) => readBody(res).then((text) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }), reject));
    req.once('error', reject);
    req.end();
  });
}

/** A response read off a raw socket: status line, lower-cased headers, body, and whether the server closed. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Everything received, unparsed ('' when the server answered nothing). */
  readonly text: string;
}

/** Parses the first HTTP/1.1 response in `text` (Content-Length framed, as every problem is). */
export function parseRawResponse(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: '', text };
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? NaN);
  const rest = Buffer.from(text.slice(end + 4));
  const body = Number.isFinite(length) ? rest.subarray(0, length).toString() : rest.toString();
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body, text };
}

/** A raw TCP connection to a server, for requests no HTTP client would send. */
export class RawConnection {
  readonly socket: Socket;
  /** Resolves with everything received once the server closes the connection. */
  readonly closed: Promise<string>;
  #received = '';

  constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (this.#received += chunk));
    // A server that resets the connection (the cap refusing it) is a close too.
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve(this.#received)));
  }

  /** What has arrived so far. */
  get received(): string {
    return this.#received;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Resolves once a complete response has arrived (headers and Content-Length body) or the server closed. */
  async response(): Promise<RawResponse> {
    const complete = (): boolean => {
      const parsed = parseRawResponse(this.#received);
      return parsed.status !== 0 && Buffer.byteLength(parsed.body) >= Number(parsed.headers['content-length'] ?? 0);
    };
    if (!complete()) {
      await Promise.race([
        this.closed,
        new Promise<void>((resolve) => {
          const check = (): void => {
            if (!complete()) return;
            this.socket.off('data', check);
            resolve();
          };
          this.socket.on('data', check);
        }),
      ]);
    }
    return parseRawResponse(this.#received);
  }
}

/** Opens a raw TCP connection to `port` on loopback; destroyed at teardown. */
export function rawConnect(t: Test, port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    t.teardown(() => socket.destroy());
    socket.once('connect', () => resolve(new RawConnection(socket)));
    socket.once('error', reject);
  });
}

/** Sends `data` on a fresh raw connection and returns the response and everything received until the server closed. */
export async function rawExchange(t: Test, port: number, data: string | Buffer): Promise<RawResponse> {
  const connection = await rawConnect(t, port);
  connection.write(data);
  return parseRawResponse(await connection.closed);
}

/**
 * Asserts a raw response is a complete problem+json answer with the catalogue's code, and that
 * the server said it closes the connection (unless `keepAlive`). Returns the problem.
 */
export function assertRawProblem(t: Test, res: RawResponse, expected: ProblemExpectation & { readonly keepAlive?: boolean }): Problem {
  t.equal(res.status, expected.status, 'status line');
  t.match(res.headers['content-type'], /^application\/problem\+json/, 'problem+json media type');
  if (expected.keepAlive !== true) t.match(res.headers.connection, /close/i, 'connection: close');
  t.equal(Buffer.byteLength(res.body), Number(res.headers['content-length']), 'content-length frames the body');
  let problem: Problem;
  try {
    problem = JSON.parse(res.body) as Problem;
  } catch {
    t.fail(`the body is not a JSON problem: ${res.text.slice(0, 300)}`);
    return {} as Problem;
  }
  t.equal(problem.code, expected.code, 'code');
  t.equal(problem.status, expected.status, 'status member');
  t.equal(problem.title, ERRORS[expected.code].title, 'title from the catalogue');
  if (expected.field === null) t.notOk('field' in problem, 'no field');
  else if (expected.field !== undefined) t.equal(problem.field, expected.field, 'field');
  if (expected.instance !== undefined) t.equal(problem.instance, expected.instance, 'instance');
  return problem;
}

/** What a rejected request must leave as it was. */
export interface NodeState {
  /** Every readable property of every Thing (GET /things/{t}/properties). */
  readonly values: Record<string, unknown>;
  /** The recorded history of every readable, writable, recorded property (GET …/history). */
  readonly history: Record<string, unknown>;
  /** The ledger Thing's outbox property. */
  readonly outbox: unknown;
}

/**
 * The state of a node as its own HTTP interface reports it; with the broker stopped, so
 * nothing leaves the outbox behind the test's back.
 */
export async function stateOf(servient: Servient): Promise<NodeState> {
  const values: Record<string, unknown> = {};
  const history: Record<string, unknown> = {};
  for (const thing of servient.registry.list()) {
    values[thing.slug] = body(await servient.app.inject({ method: 'GET', url: `/things/${thing.slug}/properties` }));
    for (const [name, property] of Object.entries(thing.td.properties ?? {})) {
      if (property.readOnly || property.writeOnly || (property as { recorded?: unknown }).recorded === false) continue;
      history[`${thing.slug}/${name}`] = body(await servient.app.inject({ method: 'GET', url: `/things/${thing.slug}/properties/${name}/history` }));
    }
  }
  const outbox = body(await servient.app.inject({ method: 'GET', url: '/things/ledger/properties/outbox' }));
  return { values, history, outbox };
}

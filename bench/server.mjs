/**
 * The server side of every benchmark, run as a child process so the load generator in the
 * parent gets its own core (the machine has two). Driven over the IPC channel:
 *
 *   { id, cmd: 'start', kind, ... }  -> { id, port, data? }       data: its temp directory
 *   { id, cmd: 'cpuMark' }           -> { id }                    starts a CPU-time window
 *   { id, cmd: 'cpuRead' }           -> { id, userUs, systemUs }  CPU used since cpuMark
 *   { id, cmd: 'emit', n }           -> { id, emitted }           n notifications (WS kinds)
 *   { id, cmd: 'stop' }              -> { id, persisted? }        closes everything, then exits
 *
 * Kinds: 'flowchain' (the real Servient from ../dist), 'bare-http' (fastify, one GET and one
 * PUT route), 'bare-ws' (a plain `ws` server that broadcasts). Listens on 127.0.0.1 only.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { WebSocketServer } from 'ws';
import { DEFAULTS } from '../dist/config.js';
import { Servient } from '../dist/servient.js';
import { Database } from '../dist/storage.js';
import { HOST, INITIAL_TARGET, PROPERTY_PATH, WS_PATH, WS_SUBPROTOCOL, writeThings } from './lib/common.mjs';
import { ManualClock } from './lib/manual-clock.mjs';

/** Hard limit on the life of this process, in case the parent dies without a word. */
const MAX_LIFETIME_MS = 5 * 60_000;

/** What is running, with its own way to stop and to emit notifications. */
let server;
let cpuMark = process.cpuUsage();
let stopping = false;

const lifetime = setTimeout(() => void shutdown(2), MAX_LIFETIME_MS);
lifetime.unref();
process.on('disconnect', () => void shutdown(3));

process.on('message', (message) => {
  void handle(message).then(
    (reply) => respond(message, reply),
    (err) => respond(message, { error: String(err?.stack ?? err) }),
  );
});

/** Answers a command; after 'stop' the process exits once the answer is out. */
function respond(message, reply) {
  const exit = message.cmd === 'stop';
  if (!process.connected) {
    if (exit) process.exit(0);
    return;
  }
  process.send({ id: message.id, ...reply }, undefined, {}, () => {
    if (exit) process.exit(0);
  });
}

async function handle(message) {
  switch (message.cmd) {
    case 'start': {
      if (server !== undefined) throw new Error('already started');
      const starters = { flowchain: startFlowchain, 'bare-http': startBareHttp, 'bare-ws': startBareWs };
      const start = starters[message.kind];
      if (start === undefined) throw new Error(`unknown kind ${message.kind}`);
      server = await start(message);
      return { port: server.port, data: server.data };
    }
    case 'cpuMark':
      cpuMark = process.cpuUsage();
      return {};
    case 'cpuRead': {
      const used = process.cpuUsage(cpuMark);
      return { userUs: used.user, systemUs: used.system };
    }
    case 'emit':
      if (server?.emit === undefined) throw new Error('this kind cannot emit');
      return { emitted: server.emit(Math.max(0, Math.min(1000, message.n | 0))) };
    case 'stop':
      return shutdown(undefined);
    default:
      throw new Error(`unknown command ${message.cmd}`);
  }
}

/** Stops whatever runs; with an exit code, exits too (used when the parent went away). */
async function shutdown(exitCode) {
  if (stopping) return {};
  stopping = true;
  let result = {};
  try {
    if (server !== undefined) result = await server.stop();
  } finally {
    if (exitCode !== undefined) process.exit(exitCode);
  }
  return result;
}

/** The real node: bundled Things (plus thermostat-plain), LevelDB in a fresh temp dir, no logger (as in production with logging off). */
async function startFlowchain(options) {
  const data = await mkdtemp(join(tmpdir(), 'flowchain-bench-'));
  const clock = options.clock === 'manual' ? new ManualClock() : undefined;
  const config = { ...DEFAULTS, things: await writeThings(join(data, 'things')), host: HOST, port: 0, seed: 42, logLevel: 'silent', data };
  let servient;
  try {
    servient = await Servient.create(config, clock ? { clock } : {});
  } catch (err) {
    await rm(data, { recursive: true, force: true });
    throw err;
  }
  let broadcasts = 0;
  let stopObserving;
  if (clock) {
    // Counts the changes the sensor reports, so emit(n) can produce exactly n notifications
    // (a step of the random walk may round to the same reading, which is not announced).
    stopObserving = servient.registry.get('environment-sensor').observeProperty('temperature', () => void broadcasts++);
  }
  const { port } = await servient.start();
  return {
    port,
    data,
    emit: clock
      ? (n) => {
          const target = broadcasts + n;
          // Bounded: a reading repeats rarely, never 20 times per wanted change.
          for (let i = 0; i < n * 20 && broadcasts < target; i++) clock.advance(1000);
          return n - (target - broadcasts);
        }
      : undefined,
    async stop() {
      stopObserving?.();
      let persisted;
      try {
        await servient.stop();
        // Reopen the database the node wrote to: the last acknowledged write must be there.
        const db = await Database.open(join(data, 'db'));
        try {
          persisted = { recorded: await db.section('properties').get('thermostat/targetTemperature'), plain: await db.section('properties').get('thermostat-plain/targetTemperature') };
        } finally {
          await db.close();
        }
      } finally {
        await rm(data, { recursive: true, force: true });
      }
      return { persisted: persisted ?? null };
    },
  };
}

/** The HTTP baseline: fastify with no logger, one GET and one PUT route at the same URL. */
async function startBareHttp() {
  const app = Fastify();
  app.get(PROPERTY_PATH, async () => INITIAL_TARGET);
  // The default JSON parser parses the body; nothing is validated or stored.
  app.put(PROPERTY_PATH, async (request, reply) => reply.code(204).send());
  await app.listen({ host: HOST, port: 0 });
  return {
    port: app.server.address().port,
    async stop() {
      await app.close();
      return {};
    },
  };
}

/**
 * The WebSocket baseline: a plain `ws` server. Clients subscribe with the same flowchain.v1
 * request; a broadcast builds the same propertyChange message, encodes it once and sends the
 * one buffer to every subscriber.
 */
async function startBareWs() {
  const thingID = `urn:uuid:${randomUUID()}`;
  const subscribers = new Set();
  const wss = new WebSocketServer({
    host: HOST,
    port: 0,
    path: WS_PATH,
    maxPayload: DEFAULTS.bodyLimit,
    handleProtocols: (offered) => (offered.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
  });
  await new Promise((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      let request;
      try {
        request = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (request?.op === 'observeproperty') subscribers.add(socket);
      socket.send(JSON.stringify({ type: 'result', id: request?.id ?? null, value: temperature }));
    });
    socket.on('close', () => subscribers.delete(socket));
    socket.on('error', () => undefined);
  });
  let temperature = 24;
  let now = Date.UTC(2026, 0, 1);
  return {
    port: wss.address().port,
    emit(n) {
      for (let i = 0; i < n; i++) {
        now += 1000;
        // Same kind of value as the sensor: a two-decimal reading that changes every time.
        temperature = Math.round((temperature + (i % 2 === 0 ? 0.13 : -0.11)) * 100) / 100;
        const message = { type: 'propertyChange', thingID, name: 'temperature', value: temperature, timestamp: new Date(now).toISOString() };
        const frame = Buffer.from(JSON.stringify(message));
        for (const socket of subscribers) socket.send(frame, { binary: false });
      }
      return n;
    },
    async stop() {
      for (const socket of wss.clients) socket.terminate();
      await new Promise((resolve) => wss.close(() => resolve()));
      return {};
    },
  };
}

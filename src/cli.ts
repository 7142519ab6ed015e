#!/usr/bin/env node
/**
 * The `flowchain` command: parses flags, environment and config file, sets up logging, starts
 * the servient and shuts it down gracefully on SIGINT/SIGTERM. The only module that touches
 * `process`.
 */
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { BUNDLED_THINGS } from './bundled.js';
import { parseCommandLine, readAuthToken, usage, type Config } from './config.js';
import { isFlowchainError } from './errors.js';
import { Servient } from './servient.js';

const readText = (path: string): string => readFileSync(path, 'utf8');

function createLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    // Human-readable lines on a terminal, JSON lines everywhere else (files, containers, CI).
    ...(process.stdout.isTTY ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
    redact: ['req.headers.authorization', 'headers.authorization'],
  });
}

async function main(): Promise<number> {
  const { command, help, config } = parseCommandLine({
    argv: process.argv.slice(2),
    env: process.env,
    readFile: readText,
    defaultThings: BUNDLED_THINGS,
  });
  if (help || command === undefined) {
    process.stdout.write(`${usage()}\n`);
    return help ? 0 : 2;
  }
  if (command !== 'start') {
    process.stderr.write(`flowchain: unknown command ${command}\n${usage()}\n`);
    return 2;
  }
  const authToken = config.authTokenFile === undefined ? undefined : readAuthToken(config.authTokenFile, readText);
  const logger = createLogger(config);
  const servient = await Servient.create(config, { logger, ...(authToken === undefined ? {} : { authToken }) });
  const address = await servient.start();
  logger.info({ url: address.url, data: config.data, things: config.things, auth: authToken !== undefined }, `Flowchain node listening on ${address.url}`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const shutdown = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal, exiting at once');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      servient.stop().then(resolve, (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  logger.info('stopped');
  return Number(process.exitCode ?? 0);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Start-up failures are for a person: one plain line naming the code, file and field.
    const message = isFlowchainError(err) ? `${err.code}: ${err.message}` : String((err as Error)?.stack ?? err);
    process.stderr.write(`flowchain: ${message}\n`);
    process.exitCode = 1;
  },
);

/**
 * Servers that fail the way networks do, for the consumer's tests: a port nothing listens on,
 * a TCP server that takes a request and never answers or hangs up, an HTTPS server whose
 * certificate the client does not trust. Loopback, port 0, closed at teardown.
 */
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import type { Test } from 'tap';
import { selfSignedCertificate } from '../helpers/self-signed.js';

/** A loopback port nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A server that saw what it was sent. */
export interface RecordingServer {
  readonly port: number;
  /** Everything received so far, as Latin-1 text. */
  received(): string;
}

/** A TCP server that takes what it is sent and either never answers or hangs up once a request's head has arrived. */
export async function rawServer(t: Test, behaviour: 'silent' | 'hang-up'): Promise<RecordingServer> {
  const sockets = new Set<Socket>();
  let received = '';
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (behaviour === 'hang-up' && received.includes('\r\n\r\n')) socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as { port: number }).port, received: () => received };
}

/** An HTTPS server with a self-signed certificate no client trusts; `requests` counts the requests that reached it. */
export async function untrustedTlsServer(t: Test): Promise<{ readonly port: number; requests(): number }> {
  let requests = 0;
  const server = createHttpsServer(selfSignedCertificate(), (_request, response) => {
    requests++;
    response.end('{}');
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as { port: number }).port, requests: () => requests };
}

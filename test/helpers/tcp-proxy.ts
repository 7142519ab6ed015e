/**
 * A TCP proxy on loopback in front of a node, for tests that must break a browser's
 * connections the way a network does: it can drop every WebSocket passing through it and hold
 * new ones back (the browser's reconnect stays "connecting") until released. Plain HTTP
 * passes untouched. Closed at teardown.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Test } from 'tap';

/** The first bytes of a connection say whether it is a WebSocket handshake (RFC 6455 §4.1). */
const UPGRADE = /\r\nupgrade:[ \t]*websocket[ \t]*\r\n/i;

export class TcpProxy {
  readonly port: number;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #webSockets = new Set<Socket>();
  readonly #held: (() => void)[] = [];
  #holding = false;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  /** Listens on a free loopback port and forwards to `targetPort`. */
  static async start(t: Test, targetPort: number): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = createServer((client) => proxy.#accept(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    t.teardown(() => proxy.close());
    return proxy;
  }

  /** Drops every WebSocket passing through, both ends, as a network failure would. */
  cutWebSockets(): void {
    for (const socket of this.#webSockets) socket.destroy();
  }

  /** Holds new WebSocket handshakes back until {@link releaseWebSockets}. */
  holdWebSockets(): void {
    this.#holding = true;
  }

  /** Lets held and new WebSocket handshakes through. */
  releaseWebSockets(): void {
    this.#holding = false;
    for (const go of this.#held.splice(0)) go();
  }

  /** How many WebSocket handshakes wait. */
  get heldWebSockets(): number {
    return this.#held.length;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket, targetPort: number): void {
    this.#track(client);
    client.on('error', () => undefined);
    client.once('data', (first: Buffer) => {
      client.pause();
      const webSocket = UPGRADE.test(first.toString('latin1'));
      const forward = (): void => {
        if (client.destroyed) return;
        const upstream = connect(targetPort, '127.0.0.1');
        this.#track(upstream);
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        if (webSocket) {
          this.#webSockets.add(client);
          this.#webSockets.add(upstream);
        }
        upstream.write(first);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      };
      if (webSocket && this.#holding) this.#held.push(forward);
      else forward();
    });
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#webSockets.delete(socket);
    });
  }
}

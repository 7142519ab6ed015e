/**
 * The broker a node runs in its own process when it is given none (aedes, over plain TCP), so
 * that its MQTT forms work out of the box. It speaks MQTT 5 and 3.1.1 (aedes 2): a request with
 * an MQTT 5 Response Topic is answered there, a 3.1.1 request, which cannot carry one, on the
 * request topic's `/reply` (topic-table.ts).
 *
 * Only the node publishes under its topic prefix, but for the request topics: no other client
 * can overwrite a retained value, fake an event or an answer (`mayPublish`).
 *
 * Throws FLOWCHAIN_ERR_MQTT_PORT_IN_USE from {@link EmbeddedBroker.start} when the port is taken,
 * FLOWCHAIN_ERR_CONFIG_INVALID (field `mqtt-port`) when it cannot listen for another reason.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import { FlowchainError } from '../../errors.js';

/** Where the broker listens and who may publish where. */
export interface EmbeddedBrokerInit {
  readonly host: string;
  /** 0 for any free port. */
  readonly port: number;
  /** Whether the client `clientId` may publish on `topic`. */
  mayPublish(clientId: string, topic: string): boolean;
}

/** A running embedded broker. */
export class EmbeddedBroker {
  readonly #broker: Aedes;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(broker: Aedes, server: Server) {
    this.#broker = broker;
    this.#server = server;
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(init: EmbeddedBrokerInit): Promise<EmbeddedBroker> {
    const broker = await Aedes.createBroker({
      authorizePublish: (client, packet, callback) => {
        if (client === null || init.mayPublish(client.id, packet.topic)) callback(null);
        else callback(new Error(`${packet.topic} is published by the node only`));
      },
    });
    const server = createServer(broker.handle);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(init.port, init.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new FlowchainError('FLOWCHAIN_ERR_MQTT_PORT_IN_USE', `the embedded MQTT broker cannot listen on ${init.host}:${init.port}: the port is in use`, { field: 'mqtt-port', cause: err });
      throw new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', `the embedded MQTT broker cannot listen on ${init.host}:${init.port}: ${(err as Error).message}`, { field: 'mqtt-port', cause: err });
    }
    return new EmbeddedBroker(broker, server);
  }

  /** The port it listens on. */
  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Closes every client connection and the listening socket. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    // aedes closes its clients; bounded, since a client that does not answer must not hold the node's stop.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => this.#broker.close(() => resolve())), new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)))]);
    clearTimeout(timer);
    // A connection that never sent CONNECT is no client of the broker's: it would keep the server open.
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}

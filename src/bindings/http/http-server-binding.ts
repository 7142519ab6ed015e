/**
 * The HTTP binding's server side as the node composes it: the fastify app (app.ts) that serves
 * every exposed Thing over HTTP, SSE, long-poll and the `flowchain.v1` WebSocket, with the
 * forms of the route table (http-forms.ts). The app is built with the node (tests drive it
 * with `inject()` before anything listens); `start` listens, `stop` closes it, ending its
 * streams.
 *
 * Throws FLOWCHAIN_ERR_CONFIG_INVALID (field `port`) from {@link HttpServerBinding.start} when
 * it cannot listen.
 */
import { FlowchainError } from '../../errors.js';
import type { BindingForms, DescribedThing, FormExposure } from '../../td/td-builder.js';
import type { BindingHost, ServerBinding } from '../../thing/protocol-binding.js';
import type { HttpApp } from './app.js';
import { httpForms } from './http-forms.js';

/** Where the app listens. */
export interface HttpListenOptions {
  readonly host: string;
  /** 0 for any free port. */
  readonly port: number;
}

/** The HTTP binding: its forms, and the app that serves them. */
export class HttpServerBinding implements ServerBinding {
  readonly name = 'http';
  /** The fastify app (diagnostics and tests: `app.inject`). */
  readonly app: HttpApp;
  readonly #listen: HttpListenOptions;

  constructor(components: { readonly app: HttpApp }, init: HttpListenOptions) {
    this.app = components.app;
    this.#listen = init;
  }

  formsFor(thing: DescribedThing, exposure: FormExposure): BindingForms {
    return httpForms(thing, exposure);
  }

  /**
   * Listens. The app serves the Things of the registry it was built over (the host's), and
   * checks credentials with the node's own rule, so the host adds nothing it does not have.
   */
  async start(_host: BindingHost): Promise<void> {
    try {
      await this.app.listen({ port: this.#listen.port, host: this.#listen.host });
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'the port is in use' : (err as Error).message;
      throw new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', `cannot listen on ${this.#listen.host}:${this.#listen.port}: ${reason}`, { field: 'port', cause: err });
    }
  }

  async stop(): Promise<void> {
    await this.app.close();
  }

  /** The port it listens on, once started. */
  get port(): number | undefined {
    const address = this.app.server.address();
    return typeof address === 'object' && address !== null ? address.port : undefined;
  }
}

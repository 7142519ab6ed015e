/**
 * What every Flowchain node does the same way around its own work: the status ring, messages
 * handled one at a time in arrival order, tries repeated with backoff while the Flowchain node
 * is unreachable, errors handed to catch nodes with their code, and everything cancelled when
 * the node closes.
 *
 * A try is repeated only after FLOWCHAIN_ERR_REMOTE_UNREACHABLE, which the consumer raises
 * only when nothing was sent; FLOWCHAIN_ERR_OUTCOME_UNKNOWN (sent, unanswered) is reported at
 * once and never repeated. A message whose tries run out, or that is still waiting when the
 * node closes (FLOWCHAIN_ERR_SHUTTING_DOWN), is reported: no accepted message goes unanswered.
 */
import { FlowchainError, isFlowchainError } from '../errors.js';
import { backoffDelay } from './backoff.js';
import { pause, type FlowsComponents } from './flows-context.js';
import type { NodeMessage, NodeStatus, RuntimeNode } from './node-red-api.js';

/** The statuses the nodes show. */
export const STATUS = {
  sent: { fill: 'yellow', shape: 'dot', text: 'sent' },
  stored: { fill: 'green', shape: 'dot', text: 'stored' },
  queued: { fill: 'yellow', shape: 'dot', text: 'queued' },
  written: { fill: 'green', shape: 'dot', text: 'written' },
  mining: { fill: 'yellow', shape: 'ring', text: 'waiting for the receipt' },
  connected: { fill: 'green', shape: 'dot', text: 'connected' },
  observing: { fill: 'green', shape: 'dot', text: 'observing' },
  disconnected: { fill: 'red', shape: 'ring', text: 'disconnected' },
} as const satisfies Record<string, NodeStatus>;

/** The status an error leaves: "disconnected" while the node cannot be reached, else "refused" with the code. */
export function errorStatus(err: unknown): NodeStatus {
  if (isFlowchainError(err, 'FLOWCHAIN_ERR_REMOTE_UNREACHABLE')) return STATUS.disconnected;
  const code = isFlowchainError(err) ? err.code : 'FLOWCHAIN_ERR_INTERNAL';
  return { fill: 'red', shape: 'dot', text: `refused: ${code}` };
}

/** The status of a write's answer: stored, queued, or written (a Thing that is not Flowchain's says nothing). */
export function writeStatus(status: string | undefined): NodeStatus {
  return status === 'stored' ? STATUS.stored : status === 'queued' ? STATUS.queued : STATUS.written;
}

/** One deployed Flowchain node's shared machinery. */
export class NodeRuntime {
  readonly node: RuntimeNode;
  readonly components: FlowsComponents;
  readonly #abort = new AbortController();
  #tail: Promise<void> = Promise.resolve();
  readonly #closers: (() => void | Promise<void>)[] = [];

  constructor(node: RuntimeNode, components: FlowsComponents) {
    this.node = node;
    this.components = components;
    node.on('close', (_removed, done) => {
      this.#abort.abort(new FlowchainError('FLOWCHAIN_ERR_SHUTTING_DOWN', `the flow stopped before ${node.name || node.id} finished`));
      void Promise.allSettled([this.#tail, ...this.#closers.map(async (close) => close())]).then(() => done());
    });
  }

  /** Aborted when the node closes. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Runs `close` when the node closes (the node's close waits for it). */
  onClose(close: () => void | Promise<void>): void {
    this.#closers.push(close);
  }

  status(status: NodeStatus): void {
    if (!this.closed) this.node.status(status);
  }

  /**
   * Handles each input message with `handle`, one at a time in arrival order; what `handle`
   * throws goes to catch nodes with the message (see {@link NodeRuntime.report}).
   */
  onInput(handle: (msg: NodeMessage, send: (msg: NodeMessage) => void) => Promise<void>): void {
    this.node.on('input', (msg, send, done) => {
      this.#tail = this.#tail.then(async () => {
        try {
          await handle(msg, send);
          done();
        } catch (err) {
          this.report(err, msg, done);
        }
      });
    });
  }

  /**
   * Reports `err` for `msg` to catch nodes: they see `msg.error.code` (Node-RED copies an
   * error's own `code`), and the message carries `field` when the error names one.
   */
  report(err: unknown, msg: NodeMessage, done?: (err?: unknown) => void): void {
    this.status(errorStatus(err));
    const reported = isFlowchainError(err) || err instanceof Error ? err : new FlowchainError('FLOWCHAIN_ERR_INTERNAL', String(err));
    if (isFlowchainError(reported) && reported.field !== undefined) msg.field = reported.field;
    if (done !== undefined) done(reported);
    else this.node.error(reported, msg);
  }

  /**
   * Runs `attempt` until it succeeds, repeating it after FLOWCHAIN_ERR_REMOTE_UNREACHABLE (the
   * status says "disconnected" meanwhile) with backoff, at most `attempts` times in all
   * (default: the components' bound; Infinity for a node that waits for its Thing as long as
   * it runs). Any other error, the last unreachable one, or the node closing, rejects.
   */
  async retrying<T>(attempt: () => Promise<T>, attempts = this.components.attempts): Promise<T> {
    for (let tried = 0; ; tried++) {
      if (this.closed) throw this.signal.reason;
      try {
        return await attempt();
      } catch (err) {
        if (!isFlowchainError(err, 'FLOWCHAIN_ERR_REMOTE_UNREACHABLE') || tried + 1 >= attempts || this.closed) throw err;
        this.status(STATUS.disconnected);
        await pause(this.components.clock, backoffDelay(tried, this.components.backoff, this.components.random), this.signal);
      }
    }
  }
}

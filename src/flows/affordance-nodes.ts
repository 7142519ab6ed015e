/**
 * The node types that use one affordance of one Thing: `flowchain-read`, `flowchain-write`,
 * `flowchain-invoke`, `flowchain-observe` and `flowchain-event`. Each names its server (a
 * `flowchain-server` config node), its Thing (a TD URL or a TD id the server's directory
 * lists) and the affordance; every interaction goes through the consumed Thing's forms, so a
 * Thing of another WoT servient is used the same way.
 *
 * On deploy each node looks its Thing and affordance up (status "connected", or the error's
 * code); read, write and invoke then act on each input message, observe and event send a
 * message for each value from deploy until close.
 *
 * Reports (to catch nodes, with the message) FLOWCHAIN_ERR_THING_NOT_FOUND,
 * FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND (field `affordance`), FLOWCHAIN_ERR_VALUE_INVALID (the
 * payload does not fit the affordance's schema; nothing was sent), FLOWCHAIN_ERR_REMOTE_UNREACHABLE
 * (after the tries ran out; nothing was sent), FLOWCHAIN_ERR_OUTCOME_UNKNOWN (sent once, never
 * again), FLOWCHAIN_ERR_RECEIPT_NOT_MINED and the Thing's own codes.
 */
import { FlowchainError, isFlowchainError } from '../errors.js';
import type { InteractionOutput } from '../thing/interaction-output.js';
import { backoffDelay } from './backoff.js';
import { pause, type FlowsComponents } from './flows-context.js';
import type { NodeDefinition, NodeMessage, NodeRedRuntime, RuntimeNode } from './node-red-api.js';
import { NodeRuntime, STATUS, errorStatus, writeStatus } from './node-runtime.js';
import { waitForReceipts } from './receipt-wait.js';
import type { FlowchainServer, ResolvedThing, ServerNodes } from './server-node.js';

type AffordanceKind = 'properties' | 'actions' | 'events';

const NOUN = { properties: 'property', actions: 'action', events: 'event' } as const;

/** One affordance of one Thing, as a node's settings name it. */
export class AffordanceTarget {
  readonly server: FlowchainServer;
  readonly thingRef: string;
  readonly kind: AffordanceKind;
  readonly name: string;

  constructor(server: FlowchainServer, thingRef: unknown, kind: AffordanceKind, name: unknown) {
    this.server = server;
    this.thingRef = typeof thingRef === 'string' ? thingRef.trim() : '';
    this.kind = kind;
    this.name = typeof name === 'string' ? name.trim() : '';
  }

  /** The consumed Thing, once its TD is known to have the affordance (FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND otherwise). */
  async resolve(): Promise<ResolvedThing> {
    const resolved = await this.server.thing(this.thingRef);
    if (!Object.hasOwn(resolved.td[this.kind] ?? {}, this.name)) {
      throw new FlowchainError('FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND', `${resolved.td.title} has no ${NOUN[this.kind]} named ${JSON.stringify(this.name)}`, { field: 'affordance' });
    }
    return resolved;
  }
}

/** Node-RED's side of a node using one affordance: its runtime, server and target, or the configuration error. */
function setUp(RED: NodeRedRuntime, servers: ServerNodes, node: RuntimeNode, definition: NodeDefinition, kind: AffordanceKind, components: FlowsComponents): { runtime: NodeRuntime; target: AffordanceTarget | undefined; failure: unknown } {
  RED.nodes.createNode(node, definition);
  const runtime = new NodeRuntime(node, components);
  try {
    return { runtime, target: new AffordanceTarget(servers.serverOf(RED, definition.server), definition.thing, kind, definition.affordance), failure: undefined };
  } catch (failure) {
    runtime.status(errorStatus(failure));
    return { runtime, target: undefined, failure };
  }
}

/**
 * Looks the target up once on deploy, for the status: "connected", "disconnected" (tried again
 * with backoff until it answers or the node closes) or the error's code (also logged; catch
 * nodes get it with the first message that fails on it). Messages do not wait for it: each one
 * looks its Thing up itself.
 */
function check(runtime: NodeRuntime, target: AffordanceTarget): void {
  runtime
    .retrying(() => target.resolve(), Infinity)
    .then(
      () => runtime.status(STATUS.connected),
      (err: unknown) => {
        if (runtime.closed) return;
        runtime.status(errorStatus(err));
        runtime.node.error(err);
      },
    );
}

/** Registers the five affordance node types. */
export function registerAffordanceNodes(RED: NodeRedRuntime, servers: ServerNodes, components: FlowsComponents): void {
  RED.nodes.registerType('flowchain-read', function (this: RuntimeNode, definition: NodeDefinition) {
    const { runtime, target, failure } = setUp(RED, servers, this, definition, 'properties', components);
    if (target !== undefined) check(runtime, target);
    runtime.onInput(async (msg, send) => {
      if (target === undefined) throw failure;
      const output = await runtime.retrying(async () => (await target.resolve()).thing.readProperty(target.name));
      msg.payload = await output.value();
      runtime.status(STATUS.connected);
      send(msg);
    });
  });

  RED.nodes.registerType('flowchain-write', function (this: RuntimeNode, definition: NodeDefinition) {
    const { runtime, target, failure } = setUp(RED, servers, this, definition, 'properties', components);
    const waitReceipt = definition.waitReceipt === true || definition.waitReceipt === 'true';
    if (target !== undefined) check(runtime, target);
    runtime.onInput(async (msg, send) => {
      if (target === undefined) throw failure;
      // writeProperty checks the payload against the schema before it sends anything, and
      // answers FLOWCHAIN_ERR_REMOTE_UNREACHABLE only when nothing went out: only then is it tried again.
      const result = await runtime.retrying(async () => {
        const { thing } = await target.resolve();
        runtime.status(STATUS.sent);
        return thing.writeProperty(target.name, msg.payload);
      });
      msg.status = result.status;
      msg.transactions = result.transactions.map((tx) => ({ ...tx }));
      runtime.status(writeStatus(result.status));
      if (waitReceipt && result.transactions.length > 0) {
        runtime.status(STATUS.mining);
        msg.receipt = await waitForReceipts(
          result.transactions.map((tx) => tx.receipt),
          components,
          runtime.signal,
        );
        runtime.status(writeStatus(result.status));
      }
      send(msg);
    });
  });

  RED.nodes.registerType('flowchain-invoke', function (this: RuntimeNode, definition: NodeDefinition) {
    const { runtime, target, failure } = setUp(RED, servers, this, definition, 'actions', components);
    if (target !== undefined) check(runtime, target);
    runtime.onInput(async (msg, send) => {
      if (target === undefined) throw failure;
      const output = await runtime.retrying(async () => {
        const { thing } = await target.resolve();
        runtime.status(STATUS.sent);
        return thing.invokeAction(target.name, msg.payload);
      });
      msg.payload = await output?.value();
      runtime.status(STATUS.connected);
      send(msg);
    });
  });

  for (const [type, kind] of [
    ['flowchain-observe', 'properties'],
    ['flowchain-event', 'events'],
  ] as const) {
    RED.nodes.registerType(type, function (this: RuntimeNode, definition: NodeDefinition) {
      const { runtime, target } = setUp(RED, servers, this, definition, kind, components);
      if (target !== undefined) follow(runtime, target);
    });
  }
}

/**
 * Observes the property or subscribes to the event from deploy until close: each value is a
 * message (`payload`, `topic` = the affordance's name). While the node is unreachable, or after
 * the stream broke, it is followed again with backoff; a missing Thing or affordance, or a
 * refusal, ends it with that error's status.
 */
function follow(runtime: NodeRuntime, target: AffordanceTarget): void {
  const { node, components } = runtime;
  let stop: (() => Promise<void>) | undefined;
  let broken = 0;
  runtime.onClose(async () => {
    await stop?.();
  });
  const deliver = (output: InteractionOutput): void => {
    void output.value().then(
      (payload) => {
        if (!runtime.closed) node.send({ payload, topic: target.name });
      },
      (err: unknown) => runtime.report(err, { topic: target.name }),
    );
  };
  const start = async (): Promise<void> => {
    let failure: unknown;
    const lost = new Promise<void>((resolve) => {
      const onerror = (err: unknown): void => {
        failure = err;
        resolve();
      };
      const open = runtime.retrying(async () => {
        const { thing } = await target.resolve();
        return target.kind === 'events' ? thing.subscribeEvent(target.name, deliver, onerror) : thing.observeProperty(target.name, deliver, onerror);
      }, Infinity);
      open.then(
        (subscription) => {
          stop = () => subscription.stop();
          broken = 0;
          runtime.status(STATUS.observing);
          if (runtime.closed) void subscription.stop();
        },
        (err: unknown) => onerror(err),
      );
    });
    await lost;
    await stop?.();
    stop = undefined;
    if (runtime.closed) return;
    if (!isFlowchainError(failure, 'FLOWCHAIN_ERR_REMOTE_UNREACHABLE') && !isFlowchainError(failure, 'FLOWCHAIN_ERR_OUTCOME_UNKNOWN') && isFlowchainError(failure)) {
      // The Thing or the node said no (unknown Thing or affordance, credentials): trying again would change nothing.
      runtime.status(errorStatus(failure));
      node.error(failure);
      return;
    }
    // The stream broke (the node restarted, the connection dropped): follow it again after a pause.
    runtime.status(STATUS.disconnected);
    target.server.forget(target.thingRef);
    await pause(components.clock, backoffDelay(broken++, components.backoff, components.random), runtime.signal);
    return start();
  };
  start().catch(() => undefined);
}

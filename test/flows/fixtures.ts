/**
 * Node-RED for the flows tests: node-red-node-test-helper (the real runtime, flows loaded from
 * a list), the Flowchain node types registered with the test's clock and randomness, and waits
 * on what a node did (its status, its messages) rather than on time.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { registerFlowchainNodes, type FlowsComponents, type NodeRedRuntime } from '../../src/flows/register.js';
import type { NodeMessage, NodeStatus } from '../../src/flows/node-red-api.js';

const require = createRequire(import.meta.url);

/** A node of a loaded flow, as the helper lets a test watch it. */
export interface TestNode {
  readonly id: string;
  on(event: 'input', listener: (msg: NodeMessage) => void): void;
  on(event: 'call:status', listener: (call: { args: [NodeStatus] }) => void): void;
  on(event: 'call:error', listener: (call: { args: [unknown, NodeMessage?] }) => void): void;
  receive(msg: NodeMessage): void;
}

/** The part of node-red-node-test-helper the tests use. */
interface NodeTestHelper {
  init(runtimePath: string): void;
  load(nodes: unknown[], flow: object[], credentials?: Record<string, Record<string, string>>): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
  request(): { get(path: string): { query(q: Record<string, string>): PromiseLike<{ status: number; body: unknown }> } };
  _nodeModules: Record<string, unknown>;
}

export const helper = require('node-red-node-test-helper') as NodeTestHelper;
helper.init(require.resolve('node-red'));

/** The module function Node-RED would call, with the test's components. */
export function flowchainNodes(components: Partial<FlowsComponents> = {}): (RED: NodeRedRuntime) => void {
  return (RED) => registerFlowchainNodes(RED, components);
}

/** The core `switch` and `change` node modules. */
export const coreNodes = {
  switch: require(require.resolve('@node-red/nodes/core/function/10-switch.js', { paths: [require.resolve('node-red')] })) as unknown,
  change: require(require.resolve('@node-red/nodes/core/function/15-change.js', { paths: [require.resolve('node-red')] })) as unknown,
};

/** Loads `flow` on one tab (every node but the config node placed on it, as the editor saves them), with credentials by node id, and unloads it at teardown. */
export async function loadFlow(t: Test, nodes: unknown[], flow: object[], credentials: Record<string, Record<string, string>> = {}): Promise<void> {
  const onTab = flow.map((node) => ((node as { type: string }).type === 'flowchain-server' ? node : { ...node, z: 'tab', x: 100, y: 100 }));
  t.teardown(() => helper.unload());
  await helper.load(nodes, [{ id: 'tab', type: 'tab', label: 'test' }, ...onTab], credentials);
}

/** Resolves with the first status of node `id` for which `matches` holds, from now on. */
export function statusOf(id: string, matches: (status: NodeStatus) => boolean): Promise<NodeStatus> {
  return new Promise((resolve) => {
    helper.getNode(id).on('call:status', (call) => {
      if (matches(call.args[0])) resolve(call.args[0]);
    });
  });
}

/** The next `count` messages node `id` (a helper node) receives that match (all, by default). */
export function messages(id: string, count = 1, matches: (msg: NodeMessage) => boolean = () => true): Promise<NodeMessage[]> {
  const received: NodeMessage[] = [];
  return new Promise((resolve) => {
    helper.getNode(id).on('input', (msg) => {
      if (received.length < count && matches(msg)) received.push(msg);
      if (received.length === count) resolve(received);
    });
  });
}

/** A flowchain-server config node. */
export function serverNode(url: string, id = 'server'): object {
  return { id, type: 'flowchain-server', url, name: 'test node' };
}

/** A catch node sending what it caught to helper node `to`. */
export function catchNode(to: string, id = 'catch'): object {
  return { id, type: 'catch', scope: null, uncaught: false, wires: [[to]] };
}

/** The TD id the node at `url` lists for the Thing titled `title`. */
export async function thingIdOf(url: string, title: string): Promise<string> {
  const listed = (await (await fetch(`${url}things`)).json()) as { id: string; title: string }[];
  return listed.find((td) => td.title === title)!.id;
}

/**
 * Lets the event loop run, and fires the manual clock's timers whenever some are pending (a
 * backoff or a receipt poll waiting), until `done`; gives up after 60 s.
 */
export async function drive(clock: { readonly pending: number; advance(ms: number): void }, done: () => boolean, stepMs = 60_000): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (!done()) {
    if (performance.now() > deadline) throw new Error('gave up driving the clock');
    if (clock.pending > 0) clock.advance(stepMs);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Where the node of `npm start` listens: the URL the flows of examples/flows/ name. */
export const EXAMPLE_NODE_URL = 'http://localhost:8080/';

/**
 * A flow of examples/flows/ as exported there, with the node it names moved to `url`: the
 * flowchain-server's URL and every TD URL at that node (the example names its Things by TD URL).
 */
export function exampleFlow(file: string, url: string): Record<string, unknown>[] {
  const flow = JSON.parse(readFileSync(fileURLToPath(new URL(`../../examples/flows/${file}`, import.meta.url)), 'utf8')) as Record<string, unknown>[];
  const moved = (value: unknown): unknown => (typeof value === 'string' && value.startsWith(EXAMPLE_NODE_URL) ? url + value.slice(EXAMPLE_NODE_URL.length) : value);
  return flow.map((node) => ({
    ...node,
    ...(node.type === 'flowchain-server' ? { url: moved(node.url) } : {}),
    ...(typeof node.thing === 'string' ? { thing: moved(node.thing) } : {}),
  }));
}

/**
 * The Flowchain node types for Node-RED, registered in one place: the `flowchain-server`
 * config node, the affordance nodes (read, write, invoke, observe, event), `flowchain-receipt`,
 * `flowchain-directory`, and the editor's admin route. node-red/flowchain.cjs, the file
 * Node-RED loads, calls {@link registerFlowchainNodes}; tests call it with their own clock and
 * randomness.
 *
 * Throws nothing itself; the nodes report their errors as their modules say.
 */
import { registerAdminEndpoint } from './admin-endpoint.js';
import { registerAffordanceNodes } from './affordance-nodes.js';
import { registerDirectoryNode } from './directory-node.js';
import { DEFAULT_FLOWS_COMPONENTS, type FlowsComponents } from './flows-context.js';
import type { NodeRedRuntime } from './node-red-api.js';
import { registerReceiptNode } from './receipt-node.js';
import { ServerNodes } from './server-node.js';

export type { FlowsComponents } from './flows-context.js';
export type { NodeRedRuntime } from './node-red-api.js';

/** Every Flowchain node type Node-RED offers, with `components` replacing the defaults given. */
export function registerFlowchainNodes(RED: NodeRedRuntime, components: Partial<FlowsComponents> = {}): void {
  const context: FlowsComponents = { ...DEFAULT_FLOWS_COMPONENTS, ...components };
  const servers = new ServerNodes();
  servers.register(RED, context);
  registerAffordanceNodes(RED, servers, context);
  registerReceiptNode(RED, context);
  registerDirectoryNode(RED, servers, context);
  registerAdminEndpoint(RED, servers, context);
}

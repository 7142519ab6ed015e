/**
 * The `flowchain-directory` node: on each message, the ring's Things as the server's directory
 * lists them, or, with a JSONPath query (`msg.query`, else the `query` setting), the TDs the
 * query selects (the directory Thing's `searchJSONPath` action, through its forms). `msg.payload`
 * becomes the array of TDs.
 *
 * Reports FLOWCHAIN_ERR_DIRECTORY_QUERY_INVALID (from the directory), FLOWCHAIN_ERR_CONFIG_INVALID
 * and, after its tries, FLOWCHAIN_ERR_REMOTE_UNREACHABLE.
 */
import type { FlowsComponents } from './flows-context.js';
import type { NodeDefinition, NodeRedRuntime, RuntimeNode } from './node-red-api.js';
import { NodeRuntime, STATUS } from './node-runtime.js';
import type { ServerNodes } from './server-node.js';

/** Registers `flowchain-directory`. */
export function registerDirectoryNode(RED: NodeRedRuntime, servers: ServerNodes, components: FlowsComponents): void {
  RED.nodes.registerType('flowchain-directory', function (this: RuntimeNode, definition: NodeDefinition) {
    RED.nodes.createNode(this, definition);
    const runtime = new NodeRuntime(this, components);
    const setting = typeof definition.query === 'string' ? definition.query.trim() : '';
    runtime.onInput(async (msg, send) => {
      const server = servers.serverOf(RED, definition.server);
      const query = typeof msg.query === 'string' && msg.query.trim() !== '' ? msg.query.trim() : setting;
      msg.payload = await runtime.retrying(() => (query === '' ? server.listing(true) : server.search(query)));
      runtime.status({ ...STATUS.connected, text: `${(msg.payload as unknown[]).length} Things` });
      send(msg);
    });
  });
}

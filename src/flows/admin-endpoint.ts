/**
 * The editor's view of a ring: `GET /flowchain/things` on Node-RED's admin API answers the
 * Things a Flowchain node's directory lists (`[{ id, title, href, properties, actions, events }]`),
 * to fill the Thing and affordance drop-downs; with `thing` (a TD URL or id), that one Thing
 * alone, for a TD the directory does not list. `server` names a deployed config node (its
 * credentials are used); `url` names a node for a config node not deployed yet (no
 * credentials; a deployed config node whose URL differs from `url` is not used). Only http and
 * https URLs are fetched.
 *
 * Errors are problem details (RFC 9457) with the catalogue's `code`: FLOWCHAIN_ERR_REQUEST_MALFORMED
 * (field `url`: not an http(s) URL), FLOWCHAIN_ERR_CONFIG_INVALID (field `server`),
 * FLOWCHAIN_ERR_REMOTE_UNREACHABLE, FLOWCHAIN_ERR_REMOTE_FAILED, ...
 */
import { describeError, FlowchainError } from '../errors.js';
import type { FlowsComponents } from './flows-context.js';
import type { AdminResponse, NodeRedRuntime } from './node-red-api.js';
import { FlowchainServer, serverUrl, summarize, type ServerNodes } from './server-node.js';

/** The admin route's path. */
export const THINGS_ROUTE = '/flowchain/things';

/** Registers the route, readable with the `flowchain.read` permission. */
export function registerAdminEndpoint(RED: NodeRedRuntime, servers: ServerNodes, components: FlowsComponents): void {
  RED.httpAdmin.get(THINGS_ROUTE, RED.auth.needsPermission('flowchain.read'), (req, res) => {
    const { server: id, url, thing } = req.query;
    let server: FlowchainServer;
    try {
      server = pick(RED, servers, id, url, components);
    } catch (err) {
      problem(res, err);
      return;
    }
    // One Thing, as a TD URL or id names it (a URL the directory does not list, say), or the ring's.
    const answer = typeof thing === 'string' && thing.trim() !== '' ? server.thing(thing).then(({ td }) => [summarize(td, server.url)]) : server.summaries();
    answer.then(
      (things) => res.status(200).json(things),
      (err: unknown) => problem(res, err),
    );
  });
}

/**
 * The deployed config node `id` when its URL is the one asked for (or none is), so its
 * credentials are used; otherwise a server for `url` without credentials (the editor's dialog
 * shows a node not deployed yet, or one whose URL is being changed).
 */
function pick(RED: NodeRedRuntime, servers: ServerNodes, id: unknown, url: unknown, components: FlowsComponents): FlowchainServer {
  const deployed = typeof id === 'string' && id !== '' && RED.nodes.getNode(id) ? servers.serverOf(RED, id) : undefined;
  let asked: string | undefined;
  try {
    asked = typeof url === 'string' && url.trim() !== '' ? serverUrl(url) : undefined;
    if (asked === undefined && deployed === undefined) serverUrl(url);
  } catch (err) {
    // The editor sent it: a fault of the request, not of a deployed configuration.
    throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', (err as Error).message, { field: 'url', cause: err });
  }
  if (deployed !== undefined && (asked === undefined || asked === deployed.url)) return deployed;
  return new FlowchainServer({ url: asked }, components);
}

function problem(res: AdminResponse, err: unknown): void {
  const body = describeError(err instanceof FlowchainError ? err : new FlowchainError('FLOWCHAIN_ERR_INTERNAL', 'Unexpected internal error'));
  res.status(body.status).type('application/problem+json').json({ type: 'about:blank', ...body });
}

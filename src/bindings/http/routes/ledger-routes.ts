/**
 * Transactions over HTTP: a receipt on any node (`GET /ledger/tx/{txId or H_DATA}`), the
 * recent values of a recorded property with their transaction ids, and the node's own chain:
 * `GET /ledger`, `/ledger/blocks?from=&limit=`, `/ledger/blocks/{height or hash}`,
 * `/ledger/anchors`.
 */
import type { FastifyInstance } from 'fastify';
import { FlowchainError } from '../../../errors.js';
import type { AffordanceParams, ChainView, HttpContext, LedgerView } from '../http-context.js';
import { routePath, ROUTES } from '../route-table.js';

/** Most history entries one request may ask for. */
const MAX_HISTORY = 100;
/** Most blocks one listing may hold. */
const MAX_BLOCKS = 100;

/** A query parameter that must be an integer from `min` to `max`, or `fallback` when absent. */
function integerParam(raw: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', `${name} is an integer from ${min} to ${max}`, { field: name });
  return value;
}

/** Registers /ledger/tx/:id and /things/:thing/properties/:name/history. */
export function ledgerRoutes(app: FastifyInstance, ctx: HttpContext, ledger: LedgerView): void {
  app.get<{ Params: { id: string } }>(routePath(ROUTES.receipt), async (request) => ledger.receipt(request.params.id));

  app.get<{ Params: AffordanceParams; Querystring: { limit?: string } }>(routePath(ROUTES.propertyHistory), async (request) => {
    const thing = ctx.registry.get(request.params.thing);
    // Same rules as a read: the property exists and is not write-only.
    thing.readable(request.params.name);
    return ledger.history(thing.id, request.params.name, integerParam(request.query.limit, 'limit', 1, MAX_HISTORY, MAX_HISTORY));
  });
}

/** Registers the chain's views under /ledger. */
export function chainRoutes(app: FastifyInstance, chain: ChainView): void {
  app.get('/ledger', async () => chain.summary());

  // Headers only: a block's transaction ids are on its own page.
  app.get<{ Querystring: { from?: string; limit?: string } }>('/ledger/blocks', async (request) => {
    const limit = integerParam(request.query.limit, 'limit', 1, MAX_BLOCKS, 20);
    const from = integerParam(request.query.from, 'from', 0, Number.MAX_SAFE_INTEGER, Math.max(0, chain.summary().height - limit + 1));
    return (await chain.blocks(from, limit)).map(({ txIds: _txIds, ...block }) => block);
  });

  app.get<{ Params: { ref: string } }>('/ledger/blocks/:ref', async (request) => chain.block(request.params.ref.toLowerCase()));

  app.get('/ledger/anchors', async () => chain.anchors());
}

/**
 * Transactions over HTTP: a receipt on any node (`GET /ledger/tx/{txId or H_DATA}`) and the
 * node's own chain:
 * `GET /ledger`, `/ledger/blocks?from=&limit=`, `/ledger/blocks/{height or hash}`,
 * `/ledger/anchors`.
 */
import type { FastifyInstance } from 'fastify';
import { FlowchainError } from '../../../errors.js';
import type { ChainView, LedgerView } from '../http-context.js';
import { routePath, ROUTES } from '../route-table.js';

/** Most blocks one listing may hold. */
const MAX_BLOCKS = 100;

/** A query parameter that must be an integer from `min` to `max`, or `fallback` when absent. */
function integerParam(raw: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', `${name} is an integer from ${min} to ${max}`, { field: name });
  return value;
}

/** Registers /ledger/tx/:id. */
export function ledgerRoutes(app: FastifyInstance, ledger: LedgerView): void {
  app.get<{ Params: { id: string } }>(routePath(ROUTES.receipt), async (request) => ledger.receipt(request.params.id));
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

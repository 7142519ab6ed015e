/**
 * Transactions over HTTP: a receipt on any node (`GET /ledger/tx/{txId or H_DATA}`), and the
 * recent values of a recorded property with their transaction ids.
 */
import type { FastifyInstance } from 'fastify';
import { FlowchainError } from '../../errors.js';
import type { AffordanceParams, HttpContext, LedgerView } from '../http-context.js';

/** Most history entries one request may ask for. */
const MAX_HISTORY = 100;

/** Registers /ledger/tx/:id and /things/:thing/properties/:name/history. */
export function ledgerRoutes(app: FastifyInstance, ctx: HttpContext, ledger: LedgerView): void {
  app.get<{ Params: { id: string } }>('/ledger/tx/:id', async (request) => ledger.receipt(request.params.id));

  app.get<{ Params: AffordanceParams; Querystring: { limit?: string } }>('/things/:thing/properties/:name/history', async (request) => {
    const thing = ctx.registry.get(request.params.thing);
    // Same rules as a read: the property exists and is not write-only.
    thing.readProperty(request.params.name);
    const raw = request.query.limit ?? String(MAX_HISTORY);
    const limit = /^\d{1,3}$/.test(raw) ? Number(raw) : NaN;
    if (!(limit >= 1 && limit <= MAX_HISTORY)) throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', `limit is an integer from 1 to ${MAX_HISTORY}`, { field: 'limit' });
    return ledger.history(thing.id, request.params.name, limit);
  });
}

/**
 * Tells a document that is no receipt at all (a Thing Description, an error a node answered, a
 * health report) from a receipt, before `verify-receipt` checks one, so the message says what
 * was given and where a receipt comes from instead of what a receipt's check finds missing.
 * Whether a receipt verifies stays ledger/receipt.ts's business.
 *
 * Pure; throws nothing.
 */

/** Where a receipt comes from and what it holds, for messages. */
export const RECEIPT_SOURCE =
  'a receipt is the JSON a node serves at GET /ledger/tx/{txId} (txId from the Flowchain-Tx-Id header of a write), with hData, status and tx, and, once mined, txId, minedIn and proof; save one with: curl -s http://NODE/ledger/tx/TXID > receipt.json';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * What `raw` (parsed JSON) is instead of a receipt, such as "a Thing Description"; undefined
 * when it has a receipt's shape (hData or tx), whatever its state or soundness.
 */
export function notAReceipt(raw: unknown): string | undefined {
  if (!isObject(raw)) return Array.isArray(raw) ? 'a JSON array' : `a JSON ${raw === null ? 'null' : typeof raw}`;
  if ('hData' in raw || 'tx' in raw) return undefined;
  // RFC 9457 problem details, as a node answers an unknown or malformed id.
  if (typeof raw.code === 'string' && typeof raw.detail === 'string') return `an error a node answered (${raw.code}: ${raw.detail})`;
  if ('@context' in raw || ('title' in raw && ('properties' in raw || 'actions' in raw || 'events' in raw))) return `a Thing Description${typeof raw.title === 'string' ? ` (${raw.title})` : ''}`;
  const fields = Object.keys(raw);
  return fields.length === 0 ? 'an empty JSON object' : `a JSON object without a receipt's fields (it has ${fields.slice(0, 5).join(', ')}${fields.length > 5 ? ', ...' : ''})`;
}

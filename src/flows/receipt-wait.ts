/**
 * Waiting for a write's receipts: each transaction's receipt URL (`GET /ledger/tx/{id}` on the
 * owner's node, as the write answered it) is fetched until its status is `mined` or `anchored`,
 * with backoff between fetches and a bound on the whole wait. A fetch that fails (the node is
 * restarting, say) is tried again within the bound; nothing is written.
 *
 * Rejects with FLOWCHAIN_ERR_RECEIPT_NOT_MINED when the bound passes first, and with the
 * signal's reason when it is aborted.
 */
import { FlowchainError } from '../errors.js';
import { backoffDelay } from './backoff.js';
import { pause, type FlowsComponents } from './flows-context.js';

/** A receipt, as far as waiting needs it. */
export interface ReceiptJson {
  readonly status?: unknown;
  readonly [field: string]: unknown;
}

const FINAL = new Set(['mined', 'anchored']);

/** Fetches `url` until its receipt is mined or anchored, within `components.receiptLimitMs`. */
export async function waitForReceipt(url: string, components: FlowsComponents, signal: AbortSignal, headers: Readonly<Record<string, string>> = {}): Promise<ReceiptJson> {
  const { clock, random, receiptPoll, receiptLimitMs } = components;
  const deadline = clock.now() + receiptLimitMs;
  let last = 'no answer';
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(url, { headers: { accept: 'application/json', ...headers }, signal });
      if (res.ok) {
        const receipt = (await res.json()) as ReceiptJson;
        if (FINAL.has(String(receipt.status))) return receipt;
        last = `status ${String(receipt.status)}`;
      } else {
        await res.body?.cancel();
        last = `HTTP ${res.status}`;
      }
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      last = (err as Error).message;
    }
    const wait = backoffDelay(attempt, receiptPoll, random);
    if (clock.now() + wait > deadline) {
      throw new FlowchainError('FLOWCHAIN_ERR_RECEIPT_NOT_MINED', `${url} was not mined within ${receiptLimitMs} ms (last: ${last})`, { field: 'receipt' });
    }
    await pause(clock, wait, signal);
  }
}

/** Waits for every receipt of a write and answers the first one's JSON (undefined when the write had none). */
export async function waitForReceipts(urls: readonly string[], components: FlowsComponents, signal: AbortSignal): Promise<ReceiptJson | undefined> {
  const receipts = await Promise.all(urls.map((url) => waitForReceipt(url, components, signal)));
  return receipts[0];
}

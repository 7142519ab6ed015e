/**
 * Waiting for receipts against a real node on a manual clock: a pending receipt is fetched
 * again until it is mined; a bound that passes first is FLOWCHAIN_ERR_RECEIPT_NOT_MINED; closing
 * aborts the wait.
 */
import t from 'tap';
import { DEFAULT_FLOWS_COMPONENTS, type FlowsComponents } from '../../src/flows/flows-context.js';
import { waitForReceipt, waitForReceipts } from '../../src/flows/receipt-wait.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { createServient } from '../helpers/test-servient.js';
import { drive } from './fixtures.js';

const random = { next: () => 0.5 };

t.test('a pending receipt is fetched again until it is mined', async (t) => {
  const { servient, clock: nodeClock } = await createServient(t, { difficulty: 16 });
  const { url } = await servient.start();
  const res = await fetch(`${url}things/smart-plug/properties/on`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: 'true' });
  const receiptUrl = `${url}ledger/tx/${res.headers.get('flowchain-tx-id')}`;
  const clock = new ManualClock();
  const components: FlowsComponents = { ...DEFAULT_FLOWS_COMPONENTS, clock, random, receiptLimitMs: 3_600_000 };
  let receipt: { status?: unknown } | undefined;
  const waiting = waitForReceipts([receiptUrl], components, new AbortController().signal).then((r) => (receipt = r));
  // Let it see "pending" once, then seal the block.
  await drive(clock, () => clock.pending > 0, 0);
  nodeClock.advance(1_000);
  await drive(clock, () => receipt !== undefined, 100);
  await waiting;
  t.equal(receipt!.status, 'mined');
});

t.test('a receipt not mined within the bound is FLOWCHAIN_ERR_RECEIPT_NOT_MINED', async (t) => {
  const { servient } = await createServient(t, { difficulty: 16 });
  const { url } = await servient.start();
  const res = await fetch(`${url}things/smart-plug/properties/on`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: 'true' });
  const clock = new ManualClock();
  const waiting = waitForReceipt(`${url}ledger/tx/${res.headers.get('flowchain-tx-id')}`, { ...DEFAULT_FLOWS_COMPONENTS, clock, random, receiptLimitMs: 2_000 }, new AbortController().signal);
  let settled = false;
  waiting.catch(() => undefined).finally(() => (settled = true));
  await drive(clock, () => settled, 500);
  await t.rejects(waiting, { code: 'FLOWCHAIN_ERR_RECEIPT_NOT_MINED', field: 'receipt' });
});

t.test('aborting ends the wait with the signal\'s reason', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  const clock = new ManualClock();
  const abort = new AbortController();
  const waiting = waitForReceipt(`${url}ledger/tx/${'0'.repeat(64)}`, { ...DEFAULT_FLOWS_COMPONENTS, clock, random }, abort.signal);
  await drive(clock, () => clock.pending > 0, 0);
  abort.abort(new Error('closed'));
  await t.rejects(waiting, { message: 'closed' });
});

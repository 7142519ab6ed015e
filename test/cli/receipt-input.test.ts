import t from 'tap';
import { notAReceipt, RECEIPT_SOURCE } from '../../src/cli/receipt-input.js';

t.test('a receipt in any state has a receipt\'s shape; its soundness is not judged here', async (t) => {
  t.equal(notAReceipt({ hData: 'ab', status: 'pending', tx: {} }), undefined);
  t.equal(notAReceipt({ hData: 'ab', status: 'queued', tx: {} }), undefined);
  t.equal(notAReceipt({ tx: 'tampered' }), undefined, 'tampering is for the verifier to report');
});

t.test('a document that is no receipt is named for what it is', async (t) => {
  t.match(notAReceipt({ '@context': 'https://www.w3.org/2022/wot/td/v1.1', title: 'Thermostat', properties: {} }), /^a Thing Description \(Thermostat\)$/);
  t.match(notAReceipt({ type: 'about:blank', status: 404, code: 'FLOWCHAIN_ERR_TX_NOT_FOUND', detail: 'no such transaction' }), /^an error a node answered \(FLOWCHAIN_ERR_TX_NOT_FOUND: no such transaction\)$/);
  t.match(notAReceipt({ status: 'ok', things: 4 }), /without a receipt's fields \(it has status, things\)/);
  t.equal(notAReceipt({}), 'an empty JSON object');
  t.equal(notAReceipt([1]), 'a JSON array');
  t.equal(notAReceipt('x'), 'a JSON string');
  t.equal(notAReceipt(null), 'a JSON null');
});

t.test('the message says where a receipt comes from: the route the ledger serves it on', async (t) => {
  t.match(RECEIPT_SOURCE, 'GET /ledger/tx/{txId}');
  t.match(RECEIPT_SOURCE, 'Flowchain-Tx-Id');
});

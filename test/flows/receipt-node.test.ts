/**
 * flowchain-receipt on its own (a mined receipt verified end to end is in rule-flow.test.ts):
 * a message without a receipt goes to catch, a receipt that does not verify says why in
 * msg.payload, and an authority that cannot be read is a configuration error.
 */
import t from 'tap';
import { join } from 'node:path';
import { readTrust } from '../../src/flows/receipt-node.js';
import { testAuthority } from '../helpers/test-servient.js';
import { catchNode, flowchainNodes, helper, loadFlow, messages } from './fixtures.js';

const flow = (authority = '') => [{ id: 'verify', type: 'flowchain-receipt', authority, wires: [['out']] }, { id: 'out', type: 'helper' }, catchNode('caught'), { id: 'caught', type: 'helper' }];

t.test('a message without msg.receipt goes to catch with FLOWCHAIN_ERR_RECEIPT_INVALID', async (t) => {
  await loadFlow(t, [flowchainNodes()], flow());
  const caught = messages('caught');
  helper.getNode('verify').receive({ payload: 1 });
  const [msg] = await caught;
  t.match(msg!.error, { code: 'FLOWCHAIN_ERR_RECEIPT_INVALID' });
  t.equal(msg!.field, 'receipt');
});

t.test('a receipt that does not verify is sent on with ok: false and the fault', async (t) => {
  await loadFlow(t, [flowchainNodes()], flow());
  const out = messages('out');
  helper.getNode('verify').receive({ receipt: { hData: '00'.repeat(32), status: 'pending', tx: {} } });
  t.match((await out)[0]!.payload, { ok: false, fault: String });
});

t.test('an authority that cannot be read: FLOWCHAIN_ERR_CONFIG_INVALID naming the setting', async (t) => {
  await loadFlow(t, [flowchainNodes()], flow(join(t.testdir(), 'nowhere')));
  const caught = messages('caught');
  helper.getNode('verify').receive({ receipt: { hData: '00' } });
  const [msg] = await caught;
  t.match(msg!.error, { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' });
  t.equal(msg!.field, 'authority');
});

t.test('readTrust takes an authority directory (with its CRL) or its certificate file', async (t) => {
  const authority = testAuthority(t);
  const fromDirectory = readTrust(authority.directory);
  t.match(fromDirectory.authority, /^-----BEGIN CERTIFICATE-----/);
  t.match(fromDirectory.crl, /^-----BEGIN X509 CRL-----/, 'the CRL beside it');
  t.same(readTrust(join(authority.directory, 'authority.crt')), { authority: fromDirectory.authority });
  t.throws(() => readTrust(join(authority.directory, 'missing')), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'authority' });
});

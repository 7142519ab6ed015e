/**
 * End to end, in the real Node-RED runtime against a real node: a rule written as a flow.
 * The environment sensor's temperature is observed; above 26 °C a core switch node lets it
 * through, a core change node turns it into `true`, flowchain-write switches the smart plug on
 * and waits for the write's receipt to be mined, and flowchain-receipt verifies it, against
 * the ring's authority, offline.
 */
import t from 'tap';
import type { NodeMessage } from '../../src/flows/node-red-api.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { createServient, testAuthority } from '../helpers/test-servient.js';
import { coreNodes, flowchainNodes, helper, loadFlow, messages, serverNode, statusOf, thingIdOf } from './fixtures.js';

t.test('a temperature above the threshold switches the plug on, and the write\'s receipt verifies', async (t) => {
  const authority = testAuthority(t);
  // The node's clock starts now, inside the membership certificate the authority just issued.
  const { servient, clock } = await createServient(t, { authority, difficulty: 16, clock: new ManualClock(Date.now()) });
  const { url } = await servient.start();
  const plug = servient.registry.get('smart-plug');
  const sensor = servient.registry.get('environment-sensor');
  t.equal(await plug.readProperty('on'), false, 'the plug starts off');
  await loadFlow(t, [flowchainNodes({ receiptPoll: { baseMs: 20, maxMs: 200 } }), coreNodes.switch, coreNodes.change], [
    serverNode(url),
    { id: 'observe', type: 'flowchain-observe', server: 'server', thing: await thingIdOf(url, 'Environment sensor'), affordance: 'temperature', wires: [['hot']] },
    { id: 'hot', type: 'switch', name: 'above 26', property: 'payload', propertyType: 'msg', rules: [{ t: 'gt', v: '26', vt: 'num' }], checkall: 'true', repair: false, outputs: 1, wires: [['on']] },
    { id: 'on', type: 'change', name: 'switch on', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'true', tot: 'bool' }], wires: [['write']] },
    { id: 'write', type: 'flowchain-write', server: 'server', thing: await thingIdOf(url, 'Smart plug'), affordance: 'on', waitReceipt: true, wires: [['verify']] },
    { id: 'verify', type: 'flowchain-receipt', authority: authority.directory, wires: [['out']] },
    { id: 'out', type: 'helper' },
  ]);
  await statusOf('observe', (s) => s.text === 'observing');
  const out = messages('out');
  let written = 0;
  helper.getNode('write').on('input', () => written++);
  const mining = statusOf('write', (s) => s.text === 'waiting for the receipt');
  await sensor.emitPropertyChange('temperature', 27);
  await mining;
  t.equal(await plug.readProperty('on'), true, 'the plug is on');
  // The write is in the node's open block; a block interval on the node's clock seals it.
  clock.advance(1_000);
  const [msg] = (await out) as [NodeMessage & { transactions: { txId: string }[]; receipt: { txId: string; status: string } }];
  t.equal(written, 1, 'one reading crossed the threshold');
  t.equal(msg.status, 'stored');
  t.equal(msg.receipt.txId, msg.transactions[0]!.txId, 'msg.receipt is the write\'s receipt');
  t.equal(msg.receipt.status, 'mined');
  t.match(msg.payload, { ok: true, status: 'mined', height: Number }, 'the receipt verifies against the ring\'s authority');
});

/**
 * flowchain-directory against a real node: the ring's Things, a JSONPath search through the
 * directory Thing's searchJSONPath action (from the setting or msg.query), and a malformed
 * query reaching catch with the directory's code.
 */
import t from 'tap';
import type { ThingDescription } from '../../src/td/thing-description.js';
import { createServient } from '../helpers/test-servient.js';
import { catchNode, flowchainNodes, helper, loadFlow, messages, serverNode } from './fixtures.js';

t.test('lists the ring\'s Things, or those a query selects', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  await loadFlow(t, [flowchainNodes()], [
    serverNode(url),
    { id: 'all', type: 'flowchain-directory', server: 'server', query: '', wires: [['out']] },
    { id: 'plugs', type: 'flowchain-directory', server: 'server', query: '$[?@.title=="Smart plug"]', wires: [['out']] },
    { id: 'out', type: 'helper' },
    catchNode('caught'),
    { id: 'caught', type: 'helper' },
  ]);
  let out = messages('out');
  helper.getNode('all').receive({});
  const titles = ((await out)[0]!.payload as ThingDescription[]).map((td) => td.title).sort();
  t.same(titles, ['Alerts', 'Environment sensor', 'Ledger', 'Smart plug', 'Thermostat']);
  out = messages('out');
  helper.getNode('plugs').receive({});
  t.same(((await out)[0]!.payload as ThingDescription[]).map((td) => td.title), ['Smart plug'], 'the setting\'s query');
  out = messages('out');
  helper.getNode('plugs').receive({ query: '$[?@.title=="Thermostat"]' });
  t.same(((await out)[0]!.payload as ThingDescription[]).map((td) => td.title), ['Thermostat'], 'msg.query before the setting');
  const caught = messages('caught');
  helper.getNode('all').receive({ query: '$[?' });
  t.match((await caught)[0]!.error, { code: 'FLOWCHAIN_ERR_DIRECTORY_QUERY_INVALID' });
});

/**
 * The rule flow inside a node (`--flows`): deployed through the editor's admin API at /flows,
 * run by the node's own Node-RED with the Flowchain nodes from its palette (node-red/), driven
 * by a real reading; the plug switches and the write's receipt verifies, as the editor sees it
 * in the receipt node's status over its comms socket.
 */
import t from 'tap';
import WebSocket from 'ws';
import { ManualClock } from '../helpers/manual-clock.js';
import { createServient, testAuthority } from '../helpers/test-servient.js';
import { thingIdOf } from './fixtures.js';

t.test('a flow deployed in the node switches the plug, and its receipt verifies', async (t) => {
  const authority = testAuthority(t);
  // The node's clock starts now, inside the membership certificate the authority just issued.
  const clock = new ManualClock(Date.now());
  const { servient } = await createServient(t, { flows: true, authority, difficulty: 16, clock });
  const { url } = await servient.start();
  const plug = servient.registry.get('smart-plug');
  const tab = { z: 'rule', x: 100, y: 100 };
  const flow = [
    { id: 'rule', type: 'tab', label: 'Rule' },
    { id: 'server', type: 'flowchain-server', url, name: 'this node' },
    { ...tab, id: 'observe', type: 'flowchain-observe', server: 'server', thing: await thingIdOf(url, 'Environment sensor'), affordance: 'temperature', wires: [['hot']] },
    { ...tab, id: 'hot', type: 'switch', property: 'payload', propertyType: 'msg', rules: [{ t: 'gt', v: '26', vt: 'num' }], checkall: 'true', repair: false, outputs: 1, wires: [['on']] },
    { ...tab, id: 'on', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'true', tot: 'bool' }], wires: [['write']] },
    { ...tab, id: 'write', type: 'flowchain-write', server: 'server', thing: await thingIdOf(url, 'Smart plug'), affordance: 'on', waitReceipt: true, wires: [['verify']] },
    { ...tab, id: 'verify', type: 'flowchain-receipt', authority: authority.directory, wires: [] },
  ];

  // The editor's view: node statuses over its comms socket.
  const comms = new WebSocket(`${url.replace('http', 'ws')}flows/comms`);
  t.teardown(() => comms.terminate());
  await new Promise<void>((resolve, reject) => comms.once('open', resolve).once('error', reject));
  comms.send(JSON.stringify({ subscribe: 'status/#' }));
  const statuses = new Map<string, string>();
  comms.on('message', (data: Buffer) => {
    for (const { topic, data: status } of JSON.parse(data.toString()) as { topic: string; data?: { text?: string } }[]) {
      if (topic.startsWith('status/') && status?.text !== undefined) statuses.set(topic.slice('status/'.length), status.text);
    }
  });
  const until = async (what: string, check: () => boolean | Promise<boolean>) => {
    for (let i = 0; i < 300 && !(await check()); i++) {
      // The node's clock seals blocks: a second of it each time.
      clock.advance(1_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    t.ok(await check(), what);
  };

  const deployed = await fetch(`${url}flows/flows`, { method: 'POST', headers: { 'content-type': 'application/json', 'node-red-deployment-type': 'full' }, body: JSON.stringify(flow) });
  t.equal(deployed.status, 204, 'deployed through the admin API');
  await until('the observe node observes', () => statuses.get('observe') === 'observing');

  await servient.registry.get('environment-sensor').emitPropertyChange('temperature', 27);
  await until('the plug is switched on', async () => (await plug.readProperty('on')) === true);
  await until('the write\'s receipt is mined and verifies against the ring\'s authority', () => statuses.get('verify') === 'verified');
  t.equal(statuses.get('write'), 'stored', 'the write node says stored');
});

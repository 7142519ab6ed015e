/**
 * The rule flow of rule-flow.test.ts with Things that Eclipse node-wot exposes, not Flowchain:
 * the Flowchain nodes follow node-wot's TDs (their long-poll observe form, their PUT write form)
 * alone, by TD URL. Only receipts are Flowchain's own: the write says `written`, with no
 * transactions.
 */
import bindingHttp from '@node-wot/binding-http';
import wotCore from '@node-wot/core';
import t from 'tap';
import type { NodeMessage } from '../../src/flows/node-red-api.js';
import { coreNodes, flowchainNodes, loadFlow, messages, serverNode, statusOf } from './fixtures.js';

// CommonJS packages: their exports are the default export's members.
const { HttpServer } = bindingHttp;
const { Servient: WotServient } = wotCore;

/** node-wot hands values over as its InteractionOutput. */
type WotOutput = { value(): Promise<unknown> };

t.test('observe → switch → change → write, between two Things node-wot exposes', async (t) => {
  const wot = new WotServient();
  const server = new HttpServer({ port: 0, address: '127.0.0.1' });
  wot.addServer(server);
  const WoT = await wot.start();
  t.teardown(() => wot.shutdown());
  // node-wot writes every interface's address into its forms; its baseUri names the one it listens on.
  const base = `http://127.0.0.1:${server.getPort()}`;
  (server as unknown as { baseUri: string }).baseUri = base;

  let temperature = 20;
  const sensor = await WoT.produce({ title: 'WotSensor', properties: { temperature: { type: 'number', observable: true, readOnly: true } } } as never);
  sensor.setPropertyReadHandler('temperature', async () => temperature);
  await sensor.expose();
  let on = false;
  const plug = await WoT.produce({ title: 'WotPlug', properties: { on: { type: 'boolean' } } } as never);
  plug.setPropertyReadHandler('on', async () => on);
  plug.setPropertyWriteHandler('on', async (value: WotOutput) => void (on = (await value.value()) as boolean));
  await plug.expose();

  await loadFlow(t, [flowchainNodes(), coreNodes.switch, coreNodes.change], [
    // No directory here: the Things are named by their TD URLs, which the server node does not need.
    serverNode(`${base}/`),
    { id: 'observe', type: 'flowchain-observe', server: 'server', thing: `${base}/wotsensor`, affordance: 'temperature', wires: [['hot']] },
    { id: 'hot', type: 'switch', name: 'above 26', property: 'payload', propertyType: 'msg', rules: [{ t: 'gt', v: '26', vt: 'num' }], checkall: 'true', repair: false, outputs: 1, wires: [['on']] },
    { id: 'on', type: 'change', name: 'switch on', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'true', tot: 'bool' }], wires: [['write']] },
    { id: 'write', type: 'flowchain-write', server: 'server', thing: `${base}/wotplug`, affordance: 'on', wires: [['out']] },
    { id: 'out', type: 'helper' },
  ]);
  await statusOf('observe', (s) => s.text === 'observing');
  const out = messages('out');
  // node-wot's observations are long-polls, which cannot say when they are in place: change the
  // reading until the flow has acted on one.
  temperature = 27;
  let acted = false;
  void out.then(() => (acted = true));
  for (let i = 0; i < 100 && !acted; i++) {
    await sensor.emitPropertyChange('temperature');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const [msg] = (await out) as [NodeMessage & { status?: string; transactions: unknown[] }];
  t.equal(on, true, 'node-wot\'s plug was switched on through its own write form');
  t.equal(msg.payload, true);
  t.equal(msg.status, undefined, 'a Thing that is not Flowchain\'s reports no write status');
  t.same(msg.transactions, [], 'and no transactions: receipts are Flowchain\'s own');
});

/**
 * The chain over HTTP on a real node: /ledger and its block and anchor views, clear errors for
 * bad queries, the ledger Thing's `block` event, and a node that keeps answering while a block
 * is being mined.
 */
import t from 'tap';
import type { VirtualChain } from '../../../../src/ledger/virtual-chain.js';
import type { LedgerEvent } from '../../../../src/broker/ledger-sink.js';
import { createServient } from '../../../helpers/test-servient.js';

const put = (url: string, value: unknown) => fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });

t.test('writes are mined into blocks that /ledger lists, and the ledger Thing streams them', async (t) => {
  const { servient, clock } = await createServient(t, { difficulty: 16 });
  const { url } = await servient.start();
  const events: unknown[] = [];
  servient.registry.get('ledger').subscribeEvent('block', (event) => events.push(event.data));
  t.match(await (await fetch(`${url}ledger`)).json(), { height: -1, head: null, anchoring: 'none', lastAnchor: null }, 'no block yet');
  const res = await put(`${url}things/thermostat/properties/targetTemperature`, 21);
  const txId = res.headers.get('flowchain-tx-id')!;
  clock.advance(1_000);
  for (let i = 0; i < 500 && events.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  t.match(events[0], { height: 0, txCount: Number, hash: /^[0-9a-f]{64}$/ }, 'a block event');
  const summary = (await (await fetch(`${url}ledger`)).json()) as { height: number; head: string };
  t.match(summary, { height: 0, head: (events[0] as { hash: string }).hash });
  const listed = (await (await fetch(`${url}ledger/blocks`)).json()) as { header: { height: number }; txIds?: unknown }[];
  t.same(listed.map((b) => b.header.height), [0]);
  t.notOk('txIds' in listed[0]!, 'the listing holds headers only');
  const block = (await (await fetch(`${url}ledger/blocks/${summary.head}`)).json()) as { txIds: string[] };
  t.ok(block.txIds.includes(txId), 'the block by hash lists the write');
  t.same(await (await fetch(`${url}ledger/blocks/0`)).json(), block, 'the same block by height');
  t.match(await (await fetch(`${url}ledger/tx/${txId}`)).json(), { status: 'mined', minedIn: { hash: summary.head }, proof: { path: Array } });
  t.same(await (await fetch(`${url}ledger/anchors`)).json(), []);
  const td = (await (await fetch(`${url}things/ledger`)).json()) as { events: Record<string, unknown>; links: { href: string }[] };
  t.ok(td.events.block, 'the ledger Thing has a block event');
  t.notOk(td.events.anchor, 'and no anchor event while anchoring is off');
  t.ok(td.links.some((l) => l.href === 'ledger/blocks'), 'and links the chain views');
});

t.test('bad chain queries are problem+json with a code', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  for (const [path, status, code] of [
    ['ledger/blocks?limit=0', 400, 'FLOWCHAIN_ERR_REQUEST_MALFORMED'],
    ['ledger/blocks?from=-1', 400, 'FLOWCHAIN_ERR_REQUEST_MALFORMED'],
    ['ledger/blocks/7', 404, 'FLOWCHAIN_ERR_BLOCK_NOT_FOUND'],
    ['ledger/blocks/not-a-block', 404, 'FLOWCHAIN_ERR_BLOCK_NOT_FOUND'],
  ] as const) {
    const res = await fetch(`${url}${path}`);
    t.equal(res.status, status, path);
    t.match(res.headers.get('content-type'), /^application\/problem\+json/);
    t.match(await res.json(), { code }, path);
  }
});

t.test('the node answers while a block is being mined', async (t) => {
  // A difficulty that takes minutes: the block is still being mined when the GETs are answered.
  const { servient, clock } = await createServient(t, { difficulty: 2 ** 36 });
  const { url } = await servient.start();
  const mined: LedgerEvent[] = [];
  servient.chain.onEvent((event) => mined.push(event));
  await put(`${url}things/thermostat/properties/targetTemperature`, 20);
  clock.advance(1_000);
  await new Promise((resolve) => setTimeout(resolve, 100));
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${url}things/thermostat/properties/targetTemperature`);
    if (res.status !== 200) t.fail(`GET ${i} answered ${res.status}`);
  }
  const { height, pending } = (servient.chain as VirtualChain).summary();
  t.ok(height === -1 && pending >= 1, `the block (${pending} transactions, device readings too) is sealed and still being mined`);
  t.same(mined, [], 'twenty GETs answered before the block was mined');
});

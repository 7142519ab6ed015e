/**
 * The ring between real processes: four `flowchain start` processes on loopback join over the
 * WebSocket peer endpoint and agree on the ring and on the owner of random keys. And the peer
 * endpoint of a real node refuses forged, replayed, malformed and oversized messages.
 */
import t from 'tap';
import { WebSocket } from 'ws';
import { NodeIdentity } from '../../src/node-identity.js';
import { seal } from '../../src/dht/peer-envelope.js';
import { peerEndpoint, type RingDescription } from '../../src/dht/ring-service.js';
import { PEER_SUBPROTOCOL } from '../../src/dht/ws-peer-network.js';
import { peerSocket } from '../helpers/peer-socket.js';
import { createRandom } from '../../src/thing/random.js';
import { getJson, ownerOf, settledRing, startRing } from '../helpers/ring-processes.js';
import { createServient } from '../helpers/test-servient.js';

t.test('four processes form one ring and agree on the owner of every key', async (t) => {
  const nodes = await startRing(t, 4);
  const first = nodes[0]!;
  const sorted = await settledRing(nodes);
  const rings = await Promise.all(nodes.map((n) => getJson<RingDescription>(`${n.url}ring`)));
  sorted.forEach((r, i) => {
    t.equal(r.successors[0]?.id, sorted[(i + 1) % 4]!.id, `${r.id.slice(0, 8)}'s successor is the next id`);
    t.equal(r.predecessor?.id, sorted[(i + 3) % 4]!.id, `${r.id.slice(0, 8)}'s predecessor is the previous id`);
    t.equal(r.successors.length, 3, 'successor list holds the other three nodes');
  });

  const random = createRandom(77);
  for (let k = 0; k < 10; k++) {
    const key = Array.from({ length: 40 }, () => Math.floor(random.next() * 16).toString(16)).join('');
    const answers = await Promise.all(nodes.map((n) => getJson<{ owner: { id: string }; hops: number }>(`${n.url}ring/lookup/${key}`)));
    const expected = ownerOf(sorted, key).id;
    t.same(new Set(answers.map((a) => a.owner.id)), new Set([expected]), `key ${key.slice(0, 8)}… is owned by ${expected.slice(0, 8)} on every node`);
  }
  const bad = await fetch(`${first.url}ring/lookup/not-a-key`);
  t.equal(bad.status, 400);
  t.equal(((await bad.json()) as { code: string }).code, 'FLOWCHAIN_ERR_REQUEST_MALFORMED');

  // SIGTERM makes a node leave gracefully: the other three close the ring without it.
  const leaving = nodes.pop()!;
  const leavingId = rings[3]!.id;
  t.equal(await leaving.stop(), 0);
  const survey = async () => (await Promise.all(nodes.map((n) => getJson<RingDescription>(`${n.url}ring`)))).sort((a, b) => (a.id < b.id ? -1 : 1));
  const rest = await survey();
  rest.forEach((r, i) => {
    t.equal(r.successors[0]?.id, rest[(i + 1) % 3]!.id, 'successor closed over the gap at once');
    t.not(r.predecessor?.id, leavingId, 'no predecessor points at the leaver');
  });
  // Nodes further back learn it from their successor's list at their next stabilize (bounded).
  let lists = rest;
  for (let attempt = 0; attempt < 20 && lists.some((r) => r.successors.some((p) => p.id === leavingId)); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    lists = await survey();
  }
  t.notOk(lists.some((r) => r.successors.some((p) => p.id === leavingId)), 'the leaver is gone from every successor list');
  for (const node of nodes) t.equal(await node.stop(), 0);
});

t.test('the peer endpoint answers forged, replayed, malformed and unknown messages with error codes', async (t) => {
  const { servient, clock } = await createServient(t);
  const { url } = await servient.start();
  const send = await peerSocket(t, url);
  const nodeId = servient.ring.identity.id;
  const mallory = { identity: NodeIdentity.fromSecretKey(new Uint8Array(32).fill(7)), url: 'ws://127.0.0.1:1/peer' };
  let n = 0;
  const nonce = () => new Uint8Array(16).fill(++n);
  const now = () => clock.now();

  const ping = seal(mallory, nodeId, { kind: 'request', request: { type: 'ping' } }, now(), nonce());
  t.same((await send(JSON.stringify(ping))).body.reply, {}, 'an authentic ping is answered');
  t.equal((await send(JSON.stringify(ping))).body.error?.code, 'FLOWCHAIN_ERR_PEER_MESSAGE_REPLAYED', 'the same frame again is a replay');

  const forged = { ...seal(mallory, nodeId, { kind: 'request', request: { type: 'ping' } }, now(), nonce()), from: { ...ping.from, id: '0'.repeat(40) } };
  t.equal((await send(JSON.stringify(forged))).body.error?.code, 'FLOWCHAIN_ERR_PEER_SIGNATURE_INVALID', 'claiming another id');
  const tampered = { ...seal(mallory, nodeId, { kind: 'request', request: { type: 'ping' } }, now(), nonce()), body: { kind: 'request', request: { type: 'notify' } } };
  t.equal((await send(JSON.stringify(tampered))).body.error?.code, 'FLOWCHAIN_ERR_PEER_SIGNATURE_INVALID', 'a changed body');
  const { sig: _sig, ...unsigned } = seal(mallory, nodeId, { kind: 'request', request: { type: 'ping' } }, now(), nonce());
  t.equal((await send(JSON.stringify(unsigned))).body.error?.code, 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'unsigned');
  const stale = seal(mallory, nodeId, { kind: 'request', request: { type: 'ping' } }, now() - 120_000, nonce());
  t.equal((await send(JSON.stringify(stale))).body.error?.code, 'FLOWCHAIN_ERR_PEER_MESSAGE_REPLAYED', 'too old');
  const unknown = seal(mallory, nodeId, { kind: 'request', request: { type: 'format-disk' } }, now(), nonce());
  t.equal((await send(JSON.stringify(unknown))).body.error?.code, 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'unknown type');
  t.equal((await send('{not json')).body.error?.code, 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'not JSON');
  t.equal((await send(Buffer.from('{}'), true)).body.error?.code, 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'binary');

  // Nothing changed: the node is still alone and answers normally.
  const ring = (await (await fetch(`${url}ring`)).json()) as RingDescription;
  t.equal(ring.predecessor, null);
  t.same(ring.successors, []);

  // A frame over the peer limit (4 x (body limit + 8 KiB) = 288 KiB here) closes that socket
  // (1009) and the node keeps serving.
  const big = new WebSocket(peerEndpoint(url), PEER_SUBPROTOCOL);
  await new Promise((resolve) => big.once('open', resolve));
  const code = await new Promise<number>((resolve) => {
    big.once('close', (c) => resolve(c));
    big.send('x'.repeat(300 * 1024));
  });
  t.equal(code, 1009);
  t.equal((await fetch(`${url}health`)).status, 200);
});

t.test('joining through an unreachable node fails start-up with FLOWCHAIN_ERR_PEER_UNREACHABLE and releases the port', async (t) => {
  const { servient } = await createServient(t, { join: 'ws://127.0.0.1:1' });
  await t.rejects(servient.start(), { code: 'FLOWCHAIN_ERR_PEER_UNREACHABLE' });
  t.equal(servient.app.server.listening, false);
});

t.test('GET /peer without an upgrade is told to upgrade', async (t) => {
  const { servient } = await createServient(t);
  const response = await servient.app.inject('/peer');
  t.equal(response.statusCode, 426);
  t.equal(response.json().code, 'FLOWCHAIN_ERR_UPGRADE_REQUIRED');
});

t.test('three real servients (LevelDB, signed WebSockets) store, replicate and read ring values', async (t) => {
  const first = await createServient(t);
  const founder = await first.servient.start();
  const others = [await createServient(t, { join: founder.url }), await createServient(t, { join: founder.url })];
  for (const other of others) await other.servient.start();
  const all = [first, ...others];
  // Maintenance runs on each node's manual clock: tick the clocks and let the sockets carry
  // the messages, until every node knows both others (bounded).
  const complete = () => all.every(({ servient }) => servient.ring.describe().successors.length === 2);
  for (let turn = 0; turn < 2_000 && !complete(); turn++) {
    if (turn % 50 === 0) for (const { clock } of all) clock.advance(1_000);
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.ok(complete(), 'each node knows both others');

  const key = 'ab'.repeat(20);
  const put = await others[1]!.servient.ring.store.put(key, { reading: 21.5 });
  t.equal(put.replicas, 2, 'owner plus two replicas');
  for (const { servient } of all) t.same((await servient.ring.store.get(key))?.value, { reading: 21.5 });
});

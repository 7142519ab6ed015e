import t, { type Test } from 'tap';
import { WebSocket, WebSocketServer } from 'ws';
import { FlowchainError } from '../../src/errors.js';
import { NodeIdentity } from '../../src/node-identity.js';
import type { Peer } from '../../src/dht/peer.js';
import type { PeerHandler } from '../../src/dht/transport.js';
import { PEER_SUBPROTOCOL, WsPeerNetwork } from '../../src/dht/ws-peer-network.js';
import { createRandom } from '../../src/thing/random.js';
import { seal } from '../../src/dht/peer-envelope.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** A peer network listening on its own WebSocket server (port 0), closed at teardown; its key comes from `keySeed`. */
async function node(t: Test, seed: number, clock: ManualClock, handler: PeerHandler, onFrame?: (frame: string) => string | undefined, keySeed = seed) {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => PEER_SUBPROTOCOL });
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `ws://127.0.0.1:${(server.address() as { port: number }).port}/peer`;
  const random = createRandom(seed);
  const identity = NodeIdentity.fromSecretKey(new Uint8Array(32).fill(keySeed));
  const network = new WsPeerNetwork(
    { clock, identity, randomBytes: (n) => Uint8Array.from({ length: n }, () => Math.floor(random.next() * 256)) },
    { selfUrl: url, timeoutMs: 1_000 },
  );
  network.setHandler(handler);
  let connections = 0;
  let frames = 0;
  server.on('connection', (socket) => {
    connections++;
    if (onFrame) {
      // A scripted peer: answers each frame itself instead of the network.
      socket.on('message', (data) => {
        frames++;
        const answer = onFrame(data.toString());
        if (answer !== undefined) socket.send(answer);
      });
      return;
    }
    socket.on('message', () => frames++);
    network.accept(socket);
  });
  t.teardown(async () => {
    await network.close();
    for (const socket of server.clients) socket.terminate(); // scripted peers' sockets
    await new Promise((resolve) => server.close(resolve));
  });
  return { network, url, identity, peer: { url, id: identity.id }, connections: () => connections, frames: () => frames };
}

t.test('requests and replies travel both ways over one socket per pair, with the sender authenticated', async (t) => {
  const clock = new ManualClock();
  const seen: Peer[] = [];
  const echo: PeerHandler = async (request, sender) => {
    seen.push(sender);
    return { echo: request.type };
  };
  const a = await node(t, 1, clock, echo);
  const b = await node(t, 2, clock, echo);
  t.same(await a.network.request(b.peer, { type: 'hello' }), { echo: 'hello' });
  t.same(seen[0], { id: a.identity.id, url: a.url }, 'b saw a, as its key proves');
  t.same(await b.network.request(a.peer, { type: 'back' }), { echo: 'back' }, 'b reuses the socket a opened');
  t.equal(a.connections() + b.connections(), 1, 'one socket for the pair');
});

t.test('a request without a reply fails with FLOWCHAIN_ERR_PEER_UNREACHABLE when its time is up', async (t) => {
  const clock = new ManualClock();
  const a = await node(t, 3, clock, async () => ({}));
  const silent = await node(t, 4, clock, () => new Promise(() => undefined));
  const pending = a.network.request(silent.peer, { type: 'never' });
  // Let the request reach the other side, then pass the timeout on the injected clock.
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
  clock.advance(1_001);
  await t.rejects(pending, { code: 'FLOWCHAIN_ERR_PEER_UNREACHABLE' });
});

t.test('errors thrown by the remote handler arrive with their code', async (t) => {
  const clock = new ManualClock();
  const a = await node(t, 5, clock, async () => ({}));
  const b = await node(t, 6, clock, async () => {
    throw new FlowchainError('FLOWCHAIN_ERR_RING_NOT_OWNER', 'not mine', { field: 'key' });
  });
  await t.rejects(a.network.request(b.peer, { type: 'store-put' }), { code: 'FLOWCHAIN_ERR_RING_NOT_OWNER', field: 'key' });
});

t.test('an unreachable URL and a closed network fail with FLOWCHAIN_ERR_PEER_UNREACHABLE', async (t) => {
  const clock = new ManualClock();
  const a = await node(t, 7, clock, async () => ({}));
  await t.rejects(a.network.request({ url: 'ws://127.0.0.1:1/peer' }, { type: 'ping' }), { code: 'FLOWCHAIN_ERR_PEER_UNREACHABLE' });
  const b = await node(t, 8, clock, () => new Promise(() => undefined));
  const pending = t.rejects(a.network.request(b.peer, { type: 'never' }), { code: 'FLOWCHAIN_ERR_PEER_UNREACHABLE' }, 'the peer closing fails what was pending');
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
  await b.network.close();
  await pending;
  await a.network.close();
  await t.rejects(a.network.request(b.peer, { type: 'ping' }), { code: 'FLOWCHAIN_ERR_PEER_UNREACHABLE' });
});

t.test('a reply whose error is not an error object is rejected as invalid, without crashing', async (t) => {
  const clock = new ManualClock();
  const a = await node(t, 9, clock, async () => ({}));
  const mallory = NodeIdentity.fromSecretKey(new Uint8Array(32).fill(10));
  const fake = await node(t, 10, clock, async () => ({}), (frame) => {
    const request = JSON.parse(frame) as { nonce: string };
    const envelope = seal({ identity: mallory, url: 'ws://fake' }, a.identity.id, { kind: 'reply', re: request.nonce, error: null }, clock.now(), new Uint8Array(16).fill(1));
    return JSON.stringify(envelope);
  });
  await t.rejects(a.network.request(fake.peer, { type: 'ping' }), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID' });
  // The scripted peer answers again with the same nonce: a replayed reply is ignored, so the
  // request runs into its timeout rather than into a crash.
  const second = t.rejects(a.network.request(fake.peer, { type: 'ping' }), { code: 'FLOWCHAIN_ERR_PEER_UNREACHABLE' });
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
  clock.advance(1_001);
  await second;
  const b = await node(t, 13, clock, async () => ({ fine: true }));
  t.same(await a.network.request(b.peer, { type: 'ping' }), { fine: true }, 'the node still works');
});

t.test('two nodes whose clocks are 40 s apart do not bounce error replies at each other', async (t) => {
  const aClock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 40));
  const a = await node(t, 11, aClock, async () => ({}));
  const b = await node(t, 12, new ManualClock(Date.UTC(2026, 0, 1)), async () => ({}));
  // b refuses the stale request with a signed error reply; a cannot authenticate that reply
  // either (its time is 40 s off), so a must neither trust nor answer it: the request times out.
  const failed = t.rejects(a.network.request(b.peer, { type: 'ping' }), { code: 'FLOWCHAIN_ERR_PEER_UNREACHABLE' });
  for (let i = 0; i < 200; i++) await new Promise((resolve) => setImmediate(resolve));
  t.equal(b.frames(), 1, 'b received the request only: a did not answer b\'s error reply');
  aClock.advance(1_001);
  await failed;
});

t.test('a node cannot impersonate another: claimed URLs never become links, and replies must be signed by the node asked', async (t) => {
  const clock = new ManualClock();
  const a = await node(t, 14, clock, async () => ({}));
  const b = await node(t, 15, clock, async () => ({ who: 'B' }));
  const mallory = await node(t, 16, clock, async () => ({ who: 'MALLORY' }));
  // Mallory dials A and, signing with her own key, claims to be at B's URL.
  const socket = new WebSocket(a.url, PEER_SUBPROTOCOL);
  await new Promise((resolve) => socket.once('open', resolve));
  t.teardown(() => socket.close());
  const claim = seal({ identity: mallory.identity, url: b.url }, a.identity.id, { kind: 'request', request: { type: 'ping' } }, clock.now(), new Uint8Array(16).fill(9));
  await new Promise((resolve) => {
    socket.once('message', resolve);
    socket.send(JSON.stringify(claim));
  });
  t.same(await a.network.request(b.peer, { type: 'whoami' }), { who: 'B' }, "A's request for B reached B");
  // And a reply signed by someone other than the node asked is refused.
  await t.rejects(a.network.request({ url: mallory.url, id: b.identity.id }, { type: 'whoami' }), { code: 'FLOWCHAIN_ERR_PEER_SIGNATURE_INVALID' });
});

t.test('a request that changes state must be addressed to its recipient; only reads may go unaddressed', async (t) => {
  const clock = new ManualClock();
  const a = await node(t, 17, clock, async () => ({}));
  const b = await node(t, 18, clock, async (request) => ({ did: request.type }));
  t.same(await a.network.request({ url: b.url }, { type: 'ping' }), { did: 'ping' }, 'an unaddressed ping is fine');
  await t.rejects(a.network.request({ url: b.url }, { type: 'notify' }), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', field: 'to' });
  t.same(await a.network.request(b.peer, { type: 'notify' }), { did: 'notify' });
});

t.test('a frame answered after its socket closed leaves no link behind: the next request to that node dials afresh', async (t) => {
  const clock = new ManualClock();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let started = false;
  const a = await node(t, 9, clock, async (request) => {
    if (request.type === 'slow') {
      started = true;
      await gate;
    }
    return { answered: request.type };
  });
  const b = await node(t, 10, clock, async () => ({ pong: true }));
  void b.network.request(a.peer, { type: 'slow' }).catch(() => undefined);
  while (!started) await new Promise((resolve) => setTimeout(resolve, 5));
  // b goes away while a still works on its request (a peer that restarts), then a answers.
  await b.network.close();
  // Its close handshake is done: a has seen the socket close.
  await new Promise((resolve) => setTimeout(resolve, 50));
  release();
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  // The same node (same key, fresh nonces) is back at a new address.
  const again = await node(t, 11, clock, async () => ({ pong: 'again' }), undefined, 10);
  const reply = a.network.request({ url: again.url, id: b.identity.id }, { type: 'ping' });
  const late = new Promise((resolve) => setTimeout(() => resolve('no reply within 3 s'), 3_000));
  t.same(await Promise.race([reply, late]), { pong: 'again' }, 'answered over a new socket, not sent into the closed one');
  t.equal(again.connections(), 1, 'a dialled the node afresh');
});

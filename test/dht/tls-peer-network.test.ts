import { randomBytes, X509Certificate } from 'node:crypto';
import { createServer as createTcpServer, connect as tcpConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect } from 'node:tls';
import t, { type Test } from 'tap';
import { WebSocket } from 'ws';
import type { Timer } from '../../src/common/clock.js';
import { CLOSE, PEER_SUBPROTOCOL, TlsPeerNetwork, type PeerNetworkInit } from '../../src/dht/tls-peer-network.js';
import type { Peer } from '../../src/dht/peer.js';
import type { PeerHandler } from '../../src/dht/transport.js';
import { FlowchainError } from '../../src/errors.js';
import { Membership, type MembershipDocuments } from '../../src/membership/membership.js';
import { RingAuthority } from '../../src/membership/ring-authority.js';
import { NodeIdentity } from '../../src/node-identity.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { tempDir } from '../helpers/test-servient.js';

const components = { now: () => new Date(), randomBytes: (n: number) => new Uint8Array(randomBytes(n)) };
const identityOf = (seed: number) => NodeIdentity.fromSecretKey(new Uint8Array(32).fill(seed));

function authorityFor(t: Test): RingAuthority {
  return RingAuthority.create(`${tempDir(t)}/authority`, components);
}

/** What a test may change about a node: its wall clock, its membership documents, its init. */
interface NodeOptions {
  readonly now?: () => Date;
  readonly documents?: MembershipDocuments;
  readonly init?: Partial<PeerNetworkInit>;
}

/** A peer network on port 0 with a membership of `authority`, closed at teardown. */
async function node(t: Test, authority: RingAuthority, seed: number, handler: PeerHandler, clock = new ManualClock(), options: NodeOptions = {}) {
  const identity = identityOf(seed);
  const membership = new Membership(options.documents ?? authority.admit(identity.publicKey), identity.publicKey);
  const network = new TlsPeerNetwork({ clock, identity, membership, ...(options.now ? { now: options.now } : {}) }, { host: '127.0.0.1', port: 0, timeoutMs: 1_000, ...options.init });
  network.setHandler(handler);
  const url = await network.listen();
  t.teardown(() => network.close());
  return { network, url, identity, membership, peer: { url, id: membership.ringId } };
}

/** Lets the sockets carry what is in flight. */
const drain = async (times = 50) => {
  for (let i = 0; i < times; i++) await new Promise((resolve) => setImmediate(resolve));
};

/**
 * Opens a raw WebSocket to a peer URL with the given TLS credentials; resolves with how it
 * ended: open, refused with a problem (`status`, `problem`), or failed (`error`, `code`).
 */
function rawDial(url: string, tls: object): Promise<{ opened: boolean; code?: number; error?: string; status?: number; problem?: { code: string; detail: string }; socket?: WebSocket }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, PEER_SUBPROTOCOL, { ...tls, checkServerIdentity: (() => undefined) as unknown as () => boolean });
    socket.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ opened: false, status: response.statusCode, problem: JSON.parse(text) }));
    });
    socket.once('open', () => resolve({ opened: true, socket }));
    socket.once('error', (err) => resolve({ opened: false, error: (err as NodeJS.ErrnoException).code ?? err.message }));
    socket.once('close', (code) => resolve({ opened: false, code }));
  });
}

t.test('requests and replies travel both ways over one link per pair, with the sender named by its certificate', async (t) => {
  const authority = authorityFor(t);
  const seen: Peer[] = [];
  const echo: PeerHandler = async (request, sender) => {
    seen.push(sender);
    return { echo: request.type };
  };
  const a = await node(t, authority, 1, echo);
  const b = await node(t, authority, 2, echo);
  t.same(await a.network.request(b.peer, { type: 'hello' }), { echo: 'hello' });
  t.same(seen[0], { id: a.membership.ringId, url: a.url, key: Buffer.from(a.identity.publicKey).toString('hex') }, 'b saw a: the ring id and key its certificate holds');
  t.same(await b.network.request(a.peer, { type: 'back' }), { echo: 'back' }, 'b reuses the link a opened');
  t.same(seen[1], { id: b.membership.ringId, url: b.url, key: Buffer.from(b.identity.publicKey).toString('hex') });
});

t.test('a request without a reply fails with FLOWCHAIN_ERR_PEER_UNREACHABLE when its time is up, and errors arrive with their code', async (t) => {
  const authority = authorityFor(t);
  const clock = new ManualClock();
  const a = await node(t, authority, 3, async () => ({}), clock);
  const silent = await node(t, authority, 4, () => new Promise(() => undefined));
  const pending = a.network.request(silent.peer, { type: 'never' });
  await drain();
  await new Promise((resolve) => setTimeout(resolve, 50));
  clock.advance(1_001);
  await t.rejects(pending, { code: 'FLOWCHAIN_ERR_PEER_UNREACHABLE' });
  const refusing = await node(t, authority, 5, async () => {
    throw new FlowchainError('FLOWCHAIN_ERR_RING_NOT_OWNER', 'not mine', { field: 'key' });
  });
  await t.rejects(a.network.request(refusing.peer, { type: 'store-put' }), { code: 'FLOWCHAIN_ERR_RING_NOT_OWNER', field: 'key' });
  await t.rejects(a.network.request({ url: 'wss://127.0.0.1:1/' }, { type: 'ping' }), { code: 'FLOWCHAIN_ERR_PEER_UNREACHABLE' }, 'nobody listens there');
  await a.network.close();
  await t.rejects(a.network.request(refusing.peer, { type: 'ping' }), { code: 'FLOWCHAIN_ERR_PEER_UNREACHABLE' }, 'a closed network sends nothing');
});

t.test('a node without a membership of this ring cannot open a link: self-made key, another authority, expired, revoked', async (t) => {
  const authority = authorityFor(t);
  let handled = 0;
  const a = await node(t, authority, 6, async () => ({ handled: ++handled }));
  const tlsOf = (membership: Membership, identity: NodeIdentity) => membership.tlsOptions(identity.privateKeyPem());

  // A key of its own and a certificate of its own making.
  const mallory = identityOf(7);
  const rogue = authorityFor(t);
  const selfMade = new Membership(rogue.admit(mallory.publicKey), mallory.publicKey);
  // Its own authority does not trust this node either, so it dials as TLS clients do by default
  // against a server it cannot check; it still presents what it has.
  const fromRogue = await rawDial(a.url, { ...tlsOf(selfMade, mallory), rejectUnauthorized: false });
  t.notOk(fromRogue.opened, 'another authority\'s member is refused');
  t.equal(fromRogue.status, 403);
  t.equal(fromRogue.problem?.code, 'FLOWCHAIN_ERR_PEER_NOT_MEMBER', `with a code (${fromRogue.problem?.detail})`);
  const bare = await rawDial(a.url, { rejectUnauthorized: false });
  t.equal(bare.problem?.code, 'FLOWCHAIN_ERR_PEER_NOT_MEMBER', 'so is a client without any certificate');

  // An expired certificate of the right authority.
  const late = identityOf(8);
  const expired = new Membership(authority.issueWindow(late.publicKey, new Date(Date.now() - 3_600_000), 60_000), late.publicKey);
  const fromExpired = await rawDial(a.url, tlsOf(expired, late));
  t.notOk(fromExpired.opened, 'an expired certificate is refused');
  t.equal(fromExpired.problem?.code, 'FLOWCHAIN_ERR_PEER_NOT_MEMBER', `with a code (${fromExpired.problem?.detail})`);

  // A revoked one: a learns of the CRL, and the member it revokes cannot come in.
  const gone = identityOf(9);
  const goneMembership = new Membership(authority.admit(gone.publicKey), gone.publicKey);
  t.ok(a.membership.adoptCrl(authority.revoke(goneMembership.ringId.toString(16).padStart(40, '0'))), 'a adopts the newer CRL');
  const fromRevoked = await rawDial(a.url, tlsOf(goneMembership, gone));
  t.notOk(fromRevoked.opened, 'a revoked certificate is refused');
  t.equal(fromRevoked.problem?.code, 'FLOWCHAIN_ERR_PEER_NOT_MEMBER', `with a code (${fromRevoked.problem?.detail})`);

  // A stolen certificate is useless without its key: TLS will not even offer it.
  const stolen = a.membership.tlsOptions(mallory.privateKeyPem());
  const fromThief = await rawDial(a.url, stolen).catch((err: Error) => ({ opened: false, error: err.message }));
  t.notOk(fromThief.opened, `a certificate for another key cannot be used (${fromThief.error})`);

  // And no TLS at all.
  const plain = await new Promise<string>((resolve) => {
    const socket = tcpConnect(Number(new URL(a.url).port), '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    let text = '';
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(text));
  });
  t.notMatch(plain, /HTTP\/1\.1 [1-5]\d\d/, 'plain HTTP without TLS gets no answer from the peer port');
  t.equal(handled, 0, 'not one request reached the handler');
});

t.test('a member that dials a listener of another ring is told it is no member there, with the code', async (t) => {
  const a = await node(t, authorityFor(t), 28, async () => ({}));
  const b = await node(t, authorityFor(t), 29, async () => ({}));
  await t.rejects(b.network.request(a.peer, { type: 'ping' }), { code: 'FLOWCHAIN_ERR_PEER_NOT_MEMBER' });
});

t.test('a node cannot answer for another: a reply from another node than the one asked is refused', async (t) => {
  const authority = authorityFor(t);
  const a = await node(t, authority, 10, async () => ({}));
  const b = await node(t, authority, 11, async () => ({ who: 'B' }));
  const mallory = await node(t, authority, 12, async () => ({ who: 'MALLORY' }));
  await t.rejects(a.network.request({ url: mallory.url, id: b.membership.ringId }, { type: 'whoami' }), { code: 'FLOWCHAIN_ERR_PEER_SIGNATURE_INVALID' });
  t.same(await a.network.request(b.peer, { type: 'whoami' }), { who: 'B' }, 'and the real B still answers');
});

t.test('a peer that claims another identity on its link is still the key it proved, and a second hello closes the link', async (t) => {
  const authority = authorityFor(t);
  const seen: Peer[] = [];
  const a = await node(t, authority, 13, async (_request, sender) => {
    seen.push(sender);
    return {};
  });
  const b = await node(t, authority, 14, async () => ({}));
  const other = identityOf(15);
  const dial = await rawDial(a.url, b.membership.tlsOptions(b.identity.privateKeyPem()));
  t.ok(dial.opened);
  const socket = dial.socket!;
  const replies: unknown[] = [];
  socket.on('message', (data) => replies.push(JSON.parse(data.toString())));
  socket.send(JSON.stringify({ hello: { url: b.url } }));
  // The frame names another node as its sender: the link's key is what counts.
  socket.send(JSON.stringify({ id: 1, from: { id: other.id.toString(16).padStart(40, '0') }, request: { type: 'ping' } }));
  await drain(200);
  t.equal(seen[0]?.id, b.membership.ringId, 'the handler saw B, whatever the frame claimed');
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  socket.send(JSON.stringify({ hello: { url: 'wss://elsewhere:1/' } }));
  t.equal(await closed, CLOSE.protocol, 'a second hello is a protocol violation');
  t.same(replies, [{ re: 1, reply: {} }]);
});

/** A TCP relay between a client and `target` that lets the test look at, change or replay the bytes. */
async function relay(t: Test, target: string, onClientBytes: (chunk: Buffer, index: number) => Buffer | undefined = (c) => c) {
  const recorded: Buffer[] = [];
  const open = new Set<Socket>();
  const server = createTcpServer((client: Socket) => {
    const upstream = tcpConnect(Number(new URL(target).port), '127.0.0.1');
    open.add(client).add(upstream);
    let index = 0;
    client.on('data', (chunk) => {
      recorded.push(chunk);
      const out = onClientBytes(chunk, index++);
      if (out !== undefined) upstream.write(out);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of open) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `wss://127.0.0.1:${(server.address() as { port: number }).port}/`, recorded };
}

t.test('a recorded handshake replayed to a node gets no link', async (t) => {
  const authority = authorityFor(t);
  let handled = 0;
  const a = await node(t, authority, 16, async () => ({ n: ++handled }));
  const b = await node(t, authority, 17, async () => ({}));
  const tap = await relay(t, a.url);
  t.same(await b.network.request({ url: tap.url, id: a.membership.ringId }, { type: 'ping' }), { n: 1 }, 'through the relay, the real exchange works');
  // Everything B sent, replayed byte for byte on a new connection.
  const ended = await new Promise<string>((resolve) => {
    const socket = tcpConnect(Number(new URL(a.url).port), '127.0.0.1', () => {
      for (const chunk of tap.recorded) socket.write(chunk);
    });
    socket.on('close', () => resolve('closed by A'));
    socket.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? 'error'));
    setTimeout(() => {
      socket.destroy();
      resolve('still open after 1 s');
    }, 1_000);
  });
  t.equal(handled, 1, `the replayed request was not handled again (the replay's connection: ${ended})`);
});

t.test('a byte changed in flight breaks the link (record MAC), and nothing changed reaches the handler', async (t) => {
  const authority = authorityFor(t);
  const received: unknown[] = [];
  const a = await node(t, authority, 18, async (request) => {
    received.push(request);
    return {};
  });
  const b = await node(t, authority, 19, async () => ({}));
  let tamper = false;
  const tap = await relay(t, a.url, (chunk) => {
    if (!tamper) return chunk;
    const changed = Buffer.from(chunk);
    changed[changed.length - 1] = changed[changed.length - 1]! ^ 0x01;
    return changed;
  });
  t.same(await b.network.request({ url: tap.url, id: a.membership.ringId }, { type: 'first' }), {});
  tamper = true;
  await t.rejects(b.network.request({ url: tap.url, id: a.membership.ringId }, { type: 'second', value: 25 }), { code: 'FLOWCHAIN_ERR_PEER_UNREACHABLE' });
  t.same(received, [{ type: 'first' }], 'the tampered request never reached A');
});

t.test('a member revoked while its link is open is cut off, and its certificate checked again', async (t) => {
  const authority = authorityFor(t);
  const a = await node(t, authority, 20, async () => ({}));
  const b = await node(t, authority, 21, async () => ({ fine: true }));
  t.same(await b.network.request(a.peer, { type: 'ping' }), {}, 'a member gets its answers');
  const crl = authority.revoke(b.membership.ringId.toString(16).padStart(40, '0'));
  t.ok(a.membership.adoptCrl(crl));
  await drain(200);
  await t.rejects(b.network.request(a.peer, { type: 'ping' }), { code: 'FLOWCHAIN_ERR_PEER_NOT_MEMBER' }, 'the old link is closed and a new one is refused, with the code');
  t.notOk(a.membership.adoptCrl(crl), 'the same CRL again changes nothing');
  t.notOk(a.membership.adoptCrl(authorityFor(t).crl), 'nor does another authority\'s');
});

t.test('frames that are not requests or replies are refused with a code; oversized ones close the link', async (t) => {
  const authority = authorityFor(t);
  const a = await node(t, authority, 22, async () => ({}));
  const b = await node(t, authority, 23, async () => ({}));
  const dial = await rawDial(a.url, b.membership.tlsOptions(b.identity.privateKeyPem()));
  const socket = dial.socket!;
  const replies: { error?: { code: string } }[] = [];
  socket.on('message', (data) => replies.push(JSON.parse(data.toString())));
  socket.send('{not json');
  socket.send(JSON.stringify([1, 2]));
  socket.send(JSON.stringify({ id: 3, request: { type: 'ping' } }));
  socket.send(Buffer.from('{}'), { binary: true });
  await drain(200);
  t.same(replies.map((r) => r.error?.code), ['FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID'], 'malformed, an array, a request before hello, binary');
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  socket.send('x'.repeat(300 * 1024));
  t.equal(await closed, CLOSE.tooBig);
  t.same(await b.network.request(a.peer, { type: 'ping' }), {}, 'A still serves members');
});

t.test('a reply made after its link closed leaves no link behind: the next request dials afresh', async (t) => {
  const authority = authorityFor(t);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let started = false;
  const a = await node(t, authority, 24, async (request) => {
    if (request.type === 'slow') {
      started = true;
      await gate;
    }
    return { answered: request.type };
  });
  const b = await node(t, authority, 25, async () => ({ pong: true }));
  void b.network.request(a.peer, { type: 'slow' }).catch(() => undefined);
  while (!started) await new Promise((resolve) => setTimeout(resolve, 5));
  await b.network.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  release();
  await drain();
  // The same node (same key) is back at a new address.
  const again = await node(t, authority, 25, async () => ({ pong: 'again' }));
  const reply = a.network.request({ url: again.url, id: b.membership.ringId }, { type: 'ping' });
  const late = new Promise((resolve) => setTimeout(() => resolve('no reply within 3 s'), 3_000));
  t.same(await Promise.race([reply, late]), { pong: 'again' }, 'answered over a new link, not sent into the closed one');
});

t.test('the peer port answers plain HTTP from a member with 426 problem+json', async (t) => {
  const authority = authorityFor(t);
  const a = await node(t, authority, 26, async () => ({}));
  const b = identityOf(27);
  const tls = new Membership(authority.admit(b.publicKey), b.publicKey).tlsOptions(b.privateKeyPem());
  const response = await new Promise<string>((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: Number(new URL(a.url).port), ...tls, checkServerIdentity: () => undefined }, () => socket.write('GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  t.match(response, /^HTTP\/1\.1 426/);
  t.match(response, /content-type: application\/problem\+json/i);
  t.match(response, /"code":"FLOWCHAIN_ERR_UPGRADE_REQUIRED"/);
});

// ---------------------------------------------------------------------------------------------
// Bounds on what an admitted member that lies can hold of a node.

const DAY_MS = 86_400_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A manual clock that also records every delay asked of `after`. */
class RecordingClock extends ManualClock {
  readonly delays: number[] = [];

  override after(ms: number, fn: () => void): Timer {
    this.delays.push(ms);
    return super.after(ms, fn);
  }
}

/** The TLS options of a member that dials by hand (a lying member's own client). */
function credentials(authority: RingAuthority, seed: number, documents?: MembershipDocuments) {
  const identity = identityOf(seed);
  return new Membership(documents ?? authority.admit(identity.publicKey), identity.publicKey).tlsOptions(identity.privateKeyPem());
}

/** How a raw socket closed: its close code and reason. */
const closeOf = (socket: WebSocket) => new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));

/**
 * Whether the node still keeps a raw link open: a WebSocket ping gets its pong, or the link
 * closes. Pings are control frames, so they count as no traffic for the node's idleness.
 */
const probe = (socket: WebSocket) => new Promise<'open' | 'closed'>((resolve) => {
  if (socket.readyState !== WebSocket.OPEN) return resolve('closed');
  // Each probe takes its listeners off again, so probing one socket often leaves none behind.
  const answer = (result: 'open' | 'closed') => () => {
    socket.off('pong', onPong).off('close', onClose);
    resolve(result);
  };
  const onPong = answer('open');
  const onClose = answer('closed');
  socket.once('pong', onPong).once('close', onClose);
  socket.ping();
});

/** Lets I/O run until `done()` holds (what the node did shows in its clock's pending timers). */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await drain(10);
  if (!done()) throw new Error(`never came to pass: ${what}`);
}

t.test('a link is closed with 4003 FLOWCHAIN_ERR_PEER_NOT_MEMBER as its peer certificate\'s notAfter passes, by a timer that goes with the link', async (t) => {
  const authority = authorityFor(t);
  const clock = new ManualClock(Date.now());
  // Revalidation far away: only the expiry timer can close the link in time.
  const a = await node(t, authority, 30, async () => ({}), clock, { now: () => new Date(clock.now()), init: { revalidateMs: DAY_MS } });
  const b = identityOf(31);
  const documents = authority.issueWindow(b.publicKey, new Date(clock.now()), 120_000);
  const notAfter = new Date(new X509Certificate(documents.certificate).validTo).getTime();
  const asB = credentials(authority, 31, documents);
  const timers = clock.pending;

  const early = (await rawDial(a.url, asB)).socket!;
  t.equal(clock.pending, timers + 1, 'each link has its expiry timer');
  early.close();
  await until(() => clock.pending === timers, 'the link closed');
  t.pass('a link that closes before its certificate expires takes its timer along');

  const dial = await rawDial(a.url, asB);
  t.ok(dial.opened);
  const socket = dial.socket!;
  const ended = closeOf(socket);
  clock.advance(notAfter - clock.now());
  t.equal(await probe(socket), 'open', 'at notAfter itself the link is open (RFC 5280 counts it as valid)');
  clock.advance(1);
  t.same(await ended, { code: CLOSE.notMember, reason: 'FLOWCHAIN_ERR_PEER_NOT_MEMBER' }, 'a millisecond later it is closed, long before the next revalidation');
  t.equal((await rawDial(a.url, asB)).problem?.code, 'FLOWCHAIN_ERR_PEER_NOT_MEMBER', 'and the member cannot come back in');
});

t.test('a certificate valid for longer than a timer can wait (2^31 - 1 ms) closes its link as notAfter passes, by timers re-armed within that bound', async (t) => {
  const authority = authorityFor(t);
  const clock = new RecordingClock(Date.now());
  const a = await node(t, authority, 32, async () => ({}), clock, { now: () => new Date(clock.now()), init: { revalidateMs: MAX_TIMER_MS, idleTimeoutMs: 20 * DAY_MS } });
  const b = identityOf(33);
  const documents = authority.issueWindow(b.publicKey, new Date(clock.now()), 60 * DAY_MS);
  const notAfter = new Date(new X509Certificate(documents.certificate).validTo).getTime();
  const socket = (await rawDial(a.url, credentials(authority, 33, documents))).socket!;
  const ended = closeOf(socket);
  // A frame every 5 days keeps the link from idling (a reply to nothing, which the node ignores).
  while (notAfter - clock.now() > 5 * DAY_MS) {
    socket.send(JSON.stringify({ re: 0, reply: {} }));
    t.equal(await probe(socket), 'open');
    clock.advance(5 * DAY_MS);
  }
  t.equal(await probe(socket), 'open', `open ${((notAfter - clock.now()) / DAY_MS).toFixed(1)} days before notAfter, 55 days in`);
  clock.advance(notAfter - clock.now() + 1);
  t.same(await ended, { code: CLOSE.notMember, reason: 'FLOWCHAIN_ERR_PEER_NOT_MEMBER' }, 'closed as notAfter passes');
  t.ok(clock.delays.every((ms) => ms <= MAX_TIMER_MS), `no timer asked for longer than setTimeout can wait (longest ${Math.max(...clock.delays)} ms)`);
  t.ok(clock.delays.filter((ms) => ms === MAX_TIMER_MS).length >= 2, 'the 60 days were waited for in steps');
});

t.test('a member holds at most maxLinksPerPeer links, dialled ones included: a parallel burst gets only the free places, the rest is refused with 429 FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED before any upgrade', async (t) => {
  const authority = authorityFor(t);
  const clock = new ManualClock();
  const a = await node(t, authority, 34, async () => ({}), clock, { init: { maxLinksPerPeer: 3 } });
  const b = await node(t, authority, 35, async () => ({ from: 'b' }));
  const asB = b.membership.tlsOptions(b.identity.privateKeyPem());
  const timers = clock.pending;
  t.same(await a.network.request({ url: b.url }, { type: 'ping' }), { from: 'b' }, 'A dials B: one of B\'s places on A');

  const burst = await Promise.all(Array.from({ length: 12 }, () => rawDial(a.url, asB)));
  const opened = burst.filter((d) => d.opened);
  const refused = burst.filter((d) => !d.opened);
  t.equal(opened.length, 2, 'of 12 parallel upgrades, only the 2 free places are taken');
  t.same(new Set(refused.map((d) => d.status)), new Set([429]), 'the others are answered 429');
  t.same(new Set(refused.map((d) => d.problem?.code)), new Set(['FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED']), 'with the code, as problem+json');

  t.ok((await rawDial(a.url, credentials(authority, 36))).opened, 'another member is not affected');
  t.same(await a.network.request({ url: b.url }, { type: 'ping' }), { from: 'b' }, 'A\'s own dials are never refused by its own bound');

  // B now holds 4 places (2 dialled by A, 2 its own): two must go before one is free.
  for (const dial of opened) dial.socket!.close();
  await until(() => clock.pending === timers + 3, 'B\'s two raw links closed on A');
  t.ok((await rawDial(a.url, asB)).opened, 'a closed link frees its place');
  t.equal((await rawDial(a.url, asB)).problem?.code, 'FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED', 'and only that one');
});

t.test('a reconnect while the old link is still closing gets in; the closing link counts until it is gone, cut a second after a close it leaves unanswered', async (t) => {
  const authority = authorityFor(t);
  const clock = new ManualClock();
  const a = await node(t, authority, 37, async () => ({}), clock, { init: { maxLinksPerPeer: 2 } });
  const asB = credentials(authority, 38);
  const timers = clock.pending;
  const old = (await rawDial(a.url, asB)).socket!;
  // A second hello: A closes the link (1008), and B, not reading any more, never answers.
  old.send(JSON.stringify({ hello: { url: 'wss://127.0.0.1:1/' } }));
  old.send(JSON.stringify({ hello: { url: 'wss://127.0.0.1:2/' } }));
  old.pause();
  await until(() => clock.pending === timers + 2, 'A closing the old link (its expiry timer and the close grace)');

  t.ok((await rawDial(a.url, asB)).opened, 'the reconnect gets in while the old link is closing');
  t.equal((await rawDial(a.url, asB)).problem?.code, 'FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED', 'the closing link still holds its place');
  clock.advance(1_000);
  await until(() => clock.pending === timers + 1, 'A cutting the old link');
  t.ok((await rawDial(a.url, asB)).opened, 'once cut, its place is free');
  old.terminate();
});

t.test('a connection that never finishes TLS, or never sends its upgrade request, is dropped after handshakeTimeoutMs; the latter is told 408 FLOWCHAIN_ERR_REQUEST_TIMEOUT', async (t) => {
  const authority = authorityFor(t);
  const a = await node(t, authority, 39, async () => ({}), new ManualClock(), { init: { handshakeTimeoutMs: 200 } });
  const port = Number(new URL(a.url).port);
  const asB = credentials(authority, 40);
  /** What the node said before it dropped `socket`, and after how long; gives up after 3 s (Node's own bounds are 120 s and 60 s). */
  const ending = (socket: Socket) => new Promise<{ after: number; text: string }>((resolve) => {
    const started = performance.now();
    let text = '';
    const done = () => resolve({ after: performance.now() - started, text });
    const giveUp = setTimeout(() => {
      socket.destroy();
      done();
    }, 3_000);
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(giveUp);
      done();
    });
  });

  const silent = await ending(tcpConnect(port, '127.0.0.1'));
  t.ok(silent.after < 2_000, `a TCP connection without a TLS handshake is dropped (after ${silent.after.toFixed(0)} ms)`);

  const quiet = await ending(tlsConnect({ host: '127.0.0.1', port, ...asB, checkServerIdentity: () => undefined }));
  t.ok(quiet.after < 2_000, `a member that finishes TLS and sends nothing is dropped (after ${quiet.after.toFixed(0)} ms)`);
  t.match(quiet.text, /^HTTP\/1\.1 408 /);
  t.match(quiet.text, /"code":"FLOWCHAIN_ERR_REQUEST_TIMEOUT"/);

  const half = tlsConnect({ host: '127.0.0.1', port, ...asB, checkServerIdentity: () => undefined }, () => half.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`));
  const slow = await ending(half);
  t.ok(slow.after < 2_000, `so is one that never finishes its upgrade request (after ${slow.after.toFixed(0)} ms)`);
  t.match(slow.text, /"code":"FLOWCHAIN_ERR_REQUEST_TIMEOUT"/);
});

t.test('a link that carries no frame for idleTimeoutMs is closed (1000); frames either way, and requests waiting either way, keep it open', async (t) => {
  const authority = authorityFor(t);
  const clock = new ManualClock();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let sender: bigint | undefined;
  const a = await node(t, authority, 41, async (request, from) => {
    sender = from.id;
    if (request.type === 'slow') await gate;
    return {};
  }, clock, { init: { idleTimeoutMs: 1_000, timeoutMs: 60_000 } });
  const socket = (await rawDial(a.url, credentials(authority, 42))).socket!;
  const frames: { id?: number; re?: number; request?: { type: string } }[] = [];
  socket.on('message', (data) => frames.push(JSON.parse(data.toString())));
  const ended = closeOf(socket);
  const heard = async (count: number) => until(() => frames.length >= count, `${count} frames from A`);
  socket.send(JSON.stringify({ hello: { url: 'wss://127.0.0.1:1/' } }));

  // Frames keep it open.
  for (let i = 0; i < 6; i++) {
    socket.send(JSON.stringify({ re: 0, reply: {} }));
    t.equal(await probe(socket), 'open');
    clock.advance(500);
  }
  t.equal(await probe(socket), 'open', 'a frame every half idle time: open after 3 idle times');

  // A request A is still serving keeps it open.
  socket.send(JSON.stringify({ id: 1, request: { type: 'slow' } }));
  await until(() => sender !== undefined, 'A serving the request');
  clock.advance(5_000);
  t.equal(await probe(socket), 'open', 'open while A serves its request, 5 idle times');
  release();
  await heard(1);
  t.same(frames[0], { re: 1, reply: {} });

  // A request A is still waiting for keeps it open.
  const asked = a.network.request({ url: 'wss://127.0.0.1:1/', id: sender! }, { type: 'ping' });
  await heard(2);
  clock.advance(5_000);
  t.equal(await probe(socket), 'open', 'open while A waits for its answer, 5 idle times');
  socket.send(JSON.stringify({ re: frames[1]!.id, reply: { pong: true } }));
  t.same(await asked, { pong: true });

  // Then silence: closed once idle, not before.
  clock.advance(999);
  t.equal(await probe(socket), 'open', 'open 999 ms after the last frame');
  clock.advance(251);
  t.same(await ended, { code: CLOSE.idle, reason: 'idle' }, 'closed within 1.25 idle times of the last frame');
});

t.test('bounds out of range are refused with FLOWCHAIN_ERR_CONFIG_INVALID', async (t) => {
  const identity = identityOf(43);
  const membership = new Membership(authorityFor(t).admit(identity.publicKey), identity.publicKey);
  const make = (init: Partial<PeerNetworkInit>) => () => new TlsPeerNetwork({ clock: new ManualClock(), identity, membership }, { host: '127.0.0.1', port: 0, ...init });
  t.throws(make({ maxLinksPerPeer: 1 }), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'maxLinksPerPeer' }, 'one link per member leaves no room for a reconnect');
  t.throws(make({ handshakeTimeoutMs: 0 }), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'handshakeTimeoutMs' });
  t.throws(make({ idleTimeoutMs: 2.5 }), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'idleTimeoutMs' });
  t.throws(make({ idleTimeoutMs: 30 * DAY_MS }), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'idleTimeoutMs' }, 'longer than a timer can wait');
  t.doesNotThrow(make({ maxLinksPerPeer: 2, handshakeTimeoutMs: 1, idleTimeoutMs: 4 }));
});

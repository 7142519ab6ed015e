import t from 'tap';
import { NodeIdentity } from '../../src/node-identity.js';
import { open, ReplayGuard, seal, type Envelope } from '../../src/dht/peer-envelope.js';
import { RING } from '../../src/dht/ring-space.js';
import { ManualClock } from '../helpers/manual-clock.js';

const key = (n: number) => NodeIdentity.fromSecretKey(new Uint8Array(32).fill(n));
const alice = { identity: key(1), url: 'ws://127.0.0.1:1/peer' };
const bob = key(2);
const nonce = (n: number) => new Uint8Array(16).fill(n);

function setup() {
  const clock = new ManualClock();
  const receiver = { self: bob.id, clock, guard: new ReplayGuard(30_000) };
  return { clock, receiver, sealed: seal(alice, bob.id, { type: 'ping' }, clock.now(), nonce(1)) };
}

t.test('an authentic message opens to its sender and body', async (t) => {
  const { receiver, sealed } = setup();
  const { sender, body } = open(JSON.parse(JSON.stringify(sealed)), receiver);
  t.same(sender, { id: alice.identity.id, url: alice.url });
  t.same(body, { type: 'ping' });
  t.same(open(seal(alice, null, { type: 'x' }, receiver.clock.now(), nonce(2)), receiver).body, { type: 'x' }, 'first contact by URL: to = null');
});

t.test('a tampered body, sender, url or time fails the signature', async (t) => {
  const { receiver, sealed } = setup();
  const tampered: Envelope[] = [
    { ...sealed, body: { type: 'pong' } },
    { ...sealed, from: { ...sealed.from, url: 'ws://evil/peer' } },
    { ...sealed, ts: sealed.ts + 1 },
    { ...sealed, nonce: '0'.repeat(32) },
  ];
  for (const e of tampered) t.throws(() => open(e, receiver), { code: 'FLOWCHAIN_ERR_PEER_SIGNATURE_INVALID', field: 'sig' });
});

t.test('a forged identity is rejected: the id must be the SHA-1 of the key', async (t) => {
  const { receiver, sealed } = setup();
  const impersonating = { ...sealed, from: { ...sealed.from, id: RING.toHex(bob.id) } };
  t.throws(() => open(impersonating, receiver), { code: 'FLOWCHAIN_ERR_PEER_SIGNATURE_INVALID', field: 'from.id' });
  // Mallory signs with her own key but claims Alice's key: the signature fails.
  const mallory = seal({ identity: key(3), url: 'ws://m' }, bob.id, { type: 'ping' }, receiver.clock.now(), nonce(4));
  t.throws(() => open({ ...mallory, from: sealed.from }, receiver), { code: 'FLOWCHAIN_ERR_PEER_SIGNATURE_INVALID' });
});

t.test('a replayed or stale message is rejected; nonces expire with the window', async (t) => {
  const { receiver, sealed, clock } = setup();
  open(sealed, receiver);
  t.throws(() => open(sealed, receiver), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_REPLAYED', field: 'nonce' });
  clock.advance(30_001);
  t.throws(() => open(sealed, receiver), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_REPLAYED', field: 'ts' });
  const future = seal(alice, bob.id, { type: 'ping' }, clock.now() + 31_000, nonce(5));
  t.throws(() => open(future, receiver), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_REPLAYED', field: 'ts' });
  open(seal(alice, bob.id, { type: 'ping' }, clock.now(), nonce(6)), receiver);
  t.equal(receiver.guard.size, 2, 'the first nonce is still kept: it is forgotten only after twice the window');
  clock.advance(30_000);
  open(seal(alice, bob.id, { type: 'ping' }, clock.now(), nonce(8)), receiver);
  t.equal(receiver.guard.size, 2, 'now the first nonce is forgotten');
});

t.test('a message sealed ahead of our clock cannot be replayed once its first nonce record would have expired', async (t) => {
  const { receiver, clock } = setup();
  const ahead = seal(alice, bob.id, { type: 'leaving' }, clock.now() + 25_000, nonce(9));
  open(ahead, receiver);
  clock.advance(31_000); // the message is still within the window (25 s ahead, 31 s later)
  t.throws(() => open(ahead, receiver), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_REPLAYED', field: 'nonce' });
});

t.test('a message for another node is rejected', async (t) => {
  const { receiver, clock } = setup();
  const forCarol = seal(alice, key(9).id, { type: 'ping' }, clock.now(), nonce(7));
  t.throws(() => open(forCarol, receiver), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', field: 'to' });
});

t.test('malformed envelopes are rejected naming the field, before any crypto', async (t) => {
  const { receiver, sealed } = setup();
  const cases: [unknown, string][] = [
    [null, '/'],
    [[], '/'],
    [{ ...sealed, v: 2 }, 'v'],
    [{ ...sealed, from: null }, 'from'],
    [{ ...sealed, from: { ...sealed.from, id: 'x' } }, 'from.id'],
    [{ ...sealed, from: { ...sealed.from, key: 'x' } }, 'from.key'],
    [{ ...sealed, from: { ...sealed.from, url: 5 } }, 'from.url'],
    [{ ...sealed, to: 'me' }, 'to'],
    [{ ...sealed, nonce: 7 }, 'nonce'],
    [{ ...sealed, ts: 'now' }, 'ts'],
    [{ ...sealed, body: [] }, 'body'],
    [{ ...sealed, sig: 'ab' }, 'sig'],
  ];
  for (const [raw, field] of cases) t.throws(() => open(raw, receiver), { code: 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', field }, field);
  t.equal(receiver.guard.size, 0, 'nothing was recorded');
});

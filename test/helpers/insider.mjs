// A member gone rogue, as its own process: a key of its own admitted by the ring's authority
// (so its links are accepted), which tries to change a TD another node registered by talking
// to the key's owner on the peer port directly. It prints, as one JSON line, what the owner
// answered: to the stored entry with its TD changed under the registering node's signature
// ("tampered"), and to an entry of its own for the same TD ("forged"). It uses the built
// modules (dist/, made by `npm test`'s pretest), as any program on the network could.
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { signThingEntry, thingKey } from '../../dist/directory/thing-entry.js';
import { PEER_SUBPROTOCOL } from '../../dist/dht/tls-peer-network.js';
import { Membership } from '../../dist/membership/membership.js';
import { RingAuthority } from '../../dist/membership/ring-authority.js';
import { NodeIdentity } from '../../dist/node-identity.js';

const [ownerPeerUrl, authorityDir, thingId] = process.argv.slice(2);
const identity = NodeIdentity.generate();
const authority = RingAuthority.open(authorityDir, { now: () => new Date(), randomBytes: (n) => new Uint8Array(randomBytes(n)) });
const membership = new Membership(authority.admit(identity.publicKey), identity.publicKey);

/** Sends one request over a fresh link; resolves with the reply frame. */
function ask(request) {
  return new Promise((resolve) => {
    const socket = new WebSocket(ownerPeerUrl, PEER_SUBPROTOCOL, { ...membership.tlsOptions(identity.privateKeyPem()), rejectUnauthorized: false, checkServerIdentity: () => undefined });
    socket.once('open', () => {
      socket.send(JSON.stringify({ hello: { url: 'wss://127.0.0.1:1/' } }));
      socket.send(JSON.stringify({ id: 1, request }));
    });
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.re !== 1) return;
      socket.close();
      resolve(frame);
    });
    socket.once('error', (err) => resolve({ error: { code: err.code ?? err.message } }));
  });
}

const key = thingKey(thingId);
const stored = (await ask({ type: 'store-get', key })).reply?.value;
if (stored === undefined) throw new Error(`the owner holds no entry under ${key}`);
const tampered = { ...stored, version: stored.version + 1, td: { ...stored.td, title: 'Tampered' } };
const forged = signThingEntry(identity, { thingId, td: { ...stored.td, title: 'Forged' }, url: 'http://127.0.0.1:1/', version: stored.version + 1, expires: Date.now() + 86_400_000, registration: stored.registration });
const results = {
  stored: stored.td.title,
  tampered: await ask({ type: 'store-put-many', entries: [[key, tampered]] }),
  forged: await ask({ type: 'store-put-many', entries: [[key, forged]] }),
  after: (await ask({ type: 'store-get', key })).reply?.value?.td?.title,
};
process.stdout.write(`${JSON.stringify(results)}\n`);

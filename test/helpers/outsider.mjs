// An outsider, as its own process: a key of its own and a "membership" from an authority of its
// own making. It tries each attack of issue 12 against a ring member's peer port and prints, as
// one JSON line, what each attempt got back. It uses the built modules (dist/, made by `npm test`'s
// pretest), as any program on the network could.
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { createTransaction } from '../../dist/broker/data-transaction.js';
import { PEER_SUBPROTOCOL } from '../../dist/dht/tls-peer-network.js';
import { Membership } from '../../dist/membership/membership.js';
import { RingAuthority } from '../../dist/membership/ring-authority.js';
import { NodeIdentity } from '../../dist/node-identity.js';

const [peerUrl, authorityDir, thingId] = process.argv.slice(2);
const identity = NodeIdentity.generate();
const authority = RingAuthority.create(authorityDir, { now: () => new Date(), randomBytes: (n) => new Uint8Array(randomBytes(n)) });
const membership = new Membership(authority.admit(identity.publicKey), identity.publicKey);

/** Opens a link and sends `frames`; resolves with what the member answered: a refusal's code, or the replies. */
function attempt(frames) {
  return new Promise((resolve) => {
    const socket = new WebSocket(peerUrl, PEER_SUBPROTOCOL, { ...membership.tlsOptions(identity.privateKeyPem()), rejectUnauthorized: false, checkServerIdentity: () => undefined });
    const replies = [];
    socket.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode, code: JSON.parse(text).code }));
    });
    socket.once('open', () => {
      socket.send(JSON.stringify({ hello: { url: 'wss://127.0.0.1:1/' } }));
      frames.forEach((request, id) => socket.send(JSON.stringify({ id, request })));
      setTimeout(() => {
        socket.close();
        resolve({ status: 101, replies });
      }, 1_000);
    });
    socket.on('message', (data) => replies.push(JSON.parse(data.toString())));
    socket.once('error', (err) => resolve({ error: err.code ?? err.message }));
  });
}

const now = Date.now();
const forged = createTransaction({ thing: thingId, property: 'targetTemperature', value: 999, origin: 'consumer' }, identity, now, new Uint8Array(randomBytes(16)));
const results = {
  notify: await attempt([{ type: 'notify' }]),
  'store-replicate': await attempt([{ type: 'store-replicate', entries: [[forged.hData, { kind: 'tx', tx: forged, txId: '00'.repeat(32) }]] }]),
  'store-put-many': await attempt([{ type: 'store-put-many', entries: [['ab'.repeat(20), 'garbage']] }]),
  'tx-submit': await attempt([{ type: 'tx-submit', txs: [forged] }]),
  'fill the disk': await attempt(Array.from({ length: 200 }, (_, i) => ({ type: 'store-put-many', entries: [[i.toString(16).padStart(40, '0'), { kind: 'note', pad: 'x'.repeat(16 * 1024) }]] }))),
};
process.stdout.write(`${JSON.stringify(results)}\n`);

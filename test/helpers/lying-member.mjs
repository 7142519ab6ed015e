// A member that lies, as its own process: a fresh key admitted by the ring's authority (so its
// links are accepted and its place on the ring is the ring id the authority certified), whose
// peer requests say what no honest node would. It never joins the ring: it talks to the honest
// members' peer ports directly, over links opened with its membership, and reads the ring's
// layout from their HTTP API as any process on the network could.
//
//   node lying-member.mjs AUTHORITY_DIR HTTP_URL[,HTTP_URL...] ATTACK...
//
// Attacks (each prints what every target answered, under its name):
//   planted-receipt  a transaction record about the first node's thermostat (value 999),
//                    signed by this member, naming itself owner, status anchored: offered to
//                    every node as replication (its H_DATA ground into the stretch of the ring
//                    this member could plausibly own), and as a plain put to the key's owner
//   clock-skew       publishes an entry for a Thing of its own, then submits to each H_DATA's
//                    owner a transaction about it dated 2126, one dated 1970, and one dated now
//   forged-entry     an entry for the first node's thermostat signed by this member (another
//                    TD and base), put at the key's owner and offered to every node as replication
//   storage-burst    sound records of its own Thing (about 60 KB each) offered as replication to
//                    one node, as fast as it takes them, until that node refuses
//   link-flood       ten links at once to the first node
//
// Prints one JSON line: { ringId, senderId, attacks: { NAME: { ... } } }. Uses the built modules
// (dist/, made by `npm run build`).
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { canonicalJson } from '../../dist/canonical-json.js';
import { blockHash, createTransaction, transactionId } from '../../dist/broker/data-transaction.js';
import { SUBMIT_TRANSACTION } from '../../dist/broker/transaction-owner.js';
import { PEER_SUBPROTOCOL } from '../../dist/dht/tls-peer-network.js';
import { signThingEntry, thingKey } from '../../dist/directory/thing-entry.js';
import { Membership } from '../../dist/membership/membership.js';
import { RingAuthority } from '../../dist/membership/ring-authority.js';
import { NodeIdentity } from '../../dist/node-identity.js';

const [authorityDir, urls, ...attacks] = process.argv.slice(2);
const identity = NodeIdentity.generate();
const authority = RingAuthority.open(authorityDir, { now: () => new Date(), randomBytes: (n) => new Uint8Array(randomBytes(n)) });
const membership = new Membership(authority.admit(identity.publicKey), identity.publicKey);
const RING = 2n ** 160n;
const hex40 = (id) => id.toString(16).padStart(40, '0');
const ringId = membership.ringId;
/** What transactions and entries name as their sender: SHA-1 of the key (data-transaction.ts). */
const senderId = hex40(identity.id);
/** Where the records it offers say it listens: nobody dials it back. */
const FAKE_URL = 'wss://127.0.0.1:1/';

const getJson = async (url) => {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return res.json();
};

// The honest members: HTTP base, ring id and peer URL, from their own descriptions.
const nodes = await Promise.all(urls.split(',').map(async (http) => {
  const ring = await getJson(`${http}ring`);
  return { http, id: ring.id, peerUrl: ring.url };
}));

/**
 * Opens one link to `peerUrl` with this member's certificate and says hello. Resolves with
 * `{ link }` once open, or `{ refused: { status, code } }` when the listener refused the upgrade.
 */
function openLink(peerUrl) {
  return new Promise((resolve) => {
    const socket = new WebSocket(peerUrl, PEER_SUBPROTOCOL, { ...membership.tlsOptions(identity.privateKeyPem()), checkServerIdentity: () => undefined, maxPayload: 8 * 1024 * 1024 });
    let next = 0;
    const waiting = new Map();
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      waiting.get(frame.re)?.(frame);
      waiting.delete(frame.re);
    });
    socket.once('close', (code) => {
      for (const settle of waiting.values()) settle({ error: { code: `closed ${code}` } });
      waiting.clear();
    });
    socket.once('open', () => {
      socket.send(JSON.stringify({ hello: { url: FAKE_URL } }));
      resolve({
        link: {
          /** Sends one request; resolves with `{ reply }` or `{ error }`, as the node framed it. */
          ask: (request) => new Promise((settle) => {
            if (socket.readyState !== WebSocket.OPEN) return settle({ error: { code: 'closed' } });
            const id = ++next;
            waiting.set(id, settle);
            socket.send(JSON.stringify({ id, request }));
          }),
          close: () => new Promise((done) => {
            if (socket.readyState === WebSocket.CLOSED) return done();
            socket.once('close', () => done());
            socket.close();
          }),
        },
      });
    });
    socket.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => {
        let code;
        try {
          code = JSON.parse(text).code;
        } catch {
          code = undefined;
        }
        resolve({ refused: { status: response.statusCode, code } });
      });
    });
    // Settles nothing once open (a close follows); before that, a link that could not be made.
    socket.on('error', (err) => resolve({ refused: { code: err.code ?? err.message } }));
  });
}

/** One long-lived link per honest node, opened on first use. */
const links = new Map();
async function linkTo(peerUrl) {
  if (!links.has(peerUrl)) {
    const opened = await openLink(peerUrl);
    if (opened.link === undefined) throw new Error(`${peerUrl} refused a link: ${JSON.stringify(opened.refused)}`);
    links.set(peerUrl, opened.link);
  }
  return links.get(peerUrl);
}
const ask = async (peerUrl, request) => (await linkTo(peerUrl)).ask(request);

/** SUCCESSOR(key), as an honest node looks it up. */
const ownerOf = async (key) => (await getJson(`${nodes[0].http}ring/lookup/${key}`)).owner;

/** Clockwise distance from `from` to `to` on the ring. */
const distance = (from, to) => (((to - from) % RING) + RING) % RING;
/**
 * Keys this member may plausibly own in the eyes of a member that knows every honest node: no
 * honest node lies in [key, ringId) (the rule replicas apply to replication, ring-store.ts).
 */
const plausiblyMine = (keyHex) => {
  const key = BigInt(`0x${keyHex}`);
  return nodes.every((node) => distance(key, ringId) < distance(BigInt(`0x${node.id}`), ringId));
};

/**
 * A transaction signed by this member whose H_DATA satisfies `wanted`, found by trying λs:
 * H_DATA = SHA-1([data, timestamp, λ]) with λ last, so the hash state of the rest is kept.
 */
function groundTransaction(data, timestamp, wanted) {
  const prefix = createHash('sha1').update(`[${canonicalJson(data)},${timestamp},"`);
  for (;;) {
    const lambda = randomBytes(16);
    if (!wanted(prefix.copy().update(`${lambda.toString('hex')}"]`).digest('hex'))) continue;
    const tx = createTransaction(data, identity, timestamp, new Uint8Array(lambda));
    if (!wanted(tx.hData)) throw new Error('H_DATA is not laid out as this member assumed');
    return tx;
  }
}

/** A transaction record as its owner would store it, with this member named owner. */
function ownerRecord(tx, status, storedAt = Date.now()) {
  const block = { number: 1, openedAt: storedAt, nonce: randomBytes(16).toString('hex') };
  const hBlock = blockHash(block.number, block.openedAt, block.nonce);
  return { kind: 'tx', tx, block, hBlock, txId: transactionId(hBlock, tx.hData), owner: { id: senderId, url: FAKE_URL }, storedAt, status };
}

/** This member's own Thing: a level (0 to 100) and a free-form text. */
const ownThing = {
  '@context': 'https://www.w3.org/2022/wot/td/v1.1',
  id: `urn:flowchain:liar:${senderId}`,
  title: 'Liar',
  securityDefinitions: { nosec_sc: { scheme: 'nosec' } },
  security: 'nosec_sc',
  properties: {
    level: { type: 'integer', minimum: 0, maximum: 100, forms: [{ href: 'http://127.0.0.1:1/level' }] },
    text: { type: 'string', forms: [{ href: 'http://127.0.0.1:1/text' }] },
  },
};

/** Publishes the entry of its own Thing at the key's owner, as its host would. */
async function publishOwnThing() {
  const key = thingKey(ownThing.id);
  const now = Date.now();
  const entry = signThingEntry(identity, { thingId: ownThing.id, td: ownThing, url: 'http://127.0.0.1:1/', version: now, expires: now + 10 * 60_000 });
  return ask((await ownerOf(key)).url, { type: 'store-put-many', entries: [[key, entry]] });
}

const victim = async () => getJson(`${nodes[0].http}things/thermostat`);

const ATTACKS = {
  async 'planted-receipt'() {
    const thermostat = await victim();
    const tx = groundTransaction({ thing: thermostat.id, property: 'targetTemperature', value: 999, origin: 'consumer' }, Date.now(), plausiblyMine);
    const record = ownerRecord(tx, 'anchored');
    const replicated = {};
    for (const node of nodes) replicated[node.http] = await ask(node.peerUrl, { type: 'store-replicate', entries: [[tx.hData, record]] });
    const owner = await ownerOf(tx.hData);
    return { hData: tx.hData, owner: owner.id, replicated, put: await ask(owner.url, { type: 'store-put-many', entries: [[tx.hData, record]] }) };
  },

  async 'clock-skew'() {
    const published = await publishOwnThing();
    const submit = async (timestamp) => {
      const tx = createTransaction({ thing: ownThing.id, property: 'level', value: 7, origin: 'consumer' }, identity, timestamp, new Uint8Array(randomBytes(16)));
      const owner = await ownerOf(tx.hData);
      const answer = await ask(owner.url, { type: SUBMIT_TRANSACTION, txs: [tx] });
      return { hData: tx.hData, owner: owner.id, result: answer.reply?.results?.[0], error: answer.error };
    };
    return { published, 2126: await submit(Date.UTC(2126, 0, 1)), 1970: await submit(Date.UTC(1970, 0, 2)), now: await submit(Date.now()) };
  },

  async 'forged-entry'() {
    const thermostat = await victim();
    const key = thingKey(thermostat.id);
    const owner = await ownerOf(key);
    const held = (await ask(owner.url, { type: 'store-get', key })).reply?.value;
    const now = Date.now();
    const forged = signThingEntry(identity, { thingId: thermostat.id, td: { ...thermostat, title: 'Forged', base: 'http://127.0.0.1:1/' }, url: 'http://127.0.0.1:1/', version: now + 86_400_000, expires: now + 10 * 60_000 });
    const put = await ask(owner.url, { type: 'store-put-many', entries: [[key, forged]] });
    const replicated = {};
    for (const node of nodes) replicated[node.http] = await ask(node.peerUrl, { type: 'store-replicate', entries: [[key, forged]] });
    const after = (await ask(owner.url, { type: 'store-get', key })).reply?.value;
    return { thingId: thermostat.id, owner: owner.id, forgedKey: forged.host.key, before: held?.host?.key, put, replicated, after: after?.host?.key };
  },

  async 'storage-burst'() {
    const published = await publishOwnThing();
    // The node that owns this member's stretch of the ring would push what it holds there to
    // its successors when the ring changes: offer the records to another one.
    const owner = nodes.reduce((best, node) => (distance(ringId, BigInt(`0x${node.id}`)) < distance(ringId, BigInt(`0x${best.id}`)) ? node : best));
    const target = nodes.find((node) => node !== owner);
    const link = await linkTo(target.peerUrl);
    const text = 'x'.repeat(60_000);
    const message = () => {
      const entries = Array.from({ length: 4 }, () => {
        const now = Date.now();
        const tx = groundTransaction({ thing: ownThing.id, property: 'text', value: text, origin: 'device' }, now, plausiblyMine);
        return [tx.hData, ownerRecord(tx, 'pending', now)];
      });
      // What the store charges: each record's JSON bytes (ring-store.ts).
      return { entries, bytes: entries.reduce((sum, [, record]) => sum + Buffer.byteLength(JSON.stringify(record)), 0) };
    };
    const outcome = { target: target.http, published, acceptedBytes: 0, acceptedMessages: 0, stored: 0, refusedRecords: [], refusal: undefined, otherErrors: [], sentBytes: 0 };
    const started = performance.now();
    let lastAccepted = started;
    let stop = false;
    // Four messages in flight at once, until the node refuses one (or 64 MiB, or 20 s, have gone).
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (!stop && outcome.sentBytes < 64 * 1024 * 1024 && performance.now() - started < 20_000) {
        const { entries, bytes } = message();
        outcome.sentBytes += bytes;
        const answer = await link.ask({ type: 'store-replicate', entries });
        if (answer.error !== undefined) {
          if (answer.error.code === 'FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED') outcome.refusal ??= answer.error;
          else outcome.otherErrors.push(answer.error);
          stop = true;
          continue;
        }
        outcome.acceptedBytes += bytes;
        outcome.acceptedMessages++;
        outcome.stored += answer.reply.stored;
        outcome.refusedRecords.push(...answer.reply.refused);
        lastAccepted = performance.now();
      }
    }));
    outcome.elapsedMs = lastAccepted - started;
    outcome.totalMs = performance.now() - started;
    return outcome;
  },

  async 'link-flood'() {
    const target = nodes[0];
    const attempts = await Promise.all(Array.from({ length: 10 }, () => openLink(target.peerUrl)));
    const opened = attempts.filter((a) => a.link !== undefined).map((a) => a.link);
    const pings = await Promise.all(opened.map((link) => link.ask({ type: 'ping' })));
    await Promise.all(opened.map((link) => link.close()));
    // The bound holds open links, not the member: once they are closed a link opens again.
    let reopened = false;
    for (const deadline = Date.now() + 5_000; !reopened && Date.now() < deadline; ) {
      const again = await openLink(target.peerUrl);
      if (again.link !== undefined) {
        reopened = (await again.link.ask({ type: 'ping' })).reply !== undefined;
        await again.link.close();
      } else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { target: target.http, opened: opened.length, pings, refused: attempts.filter((a) => a.refused !== undefined).map((a) => a.refused), reopened };
  },
};

const results = { ringId: hex40(ringId), senderId, attacks: {} };
for (const name of attacks) {
  if (!(name in ATTACKS)) throw new Error(`no attack named ${name}`);
  results.attacks[name] = await ATTACKS[name]();
}
await Promise.all([...links.values()].map((link) => link.close()));
process.stdout.write(`${JSON.stringify(results)}\n`);

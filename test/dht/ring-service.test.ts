/**
 * The ring between real processes: four `flowchain start` processes on loopback, admitted by one
 * authority, join over their mutual-TLS peer ports and agree on the ring and on the owner of
 * random keys. And a real node gives no link to a process that is not a member.
 */
import t from 'tap';
import { WebSocket } from 'ws';
import type { RingDescription } from '../../src/dht/ring-service.js';
import { PEER_SUBPROTOCOL } from '../../src/dht/tls-peer-network.js';
import { signThingEntry, thingKey } from '../../src/directory/thing-entry.js';
import { holdingStatement } from '../../src/common/ring-records.js';
import { Membership } from '../../src/membership/membership.js';
import { NodeIdentity } from '../../src/node-identity.js';
import { createRandom } from '../../src/common/random.js';
import { getJson, ownerOf, settledRing, startRing } from '../helpers/ring-processes.js';
import { createServient, ringOfThree, testAuthority } from '../helpers/test-servient.js';

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

t.test('a real node: no link without membership, and a member joining through an unreachable node fails start-up', async (t) => {
  const authority = testAuthority(t);
  const { servient } = await createServient(t, { authority });
  const { url } = await servient.start();
  const ring = (await (await fetch(`${url}ring`)).json()) as RingDescription;
  t.match(ring.url, /^wss:\/\/127\.0\.0\.1:\d+\/$/, 'GET /ring names the mutual-TLS peer port');
  t.match(ring.membership, { crl: '1' });
  // A process with a key of its own and a certificate of its own making.
  const mallory = NodeIdentity.generate();
  const rogue = new Membership(testAuthority(t).admit(mallory.publicKey), mallory.publicKey);
  const attempt = await new Promise<string>((resolve) => {
    const socket = new WebSocket(ring.url, PEER_SUBPROTOCOL, { ...rogue.tlsOptions(mallory.privateKeyPem()), checkServerIdentity: (() => undefined) as unknown as () => boolean });
    socket.once('open', () => resolve('opened'));
    socket.once('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? 'error'));
  });
  t.not(attempt, 'opened', `an outsider gets no link (${attempt})`);
  t.same((await (await fetch(`${url}ring`)).json() as RingDescription).successors, [], 'and changed nothing: the node is still alone');

  const joining = await createServient(t, { authority, join: 'http://127.0.0.1:1' });
  await t.rejects(joining.servient.start(), { code: 'FLOWCHAIN_ERR_PEER_UNREACHABLE' });
  t.equal(joining.servient.app.server.listening, false, 'the port is released');
});

t.test('a node that was never admitted cannot join: start-up names the command that admits it', async (t) => {
  await t.rejects(createServient(t, { join: 'http://127.0.0.1:1' }), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', message: /flowchain ring admit/ });
});

t.test('three real servients (LevelDB, mutual TLS) store, replicate and read ring records', async (t) => {
  // Maintenance runs on each node's manual clock: ringOfThree ticks the clocks and lets the
  // sockets carry the messages, until every node knows both others (bounded).
  const all = await ringOfThree(t);

  const writer = all[2]!.servient;
  const now = all[2]!.clock.now();
  const entry = signThingEntry(writer.ring.identity, { thingId: 'urn:dev:lamp', td: null, url: 'http://127.0.0.1:1/', version: now, expires: now + 3_600_000 });
  t.same(await writer.ring.store.putMany([[thingKey('urn:dev:lamp'), entry]]), [undefined]);
  for (const { servient } of all) t.same(await servient.ring.store.get(thingKey('urn:dev:lamp')), entry, 'every node reads the record');
});

t.test('a holding proof names its member only if that member\'s certificate is a valid membership now and its signature verifies', async (t) => {
  const authority = testAuthority(t);
  const { servient } = await createServient(t, { authority });
  const ring = servient.ring;
  const member = NodeIdentity.generate();
  const membership = new Membership(authority.admit(member.publicKey), member.publicKey);
  const id = membership.ringId.toString(16).padStart(40, '0');
  const records: [string, string][] = [['a'.repeat(40), 'b'.repeat(64)]];
  const proof = (by = member, certificate = membership.certificate, claimed = id, held = records) => ({ member: claimed, certificate, records: held, signature: Buffer.from(by.sign(holdingStatement(claimed, held))).toString('hex') });
  t.equal(ring.holderOf(proof()), id, 'a member\'s own proof');
  t.equal(ring.holderOf({ ...proof(), records: [['a'.repeat(40), 'c'.repeat(64)]] }), undefined, 'records changed after signing');
  const other = NodeIdentity.generate();
  const otherMembership = new Membership(authority.admit(other.publicKey), other.publicKey);
  t.equal(ring.holderOf(proof(member, membership.certificate, otherMembership.ringId.toString(16).padStart(40, '0'))), undefined, 'claiming another member\'s id');
  t.equal(ring.holderOf(proof(other, membership.certificate)), undefined, 'signed by another key than the certificate\'s');
  const stranger = NodeIdentity.generate();
  const foreign = new Membership(testAuthority(t).admit(stranger.publicKey), stranger.publicKey);
  t.equal(ring.holderOf(proof(stranger, foreign.certificate, foreign.ringId.toString(16).padStart(40, '0'))), undefined, 'a member of another ring');
  for (const garbage of [null, 'proof', { ...proof(), signature: 'zz' }, { ...proof(), certificate: 'not a certificate' }, { ...proof(), records: 'all' }]) t.equal(ring.holderOf(garbage), undefined, 'a malformed proof');
  await ring.ask(ring.self, { type: 'crl', crl: authority.revoke(id), number: '0' });
  t.equal(ring.describe().membership.crl, '2', 'the node adopts the CRL that revokes the member');
  t.equal(ring.holderOf(proof()), undefined, 'a revoked member\'s proof no longer counts');
});

import { createPrivateKey, createPublicKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import t from 'tap';
import { buildCertificate } from '../../src/membership/certificate.js';
import { resolveMembership } from '../../src/membership/founding.js';
import { Membership, rawPublicKey } from '../../src/membership/membership.js';
import { fromPem, integerBytes, toPem } from '../../src/membership/pkix.js';
import { RingAuthority, writeMembership } from '../../src/membership/ring-authority.js';
import { NodeIdentity, keyIdOf } from '../../src/node-identity.js';
import { tempDir } from '../helpers/test-servient.js';

const components = { now: () => new Date(), randomBytes: (n: number) => new Uint8Array(randomBytes(n)) };
/** The ring id `authority` certifies for `identity`, as `issued.json`, `revoke` and the CLI write it. */
const hexId = (authority: RingAuthority, identity: NodeIdentity) => authority.ringIdFor(identity.publicKey).toString(16).padStart(40, '0');

t.test('an authority keeps its files, key private, and records what it issued and revoked', async (t) => {
  const directory = join(tempDir(t), 'authority');
  const authority = RingAuthority.create(directory, components);
  t.equal(statSync(join(directory, 'authority.key')).mode & 0o777, 0o600, 'the key file is readable by its owner only');
  t.throws(() => RingAuthority.create(directory, components), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' }, 'never over an existing one');
  const node = NodeIdentity.generate();
  const documents = authority.admit(node.publicKey, 30);
  const issued = RingAuthority.load(directory, components).issued;
  t.same(issued.map((e) => e.nodeId), [hexId(authority, node)], 'the load sees the admission');
  const cert = new X509Certificate(documents.certificate);
  t.ok(Math.abs(new Date(cert.validTo).getTime() - Date.now() - 30 * 86_400_000) < 120_000, 'valid for the days asked');
  const crl = authority.revoke(hexId(authority, node));
  t.equal(readFileSync(join(directory, 'crl.pem'), 'utf8'), crl, 'the new CRL is saved');
  t.throws(() => authority.revoke('00'.repeat(20)), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' }, 'a node it never admitted');
  t.throws(() => authority.admit(new Uint8Array(31)), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' });
  t.throws(() => RingAuthority.load(tempDir(t), components), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' }, 'no authority there');
});

t.test('documents that do not fit together stop the node: another key, another authority, revoked', async (t) => {
  const authority = RingAuthority.create(join(tempDir(t), 'a'), components);
  const other = RingAuthority.create(join(tempDir(t), 'b'), components);
  const node = NodeIdentity.generate();
  const documents = authority.admit(node.publicKey);
  t.doesNotThrow(() => new Membership(documents, node.publicKey));
  t.throws(() => new Membership(documents, NodeIdentity.generate().publicKey), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' }, 'a certificate for another key');
  t.throws(() => new Membership({ ...documents, authority: other.certificate }, node.publicKey), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' }, 'a certificate of another authority');
  t.throws(() => new Membership({ ...documents, crl: other.crl }, node.publicKey), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' }, 'another authority\'s CRL');
  t.throws(() => new Membership({ ...documents, certificate: 'garbage' }, node.publicKey), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' });
  const revoked = authority.revoke(hexId(authority, node));
  t.throws(() => new Membership({ ...documents, crl: revoked }, node.publicKey), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' }, 'a revoked node');
});

t.test('a peer\'s certificate is checked again: expired, revoked, another authority, the authority itself', async (t) => {
  const authority = RingAuthority.create(join(tempDir(t), 'a'), components);
  const self = NodeIdentity.generate();
  const membership = new Membership(authority.admit(self.publicKey), self.publicKey);
  const peer = NodeIdentity.generate();
  const certificate = new X509Certificate(authority.admit(peer.publicKey).certificate);
  t.equal(membership.verifyPeer(certificate, new Date()).id, authority.ringIdFor(peer.publicKey), 'a member is the ring id its certificate carries');
  t.throws(() => membership.verifyPeer(certificate, new Date(Date.now() + 400 * 86_400_000)), { code: 'FLOWCHAIN_ERR_PEER_NOT_MEMBER' }, 'expired');
  t.throws(() => membership.verifyPeer(undefined, new Date()), { code: 'FLOWCHAIN_ERR_PEER_NOT_MEMBER' }, 'none');
  t.throws(() => membership.verifyPeer(new X509Certificate(authority.certificate), new Date()), { code: 'FLOWCHAIN_ERR_PEER_NOT_MEMBER' }, 'the authority is no member');
  const rogue = RingAuthority.create(join(tempDir(t), 'r'), components);
  t.throws(() => membership.verifyPeer(new X509Certificate(rogue.admit(peer.publicKey).certificate), new Date()), { code: 'FLOWCHAIN_ERR_PEER_NOT_MEMBER' }, 'another authority');
  t.ok(membership.adoptCrl(authority.revoke(hexId(authority, peer))));
  t.throws(() => membership.verifyPeer(certificate, new Date()), { code: 'FLOWCHAIN_ERR_PEER_NOT_MEMBER' }, 'revoked');
});

t.test('a CRL put into the membership directory is picked up, and one adopted from a peer is saved there', async (t) => {
  const authority = RingAuthority.create(join(tempDir(t), 'a'), components);
  const node = NodeIdentity.generate();
  const directory = join(tempDir(t), 'ring');
  writeMembership(directory, authority.admit(node.publicKey));
  const membership = Membership.load(directory, node.publicKey)!;
  t.notOk(membership.reload(), 'nothing new');
  const peer = NodeIdentity.generate();
  authority.admit(peer.publicKey);
  writeFileSync(join(directory, 'crl.pem'), authority.revoke(hexId(authority, peer)));
  utimesSync(join(directory, 'crl.pem'), new Date(), new Date(Date.now() + 5_000));
  let heard = 0;
  membership.onCrlChange(() => heard++);
  t.ok(membership.reload(), 'the newer CRL is adopted');
  t.equal(heard, 1);
  const newer = authority.revoke(hexId(authority, peer)); // same node again: a newer list all the same
  t.ok(membership.adoptCrl(newer));
  t.equal(readFileSync(join(directory, 'crl.pem'), 'utf8'), newer, 'and kept for the next start');
  t.equal(Membership.load(tempDir(t), node.publicKey), undefined, 'an empty directory holds no membership');
});

t.test('a founding node with no membership becomes its own authority; a joining one is told how to be admitted', async (t) => {
  const data = tempDir(t);
  const node = NodeIdentity.generate();
  const sources = { ...components, publicKey: node.publicKey, directory: join(data, 'ring'), authorityDirectory: join(data, 'ring-authority') };
  t.throws(() => resolveMembership({ ...sources, joining: true }), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', message: /flowchain ring admit/ });
  const founded = resolveMembership({ ...sources, joining: false });
  t.equal(founded.founded, join(data, 'ring-authority'));
  const again = resolveMembership({ ...sources, joining: true });
  t.equal(again.founded, undefined, 'the second start finds its membership');
  t.equal(again.membership.own.serial, founded.membership.own.serial);
});

t.test('a member\'s ring id is the one its authority certified: its own, and a peer\'s, with the peer\'s key', async (t) => {
  const authority = RingAuthority.create(join(tempDir(t), 'a'), components);
  const self = NodeIdentity.generate();
  const documents = authority.admit(self.publicKey);
  const membership = new Membership(documents, self.publicKey);
  t.equal(membership.ringId, authority.ringIdFor(self.publicKey), 'this node\'s id, read from its certificate');
  t.match(new X509Certificate(documents.certificate).subject, `CN=node ${hexId(authority, self)}`, 'which carries it as "node <40 hex>"');
  t.not(membership.ringId, keyIdOf(self.publicKey), 'not the hash of its own key, which it could grind');
  const peer = NodeIdentity.generate();
  const certificate = new X509Certificate(authority.admit(peer.publicKey).certificate);
  const seen = membership.verifyPeer(certificate, new Date());
  t.equal(seen.id, authority.ringIdFor(peer.publicKey), 'the id its certificate carries');
  t.ok(seen.key instanceof Uint8Array);
  t.same(seen.key, peer.publicKey, 'the raw key its certificate binds to that id');
  t.equal(seen.serial, BigInt(`0x${certificate.serialNumber}`).toString(16));
  t.equal(seen.notAfter.getTime(), new Date(certificate.validTo).getTime());
});

t.test('a key admitted twice keeps its id; another authority gives the same key another id', async (t) => {
  const directory = join(tempDir(t), 'a');
  const authority = RingAuthority.create(directory, components);
  const other = RingAuthority.create(join(tempDir(t), 'b'), components);
  const node = NodeIdentity.generate();
  const firstDocuments = authority.admit(node.publicKey);
  const first = new Membership(firstDocuments, node.publicKey);
  const secondDocuments = RingAuthority.load(directory, components).admit(node.publicKey);
  const second = new Membership(secondDocuments, node.publicKey);
  t.not(first.own.serial, second.own.serial, 'two certificates');
  t.equal(second.ringId, first.ringId, 'one place on the ring, after a reload of the authority too');
  const reloaded = RingAuthority.load(directory, components);
  t.same(reloaded.issued.map((e) => e.nodeId), [hexId(authority, node), hexId(authority, node)], 'issued.json records the certified id');
  const elsewhere = new Membership(other.admit(node.publicKey), node.publicKey);
  t.not(elsewhere.ringId, first.ringId, 'the id depends on the authority, so a member cannot aim its key at a place');
  t.throws(() => reloaded.revoke(keyIdOf(node.publicKey).toString(16).padStart(40, '0')), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' }, 'the key\'s own hash names no member');
  const crl = reloaded.revoke(hexId(authority, node));
  for (const documents of [firstDocuments, secondDocuments]) {
    t.throws(() => new Membership({ ...documents, crl }, node.publicKey), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' }, 'revoking the certified id takes every certificate issued to it');
  }
});

t.test('a certificate the authority signed is refused unless its common name is exactly "node " and 40 lower-case hex', async (t) => {
  const directory = join(tempDir(t), 'a');
  const authority = RingAuthority.create(directory, components);
  const authorityKey = createPrivateKey(readFileSync(join(directory, 'authority.key'), 'utf8'));
  const self = NodeIdentity.generate();
  const membership = new Membership(authority.admit(self.publicKey), self.publicKey);
  const peer = NodeIdentity.generate();
  const signedFor = (subject: string, key = peer.publicKey) =>
    buildCertificate(
      { serial: 4242n, issuer: 'Flowchain ring authority', issuerKey: rawPublicKey(createPublicKey(authorityKey)), subject, subjectKey: key, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), authority: false },
      (tbs) => sign(null, tbs, authorityKey),
    );
  const id = hexId(authority, peer);
  t.equal(membership.verifyPeer(new X509Certificate(signedFor(`node ${id}`)), new Date()).id, BigInt(`0x${id}`), 'the well-formed one passes (so the others fail on their names alone)');
  for (const subject of [`node ${id.toUpperCase()}`, `node ${id.slice(1)}`, `node ${id}0`, `node  ${id}`, `node ${id} `, id, `peer ${id}`, 'Flowchain ring authority']) {
    t.throws(() => membership.verifyPeer(new X509Certificate(signedFor(subject)), new Date()), { code: 'FLOWCHAIN_ERR_PEER_NOT_MEMBER' }, JSON.stringify(subject));
  }
  t.throws(
    () => new Membership({ authority: authority.certificate, certificate: signedFor(`node ${id.toUpperCase()}`, self.publicKey), crl: authority.crl }, self.publicKey),
    { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' },
    'nor does a node start on such a certificate of its own',
  );
});

t.test('a CRL is adopted whole or not at all: only newer, only the authority\'s, its signature checked before its entries are read', async (t) => {
  const authority = RingAuthority.create(join(tempDir(t), 'a'), components);
  const self = NodeIdentity.generate();
  const ring = join(tempDir(t), 'ring');
  writeMembership(ring, authority.admit(self.publicKey));
  const membership = Membership.load(ring, self.publicKey)!;
  let heard = 0;
  membership.onCrlChange(() => heard++);
  const peer = NodeIdentity.generate();
  const certificate = new X509Certificate(authority.admit(peer.publicKey).certificate);
  const saved = readFileSync(join(ring, 'crl.pem'), 'utf8');
  const second = authority.revoke(hexId(authority, peer));

  const der = fromPem('X509 CRL', second);
  const flipped = Uint8Array.from(der);
  flipped[flipped.length - 1]! ^= 0x01;
  // The revoked serial retagged as an OCTET STRING: well-formed BER, but garbage as a list of entries.
  const serial = Buffer.from(integerBytes(BigInt(`0x${certificate.serialNumber}`))).toString('hex');
  const entry = `02${(serial.length / 2).toString(16).padStart(2, '0')}${serial}`;
  const hex = Buffer.from(der).toString('hex');
  t.ok(hex.includes(entry), 'the test finds the entry it tampers with');
  const garbage = toPem('X509 CRL', Buffer.from(hex.replace(entry, `04${entry.slice(2)}`), 'hex'));
  for (const [name, pem] of [['a flipped signature bit', toPem('X509 CRL', flipped)], ['a garbage entry list', garbage], ['no CRL at all', 'garbage']] as const) {
    let adopted: boolean | undefined;
    t.doesNotThrow(() => (adopted = membership.adoptCrl(pem)), `${name}: no throw`);
    t.equal(adopted, false, `${name}: not adopted`);
  }
  t.equal(membership.crl.number, 1n, 'nothing of them adopted');
  t.equal(membership.verifyPeer(certificate, new Date()).id, authority.ringIdFor(peer.publicKey), 'the peer they name is still a member');
  t.equal(readFileSync(join(ring, 'crl.pem'), 'utf8'), saved, 'nor saved');
  t.equal(heard, 0, 'nor announced');

  const other = RingAuthority.create(join(tempDir(t), 'b'), components);
  const stranger = NodeIdentity.generate();
  other.admit(stranger.publicKey);
  other.revoke(hexId(other, stranger));
  t.notOk(membership.adoptCrl(other.revoke(hexId(other, stranger))), 'another authority\'s CRL, for all its higher number');

  const third = authority.revoke(hexId(authority, peer));
  t.ok(membership.adoptCrl(third), 'the authority\'s newer list');
  t.equal(membership.crl.number, 3n);
  t.notOk(membership.adoptCrl(second), 'an older number is not adopted');
  t.notOk(membership.adoptCrl(third), 'nor the same one again');
  t.equal(membership.crl.number, 3n);
  t.equal(heard, 1);
  t.throws(() => membership.verifyPeer(certificate, new Date()), { code: 'FLOWCHAIN_ERR_PEER_NOT_MEMBER' });
});

t.test('node:tls takes the certificates and the CRL: members link over mutual TLS 1.3, a revoked one is refused', async (t) => {
  const authority = RingAuthority.create(join(tempDir(t), 'a'), components);
  const [server, client, revoked] = [NodeIdentity.generate(), NodeIdentity.generate(), NodeIdentity.generate()];
  const serverMembership = new Membership(authority.admit(server.publicKey), server.publicKey);
  const revokedDocuments = authority.admit(revoked.publicKey);
  authority.revoke(hexId(authority, revoked));
  const clientMembership = new Membership(authority.admit(client.publicKey), client.publicKey);
  t.equal(clientMembership.crl.number, 2n, 'the client holds the CRL that revokes the third node');

  const listen = async (identity: NodeIdentity, membership: Membership) => {
    const seen: bigint[] = [];
    const listener = createServer(membership.tlsOptions(identity.privateKeyPem()), (socket: TLSSocket) => {
      seen.push(membership.verifyPeer(socket.getPeerX509Certificate(), new Date()).id);
      socket.end();
    });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    t.teardown(() => listener.close());
    return { port: (listener.address() as { port: number }).port, seen };
  };
  const dial = (port: number) => {
    const socket = connect({ ...clientMembership.tlsOptions(client.privateKeyPem()), host: '127.0.0.1', port, checkServerIdentity: () => undefined });
    t.teardown(() => socket.destroy());
    return socket;
  };

  const member = await listen(server, serverMembership);
  const link = dial(member.port);
  await once(link, 'secureConnect');
  t.equal(link.getProtocol(), 'TLSv1.3');
  t.equal(clientMembership.verifyPeer(link.getPeerX509Certificate(), new Date()).id, serverMembership.ringId, 'the client sees the server\'s certified id');
  await once(link, 'end');
  t.same(member.seen, [clientMembership.ringId], 'and the server the client\'s');

  const outcast = await listen(revoked, new Membership(revokedDocuments, revoked.publicKey));
  const [err] = (await once(dial(outcast.port), 'error')) as [NodeJS.ErrnoException];
  t.equal(err.code, 'CERT_REVOKED', 'OpenSSL refuses the revoked member from the CRL');
});

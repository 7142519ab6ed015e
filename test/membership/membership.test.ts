import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { resolveMembership } from '../../src/membership/founding.js';
import { Membership } from '../../src/membership/membership.js';
import { RingAuthority, writeMembership } from '../../src/membership/ring-authority.js';
import { NodeIdentity } from '../../src/node-identity.js';
import { tempDir } from '../helpers/test-servient.js';

const components = { now: () => new Date(), randomBytes: (n: number) => new Uint8Array(randomBytes(n)) };
const hexId = (identity: NodeIdentity) => identity.id.toString(16).padStart(40, '0');

t.test('an authority keeps its files, key private, and records what it issued and revoked', async (t) => {
  const directory = join(tempDir(t), 'authority');
  const authority = RingAuthority.create(directory, components);
  t.equal(statSync(join(directory, 'authority.key')).mode & 0o777, 0o600, 'the key file is readable by its owner only');
  t.throws(() => RingAuthority.create(directory, components), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' }, 'never over an existing one');
  const node = NodeIdentity.generate();
  const documents = authority.admit(node.publicKey, 30);
  const issued = RingAuthority.load(directory, components).issued;
  t.same(issued.map((e) => e.nodeId), [hexId(node)], 'the load sees the admission');
  const cert = new X509Certificate(documents.certificate);
  t.ok(Math.abs(new Date(cert.validTo).getTime() - Date.now() - 30 * 86_400_000) < 120_000, 'valid for the days asked');
  const crl = authority.revoke(hexId(node));
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
  const revoked = authority.revoke(hexId(node));
  t.throws(() => new Membership({ ...documents, crl: revoked }, node.publicKey), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' }, 'a revoked node');
});

t.test('a peer\'s certificate is checked again: expired, revoked, another authority, the authority itself', async (t) => {
  const authority = RingAuthority.create(join(tempDir(t), 'a'), components);
  const self = NodeIdentity.generate();
  const membership = new Membership(authority.admit(self.publicKey), self.publicKey);
  const peer = NodeIdentity.generate();
  const certificate = new X509Certificate(authority.admit(peer.publicKey).certificate);
  t.equal(membership.verifyPeer(certificate, new Date()).id, peer.id, 'a member is its key\'s ring id');
  t.throws(() => membership.verifyPeer(certificate, new Date(Date.now() + 400 * 86_400_000)), { code: 'FLOWCHAIN_ERR_PEER_NOT_MEMBER' }, 'expired');
  t.throws(() => membership.verifyPeer(undefined, new Date()), { code: 'FLOWCHAIN_ERR_PEER_NOT_MEMBER' }, 'none');
  t.throws(() => membership.verifyPeer(new X509Certificate(authority.certificate), new Date()), { code: 'FLOWCHAIN_ERR_PEER_NOT_MEMBER' }, 'the authority is no member');
  const rogue = RingAuthority.create(join(tempDir(t), 'r'), components);
  t.throws(() => membership.verifyPeer(new X509Certificate(rogue.admit(peer.publicKey).certificate), new Date()), { code: 'FLOWCHAIN_ERR_PEER_NOT_MEMBER' }, 'another authority');
  t.ok(membership.adoptCrl(authority.revoke(hexId(peer))));
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
  writeFileSync(join(directory, 'crl.pem'), authority.revoke(hexId(peer)));
  utimesSync(join(directory, 'crl.pem'), new Date(), new Date(Date.now() + 5_000));
  let heard = 0;
  membership.onCrlChange(() => heard++);
  t.ok(membership.reload(), 'the newer CRL is adopted');
  t.equal(heard, 1);
  const newer = authority.revoke(hexId(peer)); // same node again: a newer list all the same
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

import { generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import t from 'tap';
import { rawPublicKey } from '../../src/membership/membership.js';
import { buildCertificate, buildCrl, parseCrl } from '../../src/membership/x509.js';

const keys = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, raw: rawPublicKey(publicKey) };
};

t.test('certificates Node (OpenSSL) reads as written: names, validity, serial, key, authority flag, signature', async (t) => {
  const authority = keys();
  const member = keys();
  const notBefore = new Date('2026-01-01T00:00:00Z');
  const notAfter = new Date('2027-01-01T00:00:00Z');
  const caPem = buildCertificate({ serial: 1n, issuer: 'Ring', issuerKey: authority.raw, subject: 'Ring', subjectKey: authority.raw, notBefore, notAfter, authority: true }, (tbs) => sign(null, tbs, authority.privateKey));
  const pem = buildCertificate({ serial: 0xabcdefn, issuer: 'Ring', issuerKey: authority.raw, subject: 'node 12', subjectKey: member.raw, notBefore, notAfter, authority: false }, (tbs) => sign(null, tbs, authority.privateKey));
  const ca = new X509Certificate(caPem);
  const cert = new X509Certificate(pem);
  t.ok(ca.ca, 'the authority is a CA');
  t.notOk(cert.ca, 'a member is not');
  t.match(cert.subject, /CN=node 12/);
  t.match(cert.issuer, /CN=Ring/);
  t.equal(BigInt(`0x${cert.serialNumber}`), 0xabcdefn);
  t.equal(new Date(cert.validFrom).getTime(), notBefore.getTime());
  t.equal(new Date(cert.validTo).getTime(), notAfter.getTime());
  t.same(rawPublicKey(cert.publicKey), member.raw, 'it certifies the member\'s key');
  t.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'signed by the authority');
  t.ok(ca.verify(ca.publicKey), 'the authority signed itself');
  t.same(cert.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], 'for TLS servers and clients');
  const forged = new X509Certificate(buildCertificate({ serial: 2n, issuer: 'Ring', issuerKey: authority.raw, subject: 'node 13', subjectKey: member.raw, notBefore, notAfter, authority: false }, (tbs) => sign(null, tbs, keys().privateKey)));
  t.notOk(forged.verify(ca.publicKey), 'a certificate signed by another key does not verify');
});

t.test('a CRL reads back with its number and entries, and its signature covers the list', async (t) => {
  const authority = keys();
  const revoked = [{ serial: 7n, revokedAt: new Date('2026-03-01T12:00:00Z') }, { serial: 2n ** 62n, revokedAt: new Date('2026-03-02T12:00:00Z') }];
  const pem = buildCrl({ issuer: 'Ring', issuerKey: authority.raw, number: 9n, thisUpdate: new Date('2026-03-03T00:00:00Z'), nextUpdate: new Date('2036-03-03T00:00:00Z'), revoked }, (tbs) => sign(null, tbs, authority.privateKey));
  const crl = parseCrl(pem);
  t.equal(crl.number, 9n);
  t.same(crl.revoked, revoked);
  t.equal(crl.nextUpdate.toISOString(), '2036-03-03T00:00:00.000Z');
  const empty = parseCrl(buildCrl({ issuer: 'Ring', issuerKey: authority.raw, number: 1n, thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 1e9), revoked: [] }, (tbs) => sign(null, tbs, authority.privateKey)));
  t.same(empty.revoked, [], 'an empty list omits its entries');
  t.throws(() => parseCrl('-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n'), RangeError);
});

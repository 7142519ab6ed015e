import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import t from 'tap';
import { buildCertificate, readMemberCertificate } from '../../src/membership/certificate.js';
import { rawPublicKey } from '../../src/membership/membership.js';

const keys = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, raw: rawPublicKey(publicKey) };
};
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** An Ed25519 key from a fixed seed byte: Ed25519 signs deterministically, so the certificates below are fixed bytes. */
const seeded = (seed: number) => {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, Buffer.alloc(32, seed)]), format: 'der', type: 'pkcs8' });
  return { privateKey, raw: rawPublicKey(createPublicKey(privateKey)) };
};
const der = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);

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
  t.throws(() => buildCertificate({ serial: 3n, issuer: 'Ring', issuerKey: authority.raw, subject: 'x', subjectKey: new Uint8Array(31), notBefore, notAfter, authority: false }, (tbs) => sign(null, tbs, authority.privateKey)), RangeError);
});

/*
 * The profile peer links depend on, pinned byte for byte: these are the certificates the
 * earlier hand-written DER encoder produced for the same keys, names and dates (v3; Ed25519
 * without parameters; O and CN as UTF8String, one RDN each; basicConstraints cA with
 * pathLen 0 for the authority, empty for a member, critical; keyUsage keyCertSign+cRLSign or
 * digitalSignature, critical; extendedKeyUsage serverAuth+clientAuth for a member; SKI and AKI
 * as SHA-1 of the key). OpenSSL accepted them on the peer links, so it accepts these.
 */
const AUTHORITY_PEM = `-----BEGIN CERTIFICATE-----
MIIBjTCCAT+gAwIBAgIBATAFBgMrZXAwPDEXMBUGA1UECgwORmxvd2NoYWluIHJp
bmcxITAfBgNVBAMMGEZsb3djaGFpbiByaW5nIGF1dGhvcml0eTAeFw0yNjAxMDEw
MDAwMDBaFw0zNjAxMDEwMDAwMDBaMDwxFzAVBgNVBAoMDkZsb3djaGFpbiByaW5n
MSEwHwYDVQQDDBhGbG93Y2hhaW4gcmluZyBhdXRob3JpdHkwKjAFBgMrZXADIQCK
iOPddAnxlf1S2y08ul1yymcJvx2UEhvzdIgBtA9vXKNmMGQwEgYDVR0TAQH/BAgw
BgEB/wIBADAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFJrRng8W7vcUy5DG8ZXb
zmbpRYD5MB8GA1UdIwQYMBaAFJrRng8W7vcUy5DG8ZXbzmbpRYD5MAUGAytlcANB
AAkpoY9KkjdjZyfArpG0LYUV5tl6DX4EXvFxD3KM73KSlvUmCfdzJkHyoaWK9aIk
iCG12ViRH4aCAfxeSJfXGQM=
-----END CERTIFICATE-----
`;
const MEMBER_PEM = `-----BEGIN CERTIFICATE-----
MIIBwzCCAXWgAwIBAgIJAIAAAAAAAAABMAUGAytlcDA8MRcwFQYDVQQKDA5GbG93
Y2hhaW4gcmluZzEhMB8GA1UEAwwYRmxvd2NoYWluIHJpbmcgYXV0aG9yaXR5MB4X
DTI2MDEwMTAwMDAwMFoXDTI3MDEwMTAwMDAwMFowUTEXMBUGA1UECgwORmxvd2No
YWluIHJpbmcxNjA0BgNVBAMMLW5vZGUgMDAxMTIyMzM0NDU1NjY3Nzg4OTlhYWJi
Y2NkZGVlZmYwMDExMjIzMzAqMAUGAytlcAMhAIE5dw6ofRdfVqNUZsNMfszLjYqR
tO43ol32D1uPybOUo38wfTAMBgNVHRMBAf8EAjAAMA4GA1UdDwEB/wQEAwIHgDAd
BgNVHSUEFjAUBggrBgEFBQcDAQYIKwYBBQUHAwIwHQYDVR0OBBYEFGloTlHaVfFu
U1yq3MDFxawXc8OnMB8GA1UdIwQYMBaAFJrRng8W7vcUy5DG8ZXbzmbpRYD5MAUG
AytlcANBAO8/8j9/q+S1L9BffeMkC/hsgLaVgtlghB/yiLC+retKaFC/PFH/zEhG
aEuzzHsUD9/i6lZ+CoQw/L9lnq7fiQY=
-----END CERTIFICATE-----
`;

t.test('the certificate profile is unchanged, byte for byte', async (t) => {
  const authority = seeded(1);
  const member = seeded(2);
  const notBefore = new Date('2026-01-01T00:00:00Z');
  const signer = (tbs: Uint8Array) => sign(null, tbs, authority.privateKey);
  const name = 'Flowchain ring authority';
  t.equal(buildCertificate({ serial: 1n, issuer: name, issuerKey: authority.raw, subject: name, subjectKey: authority.raw, notBefore, notAfter: new Date('2036-01-01T00:00:00Z'), authority: true }, signer), AUTHORITY_PEM, 'the authority\'s');
  t.equal(
    // A serial with its high bit set needs a leading zero octet to stay positive (X.690 §8.3).
    buildCertificate({ serial: 0x8000000000000001n, issuer: name, issuerKey: authority.raw, subject: 'node 00112233445566778899aabbccddeeff00112233', subjectKey: member.raw, notBefore, notAfter: new Date('2027-01-01T00:00:00Z'), authority: false }, signer),
    MEMBER_PEM,
    'a member\'s',
  );
  const late = new X509Certificate(buildCertificate({ serial: 5n, issuer: name, issuerKey: authority.raw, subject: 'x', subjectKey: member.raw, notBefore: new Date('2049-12-31T23:59:59.999Z'), notAfter: new Date('2051-06-01T12:00:00Z'), authority: false }, signer));
  t.equal(new Date(late.validFrom).toISOString(), '2049-12-31T23:59:59.000Z', 'UTCTime through 2049, in whole seconds');
  t.equal(new Date(late.validTo).toISOString(), '2051-06-01T12:00:00.000Z', 'GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)');
});

t.test('a membership certificate yields its certified id and key, and nothing else does', async (t) => {
  const authority = seeded(1);
  const member = seeded(2);
  t.same(readMemberCertificate(der(MEMBER_PEM)), { id: 0x00112233445566778899aabbccddeeff00112233n, key: member.raw });
  t.equal(readMemberCertificate(der(AUTHORITY_PEM)), undefined, 'the authority\'s name is no member\'s');
  const withSubject = (subject: string) =>
    der(buildCertificate({ serial: 9n, issuer: 'Ring', issuerKey: authority.raw, subject, subjectKey: member.raw, notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z'), authority: false }, (tbs) => sign(null, tbs, authority.privateKey)));
  for (const subject of ['node 00112233445566778899AABBCCDDEEFF00112233', 'node 12', `node ${'a'.repeat(40)} `, `node ${'a'.repeat(41)}`, `${'a'.repeat(40)}`]) {
    t.equal(readMemberCertificate(withSubject(subject)), undefined, JSON.stringify(subject));
  }
  t.equal(readMemberCertificate(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01)), undefined, 'not a certificate');
  t.equal(readMemberCertificate(new Uint8Array(0)), undefined, 'nothing');
});

import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { TBSCertList } from '@peculiar/asn1-x509';
import t from 'tap';
import { buildCrl, verifyCrl, type CrlSpec } from '../../src/membership/crl.js';
import { rawPublicKey } from '../../src/membership/membership.js';
import { fromPem, toPem } from '../../src/membership/pkix.js';

const keys = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, raw: rawPublicKey(publicKey) };
};
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const seeded = (seed: number) => {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, Buffer.alloc(32, seed)]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, raw: rawPublicKey(publicKey) };
};

/*
 * A CRL the earlier hand-written DER encoder wrote (authority key from seed 1, number 2, one
 * entry): v2, Ed25519, the ring's issuer name, UTCTime dates, AKI and crlNumber extensions.
 */
const CRL_PEM = `-----BEGIN X509 CRL-----
MIIBAjCBtQIBATAFBgMrZXAwPDEXMBUGA1UECgwORmxvd2NoYWluIHJpbmcxITAf
BgNVBAMMGEZsb3djaGFpbiByaW5nIGF1dGhvcml0eRcNMjYwMTAxMDAwMDAwWhcN
MzYwMTAxMDAwMDAwWjAcMBoCCQCAAAAAAAAAARcNMjYwMjAxMDAwMDAwWqAvMC0w
HwYDVR0jBBgwFoAUmtGeDxbu9xTLkMbxldvOZulFgPkwCgYDVR0UBAMCAQIwBQYD
K2VwA0EA5Rbhh+VfWpsxlRVau1iaF0Du2rkiWhX0cMs32AQtX0COprtQeNLJrCpH
Mcb9j7Ql3IlmxSjS14kdJOiNpLZvCw==
-----END X509 CRL-----
`;

/** The signed envelope's parts: tbsCertList's bytes and where the trailing 64-byte Ed25519 signature sits. */
function split(der: Uint8Array): { tbs: Uint8Array; signatureAt: number } {
  const header = (der[1]! & 0x80) === 0 ? 2 : 2 + (der[1]! & 0x7f);
  // AlgorithmIdentifier (7 bytes), BIT STRING header and unused-bits octet (3), signature (64).
  return { tbs: der.subarray(header, der.length - 74), signatureAt: der.length - 64 };
}

/** `der` with one hex pattern replaced (same length), as a tamperer would. */
function replaceHex(der: Uint8Array, from: string, to: string): Uint8Array {
  const hex = Buffer.from(der).toString('hex');
  if (!hex.includes(from) || from.length !== to.length) throw new Error('test fixture: pattern not found');
  return Uint8Array.from(Buffer.from(hex.replace(from, to), 'hex'));
}

t.test('a CRL reads back with its number and entries, once its signature verifies', async (t) => {
  const authority = keys();
  const revoked = [{ serial: 7n, revokedAt: new Date('2026-03-01T12:00:00Z') }, { serial: 2n ** 63n, revokedAt: new Date('2026-03-02T12:00:00Z') }];
  const spec: CrlSpec = { issuer: 'Ring', issuerKey: authority.raw, number: 9n, thisUpdate: new Date('2026-03-03T00:00:00Z'), nextUpdate: new Date('2056-03-03T00:00:00Z'), revoked };
  const pem = buildCrl(spec, (tbs) => sign(null, tbs, authority.privateKey));
  const crl = verifyCrl(pem, authority.publicKey);
  t.equal(crl?.number, 9n);
  t.same(crl?.revoked, revoked);
  t.equal(crl?.thisUpdate.toISOString(), '2026-03-03T00:00:00.000Z');
  t.equal(crl?.nextUpdate.toISOString(), '2056-03-03T00:00:00.000Z', 'GeneralizedTime from 2050');
  t.equal(crl?.pem, pem, 'what is kept is what was verified');
  const huge = verifyCrl(buildCrl({ ...spec, number: 2n ** 159n + 1n }, (tbs) => sign(null, tbs, authority.privateKey)), authority.publicKey);
  t.equal(huge?.number, 2n ** 159n + 1n, 'a 20-octet number is not rounded');
  const empty = buildCrl({ ...spec, revoked: [] }, (tbs) => sign(null, tbs, authority.privateKey));
  t.same(verifyCrl(empty, authority.publicKey)?.revoked, [], 'an empty list reads back empty');
  t.equal(AsnConvert.parse(split(fromPem('X509 CRL', empty)).tbs, TBSCertList).revokedCertificates, undefined, 'and omits its entries rather than writing an empty SEQUENCE');
  t.throws(() => buildCrl({ ...spec, number: -1n }, (tbs) => sign(null, tbs, authority.privateKey)), RangeError);
});

t.test('the CRL profile is unchanged, byte for byte', async (t) => {
  const authority = seeded(1);
  const spec: CrlSpec = { issuer: 'Flowchain ring authority', issuerKey: authority.raw, number: 2n, thisUpdate: new Date('2026-01-01T00:00:00Z'), nextUpdate: new Date('2036-01-01T00:00:00Z'), revoked: [{ serial: 0x8000000000000001n, revokedAt: new Date('2026-02-01T00:00:00Z') }] };
  t.equal(buildCrl(spec, (tbs) => sign(null, tbs, authority.privateKey)), CRL_PEM);
  t.same(verifyCrl(CRL_PEM, authority.publicKey)?.revoked, spec.revoked);
});

t.test('a CRL another authority signed, or none, is refused', async (t) => {
  const authority = seeded(1);
  const other = keys();
  t.equal(verifyCrl(CRL_PEM, other.publicKey), undefined, 'checked against another authority\'s key');
  // Another authority writing this authority's name and key identifier: the signature still tells.
  const impostor = buildCrl({ issuer: 'Flowchain ring authority', issuerKey: authority.raw, number: 99n, thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 1e9), revoked: [] }, (tbs) => sign(null, tbs, other.privateKey));
  t.equal(verifyCrl(impostor, authority.publicKey), undefined, 'issued in its name');
  for (const text of ['', 'garbage', '-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n', CRL_PEM.replace('X509 CRL', 'CERTIFICATE')]) {
    t.equal(verifyCrl(text, authority.publicKey), undefined, JSON.stringify(text.slice(0, 30)));
  }
});

t.test('a tampered CRL is refused before its number or entries are read', async (t) => {
  const authority = seeded(1);
  const der = fromPem('X509 CRL', CRL_PEM);
  const parse = t.capture(AsnConvert, 'parse', AsnConvert.parse.bind(AsnConvert));
  const listsParsed = () => parse.calls.filter((call) => call.args[1] === TBSCertList).length;

  // The revoked entry's serial retagged as an OCTET STRING: still well-formed BER, but no CRL's entry.
  const garbage = replaceHex(der, '0209008000000000000001', '0409008000000000000001');
  t.equal(verifyCrl(toPem('X509 CRL', garbage), authority.publicKey), undefined, 'a garbage entry list under the old signature');
  const number = replaceHex(der, '0603551d140403020102', '0603551d140403020109');
  t.equal(verifyCrl(toPem('X509 CRL', number), authority.publicKey), undefined, 'a raised number under the old signature');
  const badSignature = Uint8Array.from(der);
  badSignature[split(der).signatureAt]! ^= 0x01;
  t.equal(verifyCrl(toPem('X509 CRL', badSignature), authority.publicKey), undefined, 'a flipped signature bit');
  t.equal(listsParsed(), 0, 'none of them had its list parsed');

  t.ok(verifyCrl(CRL_PEM, authority.publicKey), 'the untampered list');
  t.equal(listsParsed(), 1, 'a list is parsed once its signature verified');

  // The authority's key over garbage: verified, then refused whole when it does not read as a CRL.
  const signedGarbage = Uint8Array.from(garbage);
  signedGarbage.set(sign(null, split(garbage).tbs, authority.privateKey), split(garbage).signatureAt);
  t.equal(verifyCrl(toPem('X509 CRL', signedGarbage), authority.publicKey), undefined, 'never a throw, never part of a list');
});

t.test('only a CRL as the authority wrote it is kept: one PEM block, canonical DER', async (t) => {
  const authority = seeded(1);
  const der = fromPem('X509 CRL', CRL_PEM);
  t.ok(verifyCrl(`\n${CRL_PEM}\n`, authority.publicKey), 'whitespace around the block is fine');
  t.equal(verifyCrl(CRL_PEM.replaceAll('\n', '\r\n'), authority.publicKey)?.pem, CRL_PEM, 'CRLF lines are read, and kept as the canonical armour');
  t.equal(verifyCrl(CRL_PEM + CRL_PEM, authority.publicKey), undefined, 'a second block (TLS would load it too)');
  t.equal(verifyCrl(`junk\n${CRL_PEM}`, authority.publicKey), undefined, 'text before the block');
  t.equal(verifyCrl(toPem('X509 CRL', Buffer.concat([der, Buffer.of(0x05, 0x00)])), authority.publicKey), undefined, 'bytes after the DER');
  // The same signed list inside a non-minimal outer length (the signature does not cover it).
  const header = der[1]! & 0x7f;
  const longer = Buffer.concat([Buffer.of(0x30, 0x80 | (header + 1), 0x00), der.subarray(2)]);
  t.equal(verifyCrl(toPem('X509 CRL', longer), authority.publicKey), undefined, 'a non-DER length in the envelope');
});

import fc from 'fast-check';
import t from 'tap';
import { children, element, fromPem, integer, oid, read, readInteger, readTime, sequence, time, toPem } from '../../src/membership/der.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

t.test('integers are minimal two\'s complement, positive', async (t) => {
  t.equal(hex(integer(0n)), '020100');
  t.equal(hex(integer(127n)), '02017f');
  t.equal(hex(integer(128n)), '02020080', 'the high bit set needs a leading zero');
  t.equal(hex(integer(256n)), '02020100');
  t.equal(hex(integer(Uint8Array.of(0, 0, 5))), '020105', 'leading zeros are dropped');
  t.throws(() => integer(-1n), RangeError);
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 160n }), (n) => readInteger(read(integer(n))) === n), { seed: 5, numRuns: 500 });
});

t.test('object identifiers and lengths as X.690 writes them', async (t) => {
  t.equal(hex(oid('1.2.840.113549')), '06062a864886f70d', 'the RSA arc, the textbook example');
  t.equal(hex(oid('1.3.101.112')), '06032b6570', 'id-Ed25519 (RFC 8410)');
  t.equal(hex(element(0x04, new Uint8Array(200))).slice(0, 6), '0481c8', 'a long form length');
  t.equal(hex(element(0x04, new Uint8Array(300))).slice(0, 8), '0482012c');
  const nested = read(sequence(integer(1n), integer(2n)));
  t.same(children(nested).map(readInteger), [1n, 2n]);
  t.throws(() => read(Uint8Array.of(0x30, 0x05, 0x02)), RangeError, 'a truncated element');
});

t.test('times: UTCTime through 2049, GeneralizedTime after, both read back', async (t) => {
  t.equal(Buffer.from(time(new Date('2026-12-01T19:00:05Z'))).toString('latin1').slice(2), '261201190005Z');
  t.equal(time(new Date('2051-01-01T00:00:00Z'))[0], 0x18);
  fc.assert(
    fc.property(fc.integer({ min: Date.UTC(1950, 0, 1) / 1000, max: Date.UTC(9000, 0, 1) / 1000 }), (seconds) => readTime(read(time(new Date(seconds * 1000)))).getTime() === seconds * 1000),
    { seed: 6, numRuns: 500 },
  );
});

t.test('PEM armour round-trips and names its label', async (t) => {
  const der = sequence(integer(42n));
  const pem = toPem('X509 CRL', der);
  t.match(pem, /^-----BEGIN X509 CRL-----\n[A-Za-z0-9+/=\n]+-----END X509 CRL-----\n$/);
  t.same(fromPem('X509 CRL', pem), der);
  t.throws(() => fromPem('CERTIFICATE', pem), RangeError);
});

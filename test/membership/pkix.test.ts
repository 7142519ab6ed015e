import fc from 'fast-check';
import { AsnConvert } from '@peculiar/asn1-schema';
import t from 'tap';
import { fromPem, integerBytes, integerValue, toPem, x509Time } from '../../src/membership/pkix.js';

const hex = (buffer: ArrayBuffer) => Buffer.from(buffer).toString('hex');

t.test('INTEGER contents are minimal two\'s complement, positive, and read back', async (t) => {
  t.equal(hex(integerBytes(0n)), '00');
  t.equal(hex(integerBytes(127n)), '7f');
  t.equal(hex(integerBytes(128n)), '0080', 'the high bit set needs a leading zero');
  t.equal(hex(integerBytes(256n)), '0100');
  t.equal(integerValue(Uint8Array.of(0xff).buffer), -1n, 'read as two\'s complement');
  t.throws(() => integerBytes(-1n), RangeError);
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 160n }), (n) => integerValue(integerBytes(n)) === n), { seed: 5, numRuns: 500 });
});

t.test('times: UTCTime from 1950 through 2049, GeneralizedTime otherwise, whole seconds', async (t) => {
  const der = (date: Date) => Buffer.from(AsnConvert.serialize(x509Time(date)));
  t.equal(der(new Date('2026-12-01T19:00:05.999Z')).toString('latin1').slice(2), '261201190005Z', 'the fraction dropped');
  t.equal(der(new Date('2049-12-31T23:59:59Z'))[0], 0x17);
  t.equal(der(new Date('2050-01-01T00:00:00Z'))[0], 0x18);
  t.equal(der(new Date('1949-12-31T23:59:59Z'))[0], 0x18);
  fc.assert(
    fc.property(fc.integer({ min: Date.UTC(1950, 0, 1) / 1000, max: Date.UTC(9000, 0, 1) / 1000 }), (seconds) => x509Time(new Date(seconds * 1000 + 500)).getTime().getTime() === seconds * 1000),
    { seed: 6, numRuns: 500 },
  );
});

t.test('PEM armour round-trips, and only one block of the label is read', async (t) => {
  const der = Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x2a);
  const pem = toPem('X509 CRL', der);
  t.match(pem, /^-----BEGIN X509 CRL-----\n[A-Za-z0-9+/=\n]+-----END X509 CRL-----\n$/);
  t.same(fromPem('X509 CRL', pem), der);
  t.same(fromPem('X509 CRL', `  \n${pem}\n`), der, 'whitespace around it');
  t.same(toPem('X', new Uint8Array(100)).split('\n').map((line) => line.length), [17, 64, 64, 8, 15, 0], '64 characters a line (RFC 7468 §2)');
  t.throws(() => fromPem('CERTIFICATE', pem), RangeError, 'another label');
  t.throws(() => fromPem('X509 CRL', pem + pem), RangeError, 'two blocks');
  t.throws(() => fromPem('X509 CRL', `x${pem}`), RangeError, 'text before');
  t.throws(() => fromPem('X509 CRL', pem.replace('MAMCASo=', 'MAMC*So=')), RangeError, 'not base64');
  t.throws(() => fromPem('X509 CRL', pem.replace('MAMCASo=', 'MAMCAS=o')), RangeError, 'padding inside');
});

import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { certifiedRingId, memberCommonName, RING_ID_DOMAIN, ringIdHex, ringIdMessage, ringIdOfCommonName } from '../../src/membership/certified-ring-id.js';
import { keyIdOf } from '../../src/node-identity.js';

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** An Ed25519 key from a fixed seed byte, so every run signs the same. */
const keyOf = (seed: number) => createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, Buffer.alloc(32, seed)]), format: 'der', type: 'pkcs8' });
const rawOf = (seed: number) => new Uint8Array(createPublicKey(keyOf(seed)).export({ format: 'der', type: 'spki' }).subarray(12));
const signerOf = (seed: number) => (message: Uint8Array) => new Uint8Array(sign(null, message, keyOf(seed)));

t.test('the id is SHA-1 of the authority\'s signature over the domain-separated key', async (t) => {
  const key = rawOf(2);
  const message = ringIdMessage(key);
  t.same(message, Buffer.concat([Buffer.from('flowchain ring id v1:', 'utf8'), key]), 'UTF-8 domain, then the 32 key bytes');
  t.equal(RING_ID_DOMAIN, 'flowchain ring id v1:');
  const expected = BigInt(`0x${createHash('sha1').update(sign(null, message, keyOf(1))).digest('hex')}`);
  t.equal(certifiedRingId(key, signerOf(1)), expected);
  const signed: Uint8Array[] = [];
  certifiedRingId(key, (m) => {
    signed.push(m);
    return signerOf(1)(m);
  });
  t.same(signed, [message], 'the signer is asked for the domain-separated message only, never the bare key');
  t.throws(() => certifiedRingId(new Uint8Array(31), signerOf(1)), RangeError);
});

t.test('one authority gives a key the same id every time; two authorities give it different ids', async (t) => {
  const key = rawOf(2);
  t.equal(certifiedRingId(key, signerOf(1)), certifiedRingId(key, signerOf(1)), 'Ed25519 is deterministic (RFC 8032)');
  t.not(certifiedRingId(key, signerOf(1)), certifiedRingId(key, signerOf(3)), 'the id depends on the authority\'s key, not only the node\'s');
  t.not(certifiedRingId(key, signerOf(1)), keyIdOf(key), 'and is not the key\'s own hash, which a member could grind for');
  t.not(certifiedRingId(rawOf(4), signerOf(1)), certifiedRingId(key, signerOf(1)), 'different keys, different ids');
});

t.test('a member\'s common name is exactly "node " and 40 lower-case hex digits', async (t) => {
  const id = 0x00112233445566778899aabbccddeeff00112233n;
  t.equal(memberCommonName(id), 'node 00112233445566778899aabbccddeeff00112233');
  t.equal(ringIdOfCommonName(memberCommonName(id)), id);
  t.equal(memberCommonName(1n), `node ${'0'.repeat(39)}1`, 'leading zeros kept');
  for (const bad of [
    'node 00112233445566778899AABBCCDDEEFF00112233',
    'node 00112233445566778899aabbccddeeff0011223',
    'node 00112233445566778899aabbccddeeff001122334',
    'node  00112233445566778899aabbccddeeff0011223',
    'Node 00112233445566778899aabbccddeeff00112233',
    'node 00112233445566778899aabbccddeeff00112233 ',
    'node 00112233445566778899aabbccddeeff00112233\n',
    ' node 00112233445566778899aabbccddeeff00112233',
    'node 0x112233445566778899aabbccddeeff00112233',
    '00112233445566778899aabbccddeeff00112233',
    '',
  ]) {
    t.equal(ringIdOfCommonName(bad), undefined, JSON.stringify(bad));
  }
  t.throws(() => ringIdHex(1n << 160n), RangeError);
  t.throws(() => ringIdHex(-1n), RangeError);
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 160n) - 1n }), (n) => ringIdOfCommonName(memberCommonName(n)) === n), { seed: 7, numRuns: 500 });
  fc.assert(
    fc.property(fc.string(), (text) => {
      const id = ringIdOfCommonName(text);
      return id === undefined || memberCommonName(id) === text;
    }),
    { seed: 8, numRuns: 500 },
  );
});

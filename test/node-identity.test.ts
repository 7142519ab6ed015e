import { createHash } from 'node:crypto';
import t from 'tap';
import { NodeIdentity, keyIdOf } from '../src/node-identity.js';
import { Database } from '../src/storage.js';
import { tempDir } from './helpers/test-servient.js';

const secret = Uint8Array.from({ length: 32 }, (_, i) => i);

t.test('the ring id is the SHA-1 of the Ed25519 public key, computed independently', async (t) => {
  const identity = NodeIdentity.fromSecretKey(secret);
  const expected = BigInt(`0x${createHash('sha1').update(identity.publicKey).digest('hex')}`);
  t.equal(identity.id, expected);
  t.equal(keyIdOf(identity.publicKey), expected);
  t.equal(identity.publicKey.length, 32);
});

t.test('signatures verify with the right key only', async (t) => {
  const a = NodeIdentity.fromSecretKey(secret);
  const b = NodeIdentity.generate();
  const message = new TextEncoder().encode('hello ring');
  const signature = a.sign(message);
  t.ok(NodeIdentity.verify(signature, message, a.publicKey));
  t.notOk(NodeIdentity.verify(signature, message, b.publicKey));
  t.notOk(NodeIdentity.verify(signature, new TextEncoder().encode('hello rinG'), a.publicKey));
  t.notOk(NodeIdentity.verify(new Uint8Array(3), message, a.publicKey), 'garbage never throws');
  t.throws(() => NodeIdentity.fromSecretKey(new Uint8Array(31)), RangeError);
});

t.test('the identity is created once and kept in the database', async (t) => {
  const dir = tempDir(t);
  const first = await Database.open(dir);
  const created = await NodeIdentity.load(first.section('identity'));
  await first.close();
  const second = await Database.open(dir);
  t.teardown(() => second.close());
  t.equal((await NodeIdentity.load(second.section('identity'))).id, created.id);
});

t.test('keys and signatures match RFC 8032 §7.1 TEST 1 (Ed25519, empty message)', async (t) => {
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
  const identity = NodeIdentity.fromSecretKey(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'));
  t.equal(hex(identity.publicKey), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  const signature = identity.sign(new Uint8Array(0));
  t.equal(hex(signature), 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b');
  t.ok(NodeIdentity.verify(signature, new Uint8Array(0), identity.publicKey));
});

t.test('malformed public keys are refused without throwing', async (t) => {
  const a = NodeIdentity.fromSecretKey(secret);
  const message = new TextEncoder().encode('m');
  const signature = a.sign(message);
  t.notOk(NodeIdentity.verify(signature, message, a.publicKey.subarray(1)), '31-byte key');
  t.notOk(NodeIdentity.verify(signature, message, new Uint8Array(32).fill(0xff)), 'not a curve point');
  t.notOk(NodeIdentity.verify(signature.subarray(1), message, a.publicKey), 'short signature');
});

import { createHash } from 'node:crypto';
import t from 'tap';
import { NodeIdentity, ringIdOf } from '../src/node-identity.js';
import { Database } from '../src/storage.js';
import { tempDir } from './helpers/test-servient.js';

const secret = Uint8Array.from({ length: 32 }, (_, i) => i);

t.test('the ring id is the SHA-1 of the Ed25519 public key, computed independently', async (t) => {
  const identity = NodeIdentity.fromSecretKey(secret);
  const expected = BigInt(`0x${createHash('sha1').update(identity.publicKey).digest('hex')}`);
  t.equal(identity.id, expected);
  t.equal(ringIdOf(identity.publicKey), expected);
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

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import { admitNodeData, loadIdentity } from '../../src/membership/admit-node.js';
import { Membership } from '../../src/membership/membership.js';
import { RingAuthority } from '../../src/membership/ring-authority.js';
import { tempDir } from '../helpers/test-servient.js';

const components = { now: () => new Date(), randomBytes: (n: number) => new Uint8Array(randomBytes(n)) };

t.test('admitting a stopped node\'s data writes its membership and answers the id the authority certified', async (t) => {
  const data = tempDir(t);
  const authority = RingAuthority.create(join(tempDir(t), 'authority'), components);
  const id = await admitNodeData(authority, data, 10);
  const identity = await loadIdentity(data);
  t.match(id, /^[0-9a-f]{40}$/);
  t.equal(BigInt(`0x${id}`), authority.ringIdFor(identity.publicKey));
  t.not(BigInt(`0x${id}`), identity.id, 'not the hash of the node\'s own key');
  t.equal(Membership.load(join(data, 'ring'), identity.publicKey)?.ringId, BigInt(`0x${id}`), 'the membership written carries it');
  t.same(authority.issued.map((entry) => entry.nodeId), [id], 'and issued.json records it, for revoke');
  t.equal(await admitNodeData(authority, data), id, 'admitted again: the same place');
});

import { createHash } from 'node:crypto';
import t from 'tap';
import { hostedThingId, hostNamespace, isUuid, nameBasedId } from '../../src/td/thing-id.js';

t.test('matches the RFC 9562 version-5 UUID computed independently', async (t) => {
  // RFC 9562 appendix A.4 uses the DNS namespace and "www.example.com".
  const dns = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
  t.equal(nameBasedId(dns, 'www.example.com'), 'urn:uuid:2ed6657d-e927-568b-95e1-2665a8aea6a2');
  // and once more by hand with node:crypto
  const hash = createHash('sha1').update(Buffer.from(dns.replaceAll('-', ''), 'hex')).update('thermostat').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  t.equal(nameBasedId(dns, 'thermostat'), `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`);
});

t.test('is stable and differs per name and namespace', async (t) => {
  const ns = '0f8fad5b-d9cb-469f-a165-70867728950e';
  t.equal(nameBasedId(ns, 'a'), nameBasedId(ns, 'a'));
  t.not(nameBasedId(ns, 'a'), nameBasedId(ns, 'b'));
  t.not(nameBasedId(ns, 'a'), nameBasedId('7c9e6679-7425-40de-944b-e07fc1f90ae7', 'a'));
});

t.test('isUuid accepts canonical UUIDs only', async (t) => {
  t.ok(isUuid('0f8fad5b-d9cb-469f-a165-70867728950e'));
  t.notOk(isUuid('0f8fad5b-d9cb-469f-a165-70867728950'));
  t.notOk(isUuid(42));
  t.notOk(isUuid(undefined));
});

t.test('a hosted Thing\'s id derives from its host\'s key: stable, and no other key yields it', async (t) => {
  const alice = 'a1'.repeat(32);
  const bob = 'b0'.repeat(32);
  t.ok(isUuid(hostNamespace(alice)), 'the namespace is a UUID');
  t.equal(hostNamespace(alice.toUpperCase()), hostNamespace(alice), 'of the key, whatever the case of its hex');
  t.equal(hostedThingId(alice, 'thermostat'), nameBasedId(hostNamespace(alice), 'thermostat'), 'the slug\'s name-based id in that namespace');
  t.not(hostedThingId(alice, 'thermostat'), hostedThingId(bob, 'thermostat'), 'another key, another id');
  t.not(hostedThingId(alice, 'thermostat'), hostedThingId(alice, 'plug'), 'another slug, another id');
});

import t from 'tap';
import { bytesToHex } from '@noble/hashes/utils.js';
import { signThingEntry, thingKey, THING_ENTRIES, type EntryInit } from '../../src/directory/thing-entry.js';
import { NodeIdentity } from '../../src/node-identity.js';
import { hostedThingId } from '../../src/td/thing-id.js';

const host = NodeIdentity.generate();
const squatter = NodeIdentity.generate();
const thingId = hostedThingId(bytesToHex(host.publicKey), 'thermostat');
const td = (id: string) => ({ '@context': 'https://www.w3.org/2022/wot/td/v1.1', id, title: 'Thermostat', securityDefinitions: { n: { scheme: 'nosec' } }, security: 'n' }) as never;
const entry = (who: NodeIdentity, init: Partial<EntryInit> = {}) => signThingEntry(who, { thingId, td: td(init.thingId ?? thingId), url: 'http://127.0.0.1:1/', version: 1, expires: 60_000, ...init });

t.test('an entry that names its slug proves that its publisher hosts the Thing', async (t) => {
  const bound = entry(host, { name: 'thermostat' });
  t.same(THING_ENTRIES.check(thingKey(thingId), bound), bound, 'the host\'s own entry checks');
  t.throws(() => THING_ENTRIES.check(thingKey(thingId), entry(squatter, { name: 'thermostat' })), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID', field: 'name' }, 'another key cannot claim the slug');
  t.throws(() => THING_ENTRIES.check(thingKey(thingId), entry(host, { name: 'plug' })), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID', field: 'name' }, 'nor another slug');
  t.throws(() => THING_ENTRIES.check(thingKey(thingId), entry(host, { name: 'thermostat', registration: { created: 0, modified: 0 } })), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID', field: 'name' }, 'a registration names no host');
  t.throws(() => THING_ENTRIES.check(thingKey(thingId), { ...bound, name: 'plug' }), { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID' }, 'a name changed after signing');
});

t.test('the host\'s proven entry takes the place of another member\'s earlier one; nothing else does', async (t) => {
  const replaces = THING_ENTRIES.replaces!;
  const squat = entry(squatter, { version: 5 });
  const proven = entry(host, { name: 'thermostat' });
  t.ok(replaces(proven, squat), 'an earlier entry of another member for the host\'s id gives way');
  t.notOk(replaces(squat, proven), 'and cannot come back');
  t.notOk(replaces(entry(squatter, { version: 9 }), entry(host)), 'between unproven entries, the first signed one stays');
  t.ok(replaces(entry(host, { name: 'thermostat', version: 2 }), proven), 'the host renews its own');
  t.notOk(replaces(entry(host, { version: 0 }), proven), 'but not with an older version');
});

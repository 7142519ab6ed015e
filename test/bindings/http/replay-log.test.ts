import fc from 'fast-check';
import t from 'tap';
import { formatNotificationId, parseNotificationId, REPLAY_CAPACITY, ReplayLog } from '../../../src/bindings/http/replay-log.js';
import { createServient } from '../../helpers/test-servient.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { jsonRequest } from './fixtures.js';

const START = Date.UTC(2026, 0, 1);

t.test('an id is an RFC 3339 time with six fractional digits and reads back as itself', async (t) => {
  t.equal(formatNotificationId(START * 1000), '2026-01-01T00:00:00.000000Z');
  t.equal(formatNotificationId(START * 1000 + 1_234_567), '2026-01-01T00:00:01.234567Z');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: Date.UTC(9999, 11, 31) * 1000 }), (id) => parseNotificationId(formatNotificationId(id)) === id),
  );
});

t.test('anything else is not an id', async (t) => {
  for (const text of ['', '42', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.0000000Z', '2026-01-01T00:00:00.000000+01:00', '2026-02-30T00:00:00.000000Z', '2026-01-01T24:00:00.000000Z', ' 2026-01-01T00:00:00.000000Z', 'x2026-01-01T00:00:00.000000Z', undefined, 17, ['2026-01-01T00:00:00.000000Z']]) {
    t.equal(parseNotificationId(text), undefined, JSON.stringify(text));
  }
});

t.test('one change has one id on every listener; changes in one millisecond get rising ids; every Thing shares the clock', async (t) => {
  const clock = new ManualClock();
  const { servient } = await createServient(t, { clock });
  const log = new ReplayLog(clock);
  const thermostat = servient.registry.get('thermostat');
  const plug = servient.registry.get('smart-plug');
  log.record(thermostat);
  log.record(plug);
  t.teardown(() => log.stop());
  const a: number[] = [];
  const b: number[] = [];
  const plugged: number[] = [];
  const stopPlug = log.follow(plug, [{ kind: 'property', name: 'on' }], (n) => plugged.push(n.id));
  const stopA = log.follow(thermostat, [{ kind: 'property', name: 'mode' }, { kind: 'property', name: 'targetTemperature' }], (n) => a.push(n.id));
  const stopB = log.follow(thermostat, [{ kind: 'property', name: 'mode' }], (n) => b.push(n.id));
  t.equal((await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties', { mode: 'cool', targetTemperature: 24 }))).statusCode, 204);
  t.equal((await servient.app.inject(jsonRequest('PUT', '/things/smart-plug/properties/on', true))).statusCode, 204);
  // The log began at START (its origin): ids come after it, one microsecond apart within a millisecond.
  t.same(a, [START * 1000 + 1, START * 1000 + 2], 'two changes in one millisecond: the second id is one microsecond later');
  t.same(b, [a[0]], 'another listener of the same change sees the same id');
  t.ok(plugged.length === 1 && plugged[0]! > a[1]!, 'the plug, another Thing, continues the same clock');
  stopA();
  stopB();
  stopPlug();
  t.same(log.replay(thermostat, [{ kind: 'property', name: 'mode' }, { kind: 'property', name: 'targetTemperature' }], 0).map((n) => n.data), ['cool', 24], 'kept once each, in order');
});

t.test(`each affordance keeps its last ${REPLAY_CAPACITY} notifications`, async (t) => {
  const clock = new ManualClock();
  const { servient } = await createServient(t, { clock });
  const log = new ReplayLog(clock);
  const thermostat = servient.registry.get('thermostat');
  log.record(thermostat);
  t.teardown(() => log.stop());
  for (let i = 0; i < REPLAY_CAPACITY + 20; i++) {
    clock.advance(1);
    await thermostat.writeProperty('targetTemperature', i % 2 === 0 ? 20 : 20.5);
  }
  await thermostat.writeProperty('mode', 'off');
  const kept = log.replay(thermostat, [{ kind: 'property', name: 'targetTemperature' }], 0);
  t.equal(kept.length, REPLAY_CAPACITY);
  t.equal(kept[0]!.timestamp, START + 21, 'the oldest 20 are gone');
  t.equal(log.replay(thermostat, [{ kind: 'property', name: 'mode' }], 0).length, 1, 'another affordance keeps its own');
});

t.test('a resume point must be an id the node could have issued', async (t) => {
  const clock = new ManualClock();
  const log = new ReplayLog(clock);
  t.equal(log.resumePoint(formatNotificationId(log.position)), log.position, 'the current position');
  t.equal(log.resumePoint('2020-01-01T00:00:00.000000Z'), Date.UTC(2020, 0, 1) * 1000, 'an old one (from before a restart)');
  t.equal(log.resumePoint(formatNotificationId(log.position + 1)), undefined, 'one from the future');
  t.equal(log.resumePoint('yesterday'), undefined, 'a wrong shape');
});

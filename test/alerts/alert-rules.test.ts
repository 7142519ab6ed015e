/**
 * The rules' pure parts (which thresholds fit which properties, what satisfies a comparison)
 * and the engine's lifecycle on an in-memory section: rules watch only between start() and
 * stop(), and a hold time in progress dies with stop().
 */
import fc from 'fast-check';
import t from 'tap';
import { AlertRules, COMPARISONS, satisfies, thresholdProblem, type Comparison } from '../../src/alerts/alert-rules.js';
import { ExposedThing } from '../../src/thing/exposed-thing.js';
import { PropertyStore } from '../../src/thing/property-store.js';
import { ThingRegistry } from '../../src/thing/thing-registry.js';
import type { ThingDescription } from '../../src/td/thing-description.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { MemorySection } from '../helpers/memory-section.js';

t.test('thresholdProblem: an ordering comparison needs a number; a typed property a threshold of its type', async (t) => {
  const fits: [object, Comparison, number | boolean | string][] = [
    [{ type: 'number' }, '>', 3],
    [{ type: 'integer' }, '<=', 2.5],
    [{ type: 'number' }, '==', 0],
    [{ type: 'boolean' }, '!=', true],
    [{ type: 'string' }, '==', 'fault'],
    [{}, '==', 'anything'],
    [{}, '>=', 1],
  ];
  for (const [schema, comparison, threshold] of fits) t.equal(thresholdProblem(schema, comparison, threshold), undefined, `${JSON.stringify(schema)} ${comparison} ${JSON.stringify(threshold)}`);
  const refused: [object, Comparison, number | boolean | string][] = [
    [{ type: 'number' }, '>', '3'],
    [{ type: 'number' }, '==', true],
    [{ type: 'boolean' }, '==', 1],
    [{ type: 'boolean' }, '>', 1],
    [{ type: 'string' }, '<', 'b'],
    [{ type: 'string' }, '<', 1],
    [{}, '>', 'x'],
    [{ type: 'object' }, '==', 'x'],
    [{ type: 'array' }, '!=', 1],
    [{ type: 'null' }, '==', 'null'],
  ];
  for (const [schema, comparison, threshold] of refused) t.type(thresholdProblem(schema, comparison, threshold), 'string', `refused: ${JSON.stringify(schema)} ${comparison} ${JSON.stringify(threshold)}`);
});

t.test('satisfies compares as the comparison says; orderings hold for numbers only', async (t) => {
  fc.assert(
    fc.property(fc.double({ noNaN: true }), fc.double({ noNaN: true }), (value, threshold) => {
      const holds = (comparison: Comparison) => satisfies({ comparison, threshold }, value);
      return holds('>') === value > threshold && holds('>=') === value >= threshold && holds('<') === value < threshold && holds('<=') === value <= threshold && holds('==') === (value === threshold) && holds('!=') === (value !== threshold);
    }),
  );
  for (const comparison of ['>', '>=', '<', '<='] as const) t.notOk(satisfies({ comparison, threshold: 1 }, '5'), `a string is never ${comparison} a number`);
  t.ok(satisfies({ comparison: '==', threshold: 'fault' }, 'fault'));
  t.ok(satisfies({ comparison: '!=', threshold: true }, false));
  t.same([...COMPARISONS], ['>', '>=', '<', '<=', '==', '!=']);
});

t.test('rules watch only while started; stop drops a hold time in progress', async (t) => {
  const clock = new ManualClock();
  const registry = new ThingRegistry();
  const td = { '@context': 'https://www.w3.org/2022/wot/td/v1.1', title: 'Probe', properties: { level: { type: 'number', readOnly: true, observable: true } } } as ThingDescription;
  const probe = await ExposedThing.create({ store: new PropertyStore(new MemorySection()), clock }, { slug: 'probe', id: 'urn:dev:probe', td });
  registry.add(probe);
  const section = new MemorySection();
  const rules = await AlertRules.open({ section, clock, things: registry });
  const raised: unknown[] = [];
  rules.onChange((change) => change.kind === 'raised' && raised.push(change.alert));

  const rule = await rules.createRule({ thing: 'urn:dev:probe', property: 'level', comparison: '>', threshold: 10, holdMs: 1_000 });
  t.match(rule, { thing: 'urn:dev:probe', thingSlug: 'probe', holdMs: 1_000 });
  t.ok(section.data.has(`rule/${rule.id}`), 'stored before createRule answered');
  await probe.emitPropertyChange('level', 20);
  clock.advance(2_000);
  await rules.settled();
  t.same(raised, [], 'not started: the rule does not watch');

  await rules.start();
  await probe.emitPropertyChange('level', 21);
  clock.advance(500);
  await rules.stop();
  clock.advance(5_000);
  await rules.settled();
  t.same(raised, [], 'stopped half-way through the hold time: no alert');
  t.equal(clock.pending, 0, 'and no timer left behind');

  await rules.start();
  t.equal(clock.pending, 1, 'started again, the current value (21) starts the hold time');
  clock.advance(1_000);
  await rules.settled();
  t.match(raised, [{ rule: rule.id, value: 21 }]);
  t.ok(section.data.has(`alert/${rule.id}`), 'the alert is stored');
  await rules.stop();
});

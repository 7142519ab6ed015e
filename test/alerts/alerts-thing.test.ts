/**
 * The node's `alerts` Thing on a real servient (LevelDB, manual clock): rules created through
 * its actions fire on the values of a hosted Thing (at once, or after their hold time), their
 * alerts are acknowledged and cleared, a cleared rule fires again only after its condition was
 * false, everything survives a restart without a second alert, and input the node cannot
 * follow is refused over HTTP with its code.
 */
import type { Response as LightMyRequestResponse } from 'light-my-request';
import t, { type Test } from 'tap';
import { loadBundledContexts, loadTdSchema } from '../../src/bundled.js';
import type { ErrorCode } from '../../src/errors.js';
import { TdValidator } from '../../src/td/td-validator.js';
import { TdVocabulary } from '../../src/td/td-vocabulary.js';
import type { ThingDescription } from '../../src/td/thing-description.js';
import type { ExposedThing } from '../../src/thing/exposed-thing.js';
import type { Servient } from '../../src/servient.js';
import { AUTH_TOKEN, assertProblem, body, jsonRequest, openSse } from '../bindings/http/fixtures.js';
import type { ManualClock } from '../helpers/manual-clock.js';
import { createServient, tempDir, type TestOptions } from '../helpers/test-servient.js';

/** A Thing to put rules on: its device is the test, which emits the values. */
const PROBE = {
  '@context': ['https://www.w3.org/2022/wot/td/v1.1', 'https://w3id.org/flowchain/v1'],
  title: 'Probe',
  properties: {
    level: { type: 'number', readOnly: true, observable: true, recorded: false },
    on: { type: 'boolean', readOnly: true, observable: true, recorded: false },
    mode: { type: 'string', readOnly: true, observable: true, recorded: false },
    hidden: { type: 'number', readOnly: true, recorded: false },
    secret: { type: 'number', writeOnly: true, recorded: false },
    shape: { type: 'object', readOnly: true, observable: true, recorded: false },
  },
};

interface Rule {
  id: string;
  thing: string;
  thingSlug: string;
  property: string;
  comparison: string;
  threshold: unknown;
  holdMs: number;
  title?: string;
}
interface Alert {
  id: string;
  rule: string;
  thing: string;
  value: unknown;
  raisedAt: number;
  acknowledged: boolean;
  acknowledgedAt?: number;
}

interface Node {
  readonly servient: Servient;
  readonly clock: ManualClock;
  readonly probe: ExposedThing;
  /** The alert events heard, by event name. */
  readonly heard: Record<'alert' | 'alertAcknowledged' | 'alertCleared', Alert[]>;
  invoke(action: string, input: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  /** Invokes an action that must succeed; answers its output. */
  ok<T>(action: string, input: unknown): Promise<T>;
  read<T>(property: 'rules' | 'activeAlerts'): Promise<T>;
  /** The probe's device reports a value. */
  emit(property: string, value: unknown): Promise<void>;
}

/** A started node with the probe exposed (read handlers from `current`, when given), and a listener on every alert event. */
async function probeNode(t: Test, options: TestOptions = {}, current: Record<string, unknown> = {}): Promise<Node> {
  const { servient, clock } = await createServient(t, { things: tempDir(t), ...options });
  await servient.start();
  const alerts = servient.registry.get('alerts');
  const heard: Node['heard'] = { alert: [], alertAcknowledged: [], alertCleared: [] };
  for (const name of ['alert', 'alertAcknowledged', 'alertCleared'] as const) alerts.subscribeEvent(name, (event) => heard[name].push(event.data as Alert));
  const probe = await servient.produce(PROBE as never, { slug: 'probe' });
  for (const [name, value] of Object.entries(current)) probe.setPropertyReadHandler(name, () => value);
  await probe.expose();
  const headers: Record<string, string> = options.authToken === undefined ? {} : { authorization: `Bearer ${options.authToken}` };
  const node: Node = {
    servient,
    clock,
    probe,
    heard,
    invoke: (action, input, extra = headers) => servient.app.inject(jsonRequest('POST', `/things/alerts/actions/${action}`, input, extra)),
    async ok<T>(action: string, input: unknown): Promise<T> {
      const res = await node.invoke(action, input);
      if (res.statusCode !== 200) throw new Error(`${action}: ${res.statusCode} ${res.body}`);
      return body<T>(res);
    },
    read: async <T>(property: string) => body<T>(await servient.app.inject({ method: 'GET', url: `/things/alerts/properties/${property}` })),
    emit: (property, value) => probe.emitPropertyChange(property, value),
  };
  return node;
}

t.test('a rule without hold time fires as soon as the value satisfies it: one alert, in the event and in activeAlerts', async (t) => {
  const node = await probeNode(t);
  const rule = await node.ok<Rule>('createRule', { thing: 'probe', property: 'level', comparison: '>', threshold: 30, title: 'Too high' });
  t.match(rule, { id: String, thing: node.probe.id, thingSlug: 'probe', property: 'level', comparison: '>', threshold: 30, holdMs: 0, title: 'Too high' }, 'the rule, with its id and the Thing\'s TD id');
  t.same(await node.read('rules'), [rule], 'rules lists it');

  await node.emit('level', 25);
  t.same(await node.read('activeAlerts'), [], 'not above the threshold: nothing');
  node.clock.advance(1_000);
  await node.emit('level', 31);
  const active = await node.read<Alert[]>('activeAlerts');
  t.match(active, [{ id: String, rule: rule.id, thing: node.probe.id, thingSlug: 'probe', property: 'level', comparison: '>', threshold: 30, value: 31, raisedAt: node.clock.now(), acknowledged: false, title: 'Too high' }], 'the alert, with the value that fired it');
  t.same(node.heard.alert, active, 'the alert event carried it');

  await node.emit('level', 35);
  await node.emit('level', 10);
  t.same(await node.read('activeAlerts'), active, 'at most one alert per rule, and it stays active when the value falls back');
  t.equal(node.heard.alert.length, 1, 'and no second event');
});

t.test('a rule compares the value a Thing has when it is created', async (t) => {
  const node = await probeNode(t, {}, { on: true });
  const rule = await node.ok<Rule>('createRule', { thing: node.probe.id, property: 'on', comparison: '==', threshold: true });
  t.equal(rule.thingSlug, 'probe', 'the Thing named by its TD id');
  t.match(await node.read('activeAlerts'), [{ rule: rule.id, value: true }], 'fired before the action answered');
});

t.test('a rule with a hold time fires only once its condition held that long without a break', async (t) => {
  const node = await probeNode(t);
  const rule = await node.ok<Rule>('createRule', { thing: 'probe', property: 'level', comparison: '>=', threshold: 50, holdMs: 5_000 });
  const start = node.clock.now();

  await node.emit('level', 60);
  node.clock.advance(3_000);
  await node.emit('level', 10);
  node.clock.advance(5_000);
  t.same(await node.read('activeAlerts'), [], 'the condition broke after 3 s: no alert, even 5 s later');

  await node.emit('level', 55);
  node.clock.advance(4_000);
  await node.emit('level', 52);
  node.clock.advance(999);
  t.same(await node.read('activeAlerts'), [], 'not before holdMs');
  t.equal(node.heard.alert.length, 0);
  node.clock.advance(1);
  t.match(await node.read('activeAlerts'), [{ rule: rule.id, value: 52, raisedAt: start + 13_000 }], 'fired when holdMs had passed, with the latest value');
  t.equal(node.heard.alert.length, 1);
});

t.test('acknowledge marks an alert seen; clear removes it; a cleared rule fires again only after its condition was false', async (t) => {
  const node = await probeNode(t);
  const rule = await node.ok<Rule>('createRule', { thing: 'probe', property: 'level', comparison: '>', threshold: 30 });
  await node.emit('level', 40);
  const [first] = await node.read<Alert[]>('activeAlerts');

  node.clock.advance(2_000);
  const acknowledged = await node.ok<Alert>('acknowledge', { id: first!.id });
  t.match(acknowledged, { id: first!.id, acknowledged: true, acknowledgedAt: node.clock.now() });
  t.same(await node.read('activeAlerts'), [acknowledged], 'still active, acknowledged');
  t.same(node.heard.alertAcknowledged, [acknowledged], 'the alertAcknowledged event');
  node.clock.advance(1_000);
  t.same(await node.ok('acknowledge', { id: first!.id }), acknowledged, 'acknowledging again changes nothing');

  t.same(await node.ok('clear', { id: first!.id }), acknowledged, 'clear answers the alert');
  t.same(await node.read('activeAlerts'), [], 'it left activeAlerts');
  t.same(node.heard.alertCleared, [acknowledged], 'the alertCleared event');
  assertProblem(t, await node.invoke('clear', { id: first!.id }), { status: 404, code: 'FLOWCHAIN_ERR_ALERT_NOT_FOUND', field: 'id' });

  await node.emit('level', 45);
  t.same(await node.read('activeAlerts'), [], 'cleared while the condition held: still true is no new alert');
  await node.emit('level', 20);
  await node.emit('level', 41);
  const [second] = await node.read<Alert[]>('activeAlerts');
  t.match(second, { rule: rule.id, value: 41, acknowledged: false }, 'false, then true again: it fires again');
  t.not(second!.id, first!.id, 'a new alert');

  await node.emit('level', 5);
  await node.ok('clear', { id: second!.id });
  await node.emit('level', 33);
  t.match(await node.read('activeAlerts'), [{ rule: rule.id, value: 33 }], 'cleared once the condition was false: the next true value fires');
  t.equal(node.heard.alert.length, 3);
});

t.test('deleting a rule clears its alert; its values no longer count', async (t) => {
  const node = await probeNode(t);
  const rule = await node.ok<Rule>('createRule', { thing: 'probe', property: 'mode', comparison: '==', threshold: 'fault' });
  const other = await node.ok<Rule>('createRule', { thing: 'probe', property: 'level', comparison: '<', threshold: 0 });
  await node.emit('mode', 'fault');
  const [alert] = await node.read<Alert[]>('activeAlerts');
  t.same(await node.ok('deleteRule', { id: rule.id }), rule, 'deleteRule answers the rule');
  t.same(await node.read('rules'), [other], 'the other rule stays');
  t.same(await node.read('activeAlerts'), [], 'its alert went with it');
  t.same(node.heard.alertCleared, [alert], 'announced as cleared');
  await node.emit('mode', 'ok');
  await node.emit('mode', 'fault');
  t.same(await node.read('activeAlerts'), [], 'no alert from a deleted rule');
  assertProblem(t, await node.invoke('deleteRule', { id: rule.id }), { status: 404, code: 'FLOWCHAIN_ERR_ALERT_RULE_NOT_FOUND', field: 'id' });
});

t.test('rules, active alerts and cleared rules survive a restart, without a second alert', async (t) => {
  const data = tempDir(t);
  const first = await probeNode(t, { data });
  const high = await first.ok<Rule>('createRule', { thing: 'probe', property: 'level', comparison: '>', threshold: 30, holdMs: 1_000 });
  const fault = await first.ok<Rule>('createRule', { thing: 'probe', property: 'mode', comparison: '==', threshold: 'fault' });
  const on = await first.ok<Rule>('createRule', { thing: 'probe', property: 'on', comparison: '==', threshold: true, title: 'Switched on' });
  await first.emit('level', 40);
  first.clock.advance(1_000);
  await first.emit('mode', 'fault');
  const cleared = (await first.read<Alert[]>('activeAlerts')).find((alert) => alert.rule === fault.id)!;
  await first.ok('clear', { id: cleared.id });
  const active = await first.read<Alert[]>('activeAlerts');
  t.match(active, [{ rule: high.id, value: 40 }], 'before: the level alert is active, the mode alert cleared while mode is still fault');
  await first.servient.stop();

  // The same data directory; the probe's values have not changed.
  const second = await probeNode(t, { data }, { level: 40, mode: 'fault', on: false });
  t.equal(second.probe.id, first.probe.id, 'the probe has its id again');
  t.same(await second.read('rules'), [high, fault, on], 'the rules are back, in order');
  t.same(await second.read('activeAlerts'), active, 'the active alert is back as it was');
  await second.emit('level', 45);
  await second.emit('mode', 'fault');
  second.clock.advance(5_000);
  t.same(await second.read('activeAlerts'), active, 'no second alert: neither for the active one nor for the cleared rule whose condition still holds');
  t.equal(second.heard.alert.length, 0, 'no alert event');

  await second.emit('on', true);
  t.match(await second.read('activeAlerts'), [{ rule: high.id }, { rule: on.id, value: true, title: 'Switched on' }], 'the rules go on firing');
  await second.ok('clear', { id: active[0]!.id });
  await second.emit('level', 10);
  await second.emit('level', 50);
  second.clock.advance(1_000);
  await second.read('activeAlerts');
  t.equal(second.heard.alert.length, 2, 'and the restored rule fires again after its alert is cleared');
});

t.test('a rule whose Thing is gone stays and does not fire; it follows the Thing again when it comes back', async (t) => {
  const node = await probeNode(t);
  const rule = await node.ok<Rule>('createRule', { thing: 'probe', property: 'level', comparison: '>', threshold: 30 });
  await node.probe.destroy();
  t.same(await node.read('rules'), [rule], 'the rule stays');
  assertProblem(t, await node.invoke('createRule', { thing: 'probe', property: 'level', comparison: '>', threshold: 1 }), { status: 400, code: 'FLOWCHAIN_ERR_ALERT_THING_UNKNOWN', field: 'thing' });
  const again = await node.servient.produce(PROBE as never, { slug: 'probe' });
  await again.expose();
  await again.emitPropertyChange('level', 99);
  t.match(await node.read('activeAlerts'), [{ rule: rule.id, value: 99 }], 'the Thing is back (same id): its rule fires');
});

t.test('input the node cannot follow is refused over HTTP as problem+json with its code, and nothing is stored', async (t) => {
  const node = await probeNode(t);
  const refusals: [string, Record<string, unknown>, ErrorCode, string][] = [
    ['an unknown Thing', { thing: 'nowhere', property: 'level', comparison: '>', threshold: 1 }, 'FLOWCHAIN_ERR_ALERT_THING_UNKNOWN', 'thing'],
    ['an unknown property', { thing: 'probe', property: 'depth', comparison: '>', threshold: 1 }, 'FLOWCHAIN_ERR_ALERT_PROPERTY_UNKNOWN', 'property'],
    ['a property that is not observable', { thing: 'probe', property: 'hidden', comparison: '>', threshold: 1 }, 'FLOWCHAIN_ERR_ALERT_PROPERTY_UNWATCHABLE', 'property'],
    ['a write-only property', { thing: 'probe', property: 'secret', comparison: '>', threshold: 1 }, 'FLOWCHAIN_ERR_ALERT_PROPERTY_UNWATCHABLE', 'property'],
    ['a non-numeric threshold with an ordering comparison', { thing: 'probe', property: 'level', comparison: '>', threshold: 'hot' }, 'FLOWCHAIN_ERR_ALERT_THRESHOLD_INVALID', 'threshold'],
    ['a non-numeric threshold on a numeric property', { thing: 'probe', property: 'level', comparison: '==', threshold: 'hot' }, 'FLOWCHAIN_ERR_ALERT_THRESHOLD_INVALID', 'threshold'],
    ['a number on a boolean property', { thing: 'probe', property: 'on', comparison: '==', threshold: 1 }, 'FLOWCHAIN_ERR_ALERT_THRESHOLD_INVALID', 'threshold'],
    ['a boolean on a string property', { thing: 'probe', property: 'mode', comparison: '!=', threshold: false }, 'FLOWCHAIN_ERR_ALERT_THRESHOLD_INVALID', 'threshold'],
    ['an ordering comparison on a string property', { thing: 'probe', property: 'mode', comparison: '<', threshold: 3 }, 'FLOWCHAIN_ERR_ALERT_THRESHOLD_INVALID', 'threshold'],
    ['an object property', { thing: 'probe', property: 'shape', comparison: '==', threshold: 'round' }, 'FLOWCHAIN_ERR_ALERT_THRESHOLD_INVALID', 'threshold'],
  ];
  for (const [what, input, code, field] of refusals) {
    t.test(what, async (t) => void assertProblem(t, await node.invoke('createRule', input), { status: 400, code, field }));
  }
  const malformed: [string, Record<string, unknown>][] = [
    ['an unknown comparison', { thing: 'probe', property: 'level', comparison: '=>', threshold: 1 }],
    ['a negative hold time', { thing: 'probe', property: 'level', comparison: '>', threshold: 1, holdMs: -1 }],
    ['a fractional hold time', { thing: 'probe', property: 'level', comparison: '>', threshold: 1, holdMs: 1.5 }],
    ['no threshold', { thing: 'probe', property: 'level', comparison: '>' }],
    ['an array threshold', { thing: 'probe', property: 'level', comparison: '>', threshold: [1] }],
  ];
  for (const [what, input] of malformed) {
    t.test(`${what}: the action's schema`, async (t) => void assertProblem(t, await node.invoke('createRule', input), { status: 400, code: 'FLOWCHAIN_ERR_VALUE_INVALID' }));
  }
  assertProblem(t, await node.invoke('acknowledge', { id: 'no-such-alert' }), { status: 404, code: 'FLOWCHAIN_ERR_ALERT_NOT_FOUND', field: 'id' });
  assertProblem(t, await node.invoke('clear', { id: 'no-such-alert' }), { status: 404, code: 'FLOWCHAIN_ERR_ALERT_NOT_FOUND', field: 'id' });
  assertProblem(t, await node.invoke('deleteRule', { id: 'no-such-rule' }), { status: 404, code: 'FLOWCHAIN_ERR_ALERT_RULE_NOT_FOUND', field: 'id' });
  assertProblem(t, await node.invoke('acknowledge', {}), { status: 400, code: 'FLOWCHAIN_ERR_VALUE_INVALID' });
  t.same(await node.read('rules'), [], 'no rule was stored');
});

t.test('on a node with credentials, the actions take them', async (t) => {
  const node = await probeNode(t, { authToken: AUTH_TOKEN });
  assertProblem(t, await node.invoke('createRule', { thing: 'probe', property: 'level', comparison: '>', threshold: 1 }, {}), { status: 401, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
  t.same(await node.read('rules'), [], 'nothing without them');
  t.match(await node.ok('createRule', { thing: 'probe', property: 'level', comparison: '>', threshold: 1 }), { property: 'level' }, 'with them, the rule is created');
});

t.test('a plain HTTP consumer creates a rule through the TD\'s form and observes activeAlerts', async (t) => {
  const node = await probeNode(t);
  const url = node.servient.url!;
  const td = (await (await fetch(new URL('things/alerts', url))).json()) as ThingDescription;
  const base = td.base ?? url;
  const invoke = td.actions!.createRule!.forms!.find((form) => [form.op ?? 'invokeaction'].flat().includes('invokeaction') && form.subprotocol === undefined)!;
  const observe = td.properties!.activeAlerts!.forms!.find((form) => [form.op].flat().includes('observeproperty') && form.subprotocol === 'sse')!;
  t.ok(invoke && observe, 'the TD has a form to invoke createRule and one to observe activeAlerts over SSE');

  const stream = await openSse(t, new URL(observe.href, base).href);
  t.equal(stream.status, 200);
  const created = await fetch(new URL(invoke.href, base), { method: invoke['htv:methodName'] ?? 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ thing: 'probe', property: 'level', comparison: '>=', threshold: 20 }) });
  t.equal(created.status, 200);
  const rule = (await created.json()) as Rule;
  t.match(rule, { id: String, property: 'level' });

  await node.emit('level', 21);
  // The stream may begin with the value the property had when it opened (no alert).
  let block = await stream.nextEvent();
  if (JSON.parse(block.data!).length === 0) block = await stream.nextEvent();
  t.match(JSON.parse(block.data!), [{ rule: rule.id, value: 21, acknowledged: false }], 'the new activeAlerts value arrives on the stream');
  stream.close();
});

t.test('the alerts Thing\'s TD validates against the TD 1.1 JSON Schema and uses known terms only', async (t) => {
  const node = await probeNode(t);
  const td = body<ThingDescription>(await node.servient.app.inject({ method: 'GET', url: '/things/alerts' }));
  t.equal(td.title, 'Alerts');
  const schema = loadTdSchema();
  const vocabulary = new TdVocabulary(schema, loadBundledContexts());
  t.doesNotThrow(() => new TdValidator(schema, vocabulary).assertValid(td, 'alerts'), 'valid');
  t.same(vocabulary.unknownTerms(td), [], 'no unknown term');
  t.same(Object.keys(td.properties ?? {}), ['rules', 'activeAlerts']);
  t.same(Object.keys(td.actions ?? {}), ['createRule', 'deleteRule', 'acknowledge', 'clear']);
  t.same(Object.keys(td.events ?? {}), ['alert', 'alertAcknowledged', 'alertCleared']);
  await t.rejects(node.servient.produce({ title: 'Alerts' }), { code: 'FLOWCHAIN_ERR_TD_INVALID', field: '/title' }, 'the name is reserved');
});

/**
 * The node's own `alerts` Thing: alert rules and the alerts they raise (alert-rules.ts), seen
 * through the WoT interface every consumer already speaks, so the dashboard, flows, other
 * nodes and any WoT consumer create rules and follow alerts alike. Its `rules` and
 * `activeAlerts` properties list them; its actions create and delete rules and acknowledge and
 * clear alerts (actions take the node's credentials when it has them); its `alert`,
 * `alertAcknowledged` and `alertCleared` events report each alert's steps.
 *
 * Input the action schemas allow but the node cannot follow (an unknown Thing or property, a
 * threshold that does not fit) is refused with the FLOWCHAIN_ERR_ALERT_* codes of alert-rules.ts.
 */
import type { ThingDescription } from '../td/thing-description.js';
import { emitLater, type DeviceFactory } from '../devices/device.js';
import { AlertRules, COMPARISONS, type AlertRuleInput, type AlertRulesComponents } from './alert-rules.js';

/** The Thing's URL slug. */
export const ALERTS_THING = 'alerts';

/** The longest hold time: what a timer of the platform can wait (2^31 - 1 ms, about 24.8 days). */
const MAX_HOLD_MS = 2_147_483_647;

const THRESHOLD = { oneOf: [{ type: 'number' }, { type: 'boolean' }, { type: 'string' }], description: 'What the value is compared with: a number for >, >=, <, <= and numeric properties; otherwise of the property\'s type' };
const COMPARISON = { type: 'string', enum: [...COMPARISONS], description: 'The rule fires when value <comparison> threshold' };
const ID = { type: 'object', properties: { id: { type: 'string', minLength: 1 } }, required: ['id'] };

const RULE = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    thing: { type: 'string', description: 'The TD id of the Thing' },
    thingSlug: { type: 'string', description: 'The Thing\'s slug on this node' },
    property: { type: 'string' },
    comparison: COMPARISON,
    threshold: THRESHOLD,
    holdMs: { type: 'integer', minimum: 0, maximum: MAX_HOLD_MS },
    title: { type: 'string' },
  },
  required: ['id', 'thing', 'thingSlug', 'property', 'comparison', 'threshold', 'holdMs'],
};

const ALERT = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    rule: { type: 'string', description: 'The id of the rule that raised it' },
    thing: { type: 'string', description: 'The TD id of the Thing' },
    thingSlug: { type: 'string' },
    property: { type: 'string' },
    comparison: COMPARISON,
    threshold: THRESHOLD,
    value: { description: 'The value that fired the rule' },
    raisedAt: { type: 'integer', description: 'Milliseconds since the epoch' },
    acknowledged: { type: 'boolean' },
    acknowledgedAt: { type: 'integer', description: 'Milliseconds since the epoch' },
    title: { type: 'string' },
  },
  required: ['id', 'rule', 'thing', 'thingSlug', 'property', 'comparison', 'threshold', 'value', 'raisedAt', 'acknowledged'],
};

/** The alerts Thing's TD file (the servient adds id, forms, base and security). */
export const ALERTS_TD: ThingDescription = {
  '@context': ['https://www.w3.org/2022/wot/td/v1.1', 'https://w3id.org/flowchain/v1'],
  title: 'Alerts',
  description: 'Alert rules on the properties of the Things this node hosts, and the alerts they raise: each stays active until it is cleared.',
  properties: {
    rules: {
      title: 'Alert rules',
      description: 'Each rule fires when its property\'s value satisfies value <comparison> threshold for holdMs milliseconds, and raises one alert.',
      type: 'array',
      items: RULE,
      readOnly: true,
      observable: true,
      recorded: false,
    },
    activeAlerts: {
      title: 'Active alerts',
      description: 'Alerts raised and not cleared yet, acknowledged or not.',
      type: 'array',
      items: ALERT,
      readOnly: true,
      observable: true,
      recorded: false,
    },
  },
  actions: {
    createRule: {
      title: 'Create a rule',
      description: 'A rule on a property of a Thing this node hosts (its slug or its TD id); the property must be observable.',
      input: {
        type: 'object',
        properties: {
          thing: { type: 'string', minLength: 1, description: 'The slug or the TD id of a Thing this node hosts' },
          property: { type: 'string', minLength: 1 },
          comparison: COMPARISON,
          threshold: THRESHOLD,
          holdMs: { type: 'integer', minimum: 0, maximum: MAX_HOLD_MS, default: 0, description: 'How long the condition must hold before the rule fires' },
          title: { type: 'string', maxLength: 200 },
        },
        required: ['thing', 'property', 'comparison', 'threshold'],
      },
      output: RULE,
      safe: false,
      idempotent: false,
    },
    deleteRule: {
      title: 'Delete a rule',
      description: 'Its active alert, if any, is cleared with it.',
      input: ID,
      output: RULE,
      safe: false,
      idempotent: false,
    },
    acknowledge: {
      title: 'Acknowledge an alert',
      description: 'Marks an active alert as seen; it stays active until it is cleared.',
      input: ID,
      output: ALERT,
      safe: false,
      idempotent: true,
    },
    clear: {
      title: 'Clear an alert',
      description: 'The alert leaves the active alerts; its rule fires again once its condition has been false and then true again.',
      input: ID,
      output: ALERT,
      safe: false,
      idempotent: false,
    },
  },
  events: {
    alert: { title: 'Alert raised', description: 'A rule fired.', data: ALERT },
    alertAcknowledged: { title: 'Alert acknowledged', data: ALERT },
    alertCleared: { title: 'Alert cleared', description: 'An alert was cleared, or its rule deleted.', data: ALERT },
  },
} as ThingDescription;

/** The events each change is announced with. */
const EVENTS = { raised: 'alert', acknowledged: 'alertAcknowledged', cleared: 'alertCleared' } as const;

/**
 * The "device" behind the alerts Thing, an ordinary user of the device API: it opens the rules
 * stored in `components.section` (on the node's clock), answers the actions with them and
 * announces every change. The rules watch their Things while the device runs.
 */
export function alertsDevice(components: Omit<AlertRulesComponents, 'clock' | 'log'>): DeviceFactory {
  return async (thing, { clock, log }) => {
    const alerts = await AlertRules.open({ ...components, clock, log });
    // A read answers after every change that came before it.
    thing.setPropertyReadHandler('rules', async () => (await alerts.settled(), alerts.rules));
    thing.setPropertyReadHandler('activeAlerts', async () => (await alerts.settled(), alerts.activeAlerts));
    thing.setActionHandler('createRule', async (input) => alerts.createRule((await input.value()) as AlertRuleInput));
    thing.setActionHandler('deleteRule', async (input) => alerts.deleteRule(((await input.value()) as { id: string }).id));
    thing.setActionHandler('acknowledge', async (input) => alerts.acknowledge(((await input.value()) as { id: string }).id));
    thing.setActionHandler('clear', async (input) => alerts.clear(((await input.value()) as { id: string }).id));
    alerts.onChange((change) => {
      if (change.kind === 'rules') {
        void emitLater(thing, log, 'rules', alerts.rules);
        return;
      }
      try {
        thing.emitEvent(EVENTS[change.kind], change.alert);
      } catch (err) {
        log.warn({ err, event: EVENTS[change.kind] }, 'an alert event was not announced');
      }
      void emitLater(thing, log, 'activeAlerts', alerts.activeAlerts);
    });
    return { start: () => alerts.start(), stop: () => alerts.stop() };
  };
}

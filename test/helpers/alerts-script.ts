/**
 * What a generic consumer cannot take from a TD alone, for the node's `alerts` Thing: its
 * actions name a property of a Thing the node hosts, or the id of an active alert, and its
 * events follow those actions. The conformance tests drive it through its own forms with
 * these inputs, as a dashboard would.
 */
import type { ThingDescription } from '../../src/td/thing-description.js';
import type { ExposedThing } from '../../src/thing/exposed-thing.js';
import { GenericConsumer, type ConsumerOptions } from './wot-consumer.js';

/** A rule whose condition always holds (on the ledger Thing every node has): it fires as soon as it is created. */
const FIRING_RULE = { thing: 'ledger', property: 'outbox', comparison: '>=', threshold: 0 };
/** One that never fires. */
const QUIET_RULE = { ...FIRING_RULE, comparison: '<' };

/** Drives the alerts Thing through the forms of its TD. */
export class AlertsScript {
  readonly #consumer: GenericConsumer;

  private constructor(td: ThingDescription, options: ConsumerOptions) {
    this.#consumer = new GenericConsumer(td, options);
  }

  /** A script for `td` when it is the alerts Thing's. */
  static for(td: ThingDescription, options: ConsumerOptions): AlertsScript | undefined {
    return td.title === 'Alerts' ? new AlertsScript(td, options) : undefined;
  }

  /** An input with which action `name` succeeds (creating what it needs first). */
  async input(name: string): Promise<unknown> {
    switch (name) {
      case 'createRule':
        return FIRING_RULE;
      case 'deleteRule':
        return { id: ((await this.#invoke('createRule', QUIET_RULE)) as { id: string }).id };
      default:
        return { id: await this.#activeAlert() };
    }
  }

  /** Raises event `name` (alert, alertAcknowledged, alertCleared) through the actions. */
  async raise(name: string): Promise<void> {
    if (name === 'alert') await this.#invoke('createRule', FIRING_RULE);
    else await this.#invoke(name === 'alertAcknowledged' ? 'acknowledge' : 'clear', { id: await this.#activeAlert() });
  }

  /** One of everything: a rule that fires, its alert acknowledged and cleared, the rule deleted. */
  async cycle(): Promise<void> {
    const rule = (await this.#invoke('createRule', FIRING_RULE)) as { id: string };
    const alert = await this.#activeAlert();
    await this.#invoke('acknowledge', { id: alert });
    await this.#invoke('clear', { id: alert });
    await this.#invoke('deleteRule', { id: rule.id });
  }

  /** The id of an active alert (a rule is created that raises one when there is none). */
  async #activeAlert(): Promise<string> {
    const property = this.#consumer.td.properties!.activeAlerts!;
    const read = async () => (await (await this.#consumer.request(this.#consumer.form('property', property, 'readproperty'), 'readproperty')).json()) as { id: string }[];
    let alerts = await read();
    if (alerts.length === 0) {
      await this.#invoke('createRule', FIRING_RULE);
      alerts = await read();
    }
    return alerts[0]!.id;
  }

  async #invoke(name: string, input: unknown): Promise<unknown> {
    const response = await this.#consumer.request(this.#consumer.form('action', this.#consumer.td.actions![name], 'invokeaction'), 'invokeaction', input);
    if (response.status !== 200) throw new Error(`alerts ${name}: ${response.status} ${await response.text()}`);
    return response.json();
  }
}

/** An input with which action `name` of the alerts Thing succeeds in-process (what {@link AlertsScript.input} does over HTTP). */
export async function alertsActionInput(alerts: ExposedThing, name: string): Promise<unknown> {
  if (name === 'createRule') return FIRING_RULE;
  if (name === 'deleteRule') return { id: ((await alerts.invokeAction('createRule', QUIET_RULE)) as { id: string }).id };
  let active = (await alerts.readProperty('activeAlerts')) as { id: string }[];
  if (active.length === 0) {
    await alerts.invokeAction('createRule', FIRING_RULE);
    active = (await alerts.readProperty('activeAlerts')) as { id: string }[];
  }
  return { id: active[0]!.id };
}

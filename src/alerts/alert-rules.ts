/**
 * Alert rules and the alerts they raise: the state behind the node's `alerts` Thing
 * (alerts-thing.ts). A rule names a property of a Thing this node hosts, a comparison, a
 * threshold and a hold time; it fires when the property's value satisfies
 * `value <comparison> threshold` continuously for the hold time (0: at once), and raises one
 * alert. A rule has at most one active alert, which stays active (ThingsBoard-style) until an
 * `acknowledge` marks it seen and a `clear` removes it, whatever the value does meanwhile.
 * After a clear the rule fires again only once the condition has been false and then true
 * again (and held), so clearing an alert whose cause persists does not raise it again at once.
 *
 * Values come in-process: each rule observes its property on the hosted Thing (as a consumer
 * would, so a device that samples only while watched samples), and the current value is read
 * when a rule starts watching. A rule whose Thing is not hosted (destroyed, or not produced yet
 * after a restart) stays and does not fire; it watches again when a Thing with that id is
 * exposed. A value of null (no reading yet) tells nothing and changes nothing.
 *
 * Rules, active alerts and whether a cleared rule waits for its condition to turn false are
 * stored in the section given (the node's `alerts` section) before an action answers or an
 * alert is announced, and loaded at start: a restart does not raise a second alert for a rule
 * whose alert is still active. A hold time in progress is not stored: after a restart it
 * starts again from the first value seen.
 *
 * Everything that changes the state runs one step at a time, in arrival order.
 *
 * Throws FLOWCHAIN_ERR_ALERT_THING_UNKNOWN, FLOWCHAIN_ERR_ALERT_PROPERTY_UNKNOWN,
 * FLOWCHAIN_ERR_ALERT_PROPERTY_UNWATCHABLE, FLOWCHAIN_ERR_ALERT_THRESHOLD_INVALID,
 * FLOWCHAIN_ERR_ALERT_RULE_NOT_FOUND, FLOWCHAIN_ERR_ALERT_NOT_FOUND and
 * FLOWCHAIN_ERR_STORE_FAILED.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, Timer } from '../common/clock.js';
import { FlowchainError } from '../errors.js';
import type { Section } from '../storage.js';
import type { DataSchema } from '../td/thing-description.js';
import type { ExposedThing, Unsubscribe } from '../thing/exposed-thing.js';

/** The comparisons a rule may use. */
export const COMPARISONS = ['>', '>=', '<', '<=', '==', '!='] as const;
/** How a rule compares the value with its threshold (`value <comparison> threshold`). */
export type Comparison = (typeof COMPARISONS)[number];
/** What a value is compared with. */
export type Threshold = number | boolean | string;

/** A rule as a consumer creates it (the `createRule` action's input). */
export interface AlertRuleInput {
  /** The slug or the TD id of a Thing this node hosts. */
  readonly thing: string;
  readonly property: string;
  readonly comparison: Comparison;
  readonly threshold: Threshold;
  /** How long the condition must hold before the rule fires, in milliseconds (0 by default: at once). */
  readonly holdMs?: number;
  readonly title?: string;
}

/** A stored rule (the `rules` property lists them). */
export interface AlertRule {
  readonly id: string;
  /** The TD id of the Thing. */
  readonly thing: string;
  /** The Thing's slug when the rule was created. */
  readonly thingSlug: string;
  readonly property: string;
  readonly comparison: Comparison;
  readonly threshold: Threshold;
  readonly holdMs: number;
  readonly title?: string;
}

/** An active alert (the `activeAlerts` property lists them). */
export interface Alert {
  readonly id: string;
  /** The id of the rule that raised it. */
  readonly rule: string;
  readonly thing: string;
  readonly thingSlug: string;
  readonly property: string;
  readonly comparison: Comparison;
  readonly threshold: Threshold;
  /** The value that fired the rule. */
  readonly value: unknown;
  /** Milliseconds since the epoch. */
  readonly raisedAt: number;
  readonly acknowledged: boolean;
  readonly acknowledgedAt?: number;
  readonly title?: string;
}

/** What changed: an alert raised, acknowledged or cleared (also by deleting its rule), or the list of rules. */
export type AlertChange = { readonly kind: 'raised' | 'acknowledged' | 'cleared'; readonly alert: Alert } | { readonly kind: 'rules' };

/** The Things a node hosts, as the rules need them (a ThingRegistry is one). */
export interface HostedThings {
  /** The Thing whose slug or TD id is `ref`; throws when there is none. */
  get(ref: string): ExposedThing;
  has(ref: string): boolean;
  /** Calls `listener` whenever a Thing is added or removed; returns the unsubscribe. */
  onChange(listener: (thing: ExposedThing, change: 'added' | 'removed') => void): () => void;
}

/** Collaborators of {@link AlertRules}. */
export interface AlertRulesComponents {
  /** Where rules and alerts are kept (the node's `alerts` section). */
  readonly section: Section;
  /** Hold times run on it. */
  readonly clock: Clock;
  readonly things: HostedThings;
  /** Ids of rules and alerts (UUIDs by default; tests inject their own). */
  readonly newId?: () => string;
  readonly log?: { warn(obj: object, msg: string): void };
}

/** A rule as stored: with its place among the rules (they are listed in creation order) and whether it waits for its condition to turn false. */
interface StoredRule {
  readonly rule: AlertRule;
  readonly order: number;
  readonly latched: boolean;
}

/** A rule at run time. */
interface Watch {
  readonly rule: AlertRule;
  readonly order: number;
  /** Cleared while its condition held: it fires again only once the condition has been false. */
  latched: boolean;
  alert: Alert | undefined;
  /** The condition holds and the hold time runs. */
  hold: { readonly timer: Timer; value: unknown } | undefined;
  /** The last value seen. */
  last: unknown;
  /** Values seen so far, so a read answered after a newer change is dropped. */
  seen: number;
  unobserve: Unsubscribe | undefined;
}

const RULE = 'rule/';
const ALERT = 'alert/';

/** The alert rules of one node, their evaluation and their storage (see the module comment). */
export class AlertRules {
  readonly #section: Section;
  readonly #clock: Clock;
  readonly #things: HostedThings;
  readonly #newId: () => string;
  readonly #log: AlertRulesComponents['log'];
  /** By rule id, oldest first. */
  readonly #watches = new Map<string, Watch>();
  readonly #listeners = new Set<(change: AlertChange) => void>();
  #queue: Promise<unknown> = Promise.resolve();
  #offRegistry: (() => void) | undefined;
  #running = false;

  private constructor(components: AlertRulesComponents) {
    this.#section = components.section;
    this.#clock = components.clock;
    this.#things = components.things;
    this.#newId = components.newId ?? randomUUID;
    this.#log = components.log;
  }

  /** The rules and active alerts stored in `components.section`. Throws FLOWCHAIN_ERR_STORE_FAILED. */
  static async open(components: AlertRulesComponents): Promise<AlertRules> {
    const rules = new AlertRules(components);
    const stored: StoredRule[] = [];
    for await (const [, value] of components.section.entries(RULE)) stored.push(value as StoredRule);
    stored.sort((a, b) => a.order - b.order);
    for (const { rule, order, latched } of stored) rules.#watches.set(rule.id, newWatch(rule, order, latched));
    for await (const [key, value] of components.section.entries(ALERT)) {
      const watch = rules.#watches.get(key.slice(ALERT.length));
      if (watch !== undefined) watch.alert = value as Alert;
    }
    return rules;
  }

  /** The rules, oldest first. */
  get rules(): AlertRule[] {
    return [...this.#watches.values()].map((watch) => watch.rule);
  }

  /** The active alerts, in the order of their rules. */
  get activeAlerts(): Alert[] {
    return [...this.#watches.values()].flatMap((watch) => (watch.alert === undefined ? [] : [watch.alert]));
  }

  /** Resolves once every change that arrived before the call has been applied (and stored). */
  async settled(): Promise<void> {
    await this.#serial(async () => undefined);
  }

  /** Calls `listener` with every change, once it is stored; returns the unsubscribe. */
  onChange(listener: (change: AlertChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts watching: each rule's property on its Thing (when hosted), and Things as they come and go. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#offRegistry = this.#things.onChange((thing, change) => {
      for (const watch of this.#watches.values()) {
        if (watch.rule.thing !== thing.id) continue;
        if (change === 'added') void this.#watch(watch);
        else this.#unwatch(watch);
      }
    });
    await Promise.all([...this.#watches.values()].map((watch) => this.#watch(watch)));
  }

  /** Stops watching (hold times in progress are dropped) and waits for what is being stored. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#offRegistry?.();
    this.#offRegistry = undefined;
    for (const watch of this.#watches.values()) this.#unwatch(watch);
    await this.settled();
  }

  /**
   * Stores a new rule and starts watching its property; answers once the current value has
   * been compared (a rule whose condition holds with no hold time has fired by then).
   * Throws FLOWCHAIN_ERR_ALERT_THING_UNKNOWN, FLOWCHAIN_ERR_ALERT_PROPERTY_UNKNOWN,
   * FLOWCHAIN_ERR_ALERT_PROPERTY_UNWATCHABLE, FLOWCHAIN_ERR_ALERT_THRESHOLD_INVALID.
   */
  async createRule(input: AlertRuleInput): Promise<AlertRule> {
    const thing = this.#hostedThing(input.thing);
    const property = Object.hasOwn(thing.td.properties ?? {}, input.property) ? thing.td.properties![input.property]! : undefined;
    if (property === undefined) throw new FlowchainError('FLOWCHAIN_ERR_ALERT_PROPERTY_UNKNOWN', `${thing.slug} has no property ${input.property}`, { field: 'property' });
    if (property.writeOnly === true || property.observable !== true) {
      throw new FlowchainError('FLOWCHAIN_ERR_ALERT_PROPERTY_UNWATCHABLE', `property ${input.property} of ${thing.slug} is ${property.writeOnly === true ? 'write-only' : 'not observable'}: a rule cannot follow it`, { field: 'property' });
    }
    const problem = thresholdProblem(property, input.comparison, input.threshold);
    if (problem !== undefined) throw new FlowchainError('FLOWCHAIN_ERR_ALERT_THRESHOLD_INVALID', `threshold ${JSON.stringify(input.threshold)}: ${problem}`, { field: 'threshold' });
    const rule: AlertRule = {
      id: this.#newId(),
      thing: thing.id,
      thingSlug: thing.slug,
      property: input.property,
      comparison: input.comparison,
      threshold: input.threshold,
      holdMs: input.holdMs ?? 0,
      ...(input.title === undefined ? {} : { title: input.title }),
    };
    await this.#serial(async () => {
      const watch = newWatch(rule, Math.max(0, ...[...this.#watches.values()].map((other) => other.order)) + 1, false);
      await this.#section.put(RULE + rule.id, stored(watch));
      this.#watches.set(rule.id, watch);
      this.#tell({ kind: 'rules' });
    });
    const watch = this.#watches.get(rule.id);
    if (this.#running && watch !== undefined) await this.#watch(watch);
    return rule;
  }

  /** Deletes a rule; its active alert, if any, is cleared with it. Throws FLOWCHAIN_ERR_ALERT_RULE_NOT_FOUND. */
  async deleteRule(id: string): Promise<AlertRule> {
    return this.#serial(async () => {
      const watch = this.#watches.get(id);
      if (watch === undefined) throw new FlowchainError('FLOWCHAIN_ERR_ALERT_RULE_NOT_FOUND', `no alert rule ${id}`, { field: 'id' });
      await this.#section.batch([{ type: 'del', key: RULE + id }, { type: 'del', key: ALERT + id }]);
      this.#unwatch(watch);
      this.#watches.delete(id);
      this.#tell({ kind: 'rules' });
      if (watch.alert !== undefined) this.#tell({ kind: 'cleared', alert: watch.alert });
      return watch.rule;
    });
  }

  /** Marks an active alert as seen (again: no change). Throws FLOWCHAIN_ERR_ALERT_NOT_FOUND. */
  async acknowledge(id: string): Promise<Alert> {
    return this.#serial(async () => {
      const watch = this.#alerted(id);
      const alert = watch.alert!;
      if (alert.acknowledged) return alert;
      const acknowledged: Alert = { ...alert, acknowledged: true, acknowledgedAt: this.#clock.now() };
      await this.#section.put(ALERT + watch.rule.id, acknowledged);
      watch.alert = acknowledged;
      this.#tell({ kind: 'acknowledged', alert: acknowledged });
      return acknowledged;
    });
  }

  /**
   * Removes an active alert (acknowledged or not). Its rule fires again once its condition has
   * been false and then true again. Throws FLOWCHAIN_ERR_ALERT_NOT_FOUND.
   */
  async clear(id: string): Promise<Alert> {
    return this.#serial(async () => {
      const watch = this.#alerted(id);
      const alert = watch.alert!;
      const latched = watch.last === undefined || watch.last === null ? true : satisfies(watch.rule, watch.last);
      await this.#section.batch([
        { type: 'del', key: ALERT + watch.rule.id },
        { type: 'put', key: RULE + watch.rule.id, value: stored({ ...watch, latched }) },
      ]);
      watch.alert = undefined;
      watch.latched = latched;
      this.#tell({ kind: 'cleared', alert });
      return alert;
    });
  }

  /** The hosted Thing `ref` names, or FLOWCHAIN_ERR_ALERT_THING_UNKNOWN. */
  #hostedThing(ref: string): ExposedThing {
    if (!this.#things.has(ref)) throw new FlowchainError('FLOWCHAIN_ERR_ALERT_THING_UNKNOWN', `no Thing ${ref} on this node`, { field: 'thing' });
    return this.#things.get(ref);
  }

  /** The rule whose active alert is `id`, or FLOWCHAIN_ERR_ALERT_NOT_FOUND. */
  #alerted(id: string): Watch {
    for (const watch of this.#watches.values()) if (watch.alert?.id === id) return watch;
    throw new FlowchainError('FLOWCHAIN_ERR_ALERT_NOT_FOUND', `no active alert ${id}`, { field: 'id' });
  }

  /** Observes the rule's property if its Thing is hosted, then compares the current value. */
  async #watch(watch: Watch): Promise<void> {
    if (!this.#running || watch.unobserve !== undefined || !this.#things.has(watch.rule.thing)) return;
    const { property } = watch.rule;
    const thing = this.#things.get(watch.rule.thing);
    try {
      watch.unobserve = thing.observeProperty(property, (change) => {
        watch.seen++;
        void this.#serial(() => this.#evaluate(watch, change.value)).catch((err: unknown) => this.#warn(watch, err, 'an alert rule was not evaluated'));
      });
    } catch (err) {
      // The Thing came back without that property, or not observable: the rule stays, idle.
      this.#warn(watch, err, 'an alert rule cannot watch its property');
      return;
    }
    const seen = watch.seen;
    let value: unknown;
    try {
      value = await thing.readProperty(property);
    } catch (err) {
      this.#warn(watch, err, 'the current value of an alert rule\'s property was not read');
      return;
    }
    // A change that came while the value was read is newer than it.
    await this.#serial(async () => {
      if (watch.seen === seen && this.#watches.get(watch.rule.id) === watch) await this.#evaluate(watch, value);
    }).catch((err: unknown) => this.#warn(watch, err, 'an alert rule was not evaluated'));
  }

  #unwatch(watch: Watch): void {
    watch.unobserve?.();
    watch.unobserve = undefined;
    watch.hold?.timer.cancel();
    watch.hold = undefined;
  }

  /** One value of the rule's property: the condition starts or stops holding. */
  async #evaluate(watch: Watch, value: unknown): Promise<void> {
    // A read answered after stop() (or for a deleted rule) counts for nothing.
    if (value === null || value === undefined || !this.#running || this.#watches.get(watch.rule.id) !== watch) return;
    watch.last = value;
    if (!satisfies(watch.rule, value)) {
      watch.hold?.timer.cancel();
      watch.hold = undefined;
      if (watch.latched) {
        await this.#section.put(RULE + watch.rule.id, stored({ ...watch, latched: false }));
        watch.latched = false;
      }
      return;
    }
    if (watch.alert !== undefined || watch.latched) return;
    if (watch.hold !== undefined) {
      watch.hold.value = value;
      return;
    }
    if (watch.rule.holdMs === 0) return this.#raise(watch, value);
    const hold: { timer: Timer; value: unknown } = {
      value,
      timer: this.#clock.after(watch.rule.holdMs, () => {
        void this.#serial(async () => {
          if (watch.hold !== hold || this.#watches.get(watch.rule.id) !== watch) return;
          watch.hold = undefined;
          await this.#raise(watch, hold.value);
        }).catch((err: unknown) => this.#warn(watch, err, 'an alert was not raised'));
      }),
    };
    watch.hold = hold;
  }

  async #raise(watch: Watch, value: unknown): Promise<void> {
    const { rule } = watch;
    const alert: Alert = {
      id: this.#newId(),
      rule: rule.id,
      thing: rule.thing,
      thingSlug: rule.thingSlug,
      property: rule.property,
      comparison: rule.comparison,
      threshold: rule.threshold,
      value,
      raisedAt: this.#clock.now(),
      acknowledged: false,
      ...(rule.title === undefined ? {} : { title: rule.title }),
    };
    await this.#section.put(ALERT + rule.id, alert);
    watch.alert = alert;
    this.#tell({ kind: 'raised', alert });
  }

  #tell(change: AlertChange): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (err) {
        this.#log?.warn({ err, change: change.kind }, 'an alert listener failed');
      }
    }
  }

  #warn(watch: Watch, err: unknown, msg: string): void {
    this.#log?.warn({ err, rule: watch.rule.id, thing: watch.rule.thingSlug, property: watch.rule.property }, msg);
  }

  /** Runs state changes one after another; a failed one does not block those after it. */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * Why `threshold` cannot be compared with values of `property` by `comparison`, or undefined
 * when it can: an ordering comparison needs a number, and a typed property a threshold of its
 * type (an integer property takes any number); objects, arrays and null are not compared.
 */
export function thresholdProblem(property: DataSchema, comparison: Comparison, threshold: Threshold): string | undefined {
  const ordering = comparison !== '==' && comparison !== '!=';
  if (ordering && typeof threshold !== 'number') return `the comparison ${comparison} needs a numeric threshold`;
  switch (property.type) {
    case undefined:
      return undefined;
    case 'number':
    case 'integer':
      return typeof threshold === 'number' ? undefined : `the property is numeric (${property.type}): the threshold must be a number`;
    case 'boolean':
    case 'string':
      if (typeof threshold !== property.type) return `the property is a ${property.type}: the threshold must be one too`;
      return ordering ? `a ${property.type} cannot be compared with ${comparison}` : undefined;
    default:
      return `a property of type ${property.type} cannot be compared with a threshold`;
  }
}

/** Whether `value <comparison> threshold`; an ordering comparison holds for numbers only. */
export function satisfies(rule: Pick<AlertRule, 'comparison' | 'threshold'>, value: unknown): boolean {
  const { comparison, threshold } = rule;
  if (comparison === '==') return value === threshold;
  if (comparison === '!=') return value !== threshold;
  if (typeof value !== 'number' || typeof threshold !== 'number') return false;
  switch (comparison) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

function newWatch(rule: AlertRule, order: number, latched: boolean): Watch {
  return { rule, order, latched, alert: undefined, hold: undefined, last: undefined, seen: 0, unobserve: undefined };
}

function stored(watch: Pick<Watch, 'rule' | 'order' | 'latched'>): StoredRule {
  return { rule: watch.rule, order: watch.order, latched: watch.latched };
}

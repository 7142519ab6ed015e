/**
 * The Alerts view, driven through the node's `alerts` Thing like any other Thing (its TD's
 * forms): its `rules` (a list, with a form that invokes `createRule` and a Delete button that
 * invokes `deleteRule`) and its `activeAlerts` (each with Acknowledge and Clear, invoking
 * `acknowledge` and `clear`). The navigation shows how many alerts are active and not
 * acknowledged; a new one is also announced with a browser notification, once the person has
 * allowed them with the button (a page never asks unprompted).
 */
import { call, getJson } from './api.js';
import { byId, el, replace } from './dom.js';
import { chartable } from './series.js';
import { formatValue, formUrl, slugOf, type PropertyAffordance, type ServedTd } from './td.js';

/** The alerts Thing's slug on every node. */
export const ALERTS_THING = 'alerts';

type Comparison = '>' | '>=' | '<' | '<=' | '==' | '!=';

/** A rule as the alerts Thing's `rules` property holds it. */
export interface AlertRule {
  readonly id: string;
  readonly thing: string;
  readonly property: string;
  readonly comparison: Comparison;
  readonly threshold: unknown;
  readonly holdMs: number;
  readonly title?: string;
}

/** An alert as the alerts Thing's `activeAlerts` property holds it. */
export interface ActiveAlert {
  readonly id: string;
  readonly rule: string;
  readonly thing: string;
  readonly property: string;
  readonly comparison: Comparison;
  readonly threshold: unknown;
  readonly value: unknown;
  readonly raisedAt: number | string;
  readonly acknowledged: boolean;
  readonly acknowledgedAt?: number | string;
  readonly title?: string;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** Whether a rule can watch a property: one the node pushes (observable), with values a threshold fits. */
const watchable = (p: PropertyAffordance): boolean => p.observable === true && p.writeOnly !== true && chartable(p);

/** How many alerts need someone's attention: active and not acknowledged. */
export const unacknowledged = (alerts: readonly ActiveAlert[]): number => alerts.filter((a) => !a.acknowledged).length;

export class AlertsView {
  readonly #td: ServedTd | undefined;
  /** The Things a rule may watch (this node's), by the name rules give them. */
  #things: readonly ServedTd[] = [];
  #rules: readonly AlertRule[] = [];
  #active: readonly ActiveAlert[] = [];
  /** Alerts already seen, so that only new ones are announced. */
  readonly #announced = new Set<string>();
  #first = true;

  /** `td` is this node's alerts Thing (undefined on a node without one: the view says so). */
  constructor(td: ServedTd | undefined) {
    this.#td = td;
    byId('alerts-missing').hidden = td !== undefined;
    byId('rule-form').hidden = td === undefined;
    byId('rule-thing').addEventListener('change', () => this.#showProperties());
    byId('rule-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#create();
    });
    const allow = byId<HTMLButtonElement>('notify-allow');
    allow.addEventListener('click', () => void this.#allowNotifications());
    this.#showNotificationState();
  }

  /** The alerts Thing's id (its notifications are routed here). */
  get thingId(): string | undefined {
    return this.#td?.id;
  }

  /** The Things rules may name: this node's, except the ledger and the alerts Thing itself. */
  setThings(tds: readonly ServedTd[]): void {
    this.#things = tds.filter((td) => td.id !== this.#td?.id && Object.values(td.properties ?? {}).some(watchable));
    const select = byId<HTMLSelectElement>('rule-thing');
    const chosen = select.value;
    replace(select, ...this.#things.map((td) => el('option', { value: td.id }, td.title)));
    if (this.#things.some((td) => td.id === chosen)) select.value = chosen;
    this.#showProperties();
  }

  #showProperties(): void {
    const td = this.#things.find((t) => t.id === byId<HTMLSelectElement>('rule-thing').value);
    const select = byId<HTMLSelectElement>('rule-property');
    const chosen = select.value;
    const names = Object.entries(td?.properties ?? {}).filter(([, p]) => watchable(p));
    replace(select, ...names.map(([name, p]) => el('option', { value: name }, p.title ?? name)));
    if (names.some(([name]) => name === chosen)) select.value = chosen;
  }

  /** Reads both properties once over HTTP (observation then pushes every change). */
  async read(): Promise<void> {
    if (this.#td === undefined) return;
    const read = (name: string) => {
      const url = formUrl(this.#td!, this.#td!.properties?.[name]?.forms, 'readproperty');
      return url === undefined ? Promise.resolve(undefined) : getJson<unknown>(url);
    };
    const [rules, active] = await Promise.all([read('rules'), read('activeAlerts')]);
    if (Array.isArray(rules)) this.update('rules', rules);
    if (Array.isArray(active)) this.update('activeAlerts', active);
  }

  /** A value of the alerts Thing's `rules` or `activeAlerts`, read or pushed. */
  update(name: string, value: unknown): void {
    if (!Array.isArray(value)) return;
    if (name === 'rules') {
      this.#rules = value as AlertRule[];
      this.#renderRules();
    } else if (name === 'activeAlerts') {
      this.#active = value as ActiveAlert[];
      this.#renderActive();
      this.#announce();
    }
  }

  #thingTitle(ref: string): string {
    const td = this.#things.find((t) => t.id === ref || slugOf(t) === ref);
    return td?.title ?? ref;
  }

  #schemaOf(thing: string, property: string): PropertyAffordance | undefined {
    return this.#things.find((t) => t.id === thing || slugOf(t) === thing)?.properties?.[property];
  }

  #describe(a: { thing: string; property: string; comparison: string; threshold: unknown }, value?: unknown): string {
    const schema = this.#schemaOf(a.thing, a.property) ?? {};
    const shown = (v: unknown) => formatValue(v, schema);
    return `${this.#thingTitle(a.thing)} · ${a.property} ${a.comparison} ${shown(a.threshold)}${value === undefined ? '' : ` (now ${shown(value)})`}`;
  }

  #renderRules(): void {
    const body = byId('rules').querySelector('tbody')!;
    replace(
      body,
      ...this.#rules.map((rule) =>
        el(
          'tr',
          { 'data-rule': rule.id },
          el('td', {}, this.#thingTitle(rule.thing)),
          el('td', {}, rule.property),
          el('td', {}, `${rule.comparison} ${formatValue(rule.threshold, this.#schemaOf(rule.thing, rule.property) ?? {})}`),
          el('td', {}, `${rule.holdMs / 1000} s`),
          el('td', {}, rule.title ?? ''),
          el('td', {}, el('button', { type: 'button', onclick: () => void this.#invoke('deleteRule', { id: rule.id }, byId('rule-error')) }, 'Delete')),
        ),
      ),
    );
  }

  #renderActive(): void {
    const count = unacknowledged(this.#active);
    const badge = byId('alert-badge');
    badge.textContent = String(count);
    badge.dataset.count = String(count);
    badge.hidden = count === 0;
    byId('no-alerts').hidden = this.#active.length > 0;
    replace(
      byId('active-alerts'),
      ...this.#active.map((alert) => {
        const error = el('span', { class: 'error' });
        return el(
          'li',
          { class: `alert${alert.acknowledged ? ' acknowledged' : ''}`, 'data-alert': alert.id, 'data-acknowledged': String(alert.acknowledged) },
          el('strong', {}, alert.title ?? 'Alert'),
          ' ',
          el('span', {}, this.#describe(alert, alert.value)),
          ' ',
          el('small', {}, `raised ${new Date(alert.raisedAt).toLocaleString()}`, alert.acknowledged ? ' · acknowledged' : ''),
          ' ',
          alert.acknowledged ? null : el('button', { type: 'button', class: 'acknowledge', onclick: () => void this.#invoke('acknowledge', { id: alert.id }, error) }, 'Acknowledge'),
          ' ',
          el('button', { type: 'button', class: 'clear', onclick: () => void this.#invoke('clear', { id: alert.id }, error) }, 'Clear'),
          ' ',
          error,
        );
      }),
    );
  }

  /** Invokes one of the alerts Thing's actions through its form; a refusal is shown in `error`. */
  async #invoke(action: string, input: unknown, error: HTMLElement): Promise<boolean> {
    error.textContent = '';
    const url = this.#td === undefined ? undefined : formUrl(this.#td, this.#td.actions?.[action]?.forms, 'invokeaction');
    if (url === undefined) {
      error.textContent = `this node's alerts Thing offers no ${action}`;
      return false;
    }
    try {
      await call(url, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(input) });
      // The observation pushes the new lists; reading them at once keeps the page right even if it is slow.
      await this.read();
      return true;
    } catch (err) {
      error.textContent = (err as Error).message;
      return false;
    }
  }

  /** The threshold as the property's type takes it (a number, true/false, or the text). */
  #threshold(schema: PropertyAffordance | undefined, text: string): { value: unknown } | { fault: string } {
    const trimmed = text.trim();
    if (schema?.type === 'number' || schema?.type === 'integer') {
      const value = Number(trimmed);
      return trimmed === '' || !Number.isFinite(value) ? { fault: 'the threshold must be a number' } : { value };
    }
    if (schema?.type === 'boolean') return trimmed === 'true' || trimmed === 'on' ? { value: true } : trimmed === 'false' || trimmed === 'off' ? { value: false } : { fault: 'the threshold must be on or off' };
    return trimmed === '' ? { fault: 'enter a threshold' } : { value: trimmed };
  }

  async #create(): Promise<void> {
    const error = byId('rule-error');
    const thing = byId<HTMLSelectElement>('rule-thing').value;
    const property = byId<HTMLSelectElement>('rule-property').value;
    if (thing === '' || property === '') {
      error.textContent = 'choose a Thing and one of its properties';
      return;
    }
    const threshold = this.#threshold(this.#schemaOf(thing, property), byId<HTMLInputElement>('rule-threshold').value);
    if ('fault' in threshold) {
      error.textContent = threshold.fault;
      return;
    }
    const holdS = Number(byId<HTMLInputElement>('rule-hold').value || '0');
    if (!(holdS >= 0)) {
      error.textContent = 'the time to hold must be 0 s or more';
      return;
    }
    const title = byId<HTMLInputElement>('rule-title').value.trim();
    const rule = { thing, property, comparison: byId<HTMLSelectElement>('rule-comparison').value, threshold: threshold.value, holdMs: Math.round(holdS * 1000), ...(title ? { title } : {}) };
    if (await this.#invoke('createRule', rule, error)) byId<HTMLInputElement>('rule-threshold').value = '';
  }

  #showNotificationState(): void {
    const supported = typeof Notification !== 'undefined';
    const state = byId('notify-state');
    const allow = byId<HTMLButtonElement>('notify-allow');
    allow.hidden = !supported || Notification.permission !== 'default';
    state.textContent = !supported ? 'this browser has no notifications' : Notification.permission === 'granted' ? 'new alerts are also shown as browser notifications' : Notification.permission === 'denied' ? 'browser notifications are blocked for this page' : '';
  }

  async #allowNotifications(): Promise<void> {
    if (typeof Notification === 'undefined') return;
    await Notification.requestPermission();
    this.#showNotificationState();
  }

  /** Announces the alerts not seen before (not those already active when the page opened). */
  #announce(): void {
    const fresh = this.#active.filter((a) => !a.acknowledged && !this.#announced.has(a.id));
    for (const alert of this.#active) this.#announced.add(alert.id);
    if (this.#first) {
      this.#first = false;
      return;
    }
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    for (const alert of fresh) new Notification(alert.title ?? 'Flowchain alert', { body: this.#describe(alert, alert.value), tag: alert.id });
  }
}

/**
 * One Thing on the page: its description (readable, or the raw JSON-LD), its URL and whether
 * it validates, and a control for every affordance generated from its data schema. Properties
 * show their value live (numbers, booleans and enums also as a chart over the chosen range,
 * filled from their history, with its CSV to download), writable ones can be set, actions
 * invoked; values that do not fit the schema are explained and never sent.
 */
import { call, describeProblem, getJson, type Problem } from './api.js';
import { ChartPanel, isCharted } from './chart-panel.js';
import { el, replace } from './dom.js';
import type { WriteFollower } from './follow.js';
import type { TimeRange } from './series.js';
import { objectInput, schemaInput, type SchemaInput } from './inputs.js';
import { formatValue, formUrl, slugOf, typesOf, type ActionAffordance, type PropertyAffordance, type ServedTd } from './td.js';

const JSON_HEADERS = { 'content-type': 'application/json' };

interface Validation {
  readonly valid: boolean;
  readonly schema: string;
  readonly field?: string;
  readonly reason?: string;
}

export class ThingView {
  readonly td: ServedTd;
  readonly element: HTMLElement;
  /** When a value or event of this Thing last arrived (ms), for the list's "live" mark. */
  lastUpdate: number | undefined;
  readonly #properties = new Map<string, PropertyControl>();
  /** The range the charts show (undefined until the view is first shown). */
  #range: TimeRange | undefined;

  /** `key` marks the view (its slug on this node; a Thing of another node is marked by its id). */
  constructor(td: ServedTd, follower: WriteFollower, key = slugOf(td)) {
    this.td = td;
    const tdUrl = new URL(`things/${encodeURIComponent(slugOf(td))}`, td.base ?? location.href);
    const validity = el('span', { class: 'badge validity', 'data-validation': 'pending' }, 'validating…');
    const readable = el('div', { class: 'readable' });
    const raw = el('pre', { class: 'raw', hidden: true }, JSON.stringify(td, null, 2));
    const toggle = el('button', { type: 'button', class: 'link' }, 'Show raw JSON-LD');
    toggle.addEventListener('click', () => {
      raw.hidden = !raw.hidden;
      readable.hidden = !raw.hidden;
      toggle.textContent = raw.hidden ? 'Show raw JSON-LD' : 'Show readable view';
    });

    for (const [name, affordance] of Object.entries(td.properties ?? {})) {
      const control = new PropertyControl(td, name, affordance, follower);
      this.#properties.set(name, control);
      readable.append(control.element);
    }
    for (const [name, action] of Object.entries(td.actions ?? {})) readable.append(actionControl(td, name, action));
    const events = Object.entries(td.events ?? {});
    if (events.length > 0) {
      readable.append(el('section', { class: 'affordance' }, el('h4', {}, 'Events'), el('ul', { class: 'plain' }, ...events.map(([name, e]) => el('li', {}, el('strong', {}, e.title ?? name), ' ', el('small', {}, name), e.description ? ` — ${e.description}` : '')))));
    }

    this.element = el(
      'div',
      { class: 'thing', 'data-thing': key },
      el('h2', {}, td.title, ...typesOf(td).map((t) => el('span', { class: 'tag' }, t))),
      td.description ? el('p', { class: 'description' }, td.description) : null,
      el('p', { class: 'meta' }, el('a', { href: tdUrl.href, target: '_blank', rel: 'noopener' }, tdUrl.href), ' ', validity, ' ', toggle),
      readable,
      raw,
    );
    void getJson<Validation>(`${tdUrl.href}/validation`).then(
      (v) => {
        validity.dataset.validation = v.valid ? 'valid' : 'invalid';
        validity.className = v.valid ? 'badge validity ok' : 'badge validity bad';
        validity.textContent = v.valid ? `valid (${v.schema})` : `invalid at ${v.field}: ${v.reason}`;
      },
      () => replace(validity, 'validity unknown'),
    );
  }

  /** Reads every property over HTTP (once, at start: observed ones are then pushed); returns the values read. */
  async read(): Promise<Readonly<Record<string, unknown>>> {
    const url = formUrl(this.td, this.td.forms, 'readallproperties');
    if (url === undefined) return {};
    const values = await getJson<Record<string, unknown>>(url);
    const now = Date.now();
    for (const [name, value] of Object.entries(values)) this.#properties.get(name)?.show(value, now, false);
    return values;
  }

  /** The range the charts show now. */
  get range(): TimeRange | undefined {
    return this.#range;
  }

  /** Shows `range` on every chart, each filled from its property's history. */
  async showRange(range: TimeRange): Promise<void> {
    this.#range = range;
    await Promise.all([...this.#properties.values()].map((control) => control.showRange(range)));
  }

  /** Moves the charts' live range on to end at `now`. */
  advance(now: number): void {
    for (const control of this.#properties.values()) control.advance(now);
  }

  /** A property's value from the live connection: a change (`pushed`), or its current value when observing began. */
  update(name: string, value: unknown, at: number, pushed: boolean): void {
    if (pushed) this.lastUpdate = at;
    this.#properties.get(name)?.show(value, at, pushed);
  }
}

class PropertyControl {
  readonly element: HTMLElement;
  readonly #affordance: PropertyAffordance;
  readonly #output = el('output', { class: 'value' }, '–');
  readonly #input: SchemaInput | undefined;
  readonly #chart: ChartPanel | undefined;
  #value: unknown;

  constructor(td: ServedTd, name: string, affordance: PropertyAffordance, follower: WriteFollower) {
    this.#affordance = affordance;
    const label = affordance.title ?? name;
    const error = el('p', { class: 'error', role: 'alert' });
    const writeUrl = affordance.readOnly ? undefined : formUrl(td, affordance.forms, 'writeproperty');
    let editor: HTMLElement | null = null;
    if (writeUrl !== undefined) {
      const send = async () => {
        error.textContent = '';
        const read = input.read();
        if ('fault' in read) {
          error.textContent = read.fault;
          return;
        }
        const body = JSON.stringify(read.value);
        await follower
          .follow(`${td.title} · ${label} = ${formatValue(read.value, affordance)}`, () => call(writeUrl, { method: 'PUT', headers: JSON_HEADERS, body }))
          .catch((err: Error) => {
            error.textContent = err.message;
            // A toggle or a select goes back to the value the Thing still has.
            if (commitsAtOnce) input.show(this.#value);
          });
      };
      const commitsAtOnce = affordance.type === 'boolean' || affordance.enum !== undefined;
      const input = schemaInput(affordance, label, commitsAtOnce ? () => void send() : undefined);
      this.#input = input;
      editor = el('form', { class: 'editor', novalidate: true, onsubmit: (e: Event) => (e.preventDefault(), void send()) }, input.element, commitsAtOnce ? null : el('button', { type: 'submit' }, 'Set'));
    }
    const chart = isCharted(affordance) ? new ChartPanel(td, name, affordance) : undefined;
    this.#chart = chart;
    this.element = el(
      'section',
      { class: 'affordance property', 'data-property': name },
      el('h4', {}, label, ' ', el('small', {}, name), affordance.readOnly ? el('span', { class: 'badge' }, 'read-only') : null),
      affordance.description ? el('p', { class: 'description' }, affordance.description) : null,
      el('div', { class: 'row' }, this.#output, editor),
      error,
      chart?.chartBox ?? null,
      chart?.tools ?? null,
    );
  }

  async showRange(range: TimeRange): Promise<void> {
    await this.#chart?.showRange(range);
  }

  advance(now: number): void {
    this.#chart?.advance(now);
  }

  /** Shows a value read (`pushed` false) or pushed by the node at `at`. */
  show(value: unknown, at: number, pushed: boolean): void {
    this.#value = value;
    this.#output.textContent = formatValue(value, this.#affordance);
    if (pushed) this.#output.dataset.updatedAt = String(at);
    this.#input?.show(value);
    // Only changes extend the chart: a value read or observed at start is already in the history.
    if (pushed) this.#chart?.push(at, value);
  }
}

/** An invocation's status as the node answers it. */
interface InvocationStatus {
  readonly status: 'pending' | 'running' | 'completed' | 'failed';
  readonly output?: unknown;
  readonly error?: Problem;
}

/** How often a running invocation's status is read again. */
const INVOCATION_POLL_MS = 1000;

/**
 * Shows an asynchronous invocation in `result` until it finishes: its status, read every
 * second, with a Cancel button (cancelaction) while it runs; then its output or its error.
 */
function followInvocation(location: URL, result: HTMLElement): void {
  const cancel = el('button', { type: 'button', class: 'cancel', onclick: () => void call(location, { method: 'DELETE' }).then(poll, shownError) }, 'Cancel');
  const shownError = (err: unknown): void => {
    result.className = 'result error';
    replace(result, (err as Error).message);
  };
  const show = (status: InvocationStatus): void => {
    if (status.status === 'completed') {
      result.className = 'result';
      replace(result, status.output === undefined ? 'done' : `done: ${JSON.stringify(status.output)}`);
    } else if (status.status === 'failed') {
      shownError(new Error(describeProblem(status.error ?? {})));
    } else {
      replace(result, `${status.status}…`, ' ', cancel);
      timer = setTimeout(poll, INVOCATION_POLL_MS);
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const poll = (): void => {
    clearTimeout(timer);
    void getJson<InvocationStatus>(location).then(show, shownError);
  };
  poll();
}

function actionControl(td: ServedTd, name: string, action: ActionAffordance): HTMLElement {
  const label = action.title ?? name;
  const url = formUrl(td, action.forms, 'invokeaction');
  const input: SchemaInput | undefined = action.input === undefined ? undefined : action.input.type === 'object' ? objectInput(action.input, label) : schemaInput(action.input, label);
  const result = el('p', { class: 'result', role: 'status' });
  const invoke = async () => {
    result.className = 'result';
    const read = input?.read() ?? { value: undefined };
    if ('fault' in read) {
      result.className = 'result error';
      result.textContent = read.fault;
      return;
    }
    try {
      const response = await call(url!, { method: 'POST', headers: JSON_HEADERS, body: read.value === undefined ? '' : JSON.stringify(read.value) });
      // An asynchronous action answers 201 with the status URL (WoT Profile): follow it.
      if (response.status === 201) return void followInvocation(new URL(response.headers.get('location')!, url), result);
      const text = await response.text();
      result.textContent = text ? `done: ${text}` : 'done';
    } catch (err) {
      result.className = 'result error';
      result.textContent = (err as Error).message;
    }
  };
  return el(
    'section',
    { class: 'affordance action', 'data-action': name },
    el('h4', {}, label, ' ', el('small', {}, name)),
    action.description ? el('p', { class: 'description' }, action.description) : null,
    el('form', { class: 'editor', novalidate: true, onsubmit: (e: Event) => (e.preventDefault(), void invoke()) }, input?.element ?? null, el('button', { type: 'submit', disabled: url === undefined }, 'Invoke')),
    result,
  );
}

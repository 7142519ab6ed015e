/**
 * An event log: events as they arrive (and, when asked, property changes), newest first, with
 * a text filter and a pause. While paused, entries are kept and counted, and shown on resume;
 * the log keeps the newest 500. The page keeps two: the devices' events, and the ledger's
 * traffic (each transaction's steps, blocks, anchors), which would otherwise bury them.
 */
import { el } from './dom.js';

const MAX_ENTRIES = 500;

export interface LogEntry {
  readonly at: number;
  readonly thing: string;
  readonly name: string;
  readonly kind: 'event' | 'property';
  readonly data: unknown;
}

/** How an entry's data is shown: a readable node, or undefined for its JSON. */
export type EntryFormat = (entry: LogEntry) => Node | undefined;

export class EventLog {
  readonly #list: HTMLElement;
  readonly #filter: HTMLInputElement;
  readonly #pause: HTMLButtonElement;
  readonly #properties: HTMLInputElement | undefined;
  readonly #format: EntryFormat;
  readonly #held: LogEntry[] = [];
  #paused = false;
  /** Entries added since the page opened (shown, held or dropped for length). */
  added = 0;

  /** Without `properties` (the box that asks for property changes too), the log takes events only. */
  constructor(list: HTMLElement, filter: HTMLInputElement, pause: HTMLButtonElement, properties?: HTMLInputElement, format: EntryFormat = () => undefined) {
    this.#list = list;
    this.#filter = filter;
    this.#pause = pause;
    this.#properties = properties;
    this.#format = format;
    filter.addEventListener('input', () => this.#applyFilter());
    pause.addEventListener('click', () => this.#togglePause());
  }

  add(entry: LogEntry): void {
    if (entry.kind === 'property' && this.#properties?.checked !== true) return;
    this.added++;
    if (this.#paused) {
      this.#held.push(entry);
      if (this.#held.length > MAX_ENTRIES) this.#held.shift();
      this.#pause.textContent = `Resume (${this.#held.length} new)`;
      return;
    }
    this.#show(entry);
  }

  #show(entry: LogEntry): void {
    const text = typeof entry.data === 'object' ? JSON.stringify(entry.data) : String(entry.data);
    const row = el('li', { class: `log-${entry.kind}` }, el('time', {}, new Date(entry.at).toLocaleTimeString()), el('strong', {}, entry.thing), el('span', { class: 'name' }, entry.name), this.#format(entry) ?? el('code', {}, text));
    row.hidden = !this.#matches(row);
    this.#list.prepend(row);
    while (this.#list.children.length > MAX_ENTRIES) this.#list.lastElementChild?.remove();
  }

  #matches(row: HTMLElement): boolean {
    const needle = this.#filter.value.trim().toLowerCase();
    return needle === '' || (row.textContent ?? '').toLowerCase().includes(needle);
  }

  #applyFilter(): void {
    for (const row of this.#list.children) (row as HTMLElement).hidden = !this.#matches(row as HTMLElement);
  }

  #togglePause(): void {
    this.#paused = !this.#paused;
    this.#pause.setAttribute('aria-pressed', String(this.#paused));
    if (this.#paused) {
      this.#pause.textContent = 'Resume';
      return;
    }
    this.#pause.textContent = 'Pause';
    for (const entry of this.#held.splice(0)) this.#show(entry);
  }
}

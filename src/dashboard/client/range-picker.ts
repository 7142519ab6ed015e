/**
 * The range picker above the charts (the overview's, or a Thing's): 15 minutes, 1 hour (the default), 24 hours, 7 days,
 * or a custom start and end (datetime-local, the browser's time zone). A named range applies at
 * once; a custom one when both ends are given, the start before the end. The choice is kept for
 * the browser tab (a custom one falls back to the default on reload).
 */
import { byId } from './dom.js';
import { DEFAULT_RANGE, rangeOf, RANGES, type RangeName, type TimeRange } from './series.js';

const STORAGE_KEY = 'flowchain-range';

/** `ms` as a datetime-local value: local time, to the second, without a zone. */
const localInput = (ms: number): string => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 19);

export class RangePicker {
  #name: RangeName;
  #custom: { since: number; until: number } | undefined;
  readonly #listeners = new Set<(range: TimeRange) => void>();

  /** Binds the page's #range-picker; `shown` is the range on the charts now (a custom one starts from it). */
  constructor(shown: () => TimeRange | undefined) {
    const form = byId<HTMLFormElement>('range-picker');
    const error = byId('range-error');
    const custom = byId('custom-range');
    const since = byId<HTMLInputElement>('range-since');
    const until = byId<HTMLInputElement>('range-until');
    const stored = sessionStorage.getItem(STORAGE_KEY);
    this.#name = stored !== null && stored in RANGES ? (stored as RangeName) : DEFAULT_RANGE;
    form.querySelector<HTMLInputElement>(`input[name="range"][value="${this.#name}"]`)!.checked = true;
    form.dataset.range = this.#name;
    const apply = (name: RangeName): void => {
      this.#name = name;
      error.textContent = '';
      form.dataset.range = name;
      sessionStorage.setItem(STORAGE_KEY, name);
      const range = this.current();
      for (const listener of this.#listeners) listener(range);
    };
    form.addEventListener('change', (e) => {
      const input = e.target as HTMLInputElement;
      if (input.name !== 'range') return;
      custom.hidden = input.value !== 'custom';
      if (input.value !== 'custom') return apply(input.value as RangeName);
      const from = shown() ?? this.current();
      since.value ||= localInput(from.since);
      until.value ||= localInput(from.until);
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const from = Date.parse(since.value);
      const to = Date.parse(until.value);
      if (!(from < to)) {
        error.textContent = 'choose a start before the end';
        return;
      }
      this.#custom = { since: from, until: to };
      apply('custom');
    });
  }

  /** The range chosen, as of now (a named one ends now). */
  current(): TimeRange {
    return rangeOf(this.#name, Date.now(), this.#custom);
  }

  /** Listens to the ranges chosen; returns the unsubscribe function. */
  onChange(listener: (range: TimeRange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/**
 * A property's chart with its tools, as the Thing view and the overview both show it: the
 * PropertyChart over the chosen range (filled from the property's history, a click on a point
 * leading to its transaction's receipt on the Ledger page) and an "Export CSV" button that
 * downloads the raw values of the range shown, with their transaction ids.
 */
import { PropertyChart } from './chart.js';
import { el } from './dom.js';
import { historyUrl } from './history.js';
import { chartable, type TimeRange } from './series.js';
import { slugOf, type PropertyAffordance, type ServedTd } from './td.js';

/** Whether a property gets a chart: a chartable value (number, boolean, enum) that can be read. */
export function isCharted(affordance: PropertyAffordance): boolean {
  return chartable(affordance) && affordance.writeOnly !== true;
}

export class ChartPanel {
  /** The chart's box (its data-* attributes say what it holds). */
  readonly chartBox: HTMLElement;
  /** The line under the chart: the export button and why an export failed. */
  readonly tools: HTMLElement;
  readonly #chart: PropertyChart;

  constructor(td: ServedTd, name: string, affordance: PropertyAffordance) {
    const label = affordance.title ?? name;
    this.chartBox = el('div', { class: 'chart' });
    const error = el('span', { class: 'export-error', role: 'status' });
    const button: HTMLButtonElement = el('button', { type: 'button', class: 'link export', onclick: () => void this.#export(td, name, button, error) }, 'Export CSV');
    this.tools = el('p', { class: 'chart-tools' }, button, ' ', error);
    // A point leads to its transaction's receipt on the Ledger page.
    this.#chart = new PropertyChart(this.chartBox, label, affordance, historyUrl(td, name), (txId) => (location.hash = `#/ledger/tx/${encodeURIComponent(txId)}`));
  }

  /** The range the chart shows now (undefined until first shown). */
  get range(): TimeRange | undefined {
    return this.#chart.range;
  }

  /** Shows `range`, read from the property's history. */
  async showRange(range: TimeRange): Promise<void> {
    await this.#chart.show(range);
  }

  /** Moves a live range on to end at `now`. */
  advance(now: number): void {
    this.#chart.advance(now);
  }

  /** A change pushed by the node at `at` (values read or observed at start are already in the history). */
  push(at: number, value: unknown): void {
    this.#chart.push(at, value);
  }

  /** Downloads the CSV of the values in the chart's range (raw values, with their transaction ids). */
  async #export(td: ServedTd, name: string, button: HTMLButtonElement, error: HTMLElement): Promise<void> {
    const range = this.#chart.range;
    if (range === undefined) return;
    button.disabled = true;
    error.textContent = '';
    try {
      const { text, truncated } = await this.#chart.csv();
      const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
      const stamp = (ms: number) => new Date(ms).toISOString().replace(/[:.]/g, '-');
      const link = el('a', { href: url, download: `${slugOf(td)}-${name}-${stamp(range.since)}-${stamp(range.until)}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      if (truncated) error.textContent = 'only the newest 100 000 values were exported';
    } catch (err) {
      error.textContent = (err as Error).message;
    } finally {
      button.disabled = false;
    }
  }
}

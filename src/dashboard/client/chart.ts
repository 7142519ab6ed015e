/**
 * The chart of one property over the chosen range (uPlot): filled from the property's history
 * when the range is chosen, aggregated to the chart's width (one bucket every two pixels),
 * then carried on live, each new value joining the current bucket. Readings draw as lines
 * through each bucket's mean; setpoints, booleans and enums draw as steps through each
 * bucket's last value. What the chart holds is on its box as data-* attributes
 * (`data-state`, `data-range`, `data-since`, `data-until`, `data-every`, `data-points`,
 * `data-values` (the y of each bucket), `data-history-points`, `data-steps`), so the page can
 * be tested without looking at pixels. A step chart begins with the value that held when its
 * range began (the newest one set before it), so a setpoint left alone is still drawn. A click on a point leads to the transaction that
 * recorded its bucket's last value, when the ledger recorded one.
 */
import uPlot from 'uplot';
import { readBuckets, readEntries, readNewest } from './history.js';
import { addToBuckets, bucketValue, bucketWidth, dropBefore, drawsAsSteps, historyCsv, type Bucket, type TimeRange } from './series.js';
import type { PropertyAffordance } from './td.js';

const HEIGHT = 120;
/** The width a chart assumes while its box is hidden (its history is read when shown). */
const HIDDEN_WIDTH = 600;

export class PropertyChart {
  readonly #box: HTMLElement;
  readonly #schema: PropertyAffordance;
  readonly #steps: boolean;
  readonly #source: URL | undefined;
  readonly #plot: uPlot;
  #buckets: Bucket[] = [];
  #range: TimeRange | undefined;
  #every = 1000;
  /** Values pushed while the history is being read, added once it is in. */
  #pending: { at: number; value: unknown }[] | undefined;
  #request = 0;

  /**
   * `source` is the property's history URL (no history is read without one); `onReceipt` is
   * called with the transaction id of a point clicked.
   */
  constructor(box: HTMLElement, label: string, schema: PropertyAffordance, source: URL | undefined, onReceipt?: (txId: string) => void) {
    this.#box = box;
    this.#schema = schema;
    this.#steps = drawsAsSteps(schema);
    this.#source = source;
    box.dataset.steps = String(this.#steps);
    box.dataset.state = 'empty';
    const axis = { stroke: '#8a94a6', grid: { stroke: '#2a3140' } };
    const options = schema.enum ?? (schema.type === 'boolean' ? ['off', 'on'] : undefined);
    this.#plot = new uPlot(
      {
        width: this.#width(),
        height: HEIGHT,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          // The chosen range, whatever the data covers.
          x: { time: true, range: (_u, min, max) => (this.#range === undefined ? [min, max] : [this.#range.since / 1000, this.#range.until / 1000]) },
          // Enums and booleans span their options; numbers their values (one value alone gets room around it).
          y: options === undefined ? { range: (_u, min, max) => (min === max ? [min - 1, max + 1] : uPlot.rangeNum(min, max, 0.1, true)) } : { range: [-0.2, options.length - 0.8] as [number, number] },
        },
        axes: [
          axis,
          options === undefined
            ? { ...axis, size: 48 }
            : { ...axis, size: 56, incrs: [1], values: (_u: uPlot, splits: number[]) => splits.map((v) => (Number.isInteger(v) ? String(options[v] ?? '') : '')) },
        ],
        series: [{}, { label, stroke: '#4fb3ff', width: 2, points: { size: 4 }, ...(this.#steps ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}) }],
      },
      [[], []],
      box,
    );
    new ResizeObserver(() => this.#plot.setSize({ width: this.#width(), height: HEIGHT })).observe(box);
    if (onReceipt !== undefined && source !== undefined) {
      box.title = 'Click a point for the transaction that recorded it';
      this.#plot.over.addEventListener('click', () => void this.#receiptOf(this.#plot.cursor.idx).then((txId) => txId !== undefined && onReceipt(txId)));
    }
  }

  /** The transaction of the last value in the bucket at `index` (a step's closing point has none). */
  async #receiptOf(index: number | null | undefined): Promise<string | undefined> {
    const bucket = index === null || index === undefined ? undefined : this.#buckets[index];
    if (bucket === undefined || this.#source === undefined) return undefined;
    const entry = await readNewest(this.#source, { since: bucket.timestamp, until: bucket.timestamp + this.#every - 1 }).catch(() => undefined);
    return entry?.txId;
  }

  get range(): TimeRange | undefined {
    return this.#range;
  }

  #width(): number {
    return Math.max(200, this.#box.clientWidth || HIDDEN_WIDTH);
  }

  /** Shows `range`: reads its buckets from the history, then goes on live while the range is. */
  async show(range: TimeRange): Promise<void> {
    const request = ++this.#request;
    this.#range = range;
    this.#every = bucketWidth(range, this.#width());
    this.#buckets = [];
    this.#pending = [];
    Object.assign(this.#box.dataset, { range: range.name, since: String(range.since), until: String(range.until), every: String(this.#every), state: 'loading' });
    this.#draw();
    if (this.#source === undefined) {
      this.#settle('no-history', 0);
      return;
    }
    try {
      const [{ buckets, truncated }, before] = await Promise.all([
        readBuckets(this.#source, { since: range.since, until: range.until, every: this.#every }),
        // A step starts from the value that held when the range began (set before it).
        this.#steps ? readNewest(this.#source, { since: 0, until: range.since - 1 }) : undefined,
      ]);
      if (request !== this.#request) return;
      const held: Bucket[] = before === undefined ? [] : [{ timestamp: range.since, count: 0, min: null, max: null, mean: null, last: before.value }];
      this.#buckets = [...held, ...buckets];
      // A range holding more values than 20 pages read shows its newest part, and says so.
      this.#box.title = truncated ? 'Only the newest part of this range is shown: it holds more values than a chart reads at once' : '';
      this.#box.dataset.truncated = String(truncated);
      this.#settle('ready', buckets.length);
    } catch (err) {
      if (request !== this.#request) return;
      this.#box.title = `History could not be read: ${(err as Error).message}`;
      this.#settle('failed', 0);
    }
  }

  #settle(state: string, fromHistory: number): void {
    this.#box.dataset.state = state;
    this.#box.dataset.historyPoints = String(fromHistory);
    const pending = this.#pending ?? [];
    this.#pending = undefined;
    for (const { at, value } of pending) this.#add(at, value);
    this.#draw();
  }

  /** A value that arrived live at `at` (ms): it joins the current bucket while the range is live. */
  push(at: number, value: unknown): void {
    if (this.#range === undefined || !this.#range.live) return;
    if (this.#pending !== undefined) {
      this.#pending.push({ at, value });
      return;
    }
    if (this.#add(at, value)) this.#draw();
  }

  /** Moves a live range on to end at `now` (the page calls it now and then, values or not). */
  advance(now: number): void {
    if (this.#range?.live !== true || this.#pending !== undefined || now <= this.#range.until) return;
    this.#slide(now);
    this.#draw();
  }

  #slide(until: number): void {
    const range = this.#range!;
    this.#range = { ...range, since: until - (range.until - range.since), until };
    dropBefore(this.#buckets, this.#range.since, this.#every);
    Object.assign(this.#box.dataset, { since: String(this.#range.since), until: String(this.#range.until) });
  }

  #add(at: number, value: unknown): boolean {
    const range = this.#range!;
    if (at < range.since) return false;
    // A live range moves on with the values that arrive.
    if (at > range.until) this.#slide(at);
    return addToBuckets(this.#buckets, at, value, this.#every);
  }

  #draw(): void {
    const xs: number[] = [];
    const ys: (number | null)[] = [];
    for (const bucket of this.#buckets) {
      xs.push(bucket.timestamp / 1000);
      ys.push(bucketValue(bucket, this.#schema, this.#steps));
    }
    this.#box.dataset.points = String(this.#buckets.length);
    this.#box.dataset.values = JSON.stringify(ys);
    // A step holds its last value up to the end of a live range.
    if (this.#steps && this.#range?.live && xs.length > 0 && this.#range.until / 1000 > xs.at(-1)!) {
      xs.push(this.#range.until / 1000);
      ys.push(ys.at(-1)!);
    }
    this.#plot.setData([xs, ys]);
  }

  /** The CSV of every raw value in the shown range (see historyCsv), and whether it was cut short. */
  async csv(): Promise<{ text: string; truncated: boolean }> {
    if (this.#source === undefined || this.#range === undefined) return { text: historyCsv([]), truncated: false };
    const { items, truncated } = await readEntries(this.#source, { since: this.#range.since, until: this.#range.until });
    return { text: historyCsv(items), truncated };
  }
}

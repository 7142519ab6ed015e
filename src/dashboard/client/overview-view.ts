/**
 * The overview: every charted property (numbers, booleans, enums) of the Things it is given, at
 * once, in a grid of cards. Each card is titled "Thing · property", links to the Thing's own
 * view, shows the current value, and the property's chart over the range the picker chooses
 * (the same ChartPanel as the Thing view: history, buckets, live values, receipts, CSV).
 */
import { ChartPanel, isCharted } from './chart-panel.js';
import { el, replace } from './dom.js';
import type { TimeRange } from './series.js';
import { formatValue, type PropertyAffordance, type ServedTd } from './td.js';

export class OverviewView {
  readonly #grid: HTMLElement;
  readonly #empty: HTMLElement;
  readonly #currentRange: () => TimeRange;
  /** The cards by Thing id, then by property name. */
  readonly #cards = new Map<string, Map<string, OverviewCard>>();
  /** The range the charts show (undefined until the overview is first shown). */
  #range: TimeRange | undefined;

  /**
   * Fills `grid`, showing `empty` while no card is there; `currentRange` is the picker's range,
   * which the cards of a Thing that comes later open on.
   */
  constructor(grid: HTMLElement, empty: HTMLElement, currentRange: () => TimeRange) {
    this.#grid = grid;
    this.#empty = empty;
    this.#currentRange = currentRange;
  }

  /**
   * Shows the cards of `tds`, in their order: new Things get theirs (on the range shown, once the
   * overview has been), Things no longer given lose theirs. `keyOf` names a Thing's route.
   */
  setThings(tds: readonly ServedTd[], keyOf: (td: ServedTd) => string): void {
    const ids = new Set(tds.map((td) => td.id));
    for (const id of [...this.#cards.keys()]) if (!ids.has(id)) this.#cards.delete(id);
    for (const td of tds) {
      if (this.#cards.has(td.id)) continue;
      const cards = new Map<string, OverviewCard>();
      for (const [name, affordance] of Object.entries(td.properties ?? {})) {
        if (!isCharted(affordance)) continue;
        const card = new OverviewCard(td, keyOf(td), name, affordance);
        cards.set(name, card);
        if (this.#range !== undefined) void card.chart.showRange(this.#currentRange());
      }
      this.#cards.set(td.id, cards);
    }
    replace(this.#grid, ...tds.flatMap((td) => [...this.#cards.get(td.id)!.values()].map((card) => card.element)));
    this.#empty.hidden = this.#grid.childElementCount > 0;
  }

  /** The range the charts show now. */
  get range(): TimeRange | undefined {
    return this.#range;
  }

  /** Shows `range` on every card's chart, each filled from its property's history. */
  async showRange(range: TimeRange): Promise<void> {
    this.#range = range;
    await Promise.all([...this.#each()].map((card) => card.chart.showRange(range)));
  }

  /** Moves the charts' live range on to end at `now`. */
  advance(now: number): void {
    for (const card of this.#each()) card.chart.advance(now);
  }

  /** A property's value, read (`pushed` false) or pushed by the node at `at`. */
  update(thingId: string, name: string, value: unknown, at: number, pushed: boolean): void {
    this.#cards.get(thingId)?.get(name)?.show(value, at, pushed);
  }

  *#each(): Iterable<OverviewCard> {
    for (const cards of this.#cards.values()) yield* cards.values();
  }
}

/** One property's card: its title linking to its Thing, its value, its chart. */
class OverviewCard {
  readonly element: HTMLElement;
  readonly chart: ChartPanel;
  readonly #affordance: PropertyAffordance;
  readonly #output = el('output', { class: 'value' }, '–');

  constructor(td: ServedTd, key: string, name: string, affordance: PropertyAffordance) {
    this.#affordance = affordance;
    this.chart = new ChartPanel(td, name, affordance);
    this.element = el(
      'article',
      { class: 'card', 'data-card': key, 'data-card-property': name },
      el('h3', {}, el('a', { href: `#/things/${encodeURIComponent(key)}` }, `${td.title} · ${affordance.title ?? name}`)),
      this.#output,
      this.chart.chartBox,
      this.chart.tools,
    );
  }

  show(value: unknown, at: number, pushed: boolean): void {
    this.#output.textContent = formatValue(value, this.#affordance);
    if (pushed) {
      this.#output.dataset.updatedAt = String(at);
      this.chart.push(at, value);
    }
  }
}

/** A live line chart of one numeric property (uPlot), keeping the newest points. */
import uPlot from 'uplot';

const MAX_POINTS = 300;
const WINDOW_S = 300;
const MIN_WINDOW_S = 60;

export class LiveChart {
  readonly #times: number[] = [];
  readonly #values: number[] = [];
  readonly #plot: uPlot;

  constructor(container: HTMLElement, label: string) {
    this.#plot = new uPlot(
      {
        width: Math.max(200, container.clientWidth),
        height: 120,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        // The points of the last five minutes, spread over at least one minute (a setpoint
        // changes rarely, and one point alone has no width).
        scales: { x: { time: true, range: (_plot, min, max) => [Math.min(Math.max(min, max - WINDOW_S), max - MIN_WINDOW_S), max] } },
        axes: [{ stroke: '#8a94a6', grid: { stroke: '#2a3140' } }, { stroke: '#8a94a6', grid: { stroke: '#2a3140' }, size: 48 }],
        series: [{}, { label, stroke: '#4fb3ff', width: 2, points: { size: 4 } }],
      },
      [this.#times, this.#values],
      container,
    );
    new ResizeObserver(() => this.#plot.setSize({ width: Math.max(200, container.clientWidth), height: 120 })).observe(container);
  }

  /** Adds a point at `at` (ms since the epoch; kept in order, as uPlot needs). */
  push(at: number, value: number): void {
    this.#times.push(Math.max(at / 1000, this.#times.at(-1) ?? 0));
    this.#values.push(value);
    if (this.#times.length > MAX_POINTS) {
      this.#times.shift();
      this.#values.shift();
    }
    this.#plot.setData([this.#times, this.#values]);
  }
}

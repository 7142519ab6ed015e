/** A live line chart of one numeric property (uPlot), keeping the newest points. */
import uPlot from 'uplot';

const MAX_POINTS = 300;
const WINDOW_S = 300;

export class LiveChart {
  readonly #times: number[] = [];
  readonly #values: number[] = [];
  readonly #plot: uPlot;
  readonly #resize: ResizeObserver;

  constructor(container: HTMLElement, label: string) {
    this.#plot = new uPlot(
      {
        width: Math.max(200, container.clientWidth),
        height: 120,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        // The newest five minutes, even while there are few points (a setpoint changes rarely).
        scales: { x: { time: true, range: (_plot, _min, max) => [max - WINDOW_S, max] } },
        axes: [{ stroke: '#8a94a6', grid: { stroke: '#2a3140' } }, { stroke: '#8a94a6', grid: { stroke: '#2a3140' }, size: 48 }],
        series: [{}, { label, stroke: '#4fb3ff', width: 2, points: { size: 4 } }],
      },
      [this.#times, this.#values],
      container,
    );
    this.#resize = new ResizeObserver(() => this.#plot.setSize({ width: Math.max(200, container.clientWidth), height: 120 }));
    this.#resize.observe(container);
  }

  /** Adds a point at `at` (ms since the epoch). */
  push(at: number, value: number): void {
    this.#times.push(at / 1000);
    this.#values.push(value);
    if (this.#times.length > MAX_POINTS) {
      this.#times.shift();
      this.#values.shift();
    }
    this.#plot.setData([this.#times, this.#values]);
  }

  destroy(): void {
    this.#resize.disconnect();
    this.#plot.destroy();
  }
}

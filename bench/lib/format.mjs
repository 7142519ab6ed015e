/** Number formatting, Markdown tables and notes for bench/RESULTS.md. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `n` with thousands separators and `digits` decimals; '-' when not a finite number. */
export function fmt(n, digits = 0) {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A Markdown table with padded columns. */
export function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/**
 * The cells of one measured side of a throughput pair on a cluster: label, rate, range,
 * latency, count, CPU of all nodes, CPU per op, (load-generator CPU,) validity.
 */
export function sideCells(side, { loadCpu = true } = {}) {
  return [
    side.label,
    `${fmt(side.rate)} req/s`,
    `${fmt(side.minRate)} - ${fmt(side.maxRate)}`,
    `${fmt(side.p50Ms)} / ${fmt(side.p99Ms)} ms`,
    fmt(side.ops),
    `${fmt(side.serverCpuPct)} %`,
    fmt(side.serverCpuUsPerOp, 1),
    ...(loadCpu ? [`${fmt(side.loadCpuPct)} %`] : []),
    side.problems.length === 0 ? 'ok' : side.problems.join('; '),
  ];
}

/** The trimmed text of a notes file in bench/ (empty when there is none). */
export function readNotes(name) {
  const file = fileURLToPath(new URL(`../${name}`, import.meta.url));
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
}

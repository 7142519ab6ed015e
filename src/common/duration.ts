/**
 * Durations as people write them: ISO 8601 durations of fixed length (`PT10S`, `PT1H30M`,
 * `P7D`, `P2W`; ISO 8601-1:2019 §5.5.2.4, as RFC 3339 Appendix A spells them) and the short
 * forms of command lines (`500ms`, `10s`, `15m`, `12h`, `30d`, `2w`). Years and months are
 * refused: their length depends on the calendar.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

const SHORT = /^(\d{1,12})(ms|s|m|h|d|w)$/;
const ISO = /^P(?:(\d{1,9})W)?(?:(\d{1,9})D)?(?:T(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,9}(?:[.,]\d{1,3})?)S)?)?$/;

/** The duration `text` names, in milliseconds; undefined when it names none (or a zero-length one). */
export function parseDuration(text: string): number | undefined {
  const short = SHORT.exec(text);
  if (short) return positive(Number(short[1]) * UNIT_MS[short[2] as keyof typeof UNIT_MS]);
  const iso = ISO.exec(text.toUpperCase());
  // "P" and "PT" alone name nothing.
  if (!iso || text.length < 3 || /T$/i.test(text)) return undefined;
  const [, weeks, days, hours, minutes, seconds] = iso;
  const ms =
    Number(weeks ?? 0) * UNIT_MS.w +
    Number(days ?? 0) * UNIT_MS.d +
    Number(hours ?? 0) * UNIT_MS.h +
    Number(minutes ?? 0) * UNIT_MS.m +
    Math.round(Number((seconds ?? '0').replace(',', '.')) * UNIT_MS.s);
  return positive(ms);
}

/** `ms` written the shortest way {@link parseDuration} reads back (`90s` → `90s`, `86400000` → `1d`). */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  return `${ms}ms`;
}

const positive = (ms: number): number | undefined => (Number.isSafeInteger(ms) && ms > 0 ? ms : undefined);

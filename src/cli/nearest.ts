/**
 * The known name a mistyped one was most likely meant to be, for "did you mean" hints.
 *
 * Pure; throws nothing.
 */

/**
 * Edits between `a` and `b`: insertions, deletions, substitutions and swaps of two adjacent
 * letters (the optimal string alignment distance), so `prot` is one edit from `port`.
 */
export function editDistance(a: string, b: string): number {
  // rows[i][j]: edits between a's first i letters and b's first j.
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The candidate `typed` most likely stands for: the shortest that starts with it (`--anchor-k`
 * for `--anchor-key-file`; from three letters on), otherwise the closest within a third of its
 * length (at least 1, at most 3 edits); the first of equally good ones. Undefined when none is
 * close.
 */
export function nearest(typed: string, candidates: Iterable<string>): string | undefined {
  const names = [...candidates];
  const extending = typed.length >= 3 ? names.filter((name) => name.startsWith(typed)) : [];
  if (extending.length > 0) return extending.reduce((shortest, name) => (name.length < shortest.length ? name : shortest));
  const allowed = Math.min(3, Math.max(1, Math.floor(typed.length / 3)));
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(typed, name);
    if (distance <= allowed && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

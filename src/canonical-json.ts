/**
 * Canonical JSON: object members sorted by key (UTF-16 code units), no whitespace, so the
 * same value always has the same bytes to hash or sign. Numbers and strings are as
 * JSON.stringify writes them (compatible with RFC 8785 for the integers and strings Flowchain
 * signs). Leaf module.
 */

/** The canonical JSON text of `value`; undefined members are dropped as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`cannot encode ${typeof value} as JSON`);
    return text;
  }
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const members = Object.keys(value)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${members.join(',')}}`;
}

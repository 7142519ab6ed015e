/**
 * Cuts a list into peer messages that fit: at most `maxCount` items and, unless one item alone
 * is larger, at most `maxBytes` of JSON each (of `content(item)`, what the message
 * will carry for it). Order is kept.
 */
export function* chunks<T>(items: readonly T[], maxCount: number, maxBytes: number, content: (item: T) => unknown = (item) => item): Generator<T[]> {
  let chunk: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(content(item)));
    if (chunk.length === maxCount || (chunk.length > 0 && bytes + size > maxBytes)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(item);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

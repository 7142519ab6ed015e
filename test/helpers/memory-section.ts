/** A Section kept in a Map, for simulations of many nodes (the real one is LevelDB). */
import type { BatchOperation, KeyRange, PreparedWrite, Section } from '../../src/storage.js';

export class MemorySection implements Section {
  readonly data = new Map<string, unknown>();
  async get(key: string) {
    return structuredClone(this.data.get(key));
  }
  async getMany(keys: readonly string[]) {
    return keys.map((key) => structuredClone(this.data.get(key)));
  }
  async put(key: string, value: unknown) {
    this.data.set(key, structuredClone(value));
  }
  prepare(operations: readonly BatchOperation[]): PreparedWrite {
    return { commit: () => this.batch(operations) };
  }
  async batch(operations: readonly BatchOperation[], alongside: readonly PreparedWrite[] = []) {
    for (const prepared of alongside) await prepared.commit();
    for (const op of operations) {
      if (op.type === 'put') this.data.set(op.key, structuredClone(op.value));
      else this.data.delete(op.key);
    }
  }
  async *keys(prefix = ''): AsyncIterable<string> {
    for (const key of [...this.data.keys()].sort()) if (key.startsWith(prefix)) yield key;
  }
  async *entries(prefix = ''): AsyncIterable<[string, unknown]> {
    for (const key of [...this.data.keys()].sort()) if (key.startsWith(prefix)) yield [key, structuredClone(this.data.get(key))];
  }
  async *range(bounds: KeyRange): AsyncIterable<[string, unknown]> {
    const keys = [...this.data.keys()].sort().filter((key) => within(key, bounds));
    if (bounds.reverse) keys.reverse();
    for (const key of keys.slice(0, bounds.limit ?? keys.length)) yield [key, structuredClone(this.data.get(key))];
  }
  async clear(bounds: KeyRange) {
    for (const key of [...this.data.keys()]) if (within(key, bounds)) this.data.delete(key);
  }
}

function within(key: string, { gt, gte, lt, lte }: KeyRange): boolean {
  return (gt === undefined || key > gt) && (gte === undefined || key >= gte) && (lt === undefined || key < lt) && (lte === undefined || key <= lte);
}

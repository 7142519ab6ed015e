/** Whether `value` is a promise (a thenable) rather than a value that is there already. */
export function isThenable<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

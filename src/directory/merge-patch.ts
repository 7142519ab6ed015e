/**
 * JSON Merge Patch (RFC 7396): what PATCH /things/{id} applies to a stored TD
 * (WoT Discovery §7.3.2.1.4), and how the directory describes an update as a diff
 * (the `thing_updated` notification with `diff=true`). Pure; inputs are never modified.
 */

/** A JSON value. */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/** Whether `value` is a JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * RFC 7396 §2 MergePatch(Target, Patch): an object patch merges member by member, `null`
 * removes a member, anything else (arrays included) replaces the target whole.
 */
export function applyMergePatch(target: unknown, patch: unknown): Json {
  if (!isObject(patch)) return patch as Json;
  const result: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete result[name];
    else result[name] = applyMergePatch(result[name], value);
  }
  return result;
}

/**
 * A merge patch that turns `from` into `to` (both objects): changed or added members, `null`
 * for removed ones, nested objects diffed in turn. Undefined when nothing changed. A value
 * that is itself `null` in `to` cannot be expressed by a merge patch (RFC 7396 §5) and is
 * sent as a removal.
 */
export function mergePatchBetween(from: Readonly<Record<string, unknown>>, to: Readonly<Record<string, unknown>>): Record<string, Json> | undefined {
  const patch: Record<string, Json> = {};
  for (const name of Object.keys(from)) if (!Object.hasOwn(to, name)) patch[name] = null;
  for (const [name, value] of Object.entries(to)) {
    const before = from[name];
    if (isObject(before) && isObject(value)) {
      const inner = mergePatchBetween(before, value);
      if (inner !== undefined) patch[name] = inner;
    } else if (!sameJson(before, value)) {
      patch[name] = value as Json;
    }
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && sameJson(a[key], b[key]));
  }
  return false;
}

/**
 * Checks values against TD 1.1 data schemas (TD 1.1 §5.3.2): type, const, enum, numeric and
 * string bounds, array and object members, required members, oneOf, and readOnly/writeOnly
 * members of objects. Pure.
 *
 * Throws FLOWCHAIN_ERR_VALUE_INVALID with `field` set to `<affordance><JSON Pointer>`, for
 * example `targetTemperature` or `boost/minutes`.
 */
import { FlowchainError } from '../errors.js';
import type { DataSchema } from '../td/thing-description.js';

/** Which direction a value travels; it decides whether readOnly or writeOnly members are allowed. */
export type Direction = 'input' | 'output';

/**
 * Throws FLOWCHAIN_ERR_VALUE_INVALID unless `value` conforms to `schema`.
 * `field` names the affordance the value belongs to.
 */
export function checkValue(schema: DataSchema | undefined, value: unknown, field: string, direction: Direction = 'input'): void {
  if (schema === undefined) return;
  check(schema, value, field, direction);
}

function fail(field: string, reason: string): never {
  throw new FlowchainError('FLOWCHAIN_ERR_VALUE_INVALID', `${field}: ${reason}`, { field });
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function check(schema: DataSchema, value: unknown, field: string, direction: Direction): void {
  if (value === undefined) fail(field, 'a value is required');
  if (schema.oneOf) {
    const matches = schema.oneOf.filter((option) => conforms(option, value, field, direction)).length;
    if (matches !== 1) fail(field, `must match exactly one of ${schema.oneOf.length} schemas (matched ${matches})`);
  }
  if (schema.type !== undefined) {
    const actual = typeOf(value);
    const ok = actual === schema.type || (schema.type === 'number' && actual === 'integer');
    if (!ok) fail(field, `must be of type ${schema.type}, got ${actual}`);
  }
  if (schema.const !== undefined && !sameJson(schema.const, value)) fail(field, `must be ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.some((allowed) => sameJson(allowed, value))) {
    fail(field, `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  }
  if (typeof value === 'number') checkNumber(schema, value, field);
  else if (typeof value === 'string') checkString(schema, value, field);
  else if (Array.isArray(value)) checkArray(schema, value, field, direction);
  else if (typeof value === 'object' && value !== null) checkObject(schema, value as Record<string, unknown>, field, direction);
}

function conforms(schema: DataSchema, value: unknown, field: string, direction: Direction): boolean {
  try {
    check(schema, value, field, direction);
    return true;
  } catch {
    return false;
  }
}

function checkNumber(schema: DataSchema, value: number, field: string): void {
  if (!Number.isFinite(value)) fail(field, 'must be a finite number');
  if (schema.minimum !== undefined && value < schema.minimum) fail(field, `must be >= ${schema.minimum}`);
  if (schema.maximum !== undefined && value > schema.maximum) fail(field, `must be <= ${schema.maximum}`);
  if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) fail(field, `must be > ${schema.exclusiveMinimum}`);
  if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) fail(field, `must be < ${schema.exclusiveMaximum}`);
  if (schema.multipleOf !== undefined) {
    const ratio = value / schema.multipleOf;
    // Tolerate binary floating-point error (0.3 / 0.1 = 2.9999999999999996).
    if (Math.abs(ratio - Math.round(ratio)) > 1e-9) fail(field, `must be a multiple of ${schema.multipleOf}`);
  }
}

/** Compiled patterns, by source: values are checked on every write and reading. Emptied when full (TDs can come from clients). */
const patterns = new Map<string, RegExp>();
const PATTERNS_MAX = 256;

function patternOf(source: string): RegExp {
  let compiled = patterns.get(source);
  if (compiled === undefined) {
    compiled = new RegExp(source, 'u');
    if (patterns.size >= PATTERNS_MAX) patterns.clear();
    patterns.set(source, compiled);
  }
  return compiled;
}

function checkString(schema: DataSchema, value: string, field: string): void {
  const length = [...value].length;
  if (schema.minLength !== undefined && length < schema.minLength) fail(field, `must have at least ${schema.minLength} characters`);
  if (schema.maxLength !== undefined && length > schema.maxLength) fail(field, `must have at most ${schema.maxLength} characters`);
  if (schema.pattern !== undefined && !patternOf(schema.pattern).test(value)) fail(field, `must match ${schema.pattern}`);
  if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) fail(field, 'must be an RFC 3339 date-time');
}

function checkArray(schema: DataSchema, value: unknown[], field: string, direction: Direction): void {
  if (schema.minItems !== undefined && value.length < schema.minItems) fail(field, `must have at least ${schema.minItems} items`);
  if (schema.maxItems !== undefined && value.length > schema.maxItems) fail(field, `must have at most ${schema.maxItems} items`);
  const items = schema.items;
  if (items === undefined) return;
  value.forEach((item, i) => {
    const itemSchema = Array.isArray(items) ? (items as readonly DataSchema[])[i] : (items as DataSchema);
    if (itemSchema) check(itemSchema, item, `${field}/${i}`, direction);
  });
}

function checkObject(schema: DataSchema, value: Record<string, unknown>, field: string, direction: Direction): void {
  for (const name of schema.required ?? []) {
    if (!(name in value)) fail(`${field}/${escapePointer(name)}`, 'is required');
  }
  for (const [name, member] of Object.entries(schema.properties ?? {})) {
    if (!(name in value)) continue;
    const memberField = `${field}/${escapePointer(name)}`;
    if (direction === 'input' && member.readOnly) fail(memberField, 'is read-only');
    if (direction === 'output' && member.writeOnly) fail(memberField, 'is write-only');
    check(member, value[name], memberField, direction);
  }
}

/** RFC 6901 §3: '~' and '/' are escaped in JSON Pointer tokens. */
function escapePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

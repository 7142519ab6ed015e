/**
 * fast-check arbitraries of values a TD data schema accepts (the subset the sample TDs use:
 * booleans, numbers and integers with bounds and multipleOf, strings with enum or maxLength,
 * objects with properties and required members), for property-based tests that drive a device
 * only with inputs an exposed Thing would let through.
 */
import fc from 'fast-check';
import type { DataSchema } from '../../src/td/thing-description.js';

/** Values `schema` accepts as input (readOnly members of objects are left out). */
export function valueOf(schema: DataSchema): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'boolean':
      return fc.boolean();
    case 'integer':
    case 'number':
      return numberOf(schema);
    case 'string':
      return fc.string({ maxLength: Math.min(schema.maxLength ?? 20, 20), minLength: schema.minLength ?? 0 });
    case 'object': {
      const members = Object.entries(schema.properties ?? {}).filter(([, member]) => !member.readOnly);
      const record = Object.fromEntries(members.map(([name, member]) => [name, valueOf(member)]));
      const required = (schema.required ?? []).filter((name) => name in record);
      return fc.record(record, { requiredKeys: required });
    }
    default:
      return fc.constant(null);
  }
}

function numberOf(schema: DataSchema): fc.Arbitrary<number> {
  const min = schema.minimum ?? -1_000;
  const max = schema.maximum ?? 1_000;
  const step = schema.multipleOf ?? (schema.type === 'integer' ? 1 : undefined);
  if (step !== undefined) return fc.integer({ min: Math.ceil(min / step), max: Math.floor(max / step) }).map((k) => Number((k * step).toPrecision(12)));
  return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
}

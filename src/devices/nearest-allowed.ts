/**
 * Keeps a simulated device's numbers inside what its TD promises: the value a numeric data
 * schema (TD 1.1 §5.3.2.3 NumberSchema) accepts that is nearest to a computed one. Pure.
 */
import type { DataSchema } from '../td/thing-description.js';

/** Relative slack for floating-point ratios (0.3 / 0.1 = 2.9999999999999996), as data-schema.ts allows. */
const EPSILON = 1e-9;

/**
 * The value nearest to `value` that `schema` accepts: rounded to its `multipleOf`, then kept
 * within `minimum`/`maximum` (on the grid when there is one, so a maximum of 29.7 with a step of
 * 0.5 caps at 29.5). Exclusive bounds are kept one step inside when there is a step. Without a
 * schema, `value` is returned unchanged.
 */
export function nearestAllowed(schema: DataSchema | undefined, value: number): number {
  if (schema === undefined) return value;
  const step = schema.multipleOf !== undefined && schema.multipleOf > 0 ? schema.multipleOf : undefined;
  let low = Math.max(schema.minimum ?? -Infinity, step !== undefined && schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + step : -Infinity);
  let high = Math.min(schema.maximum ?? Infinity, step !== undefined && schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - step : Infinity);
  let result = value;
  if (step !== undefined) {
    if (Number.isFinite(low)) low = Math.ceil(low / step - EPSILON) * step;
    if (Number.isFinite(high)) high = Math.floor(high / step + EPSILON) * step;
    result = Math.round(value / step) * step;
  }
  if (low <= high) result = Math.min(high, Math.max(low, result));
  // Multiplying by the step leaves binary noise (21 + 0.1 * 7 = 21.700000000000003).
  return Number(result.toPrecision(12));
}

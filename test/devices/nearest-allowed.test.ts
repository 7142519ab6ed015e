import fc from 'fast-check';
import t from 'tap';
import type { DataSchema } from '../../src/td/thing-description.js';
import { checkValue } from '../../src/thing/data-schema.js';
import { nearestAllowed } from '../../src/devices/nearest-allowed.js';

const target: DataSchema = { type: 'number', minimum: 5, maximum: 30, multipleOf: 0.5 };

t.test('a value is rounded to the multipleOf grid and kept within minimum and maximum', async (t) => {
  t.equal(nearestAllowed(target, 21 + 1.7), 22.5);
  t.equal(nearestAllowed(target, 21.2), 21);
  t.equal(nearestAllowed(target, 31), 30);
  t.equal(nearestAllowed(target, -3), 5);
  t.equal(nearestAllowed({ ...target, maximum: 29.7 }, 35), 29.5, 'a maximum off the grid caps at the last step below it');
  t.equal(nearestAllowed({ type: 'number', multipleOf: 0.1 }, 21.73), 21.7, 'without binary noise');
  t.equal(nearestAllowed({ type: 'number', exclusiveMaximum: 10, multipleOf: 1 }, 12), 9, 'an exclusive bound is kept one step inside');
  t.equal(nearestAllowed(undefined, 21.7), 21.7, 'no schema, no change');
});

const schemas = fc
  .record({
    min: fc.integer({ min: -100, max: 100 }),
    span: fc.integer({ min: 0, max: 200 }),
    step: fc.option(fc.constantFrom(0.5, 0.1, 0.25, 1, 2, 0.01), { nil: undefined }),
  })
  .map(({ min, span, step }): DataSchema => ({ type: 'number', minimum: min, maximum: min + span, ...(step === undefined ? {} : { multipleOf: step }) }));

t.test('whatever the value, the result satisfies a satisfiable numeric schema', async (t) => {
  fc.assert(
    fc.property(schemas, fc.double({ min: -1e6, max: 1e6, noNaN: true }), (schema, value) => {
      const step = schema.multipleOf ?? 0;
      // Satisfiable: some multiple of the step lies within the bounds.
      fc.pre(step === 0 || Math.floor(schema.maximum! / step + 1e-9) >= Math.ceil(schema.minimum! / step - 1e-9));
      checkValue(schema, nearestAllowed(schema, value), 'x', 'output');
    }),
    { seed: 4_242, numRuns: 5_000 },
  );
});

t.test('a value the schema already accepts is returned unchanged, and the result is a fixed point', async (t) => {
  fc.assert(
    fc.property(schemas, fc.double({ min: -1e3, max: 1e3, noNaN: true }), (schema, value) => {
      const once = nearestAllowed(schema, value);
      if (nearestAllowed(schema, once) !== once) return false;
      let accepted = true;
      try {
        checkValue(schema, value, 'x', 'output');
      } catch {
        accepted = false;
      }
      return !accepted || Math.abs(once - value) <= 1e-9 * Math.max(1, Math.abs(value));
    }),
    { seed: 2_026, numRuns: 5_000 },
  );
});

import t from 'tap';
import type { DataSchema } from '../../src/td/thing-description.js';
import { checkValue } from '../../src/thing/data-schema.js';

const invalid = (schema: DataSchema, value: unknown, field: string, direction?: 'input' | 'output') => ({
  schema,
  value,
  field,
  direction,
});

t.test('values that conform pass', async (t) => {
  const cases: [DataSchema, unknown][] = [
    [{ type: 'number', minimum: 5, maximum: 30 }, 5],
    [{ type: 'number', minimum: 5, maximum: 30 }, 30],
    [{ type: 'number' }, 3],
    [{ type: 'integer' }, -4],
    [{ type: 'number', multipleOf: 0.1 }, 0.3],
    [{ type: 'string', enum: ['off', 'heat'] }, 'heat'],
    [{ type: 'boolean' }, false],
    [{ type: 'null' }, null],
    [{ type: 'string', minLength: 1, maxLength: 3, pattern: '^a' }, 'abc'],
    [{ type: 'string', format: 'date-time' }, '2026-01-01T00:00:00Z'],
    [{ type: 'array', items: { type: 'integer' }, minItems: 1, maxItems: 2 }, [1, 2]],
    [{ type: 'object', properties: { m: { type: 'integer' } }, required: ['m'] }, { m: 1, extra: true }],
    [{ oneOf: [{ type: 'string' }, { type: 'integer' }] }, 3],
    [{ const: 'x' }, 'x'],
    [{}, { anything: [1] }],
  ];
  for (const [schema, value] of cases) t.doesNotThrow(() => checkValue(schema, value, 'p'), JSON.stringify({ schema, value }));
  t.doesNotThrow(() => checkValue(undefined, 'no schema', 'p'));
});

t.test('values that do not conform fail with FLOWCHAIN_ERR_VALUE_INVALID naming the field', async (t) => {
  const cases = [
    invalid({ type: 'number' }, '22', 'p'),
    invalid({ type: 'integer' }, 1.5, 'p'),
    invalid({ type: 'number', minimum: 5 }, 4.99, 'p'),
    invalid({ type: 'number', maximum: 30 }, 30.01, 'p'),
    invalid({ type: 'number', exclusiveMinimum: 0 }, 0, 'p'),
    invalid({ type: 'number', exclusiveMaximum: 1 }, 1, 'p'),
    invalid({ type: 'number', multipleOf: 0.5 }, 21.3, 'p'),
    invalid({ type: 'string', enum: ['off', 'heat'] }, 'boil', 'p'),
    invalid({ type: 'boolean' }, 'true', 'p'),
    invalid({ type: 'boolean' }, null, 'p'),
    invalid({ type: 'string', maxLength: 2 }, 'abc', 'p'),
    invalid({ type: 'string', minLength: 2 }, 'a', 'p'),
    invalid({ type: 'string', pattern: '^a' }, 'b', 'p'),
    invalid({ type: 'string', format: 'date-time' }, 'yesterday', 'p'),
    invalid({ type: 'array', maxItems: 1 }, [1, 2], 'p'),
    invalid({ type: 'array', minItems: 1 }, [], 'p'),
    invalid({ type: 'array', items: { type: 'integer' } }, [1, 'x'], 'p/1'),
    invalid({ type: 'object', required: ['minutes'] }, {}, 'boost/minutes'),
    invalid({ type: 'object', properties: { minutes: { type: 'integer', maximum: 120 } } }, { minutes: 500 }, 'boost/minutes'),
    invalid({ type: 'object', properties: { a: { type: 'object', properties: { 'b/c': { type: 'string' } } } } }, { a: { 'b/c': 1 } }, 'p/a/b~1c'),
    invalid({ type: 'object', properties: { id: { type: 'string', readOnly: true } } }, { id: 'x' }, 'p/id'),
    invalid({ type: 'object', properties: { pin: { type: 'string', writeOnly: true } } }, { pin: 'x' }, 'p/pin', 'output'),
    invalid({ oneOf: [{ type: 'number' }, { type: 'integer' }] }, 3, 'p'),
    invalid({ const: 'x' }, 'y', 'p'),
    invalid({ type: 'number' }, undefined, 'p'),
    invalid({ type: 'number' }, Number.NaN, 'p'),
  ];
  for (const c of cases) {
    const name = c.field.split('/')[0]!;
    t.throws(() => checkValue(c.schema, c.value, name, c.direction), { code: 'FLOWCHAIN_ERR_VALUE_INVALID', field: c.field }, JSON.stringify(c));
  }
});

t.test('patterns are compiled once and stay right past the cache bound (many TDs, many patterns)', async (t) => {
  let wrong = 0;
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 300; i++) {
      const schema: DataSchema = { type: 'string', pattern: `^x${i}$` };
      try {
        checkValue(schema, `x${i}`, 'p');
      } catch {
        wrong++;
      }
      try {
        checkValue(schema, `x${i + 1}`, 'p');
        wrong++;
      } catch (err) {
        if ((err as { code?: string }).code !== 'FLOWCHAIN_ERR_VALUE_INVALID') wrong++;
      }
    }
  }
  t.equal(wrong, 0, '600 patterns, each matching its own value only, twice over');
});

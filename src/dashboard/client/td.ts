/**
 * What the dashboard reads from Thing Descriptions: affordances, their forms and data schemas
 * (TD 1.1 §5.3), and the checks it makes before sending a value, so that a value the Thing
 * would refuse is explained at once and never sent.
 */
import type { DataSchema, Form, ThingDescription } from '../../td/thing-description.js';

export type { ActionAffordance, DataSchema, PropertyAffordance } from '../../td/thing-description.js';

/** A TD as a node serves it: always with its `id`. */
export type ServedTd = ThingDescription & { readonly id: string };

/** The WebSocket subprotocol of Flowchain's TD forms. */
export const WS_SUBPROTOCOL = 'flowchain.v1';

const opsOf = (form: Form): readonly string[] => (typeof form.op === 'string' ? [form.op] : (form.op ?? []));

/**
 * The absolute URL of the first form for `op` (over `subprotocol`, or plain HTTP when it is
 * undefined), resolved against the TD's base; undefined when the TD offers none.
 */
export function formUrl(td: ServedTd, forms: readonly Form[] | undefined, op: string, subprotocol?: string): URL | undefined {
  const form = forms?.find((f) => opsOf(f).includes(op) && f.subprotocol === subprotocol);
  return form === undefined ? undefined : new URL(form.href, td.base ?? location.href);
}

/** The TD's @type values, without the generic "Thing". */
export function typesOf(td: ServedTd): string[] {
  const types = td['@type'] === undefined ? [] : typeof td['@type'] === 'string' ? [td['@type']] : [...td['@type']];
  return types.filter((t) => t !== 'Thing');
}

/** The slug the node serves a Thing under (the last segment of its TD URL). */
export function slugOf(td: ServedTd): string {
  const href = td.forms?.find((f) => opsOf(f).includes('readallproperties'))?.href ?? '';
  return decodeURIComponent(href.split('/')[1] ?? td.id);
}

const UNITS: Record<string, string> = {
  degreeCelsius: '°C',
  degreeFahrenheit: '°F',
  kelvin: 'K',
  percent: '%',
  watt: 'W',
  kilowatt: 'kW',
  kilowattHour: 'kWh',
  volt: 'V',
  ampere: 'A',
  lux: 'lx',
  pascal: 'Pa',
  hectopascal: 'hPa',
  second: 's',
  minute: 'min',
  hour: 'h',
  metre: 'm',
};

/** A short label for a unit given as a compact IRI (`om:degreeCelsius`) or a plain symbol. */
export function unitLabel(unit: string | undefined): string {
  if (unit === undefined) return '';
  const local = unit.split(/[:#/]/).pop() ?? unit;
  return UNITS[local] ?? local;
}

/** Formats a value for display, with its unit. */
export function formatValue(value: unknown, schema: DataSchema): string {
  if (value === undefined) return '–';
  if (typeof value === 'number') {
    const digits = schema.type === 'integer' ? 0 : Math.min(3, Math.max(0, decimals(schema.multipleOf ?? 0.01)));
    return `${value.toFixed(digits)}${schema.unit ? ` ${unitLabel(schema.unit)}` : ''}`;
  }
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

const decimals = (step: number): number => {
  const text = String(step);
  return text.includes('.') ? text.split('.')[1]!.length : 0;
};

/**
 * Why `value` does not fit `schema`, in words for the person who typed it, or undefined when
 * it fits. Covers what TD 1.1 data schemas say about scalars, enums and the members of objects.
 */
export function explainValue(value: unknown, schema: DataSchema, label = 'the value'): string | undefined {
  const unit = schema.unit ? ` ${unitLabel(schema.unit)}` : '';
  if (schema.enum && !schema.enum.some((option) => option === value)) return `${label} must be one of ${schema.enum.map(String).join(', ')}`;
  if (schema.const !== undefined && schema.const !== value) return `${label} must be ${String(schema.const)}`;
  switch (schema.type) {
    case 'number':
    case 'integer': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return `${label} must be a number`;
      if (schema.type === 'integer' && !Number.isInteger(value)) return `${label} must be a whole number`;
      if (schema.minimum !== undefined && value < schema.minimum) return `${label} must be at least ${schema.minimum}${unit}`;
      if (schema.maximum !== undefined && value > schema.maximum) return `${label} must be at most ${schema.maximum}${unit}`;
      if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return `${label} must be above ${schema.exclusiveMinimum}${unit}`;
      if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) return `${label} must be below ${schema.exclusiveMaximum}${unit}`;
      if (schema.multipleOf !== undefined && !isMultiple(value, schema.multipleOf)) return `${label} must be in steps of ${schema.multipleOf}${unit}`;
      return undefined;
    }
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${label} must be true or false`;
    case 'string':
      if (typeof value !== 'string') return `${label} must be text`;
      if (schema.minLength !== undefined && value.length < schema.minLength) return `${label} needs at least ${schema.minLength} characters`;
      if (schema.maxLength !== undefined && value.length > schema.maxLength) return `${label} may have at most ${schema.maxLength} characters`;
      return undefined;
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${label} must be an object`;
      const record = value as Record<string, unknown>;
      const missing = (schema.required ?? []).find((name) => record[name] === undefined);
      if (missing !== undefined) return `${missing} is required`;
      for (const [name, member] of Object.entries(schema.properties ?? {})) {
        if (record[name] === undefined) continue;
        const fault = explainValue(record[name], member, member.title ?? name);
        if (fault !== undefined) return fault;
      }
      return undefined;
    }
    case 'array':
      return Array.isArray(value) ? undefined : `${label} must be a list`;
    default:
      return undefined;
  }
}

/** Multiples in decimal steps (0.1 + 0.2 is not a float multiple of 0.1), as a person means it. */
function isMultiple(value: number, step: number): boolean {
  const ratio = value / step;
  return Math.abs(ratio - Math.round(ratio)) < 1e-9;
}

/**
 * Inputs generated from data schemas: a toggle for a boolean, a select for an enum, a number
 * field with the schema's limits and step, a text field for a string, and JSON text for
 * anything else. Each reads back a value typed as the schema says, or a reason it cannot.
 */
import { el } from './dom.js';
import { explainValue, unitLabel, type DataSchema } from './td.js';

export interface SchemaInput {
  readonly element: HTMLElement;
  /** The value entered, or the reason it does not fit the schema. */
  read(): { readonly value: unknown } | { readonly fault: string };
  /** Shows `value` (unless the user is editing this input). */
  show(value: unknown): void;
  /** True while nothing was entered (a toggle or a select is never blank). */
  blank(): boolean;
}

/** An input for `schema`; `onCommit` fires where a change is an intent to send (toggle, select). */
export function schemaInput(schema: DataSchema, label: string, onCommit?: () => void): SchemaInput {
  if (schema.type === 'boolean') {
    const box = el('input', { type: 'checkbox', role: 'switch', 'aria-label': label, onchange: () => onCommit?.() });
    return {
      element: el('label', { class: 'switch' }, box, el('span', { class: 'slider' })),
      read: () => ({ value: box.checked }),
      show: (value) => {
        box.checked = value === true;
      },
      blank: () => false,
    };
  }
  if (schema.enum) {
    const options = schema.enum;
    const select = el('select', { 'aria-label': label, onchange: () => onCommit?.() }, ...options.map((option, i) => el('option', { value: i }, String(option))));
    return {
      element: select,
      read: () => ({ value: options[Number(select.value)] }),
      show: (value) => {
        const index = options.findIndex((option) => option === value);
        if (index >= 0) select.value = String(index);
      },
      blank: () => false,
    };
  }
  if (schema.type === 'number' || schema.type === 'integer') {
    const field = el('input', {
      type: 'number',
      inputmode: 'decimal',
      'aria-label': label,
      min: schema.minimum,
      max: schema.maximum,
      step: schema.multipleOf ?? (schema.type === 'integer' ? 1 : 'any'),
    });
    return {
      element: el('span', { class: 'number-input' }, field, schema.unit ? el('span', { class: 'unit' }, unitLabel(schema.unit)) : null),
      read: () => (field.value.trim() === '' ? { fault: `enter ${label}` } : checked(Number(field.value), schema, label)),
      show: (value) => {
        if (typeof value === 'number' && document.activeElement !== field) field.value = String(value);
      },
      blank: () => field.value.trim() === '',
    };
  }
  if (schema.type === 'string') {
    const field = el('input', { type: 'text', 'aria-label': label, minlength: schema.minLength, maxlength: schema.maxLength });
    return {
      element: field,
      read: () => checked(field.value, schema, label),
      show: (value) => {
        if (typeof value === 'string' && document.activeElement !== field) field.value = value;
      },
      blank: () => field.value === '',
    };
  }
  const area = el('textarea', { rows: 3, spellcheck: 'false', 'aria-label': label });
  return {
    element: area,
    read: () => {
      try {
        return checked(JSON.parse(area.value) as unknown, schema, label);
      } catch {
        return { fault: `${label} must be valid JSON` };
      }
    },
    show: (value) => {
      if (document.activeElement !== area) area.value = JSON.stringify(value, null, 1);
    },
    blank: () => area.value.trim() === '',
  };
}

const checked = (value: unknown, schema: DataSchema, label: string): { value: unknown } | { fault: string } => {
  const fault = explainValue(value, schema, label);
  return fault === undefined ? { value } : { fault };
};

/** Inputs for the members of an object schema (an action's input), read as one object. */
export function objectInput(schema: DataSchema, label: string): SchemaInput {
  const members = Object.entries(schema.properties ?? {}).map(([name, member]) => {
    const required = schema.required?.includes(name) ?? false;
    const input = schemaInput(member, member.title ?? name);
    return { name, required, input, row: el('label', { class: 'member' }, el('span', {}, member.title ?? name, required ? ' *' : ''), input.element) };
  });
  return {
    element: el('div', { class: 'members', 'aria-label': label }, ...members.map((m) => m.row)),
    read: () => {
      const value: Record<string, unknown> = {};
      for (const { name, required, input } of members) {
        if (!required && input.blank()) continue;
        const read = input.read();
        if ('fault' in read) return read;
        value[name] = read.value;
      }
      return checked(value, schema, label);
    },
    show: (value) => {
      for (const { name, input } of members) input.show((value as Record<string, unknown> | null)?.[name]);
    },
    blank: () => members.every((m) => m.input.blank()),
  };
}

/**
 * Validation of Thing Descriptions against the W3C TD 1.1 JSON Schema (draft-07), which the
 * caller passes in (it is bundled under schemas/). Pure: no I/O.
 *
 * Throws FLOWCHAIN_ERR_TD_INVALID naming the first failing field as a JSON Pointer.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { FlowchainError, type ValidationFault } from '../errors.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function compile(schema: object, allErrors: boolean): ValidateFunction {
  // strict: false because the W3C schema uses draft-07 tuple forms and annotation keywords
  // that ajv's strict mode would reject; validation semantics are unchanged.
  const ajv = new Ajv({ strict: false, allErrors });
  addFormats(ajv);
  return ajv.compile(schema);
}

/** Checks TDs against one compiled JSON Schema. */
export class TdValidator {
  readonly #validate: ValidateFunction;
  readonly #schema: object;
  /** Compiled on first use: only a directory taking registrations lists every fault. */
  #validateAll: ValidateFunction | undefined;

  constructor(schema: object) {
    this.#schema = schema;
    this.#validate = compile(schema, false);
  }

  /**
   * Every fault of `td` (empty when it validates), each with the failing field as a JSON
   * Pointer: what a directory answers a rejected registration with (WoT Discovery §7.3.2.1.1).
   * Faults of one field are joined, and at most `max` are listed.
   */
  faults(td: unknown, max = 20): ValidationFault[] {
    this.#validateAll ??= compile(this.#schema, true);
    if (this.#validateAll(td)) return [];
    const byField = new Map<string, string[]>();
    for (const error of this.#validateAll.errors ?? []) {
      const field = error.instancePath || '/';
      const reason = error.message ?? 'does not match the TD 1.1 JSON Schema';
      const reasons = byField.get(field) ?? [];
      if (!reasons.includes(reason)) reasons.push(reason);
      byField.set(field, reasons);
    }
    return [...byField].slice(0, max).map(([field, reasons]) => ({ field, description: reasons.join('; ') }));
  }

  /** Why `td` does not validate (the first failing field, as a JSON Pointer), or undefined when it does. */
  explain(td: unknown): { readonly field: string; readonly reason: string } | undefined {
    if (this.#validate(td)) return undefined;
    const first = this.#validate.errors?.[0];
    return { field: first?.instancePath || '/', reason: first?.message ?? 'does not match the TD 1.1 JSON Schema' };
  }

  /** Throws FLOWCHAIN_ERR_TD_INVALID unless `td` validates; `source` names it in the message. */
  assertValid(td: unknown, source: string): void {
    const fault = this.explain(td);
    if (fault === undefined) return;
    throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', `${source}: ${fault.field} ${fault.reason}`, { field: fault.field });
  }
}

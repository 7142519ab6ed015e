/**
 * Validation of Thing Descriptions against the W3C TD 1.1 JSON Schema (draft-07), which the
 * caller passes in (it is bundled under schemas/), and, given a {@link TdVocabulary}, against
 * the TD's known vocabulary (no unknown, un-namespaced member names). Pure: no I/O.
 *
 * Throws FLOWCHAIN_ERR_TD_INVALID naming the first failing field as a JSON Pointer, and
 * FLOWCHAIN_ERR_TD_TERM_UNKNOWN for a TD that passes the schema but uses an unknown term.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { FlowchainError, type ValidationFault } from '../errors.js';
import type { TdVocabulary } from './td-vocabulary.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function compile(schema: object, allErrors: boolean): ValidateFunction {
  // strict: false because the W3C schema uses draft-07 tuple forms and annotation keywords
  // that ajv's strict mode would reject; validation semantics are unchanged.
  const ajv = new Ajv({ strict: false, allErrors });
  addFormats(ajv);
  return ajv.compile(schema);
}

/** Checks TDs against one compiled JSON Schema and, when given one, a vocabulary. */
export class TdValidator {
  readonly #validate: ValidateFunction;
  readonly #schema: object;
  readonly #vocabulary: TdVocabulary | undefined;
  /** Compiled on first use: only a directory taking registrations lists every fault. */
  #validateAll: ValidateFunction | undefined;

  constructor(schema: object, vocabulary?: TdVocabulary) {
    this.#schema = schema;
    this.#vocabulary = vocabulary;
    this.#validate = compile(schema, false);
  }

  /**
   * Every fault of `td` (empty when it validates), each with the failing field as a JSON
   * Pointer: what a directory answers a rejected registration with (WoT Discovery §7.3.2.1.1).
   * Faults of one field are joined, and at most `max` are listed: the schema's, then the
   * unknown terms.
   */
  faults(td: unknown, max = 20): ValidationFault[] {
    this.#validateAll ??= compile(this.#schema, true);
    const terms = (this.#vocabulary?.unknownTerms(td, max) ?? []).map(({ field, description }) => ({ field, description }));
    if (this.#validateAll(td)) return terms;
    const byField = new Map<string, string[]>();
    for (const error of this.#validateAll.errors ?? []) {
      const field = error.instancePath || '/';
      const reason = error.message ?? 'does not match the TD 1.1 JSON Schema';
      const reasons = byField.get(field) ?? [];
      if (!reasons.includes(reason)) reasons.push(reason);
      byField.set(field, reasons);
    }
    return [...[...byField].map(([field, reasons]) => ({ field, description: reasons.join('; ') })), ...terms].slice(0, max);
  }

  /** Why `td` does not validate (the first failing field, as a JSON Pointer), or undefined when it does. */
  explain(td: unknown): { readonly field: string; readonly reason: string } | undefined {
    return this.#explain(td)?.fault;
  }

  /**
   * Throws FLOWCHAIN_ERR_TD_INVALID unless `td` validates against the schema, then
   * FLOWCHAIN_ERR_TD_TERM_UNKNOWN for its first unknown term; `source` names it in the message.
   */
  assertValid(td: unknown, source: string): void {
    const found = this.#explain(td);
    if (found === undefined) return;
    const { code, fault } = found;
    throw new FlowchainError(code, `${source}: ${fault.field} ${fault.reason}`, { field: fault.field });
  }

  #explain(td: unknown): { readonly code: 'FLOWCHAIN_ERR_TD_INVALID' | 'FLOWCHAIN_ERR_TD_TERM_UNKNOWN'; readonly fault: { readonly field: string; readonly reason: string } } | undefined {
    if (!this.#validate(td)) {
      const first = this.#validate.errors?.[0];
      return { code: 'FLOWCHAIN_ERR_TD_INVALID', fault: { field: first?.instancePath || '/', reason: first?.message ?? 'does not match the TD 1.1 JSON Schema' } };
    }
    const [term] = this.#vocabulary?.unknownTerms(td, 1) ?? [];
    return term === undefined ? undefined : { code: 'FLOWCHAIN_ERR_TD_TERM_UNKNOWN', fault: { field: term.field, reason: term.description } };
  }
}

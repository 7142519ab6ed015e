/**
 * The vocabulary a Thing Description may use, so that a typo (`"readonly": true`, `"minimun"`,
 * `"tpye"`) is refused where the TD enters instead of being served. Pure: no I/O; the caller
 * passes the TD 1.1 JSON Schema and the bundled JSON-LD contexts.
 *
 * JSON Schema allows unknown members and the TD 1.1 context maps any undefined term into the TD
 * namespace (`@vocab`), so neither refuses a typo. The vocabulary is derived, not listed:
 * - every term of the TD 1.1 context, its scoped contexts included;
 * - every member the TD 1.1 JSON Schema declares (`@context`, `@type` and the data-schema
 *   terms);
 * - every term of a bundled context the TD's `@context` names (Flowchain's, WoT Discovery's),
 *   and every term an object entry of its `@context` defines.
 * A member name with a prefix one of those declares (`saref:Sensor`, `htv:methodName`) or a full
 * IRI (`https://…`, `urn:…`) is an extension and stays allowed; what is inside it is the
 * extension's business. JSON-LD keywords (`@type`, `@id`…) are left to the JSON-LD expansion.
 *
 * Member names are checked only where they are terms: the keys of a map (a term whose context
 * definition has an index, language, id or type container: affordance names, property names,
 * language tags) are names, and a value the JSON Schema leaves open (`const`, `default`,
 * `enum`) or the context types as `@json` (Flowchain's `driver`) is a JSON literal.
 *
 * A TD that names a context Flowchain does not bundle may define any term there, so nothing in
 * it is refused as unknown. Only a directory registration can be such a TD: the JSON-LD check of
 * TD files and produce() refuses an unbundled context (FLOWCHAIN_ERR_TD_CONTEXT_UNKNOWN).
 *
 * It reports; TdValidator (given a vocabulary) refuses, with FLOWCHAIN_ERR_TD_TERM_UNKNOWN.
 * Throws FLOWCHAIN_ERR_TD_CONTEXT_UNKNOWN from the constructor when the TD 1.1 context is not
 * among the contexts.
 */
import { FlowchainError, type ValidationFault } from '../errors.js';
import type { ContextDocuments } from './json-ld.js';
import { TD_CONTEXT_V1, TD_CONTEXT_V11 } from './td-context.js';

/** One member name that is not a term of the TD's vocabulary. */
export interface UnknownTerm extends ValidationFault {
  /** The member name as written. */
  readonly term: string;
  /** The known term (or prefixed name) it most likely stands for, if one is near enough. */
  readonly suggestion: string | undefined;
}

/** What a context (or the JSON Schema) says about member names. */
interface Terms {
  readonly terms: Set<string>;
  /** Terms whose value is a map: its keys are names (affordances, languages), not terms. */
  readonly maps: Set<string>;
  /** Terms whose value is a JSON literal: nothing inside it is a term. */
  readonly literals: Set<string>;
}

const emptyTerms = (): Terms => ({ terms: new Set(), maps: new Set(), literals: new Set() });

function merge(into: Terms, from: Terms): void {
  for (const key of ['terms', 'maps', 'literals'] as const) for (const term of from[key]) into[key].add(term);
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** JSON-LD 1.1 §4.6 (indexed values): with these containers, a term's value is a map whose keys are not terms. */
const MAP_CONTAINERS = new Set(['@index', '@language', '@id', '@type']);

/**
 * The terms a JSON-LD context defines, its scoped contexts (JSON-LD 1.1 §4.1.8) and the bundled
 * contexts it names included.
 */
function contextTerms(context: unknown, documents: ContextDocuments, into: Terms = emptyTerms(), seen = new Set<string>()): Terms {
  if (typeof context === 'string') {
    const document = documents.get(context);
    if (document !== undefined && !seen.has(context)) contextTerms((document as { '@context'?: unknown })['@context'], documents, into, seen.add(context));
  } else if (Array.isArray(context)) {
    for (const entry of context) contextTerms(entry, documents, into, seen);
  } else if (isObject(context)) {
    for (const [term, definition] of Object.entries(context)) {
      if (term.startsWith('@')) continue;
      into.terms.add(term);
      if (!isObject(definition)) continue;
      if ([definition['@container'] ?? []].flat().some((container) => MAP_CONTAINERS.has(container as string))) into.maps.add(term);
      if (definition['@type'] === '@json') into.literals.add(term);
      if (definition['@context'] !== undefined) contextTerms(definition['@context'], documents, into, seen);
    }
  }
  return into;
}

/** JSON Schema (draft-07) keywords whose values are subschemas, or arrays or maps of them. */
const SUBSCHEMA = ['items', 'additionalItems', 'additionalProperties', 'contains', 'not', 'if', 'then', 'else'];
const SUBSCHEMA_ARRAYS = ['anyOf', 'oneOf', 'allOf', 'items'];
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', 'definitions', 'dependencies'];
/** Keywords that constrain what a value holds (anything else is an annotation or a size). */
const CONSTRAINING = ['$ref', 'properties', 'additionalProperties', 'patternProperties', 'items', 'additionalItems', 'contains', 'anyOf', 'oneOf', 'allOf', 'not', 'if', 'const', 'enum'];

/** Whether a schema leaves its value's content open (`{}`, or an array or object of anything): the value is a JSON literal. */
function leavesOpen(schema: unknown): boolean {
  if (schema === true) return true;
  if (!isObject(schema) || CONSTRAINING.some((keyword) => keyword in schema)) return false;
  return [schema.type ?? []].flat().every((type) => type === 'array' || type === 'object');
}

/**
 * The members a JSON Schema declares (the keys of every `properties` keyword); those whose every
 * declaration leaves the value open are literals.
 */
function schemaTerms(schema: unknown): Terms {
  const declared = new Map<string, boolean>();
  const walk = (node: unknown): void => {
    if (!isObject(node)) return;
    if (isObject(node.properties)) for (const [name, sub] of Object.entries(node.properties)) declared.set(name, (declared.get(name) ?? true) && leavesOpen(sub));
    for (const keyword of SUBSCHEMA) if (isObject(node[keyword])) walk(node[keyword]);
    for (const keyword of SUBSCHEMA_ARRAYS) if (Array.isArray(node[keyword])) (node[keyword] as unknown[]).forEach(walk);
    for (const keyword of SUBSCHEMA_MAPS) if (isObject(node[keyword])) Object.values(node[keyword] as object).forEach(walk);
  };
  walk(schema);
  const terms = emptyTerms();
  for (const [name, open] of declared) {
    terms.terms.add(name);
    if (open) terms.literals.add(name);
  }
  return terms;
}

/** A member name that is an IRI rather than a term or compact IRI: `scheme://…` or a URN. */
const FULL_IRI = /^(?:[a-z][a-z0-9+.-]*:\/\/|urn:)/i;

/** JSON Pointer (RFC 6901) of a member. */
const pointer = (parent: string, name: string): string => `${parent}/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;

/**
 * The optimal string alignment distance: insertions, deletions, substitutions and transpositions
 * of neighbours each cost one (so `tpye` is one step from `type`).
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => rows[i]![j]!;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      rows[i]![j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The candidate `word` most likely stands for: one equal to it but for case, or else the nearest
 * by {@link editDistance}, if within a third of its length (at least one edit); ties go to the
 * first in code-point order.
 */
export function nearestTerm(word: string, candidates: Iterable<string>): string | undefined {
  const sorted = [...candidates].sort();
  const lower = word.toLowerCase();
  const sameButCase = sorted.find((candidate) => candidate.toLowerCase() === lower && candidate !== word);
  if (sameButCase !== undefined) return sameButCase;
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const candidate of sorted) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance > 0 && distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

/** The known terms of a Thing Description, derived from the TD 1.1 JSON Schema and the bundled contexts. */
export class TdVocabulary {
  /** The TD 1.1 context and JSON Schema: what every TD may use. */
  readonly #base: Terms;
  /** Each bundled context other than the TD ones, by URL: what a TD naming it may use too. */
  readonly #named: ReadonlyMap<string, Terms>;
  readonly #documents: ContextDocuments;

  /** `schema` is the TD 1.1 JSON Schema, `documents` the bundled contexts (the TD 1.1 one among them). */
  constructor(schema: object, documents: ContextDocuments) {
    if (!documents.has(TD_CONTEXT_V11)) throw new FlowchainError('FLOWCHAIN_ERR_TD_CONTEXT_UNKNOWN', `the TD vocabulary needs the TD 1.1 context, ${TD_CONTEXT_V11}`, { field: '@context' });
    this.#documents = documents;
    this.#base = contextTerms(TD_CONTEXT_V11, documents);
    merge(this.#base, schemaTerms(schema));
    this.#named = new Map([...documents.keys()].filter((url) => url !== TD_CONTEXT_V1 && url !== TD_CONTEXT_V11).map((url) => [url, contextTerms(url, documents)]));
  }

  /** Every term a TD may use whatever its `@context` names. */
  get baseTerms(): ReadonlySet<string> {
    return this.#base.terms;
  }

  /**
   * The member names of `td` that are neither terms of its vocabulary nor namespaced extensions,
   * in document order, at most `max`; each with its JSON Pointer and, when one is near enough,
   * the term it most likely stands for. None for a TD naming a context that is not bundled.
   */
  unknownTerms(td: unknown, max = 20): UnknownTerm[] {
    if (!isObject(td)) return [];
    const active = this.#active(td['@context']);
    if (active === undefined) return [];
    const found: UnknownTerm[] = [];
    const walk = (value: unknown, at: string): void => {
      if (Array.isArray(value)) return value.forEach((item, i) => walk(item, `${at}/${i}`));
      if (!isObject(value)) return;
      for (const [name, member] of Object.entries(value)) {
        if (found.length >= max) return;
        // JSON-LD keywords are the expansion's to check (safe mode refuses an unknown one).
        if (name.startsWith('@')) continue;
        const here = pointer(at, name);
        if (active.terms.has(name)) {
          if (active.literals.has(name)) continue;
          if (active.maps.has(name) && isObject(member)) for (const [key, entry] of Object.entries(member)) walk(entry, pointer(here, key));
          else walk(member, here);
          continue;
        }
        const fault = this.#fault(name, here, active);
        if (fault !== undefined) found.push(fault);
      }
    };
    walk(td, '');
    return found;
  }

  /** The terms a TD with this `@context` may use, or undefined when it names a context that is not bundled. */
  #active(context: unknown): Terms | undefined {
    const active = emptyTerms();
    merge(active, this.#base);
    for (const entry of Array.isArray(context) ? context : [context]) {
      if (entry === TD_CONTEXT_V1 || entry === TD_CONTEXT_V11) continue;
      if (typeof entry === 'string') {
        const named = this.#named.get(entry);
        if (named === undefined) return undefined;
        merge(active, named);
      } else if (isObject(entry)) {
        merge(active, contextTerms(entry, this.#documents));
      }
    }
    return active;
  }

  /** Why `name` (at `field`) is refused, or nothing when it is a namespaced extension. */
  #fault(name: string, field: string, active: Terms): UnknownTerm | undefined {
    const colon = name.indexOf(':');
    if (colon > 0) {
      const prefix = name.slice(0, colon);
      if (active.terms.has(prefix) || FULL_IRI.test(name)) return undefined;
      const near = nearestTerm(prefix, active.terms);
      const suggestion = near === undefined ? undefined : `${near}${name.slice(colon)}`;
      const description = `uses the prefix \`${prefix}\`, which the TD's @context does not declare${suggestion === undefined ? ': declare it in an object entry of @context' : `: did you mean \`${suggestion}\`?`}`;
      return { field, description, term: name, suggestion };
    }
    const elsewhere = [...this.#named].find(([, terms]) => terms.terms.has(name));
    if (elsewhere !== undefined) {
      return { field, description: `is a term of ${elsewhere[0]}, which the TD's @context does not name: add it to @context`, term: name, suggestion: undefined };
    }
    const suggestion = nearestTerm(name, active.terms);
    const description = suggestion === undefined
      ? `is not a TD term nor one the TD's @context defines: give an extension a prefix the @context declares (\`ex:${name}\`)`
      : `is not a TD term nor one the TD's @context defines: did you mean \`${suggestion}\`?`;
    return { field, description, term: name, suggestion };
  }
}

/**
 * URI Templates (RFC 6570), all four levels: simple `{var}`, reserved `{+var}`, fragment
 * `{#var}`, label `{.var}`, path segment `{/var}`, path-style parameter `{;var}`, form-style
 * query `{?a,b}` and continuation `{&a}`, with the prefix (`{var:3}`) and explode (`{list*}`)
 * modifiers. TD 1.1 §5.3.4.2 makes a form's `href` such a template, its variables named by
 * the affordance's (or the Thing's) `uriVariables`. Pure.
 *
 * Throws FLOWCHAIN_ERR_TD_INVALID (field `href`) for a template that is not RFC 6570 syntax.
 */
import { FlowchainError } from '../errors.js';

/** An expression operator (RFC 6570 §2.2); '' is simple string expansion. */
export type TemplateOperator = '' | '+' | '#' | '.' | '/' | ';' | '?' | '&';

/** One variable of an expression, where it stands and how it is modified. */
export interface TemplateVariable {
  readonly name: string;
  readonly operator: TemplateOperator;
  /** `{var:3}`: at most this many characters of a string value (§2.4.1). */
  readonly prefix?: number;
  /** `{var*}`: each member of a list or pair of an associative array on its own (§2.4.2). */
  readonly explode: boolean;
}

/** What a variable may hold (§2.3): a string (numbers and booleans are written as JSON writes them), a list, or an associative array. */
export type TemplateValue = string | number | boolean | null | undefined | readonly (string | number | boolean)[] | Readonly<Record<string, string | number | boolean | undefined>>;

/** RFC 6570 Appendix A: how each operator expands. */
const BEHAVIOUR: Readonly<Record<TemplateOperator, { first: string; sep: string; named: boolean; ifemp: string; reserved: boolean }>> = {
  '': { first: '', sep: ',', named: false, ifemp: '', reserved: false },
  '+': { first: '', sep: ',', named: false, ifemp: '', reserved: true },
  '#': { first: '#', sep: ',', named: false, ifemp: '', reserved: true },
  '.': { first: '.', sep: '.', named: false, ifemp: '', reserved: false },
  '/': { first: '/', sep: '/', named: false, ifemp: '', reserved: false },
  ';': { first: ';', sep: ';', named: true, ifemp: '', reserved: false },
  '?': { first: '?', sep: '&', named: true, ifemp: '=', reserved: false },
  '&': { first: '&', sep: '&', named: true, ifemp: '=', reserved: false },
};

/** §2.3 varname: varchars (ALPHA, DIGIT, "_", pct-encoded), dots between them. */
const VARNAME = /^(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+(?:\.(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+)*$/;
/** §2.4.1 max-length: 1 to 9999, no leading zero. */
const MAX_LENGTH = /^[1-9][0-9]{0,3}$/;

type Part = string | { readonly operator: TemplateOperator; readonly variables: readonly TemplateVariable[] };

/** A parsed URI template. */
export class UriTemplate {
  readonly #parts: readonly Part[];
  /** Every variable of the template, in order. */
  readonly variables: readonly TemplateVariable[];

  private constructor(parts: readonly Part[]) {
    this.#parts = parts;
    this.variables = parts.flatMap((part) => (typeof part === 'string' ? [] : part.variables));
  }

  /** Parses `template`; throws FLOWCHAIN_ERR_TD_INVALID when it is not RFC 6570 syntax. */
  static parse(template: string): UriTemplate {
    const parts: Part[] = [];
    let at = 0;
    while (at < template.length) {
      const open = template.indexOf('{', at);
      const close = template.indexOf('}', at);
      if (close >= 0 && (open < 0 || close < open)) throw invalid(template, `a "}" at ${close} closes no expression`);
      if (open < 0) {
        parts.push(template.slice(at));
        break;
      }
      if (open > at) parts.push(template.slice(at, open));
      const end = template.indexOf('}', open);
      if (end < 0) throw invalid(template, `the expression at ${open} is not closed`);
      parts.push(expression(template, template.slice(open + 1, end)));
      at = end + 1;
    }
    return new UriTemplate(parts);
  }

  /**
   * The URI reference `values` make of the template (RFC 6570 §3): a variable without a value
   * (undefined, null, an empty list or associative array) expands to nothing; literals are
   * copied, with characters a URI does not allow percent-encoded.
   */
  expand(values: Readonly<Record<string, TemplateValue>>): string {
    return this.#parts.map((part) => (typeof part === 'string' ? encode(part, true) : expandExpression(part.operator, part.variables, values))).join('');
  }
}

function invalid(template: string, why: string): FlowchainError {
  return new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', `the URI template ${JSON.stringify(template)} is not RFC 6570: ${why}`, { field: 'href' });
}

/** §2.2: one expression's operator and variable list. */
function expression(template: string, body: string): Part {
  const operator = ('+#./;?&'.includes(body[0] ?? '') && body !== '' ? body[0] : '') as TemplateOperator;
  // §2.2: "=", ",", "!", "@" and "|" are reserved for future extensions.
  if (/^[=,!@|]/.test(body)) throw invalid(template, `the operator ${body[0]} is reserved`);
  const variables = body
    .slice(operator.length)
    .split(',')
    .map((spec): TemplateVariable => {
      const explode = spec.endsWith('*');
      const [name = '', length] = (explode ? spec.slice(0, -1) : spec).split(':');
      if (!VARNAME.test(name)) throw invalid(template, `${JSON.stringify(spec)} is not a variable name`);
      if (length !== undefined && (explode || !MAX_LENGTH.test(length))) throw invalid(template, `${JSON.stringify(spec)} has a malformed prefix modifier`);
      return { name, operator, explode, ...(length === undefined ? {} : { prefix: Number(length) }) };
    });
  return { operator, variables };
}

/** Appendix A: the expansion of one expression. */
function expandExpression(operator: TemplateOperator, variables: readonly TemplateVariable[], values: Readonly<Record<string, TemplateValue>>): string {
  const how = BEHAVIOUR[operator];
  const pieces: string[] = [];
  for (const variable of variables) {
    const value = values[variable.name];
    const named = (name: string, text: string): string => (how.named ? `${name}${text === '' ? how.ifemp : '='}${text}` : text);
    if (value === undefined || value === null) continue;
    if (typeof value !== 'object') {
      const text = scalar(value);
      pieces.push(named(variable.name, encode(variable.prefix === undefined ? text : [...text].slice(0, variable.prefix).join(''), how.reserved)));
      continue;
    }
    const pairs: [string, string][] = Array.isArray(value)
      ? (value as readonly (string | number | boolean)[]).filter((item) => item !== undefined && item !== null).map((item) => ['', encode(scalar(item), how.reserved)])
      : Object.entries(value as Record<string, string | number | boolean | undefined>)
          .filter(([, item]) => item !== undefined && item !== null)
          .map(([key, item]) => [encode(key, how.reserved), encode(scalar(item!), how.reserved)]);
    // §2.3: an empty list or associative array is undefined.
    if (pairs.length === 0) continue;
    const list = Array.isArray(value);
    if (!variable.explode) {
      pieces.push(named(variable.name, pairs.map(([key, text]) => (list ? text : `${key},${text}`)).join(',')));
    } else if (how.named) {
      pieces.push(pairs.map(([key, text]) => `${list ? variable.name : key}${text === '' ? how.ifemp : '='}${text}`).join(how.sep));
    } else {
      pieces.push(pairs.map(([key, text]) => (list ? text : `${key}=${text}`)).join(how.sep));
    }
  }
  return pieces.length === 0 ? '' : how.first + pieces.join(how.sep);
}

function scalar(value: string | number | boolean): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** §1.5: unreserved characters. */
const UNRESERVED = /[A-Za-z0-9\-._~]/;
/** §1.5: reserved characters (gen-delims and sub-delims). */
const RESERVED = /[:/?#[\]@!$&'()*+,;=]/;
const UTF8 = new TextEncoder();

/**
 * §3.2.1: every character outside the allowed set as the percent-encoded octets of its UTF-8;
 * with `reserved` (the + and # operators, and literals), reserved characters and
 * percent-encoded triplets already there stay as they are.
 */
function encode(text: string, reserved: boolean): string {
  let out = '';
  const characters = [...text];
  for (let i = 0; i < characters.length; i++) {
    const c = characters[i]!;
    if (UNRESERVED.test(c) || (reserved && RESERVED.test(c))) out += c;
    else if (reserved && c === '%' && /^[0-9A-Fa-f]{2}$/.test((characters[i + 1] ?? '') + (characters[i + 2] ?? ''))) out += c;
    else out += [...UTF8.encode(c)].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return out;
}

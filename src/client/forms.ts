/**
 * How a consumer finds and follows a TD's forms, knowing only TD 1.1: the `op` defaults of
 * §5.3.4.2, `href` resolved against `base`, the HTTP method from `htv:methodName` or the
 * protocol binding's defaults (§8.3.1), the content type (default application/json), the
 * client binding a form belongs to (the first of the consumer's client bindings that accepts
 * it: src/thing/protocol-binding.ts), and the credentials its security schemes ask for
 * (§5.3.3: nosec, basic, bearer, combo). Pure.
 *
 * A form's `href` is an RFC 6570 template whose variables the TD's `uriVariables` describe
 * (TD 1.1 §5.3.4.2); a caller picks a form by its index as the Scripting API's
 * InteractionOptions do.
 *
 * Throws FLOWCHAIN_ERR_FORM_NOT_FOUND naming the affordance when no form offers an operation,
 * FLOWCHAIN_ERR_FORM_INDEX_INVALID, FLOWCHAIN_ERR_URI_VARIABLE_INVALID and
 * FLOWCHAIN_ERR_URI_VARIABLE_MISSING (see pickForms).
 */
import { FlowchainError } from '../errors.js';
import type { DataSchema, Form, InteractionAffordance, ThingDescription } from '../td/thing-description.js';
import { checkValue } from '../thing/data-schema.js';
import type { BindingName, ClientBinding, ResolvedForm } from '../thing/protocol-binding.js';
import { UriTemplate, type TemplateValue } from './uri-template.js';

/** The ways a form can be followed: the names of client bindings (Flowchain's own: http, sse, longpoll, ws). */
export type Binding = BindingName;

export type { ResolvedForm } from '../thing/protocol-binding.js';

/** Credentials a caller supplies for forms whose security asks for them. */
export interface Credentials {
  /** RFC 6750 bearer token. */
  readonly token?: string;
  /** RFC 7617 Basic. */
  readonly username?: string;
  readonly password?: string;
}

/** Which kind of affordance a form belongs to, for the op defaults. */
export type AffordanceKind = 'property' | 'action' | 'event' | 'thing';

/** TD 1.1 §5.3.4.2: the default `op` of a form without one. */
function defaultOps(kind: AffordanceKind, affordance: InteractionAffordance & { readOnly?: boolean; writeOnly?: boolean }): string[] {
  if (kind === 'property') return affordance.readOnly ? ['readproperty'] : affordance.writeOnly ? ['writeproperty'] : ['readproperty', 'writeproperty'];
  if (kind === 'action') return ['invokeaction'];
  if (kind === 'event') return ['subscribeevent', 'unsubscribeevent'];
  return [];
}

/** TD 1.1 §8.3.1: the HTTP method of an operation when the form names none. */
const DEFAULT_METHOD: Readonly<Record<string, string>> = {
  readproperty: 'GET',
  writeproperty: 'PUT',
  observeproperty: 'GET',
  invokeaction: 'POST',
  subscribeevent: 'GET',
  readallproperties: 'GET',
  writeallproperties: 'PUT',
  readmultipleproperties: 'GET',
  writemultipleproperties: 'PUT',
  observeallproperties: 'GET',
  subscribeallevents: 'GET',
  queryaction: 'GET',
  queryallactions: 'GET',
  cancelaction: 'DELETE',
};

/**
 * Which form to follow and what its `href` is filled in with: the form-related members of the
 * W3C WoT Scripting API's InteractionOptions (§7.1), plus the interaction's input.
 */
export interface FormChoice {
  /** Exactly this form of the affordance's (or the Thing's) `forms`, no other. */
  readonly formIndex?: number;
  /** Values of the `href` template's variables (RFC 6570), checked against the TD's `uriVariables`. */
  readonly uriVariables?: Readonly<Record<string, unknown>>;
  /** The interaction's input: a GET or HEAD form carries no body, so there it must be an object of URI variables. */
  readonly input?: unknown;
}

/**
 * The forms of `affordance` (or of the Thing, `kind` 'thing') offering `op`, in the order of
 * `preference` among the bindings that can carry it (each form's binding is the first of
 * `clients` that accepts it), then in TD order (a TD may offer one form
 * per address of its server: a consumer tries the next when one is unreachable); with
 * `choice.formIndex`, that form alone. Each `href` is expanded as an RFC 6570 template with
 * `choice.uriVariables` (and, for a GET or HEAD form, the members of `choice.input`), each
 * value checked against the Thing's and the affordance's `uriVariables` (TD 1.1 §5.3.1.1,
 * §5.3.1.2). `where` names the affordance in errors.
 *
 * A variable of an unnamed expression (`{id}`, `{+path}`, `{/segment}`) must have a value:
 * leaving it out would name another resource. One of a named expression (`{?diff}`, `{&n}`,
 * `{;p}`) may be left out: RFC 6570 §3.2.8 then writes nothing for it.
 *
 * Throws FLOWCHAIN_ERR_FORM_NOT_FOUND when no form offers `op` over the bindings in
 * `preference`, FLOWCHAIN_ERR_FORM_INDEX_INVALID when `formIndex` is out of range or names a
 * form that cannot be followed for `op`, FLOWCHAIN_ERR_URI_VARIABLE_INVALID for a variable
 * the TD does not declare or a value that does not match its schema, and
 * FLOWCHAIN_ERR_URI_VARIABLE_MISSING for a variable the chosen form needs and was not given.
 */
export function pickForms(td: ThingDescription, kind: AffordanceKind, affordance: InteractionAffordance | undefined, op: string, preference: readonly Binding[], where: string, choice: FormChoice, clients: readonly ClientBinding[]): ResolvedForm[] {
  const forms = kind === 'thing' ? (td.forms ?? []) : (affordance?.forms ?? []);
  const declared: Record<string, DataSchema> = { ...(td.uriVariables as Record<string, DataSchema> | undefined), ...(affordance?.uriVariables as Record<string, DataSchema> | undefined) };
  const given = choice.uriVariables ?? {};
  const { formIndex } = choice;
  if (formIndex !== undefined && (!Number.isInteger(formIndex) || formIndex < 0 || formIndex >= forms.length)) {
    throw new FlowchainError('FLOWCHAIN_ERR_FORM_INDEX_INVALID', `${where} has ${forms.length} form${forms.length === 1 ? '' : 's'}: formIndex ${formIndex} names none of them`, { field: `${where}/forms` });
  }
  // Every variable given must be one the TD declares or one of its forms' templates names.
  const named = new Set(Object.keys(declared));
  for (const form of forms) for (const variable of templateOf(form)?.variables ?? []) named.add(variable.name);
  for (const [name, value] of Object.entries(given)) checkVariable(declared, named, name, value, where);

  const candidates: ResolvedForm[] = [];
  const failures = new Map<ResolvedForm, FlowchainError>();
  for (const [index, form] of forms.entries()) {
    if (formIndex !== undefined && index !== formIndex) continue;
    const unusable = (why: string): void => {
      if (formIndex !== undefined) throw new FlowchainError('FLOWCHAIN_ERR_FORM_INDEX_INVALID', `form ${index} of ${where} ${why}`, { field: `${where}/forms/${index}` });
    };
    const ops = form.op === undefined ? defaultOps(kind, affordance ?? {}) : [form.op].flat();
    if (!ops.includes(op) || typeof form.href !== 'string') {
      unusable(`does not offer ${op}`);
      continue;
    }
    const template = templateOf(form);
    if (template === undefined) {
      unusable(`has an href that is not an RFC 6570 template: ${JSON.stringify(form.href)}`);
      continue;
    }
    let url: URL;
    try {
      // Variables are left out here: only the scheme decides the binding.
      url = new URL(template.expand({}), td.base);
    } catch {
      unusable(`has an href that is not a URL (against base ${String(td.base)}): ${JSON.stringify(form.href)}`);
      continue;
    }
    const client = clients.find((candidate) => candidate.accepts(form, url));
    const binding = client?.name;
    if (binding === undefined || !preference.includes(binding)) {
      unusable(binding === undefined ? 'is over a protocol or subprotocol this consumer does not follow' : `is over ${binding}, which this consumer does not use for ${op} (it uses ${preference.join(', ') || 'nothing'})`);
      continue;
    }
    const method = (form['htv:methodName'] as string | undefined) ?? DEFAULT_METHOD[op] ?? 'GET';
    const sendsBody = client!.sendsBody(method);
    const resolved = { form, index, binding, method, contentType: form.contentType ?? 'application/json', sendsBody };
    try {
      const variables = sendsBody ? given : { ...given, ...inputVariables(declared, named, given, choice.input, `form ${index} of ${where} is a ${method} form`, where) };
      for (const variable of template.variables) {
        if (NAMED_OPERATORS.has(variable.operator) || (variables[variable.name] ?? null) !== null) continue;
        throw new FlowchainError('FLOWCHAIN_ERR_URI_VARIABLE_MISSING', `form ${index} of ${where} (${form.href}) needs a value for its URI variable ${variable.name}`, { field: `uriVariables/${variable.name}` });
      }
      candidates.push({ ...resolved, url: new URL(template.expand(variables as Record<string, TemplateValue>), td.base) });
    } catch (err) {
      // Remembered: it is thrown if this form is the one to follow first.
      const stand = { ...resolved, url };
      candidates.push(stand);
      failures.set(stand, err as FlowchainError);
    }
  }
  // Array.prototype.sort is stable: forms of one binding keep their TD order.
  candidates.sort((a, b) => preference.indexOf(a.binding) - preference.indexOf(b.binding));
  if (candidates.length === 0) throw new FlowchainError('FLOWCHAIN_ERR_FORM_NOT_FOUND', `${where} has no form this consumer can follow for ${op} (over ${preference.join(', ')})`, { field: where });
  const first = failures.get(candidates[0]!);
  if (first !== undefined) throw first;
  // A later form these values cannot fill in is no fallback.
  return candidates.filter((candidate) => !failures.has(candidate));
}

/** RFC 6570 §3.2.7-§3.2.9: the expressions that name their variables, so one may be left out. */
const NAMED_OPERATORS = new Set([';', '?', '&']);

/** A form's href as a template; undefined when it is not one (the form cannot be followed). */
function templateOf(form: Form): UriTemplate | undefined {
  if (typeof form.href !== 'string') return undefined;
  try {
    return UriTemplate.parse(form.href);
  } catch {
    return undefined;
  }
}

/** Checks one URI variable: named by the TD, a value a template can hold, and matching its schema. */
function checkVariable(declared: Readonly<Record<string, DataSchema>>, named: ReadonlySet<string>, name: string, value: unknown, where: string): void {
  const field = `uriVariables/${name}`;
  if (!named.has(name)) {
    const known = [...named];
    throw new FlowchainError('FLOWCHAIN_ERR_URI_VARIABLE_INVALID', `${where} has no URI variable named ${name} (${known.length === 0 ? 'it has none' : `it has ${known.join(', ')}`})`, { field });
  }
  if (value === undefined || value === null) return;
  const scalar = (v: unknown): boolean => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
  const fits = scalar(value) || (Array.isArray(value) ? value.every(scalar) : typeof value === 'object' && value !== null && Object.values(value).every(scalar));
  if (!fits) throw new FlowchainError('FLOWCHAIN_ERR_URI_VARIABLE_INVALID', `${where}: the URI variable ${name} must be a string, a number, a boolean, or a list or map of them`, { field });
  const schema = declared[name];
  if (schema === undefined) return;
  try {
    checkValue(schema, value, name, 'input');
  } catch (err) {
    throw new FlowchainError('FLOWCHAIN_ERR_URI_VARIABLE_INVALID', `${where}: the URI variable ${(err as Error).message}`, { field, cause: err });
  }
}

/** The URI variables a GET or HEAD form makes of the input: it has no body, so the input must be an object of them. */
function inputVariables(declared: Readonly<Record<string, DataSchema>>, named: ReadonlySet<string>, given: Readonly<Record<string, unknown>>, input: unknown, what: string, where: string): Record<string, unknown> {
  if (input === undefined) return {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FlowchainError('FLOWCHAIN_ERR_URI_VARIABLE_INVALID', `${what}: it carries no body, so its input must be an object of URI variables (or pass them as uriVariables)`, { field: where });
  }
  for (const [name, value] of Object.entries(input)) {
    if (Object.hasOwn(given, name)) throw new FlowchainError('FLOWCHAIN_ERR_URI_VARIABLE_INVALID', `${what}: the URI variable ${name} is given both in the input and in uriVariables`, { field: `uriVariables/${name}` });
    checkVariable(declared, named, name, value, where);
  }
  return input as Record<string, unknown>;
}

/**
 * The Authorization header a form's security asks for (the form's own `security`, else the
 * Thing's), from the caller's credentials: none for nosec, bearer or Basic as the schemes say,
 * the first satisfiable member of a `combo` with `oneOf`. Undefined when nothing is needed or
 * the caller has nothing that fits (the server then answers 401 with its challenge).
 */
export function authorizationFor(td: ThingDescription, form: Form, credentials: Credentials | undefined): string | undefined {
  const names = [form.security ?? td.security ?? []].flat() as string[];
  const header = (name: string, depth = 0): string | undefined => {
    const scheme = td.securityDefinitions?.[name] as { scheme?: string; oneOf?: string[]; allOf?: string[] } | undefined;
    if (scheme === undefined || depth > 4) return undefined;
    if (scheme.scheme === 'bearer' && credentials?.token !== undefined) return `Bearer ${credentials.token}`;
    if (scheme.scheme === 'basic' && credentials?.username !== undefined && credentials.password !== undefined) return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    if (scheme.scheme === 'combo') for (const member of scheme.oneOf ?? scheme.allOf ?? []) {
      const found = header(member, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  for (const name of names) {
    const found = header(name);
    if (found !== undefined) return found;
  }
  return undefined;
}

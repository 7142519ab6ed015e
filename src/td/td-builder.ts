/**
 * Builds the Thing Descriptions the servient serves: a TD file from things/ (without forms)
 * plus the node's exposure (base URL and security) gives a complete TD 1.1 document, whose
 * forms, links and profiles come from the protocol bindings (each a {@link FormSource}): this
 * module knows no URL layout and no protocol. Pure: no I/O, no clock.
 */
import { servedContext } from './td-context.js';
import type { Form, ThingDescription } from './thing-description.js';

/** Names of the security schemes served TDs declare. */
export const SECURITY = { open: 'nosec_sc', bearer: 'bearer_sc', basic: 'basic_sc', combo: 'combo_sc' } as const;

/** Operations that change state: they need credentials when auth is on. */
export const PROTECTED_OPS = new Set(['writeproperty', 'writemultipleproperties', 'writeallproperties', 'invokeaction', 'cancelaction']);

/** Where and how the servient exposes a Thing. */
export interface ExposureOptions {
  /** Absolute base URL ending in '/', for example `http://localhost:8080/`. */
  readonly base: string;
  /** Whether writes and actions accept a bearer token. */
  readonly bearerAuth: boolean;
  /** Whether writes and actions accept HTTP Basic credentials (either these or the token, when both). */
  readonly basicAuth?: boolean;
}

/** The scheme protected forms name, or undefined on an open node. */
export function protectedScheme(exposure: Pick<ExposureOptions, 'bearerAuth' | 'basicAuth'>): string | undefined {
  if (exposure.bearerAuth && exposure.basicAuth) return SECURITY.combo;
  if (exposure.basicAuth) return SECURITY.basic;
  return exposure.bearerAuth ? SECURITY.bearer : undefined;
}

/** The parts of a Thing the builder needs beyond its TD file. */
export interface ThingIdentity {
  /** The stable TD `id` (the file's own, or one the servient derived). */
  readonly id: string;
  /** The URL path segment of the Thing. */
  readonly slug: string;
  /** Whether the node keeps the history of its values and events. */
  readonly keepsHistory?: boolean;
}

/** TD 1.1 §5.3.3 security definitions for the given exposure. */
export function securityDefinitions(exposure: ExposureOptions): Record<string, Record<string, unknown>> {
  const defs: Record<string, Record<string, unknown>> = { [SECURITY.open]: { scheme: 'nosec' } };
  const either = exposure.bearerAuth && exposure.basicAuth;
  const required = either ? 'Either this or the other scheme of combo_sc is required for writes and actions; reads and streams are open.' : 'Required for writes and actions; reads and streams are open.';
  if (exposure.bearerAuth) {
    // RFC 6750 bearer token in the Authorization header; the WebSocket endpoint also accepts
    // it as the access_token query parameter (RFC 6750 §2.3) because browsers cannot set headers.
    defs[SECURITY.bearer] = { scheme: 'bearer', in: 'header', name: 'Authorization', format: 'opaque', description: required };
  }
  if (exposure.basicAuth) {
    // RFC 7617 in the Authorization header: the WoT Profile (Common Constraints, "Security")
    // wants `in` header or absent and `name` Authorization.
    defs[SECURITY.basic] = { scheme: 'basic', in: 'header', name: 'Authorization', description: required };
  }
  if (either) {
    // TD 1.1 §5.3.3.2 ComboSecurityScheme: oneOf, any one of them is enough. The WoT Profile
    // says a Thing accepting several schemes lists them so.
    defs[SECURITY.combo] = { scheme: 'combo', oneOf: [SECURITY.basic, SECURITY.bearer], description: 'Writes and actions take HTTP Basic credentials or a bearer token.' };
  }
  return defs;
}

/**
 * Builds forms for `ops` at `href`: one form for the open operations and, when auth is on,
 * one for the protected ones carrying the scheme they need (form-level security overrides the
 * Thing-level default, TD 1.1 §5.3.4.2). For the bindings' form sources.
 */
export function securedForms(href: string, ops: readonly string[], extra: Omit<Form, 'href' | 'op'>, exposure: FormExposure): Form[] {
  const scheme = exposure.protectedScheme;
  const open = scheme ? ops.filter((op) => !PROTECTED_OPS.has(op)) : [...ops];
  const guarded = scheme ? ops.filter((op) => PROTECTED_OPS.has(op)) : [];
  const forms: Form[] = [];
  if (open.length > 0) forms.push({ href, op: open, ...extra });
  if (guarded.length > 0) forms.push({ href, op: guarded, ...extra, security: [scheme!] });
  return forms;
}

/** A Thing whose TD is being built: its TD file and where the node exposes it. */
export interface DescribedThing {
  /** The TD file (or produced fragment), without forms. */
  readonly td: ThingDescription;
  /** The stable TD `id`. */
  readonly id: string;
  /** The Thing's URL path segment. */
  readonly slug: string;
  /** Whether the node keeps the history of its values and events (bindings link to it). */
  readonly keepsHistory?: boolean;
}

/** What one binding needs to know of the node's exposure to write its forms. */
export interface FormExposure {
  /** The absolute base URL the TD is served under (per request: the requester's), ending in '/'. */
  readonly base: string;
  /** The security scheme protected operations' forms carry ({@link PROTECTED_OPS}); undefined on an open node. */
  readonly protectedScheme: string | undefined;
}

/** What one binding adds to a Thing's TD. */
export interface BindingForms {
  /** Forms per property, action and event name; an affordance left out gets none from this binding. */
  readonly properties?: Readonly<Record<string, readonly Form[]>>;
  readonly actions?: Readonly<Record<string, readonly Form[]>>;
  readonly events?: Readonly<Record<string, readonly Form[]>>;
  /** Thing-level forms (readallproperties, subscribeallevents, …). */
  readonly forms?: readonly Form[];
  /** Links to what the binding serves besides the affordances (a property's history, say). */
  readonly links?: readonly Record<string, unknown>[];
  /** WoT Profiles the Thing follows over this binding. */
  readonly profile?: readonly string[];
  /**
   * The prefixes of the binding's own terms in its forms (an MQTT binding's `mqv:`, a CoAP
   * one's `cov:`), added to the TD's `@context` as one object entry so the TD still expands.
   */
  readonly context?: Readonly<Record<string, string>>;
}

/** The forms one protocol binding adds to every Thing it serves (the server side of a binding, src/thing/protocol-binding.ts). */
export interface FormSource {
  /** Pure and cheap: called for every TD the node builds (per requester's base). */
  formsFor(thing: DescribedThing, exposure: FormExposure): BindingForms;
}

/**
 * Completes a TD file into the TD the servient serves: stable `id`, `base`, security, and the
 * forms, links and profiles of each binding in `bindings` (in that order). The
 * Flowchain-only `driver` member is left out, and Flowchain's context URL is replaced by its
 * terms inline (see flowchain-context.ts), so the TD names no context but the W3C ones: the
 * TD 1.0 and 1.1 URIs first (td-context.ts), then its own other entries.
 */
export function buildThingDescription(source: ThingDescription, identity: ThingIdentity, exposure: ExposureOptions, bindings: readonly FormSource[]): ThingDescription {
  const { '@context': context, driver: _driver, forms: _forms, id: _id, base: _base, security: _sec, securityDefinitions: _defs, ...rest } = source;
  const given: FormExposure = { base: exposure.base, protectedScheme: protectedScheme(exposure) };
  const contributions = bindings.map((binding) => binding.formsFor({ td: source, id: identity.id, slug: identity.slug, ...(identity.keepsHistory ? { keepsHistory: true } : {}) }, given));
  const gather = (pick: (forms: BindingForms) => readonly Form[] | undefined): Form[] => contributions.flatMap((forms) => pick(forms) ?? []);

  const properties = mapValues(source.properties, (name, property) => ({ ...property, forms: gather((c) => c.properties?.[name]) }));
  // An action is synchronous unless its TD says otherwise (the HTTP Basic Profile wants the TD
  // to say which; a binding answers each kind as its protocol does).
  const actions = mapValues(source.actions, (name, action) => ({ ...action, synchronous: action.synchronous !== false, forms: gather((c) => c.actions?.[name]) }));
  const events = mapValues(source.events, (name, event) => ({ ...event, forms: gather((c) => c.events?.[name]) }));
  const links: Record<string, unknown>[] = [...(rest.links ?? []), ...contributions.flatMap((c) => c.links ?? [])];
  const forms = gather((c) => c.forms);
  const profile = [...new Set(contributions.flatMap((c) => c.profile ?? []))];
  const prefixes: Record<string, string> = Object.assign({}, ...contributions.map((c) => c.context ?? {}));
  const served = servedContext(context);

  return {
    '@context': Object.keys(prefixes).length === 0 ? served : [...[served].flat(), prefixes],
    id: identity.id,
    ...(profile.length > 0 ? { profile } : {}),
    ...rest,
    ...(links.length > 0 ? { links } : {}),
    base: exposure.base,
    securityDefinitions: securityDefinitions(exposure),
    security: SECURITY.open,
    ...(properties ? { properties } : {}),
    ...(actions ? { actions } : {}),
    ...(events ? { events } : {}),
    forms,
  };
}

function mapValues<T, R>(record: Readonly<Record<string, T>> | undefined, fn: (name: string, value: T) => R): Record<string, R> | undefined {
  if (record === undefined) return undefined;
  return Object.fromEntries(Object.entries(record).map(([name, value]) => [name, fn(name, value)]));
}

/**
 * How a consumer finds and follows a TD's forms, knowing only TD 1.1: the `op` defaults of
 * §5.3.4.2, `href` resolved against `base`, the HTTP method from `htv:methodName` or the
 * protocol binding's defaults (§8.3.1), the content type (default application/json), the
 * binding a form belongs to (plain HTTP, SSE, long-poll or the `flowchain.v1` WebSocket), and
 * the credentials its security schemes ask for (§5.3.3: nosec, basic, bearer, combo). Pure.
 *
 * Throws FLOWCHAIN_ERR_FORM_NOT_FOUND naming the affordance when no form offers an operation.
 */
import { FlowchainError } from '../errors.js';
import type { Form, InteractionAffordance, ThingDescription } from '../td/thing-description.js';

/** The ways a form can be followed. */
export type Binding = 'http' | 'sse' | 'longpoll' | 'ws';

/** The sub-protocol of Flowchain's WebSocket forms (docs/websocket-protocol.md). */
export const WS_SUBPROTOCOL = 'flowchain.v1';

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

/** A form chosen for an operation, with everything needed to follow it. */
export interface ResolvedForm {
  readonly form: Form;
  readonly binding: Binding;
  readonly url: URL;
  readonly method: string;
  readonly contentType: string;
}

/** The binding a form belongs to. */
export function bindingOf(form: Form, url: URL): Binding | undefined {
  if (url.protocol === 'ws:' || url.protocol === 'wss:') return form.subprotocol === WS_SUBPROTOCOL ? 'ws' : undefined;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (form.subprotocol === 'sse' || form.contentType?.startsWith('text/event-stream')) return 'sse';
  if (form.subprotocol === 'longpoll') return 'longpoll';
  return form.subprotocol === undefined ? 'http' : undefined;
}

/**
 * The forms of `affordance` (or of the Thing, `kind` 'thing') offering `op`, in the order of
 * `preference` among the bindings that can carry it, then in TD order (a TD may offer one form
 * per address of its server: a consumer tries the next when one is unreachable). `where` names
 * the affordance in errors: FLOWCHAIN_ERR_FORM_NOT_FOUND when there is none.
 */
export function pickForms(td: ThingDescription, kind: AffordanceKind, affordance: InteractionAffordance | undefined, op: string, preference: readonly Binding[], where: string): ResolvedForm[] {
  const forms = kind === 'thing' ? (td.forms ?? []) : (affordance?.forms ?? []);
  const candidates: ResolvedForm[] = [];
  for (const form of forms) {
    const ops = form.op === undefined ? defaultOps(kind, affordance ?? {}) : [form.op].flat();
    if (!ops.includes(op) || typeof form.href !== 'string') continue;
    let url: URL;
    try {
      url = new URL(form.href, td.base);
    } catch {
      continue;
    }
    const binding = bindingOf(form, url);
    if (binding === undefined || !preference.includes(binding)) continue;
    candidates.push({ form, binding, url, method: (form['htv:methodName'] as string | undefined) ?? DEFAULT_METHOD[op] ?? 'GET', contentType: form.contentType ?? 'application/json' });
  }
  // Array.prototype.sort is stable: forms of one binding keep their TD order.
  candidates.sort((a, b) => preference.indexOf(a.binding) - preference.indexOf(b.binding));
  if (candidates.length === 0) throw new FlowchainError('FLOWCHAIN_ERR_FORM_NOT_FOUND', `${where} has no form this consumer can follow for ${op} (over ${preference.join(', ')})`, { field: where });
  return candidates;
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

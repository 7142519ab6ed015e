/**
 * Builds the Thing Descriptions the servient serves: a TD file from things/ (without forms)
 * plus the servient's URL layout and security gives a complete TD 1.1 document whose forms a
 * generic WoT consumer can follow alone. Pure: no I/O, no clock.
 *
 * URL layout (relative to `base`; clients never need it, only the forms):
 *   things/{slug}/properties                     GET all, POST read multiple, PUT write multiple;
 *                                                GET with Accept: text/event-stream observes all (SSE)
 *   things/{slug}/properties/{name}              GET read, PUT write
 *   things/{slug}/properties/{name}/longpoll     observe, long-poll
 *   things/{slug}/properties/{name}/sse          observe, Server-Sent Events
 *   things/{slug}/actions/{name}                 POST invoke; of an asynchronous action, GET lists its invocations
 *   things/{slug}/actions/{name}/{id}            an invocation's ActionStatus: GET query, DELETE cancel
 *   things/{slug}/actions                        GET every invocation (queryallactions)
 *   things/{slug}/events/{name}/longpoll|sse     subscribe
 *   things/{slug}/events                         subscribe to all (SSE)
 *   ws                                           the WebSocket protocol (docs/websocket-protocol.md)
 */
import { SERVED_TD_CONTEXTS, servedContext } from './td-context.js';
import type { ActionAffordance, EventAffordance, Form, ThingDescription } from './thing-description.js';

/** The WebSocket sub-protocol name announced in forms and in Sec-WebSocket-Protocol. */
export const WS_SUBPROTOCOL = 'flowchain.v1';

/**
 * The WoT Profiles a served Thing follows (W3C WoT Profile: "HTTP Basic Profile" and "HTTP SSE
 * Profile", their Identifier sections).
 */
export const PROFILES = {
  httpBasic: 'https://www.w3.org/2022/wot/profile/http-basic/v1',
  httpSse: 'https://www.w3.org/2022/wot/profile/http-sse/v1',
} as const;

/** Names of the security schemes served TDs declare. */
export const SECURITY = { open: 'nosec_sc', bearer: 'bearer_sc', basic: 'basic_sc', combo: 'combo_sc' } as const;

/** Operations that change state: they need credentials when auth is on. */
const PROTECTED_OPS = new Set(['writeproperty', 'writemultipleproperties', 'writeallproperties', 'invokeaction', 'cancelaction']);

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
function protectedScheme(exposure: ExposureOptions): string | undefined {
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
}

/** The WebSocket URL of `path` under an HTTP base (`http:` → `ws:`, `https:` → `wss:`). */
export function webSocketUrl(base: string, path = 'ws'): string {
  const url = new URL(path, base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
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
 * Thing-level default, TD 1.1 §5.3.4.2).
 */
function formsFor(href: string, ops: readonly string[], extra: Omit<Form, 'href' | 'op'>, exposure: ExposureOptions): Form[] {
  const scheme = protectedScheme(exposure);
  const open = scheme ? ops.filter((op) => !PROTECTED_OPS.has(op)) : [...ops];
  const guarded = scheme ? ops.filter((op) => PROTECTED_OPS.has(op)) : [];
  const forms: Form[] = [];
  if (open.length > 0) forms.push({ href, op: open, ...extra });
  if (guarded.length > 0) forms.push({ href, op: guarded, ...extra, security: [scheme!] });
  return forms;
}

const JSON_TYPE = { contentType: 'application/json' } as const;
const LONGPOLL = { contentType: 'application/json', subprotocol: 'longpoll' } as const;
// The HTTP SSE Profile: `contentType` is the media type of each message's data; the event
// stream itself (text/event-stream) is implied by the sse subprotocol.
const SSE = { contentType: 'application/json', subprotocol: 'sse' } as const;

/**
 * Completes a TD file into the TD the servient serves: stable `id`, `base`, security and forms
 * for every supported operation. The Flowchain-only `driver` member is left out, and
 * Flowchain's context URL is replaced by its terms inline (see flowchain-context.ts), so the
 * TD names no context but the W3C ones: the TD 1.0 and 1.1 URIs first (td-context.ts), then
 * its own other entries.
 */
export function buildThingDescription(source: ThingDescription, identity: ThingIdentity, exposure: ExposureOptions): ThingDescription {
  const { '@context': context, driver: _driver, forms: _forms, id: _id, base: _base, security: _sec, securityDefinitions: _defs, ...rest } = source;
  const prefix = `things/${encodeURIComponent(identity.slug)}`;
  const ws = { ...JSON_TYPE, subprotocol: WS_SUBPROTOCOL };
  const wsHref = webSocketUrl(exposure.base);

  const properties = mapValues(source.properties, (name, property) => {
    const href = `${prefix}/properties/${encodeURIComponent(name)}`;
    const direct = [...(property.writeOnly ? [] : ['readproperty']), ...(property.readOnly ? [] : ['writeproperty'])];
    const observe = property.observable && !property.writeOnly ? ['observeproperty', 'unobserveproperty'] : [];
    const forms = [
      ...formsFor(href, direct, JSON_TYPE, exposure),
      ...(observe.length ? formsFor(`${href}/longpoll`, ['observeproperty'], LONGPOLL, exposure) : []),
      ...(observe.length ? formsFor(`${href}/sse`, observe, SSE, exposure) : []),
      ...formsFor(wsHref, [...direct, ...observe], ws, exposure),
    ];
    return { ...property, forms };
  });

  const actions = mapValues(source.actions, (name, action) => {
    const href = `${prefix}/actions/${encodeURIComponent(name)}`;
    // An action is synchronous unless its TD says otherwise: the servient answers when it is
    // done (the HTTP Basic Profile's "Synchronous Action Response"), and the profile wants the
    // TD to say which. An asynchronous one answers with an ActionStatus whose URL (Location)
    // takes queryaction and cancelaction, as the profile's "Asynchronous Action Response" says.
    const synchronous = action.synchronous !== false;
    const ops = synchronous ? ['invokeaction'] : ['invokeaction', 'queryaction', 'cancelaction'];
    const forms = [...formsFor(href, ops, JSON_TYPE, exposure), ...formsFor(wsHref, ops, ws, exposure)];
    return { ...action, synchronous, forms };
  });

  const events = mapValues(source.events, (name, event) => {
    const href = `${prefix}/events/${encodeURIComponent(name)}`;
    const forms = [
      ...formsFor(`${href}/longpoll`, ['subscribeevent'], LONGPOLL, exposure),
      ...formsFor(`${href}/sse`, ['subscribeevent', 'unsubscribeevent'], SSE, exposure),
      ...formsFor(wsHref, ['subscribeevent', 'unsubscribeevent'], ws, exposure),
    ];
    return { ...event, forms };
  });

  // Recorded properties keep a history of values with their transactions (RFC 5829's
  // version-history relation, anchored at the property).
  const history = Object.entries(source.properties ?? {})
    .filter(([, property]) => property.recorded !== false && !property.writeOnly)
    .map(([name]) => ({
      rel: 'version-history',
      href: `${prefix}/properties/${encodeURIComponent(name)}/history`,
      anchor: `${prefix}/properties/${encodeURIComponent(name)}`,
      type: 'application/json',
    }));
  const links: Record<string, unknown>[] = [...(rest.links ?? []), ...history];

  const hasWritable = Object.values(source.properties ?? {}).some((p) => !p.readOnly);
  const hasObservable = Object.values(source.properties ?? {}).some((p) => p.observable === true && !p.writeOnly);
  const hasEvents = Object.keys(source.events ?? {}).length > 0;
  const hasAsynchronous = Object.values(source.actions ?? {}).some((action) => action.synchronous === false);
  const allHref = `${prefix}/properties`;
  const thingOps = ['readallproperties', 'readmultipleproperties', ...(hasWritable ? ['writemultipleproperties'] : [])];
  const forms: Form[] = [
    ...formsFor(allHref, ['readallproperties'], JSON_TYPE, exposure),
    // TD 1.1 leaves how names travel for readmultipleproperties to the binding: here they are
    // a JSON array in a POST body, said explicitly so consumers need no out-of-band knowledge.
    ...formsFor(allHref, ['readmultipleproperties'], { ...JSON_TYPE, 'htv:methodName': 'POST' }, exposure),
    ...(hasWritable ? formsFor(allHref, ['writemultipleproperties'], JSON_TYPE, exposure) : []),
    // The HTTP SSE Profile's observeallproperties and subscribeallevents: one stream per Thing.
    // The first shares its URL with readallproperties: the sse subprotocol means the consumer
    // asks for text/event-stream.
    ...(hasObservable ? formsFor(allHref, ['observeallproperties', 'unobserveallproperties'], SSE, exposure) : []),
    ...(hasEvents ? formsFor(`${prefix}/events`, ['subscribeallevents', 'unsubscribeallevents'], SSE, exposure) : []),
    ...(hasAsynchronous ? formsFor(`${prefix}/actions`, ['queryallactions'], JSON_TYPE, exposure) : []),
    ...formsFor(wsHref, thingOps, ws, exposure),
  ];
  const profile = profilesFollowed(exposure);

  return {
    '@context': servedContext(context),
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

/**
 * The profiles a served Thing follows: both HTTP profiles, as long as its security is one the
 * profiles' consumers must support (WoT Profile, Common Constraints, "Security": nosec, basic,
 * oauth2, or a combo with oneOf holding one of them; a bearer-only write is not). Every action
 * says whether it is synchronous, and each is answered as the HTTP Basic Profile says for its
 * kind.
 */
function profilesFollowed(exposure: ExposureOptions): string[] {
  if (protectedScheme(exposure) === SECURITY.bearer) return [];
  return [PROFILES.httpBasic, PROFILES.httpSse];
}

/** A Thing listed in the node's own TD. */
export interface ListedThing {
  readonly slug: string;
  readonly title: string;
}

/**
 * The node's own TD, served at /.well-known/wot (WoT Discovery §6.2): a Thing Directory whose
 * `things` property is the listing of every Thing this node exposes.
 */
export function buildNodeDescription(nodeId: string, things: readonly ListedThing[], exposure: ExposureOptions): ThingDescription {
  return {
    '@context': [...SERVED_TD_CONTEXTS, 'https://www.w3.org/2022/wot/discovery'],
    '@type': 'ThingDirectory',
    id: nodeId,
    title: 'Flowchain node',
    description: 'A Flowchain servient and Thing Description Directory (WoT Discovery §7.3). Its `things` property lists the Thing Descriptions it exposes and those registered with it; its actions register, read, change and search them, its events notify their changes.',
    base: exposure.base,
    securityDefinitions: securityDefinitions(exposure),
    security: SECURITY.open,
    properties: {
      things: {
        title: 'Thing Descriptions',
        description: 'Every Thing Description this node exposes or holds, as a JSON array (WoT Discovery §7.3.2.1.5); the query parameters offset and limit page it, and a page before the last links the next (Link rel="next").',
        type: 'array',
        items: { type: 'object' },
        readOnly: true,
        observable: false,
        forms: [{ href: 'things', op: ['readproperty'], contentType: 'application/ld+json' }],
      },
    },
    actions: directoryActions(exposure),
    events: directoryEvents(),
    links: things.map((thing) => ({
      rel: 'item',
      href: `things/${encodeURIComponent(thing.slug)}`,
      type: 'application/td+json',
      title: thing.title,
    })),
  };
}

/** The id of a TD in a directory URL (WoT Discovery's directory Thing Model). */
const TD_ID_VARIABLE = { id: { '@type': 'ThingID', title: 'Thing Description ID', type: 'string', format: 'iri-reference' } } as const;
const TD_BODY = { description: 'A Thing Description (TD 1.1)', type: 'object' } as const;
const PROBLEM = 'application/problem+json';

/**
 * The directory API as actions (the names and forms of WoT Discovery's directory Thing Model,
 * directory.tm.jsonld): the writes carry the protected scheme when auth is on.
 */
function directoryActions(exposure: ExposureOptions): Record<string, ActionAffordance> {
  const scheme = protectedScheme(exposure);
  type Bare = { readonly href: string; readonly [extra: string]: unknown };
  // TD 1.1 §5.3.4.3: an ExpectedResponse names its contentType, so the writes, which answer
  // 201 or 204 without a body, describe their answers in words rather than with a response.
  const write = (form: Bare): Form => ({ ...form, op: 'invokeaction', ...(scheme ? { security: [scheme] } : {}) });
  const read = (form: Bare): Form => ({ ...form, op: 'invokeaction' });
  const invalid = { description: 'Invalid TD: validationErrors lists the faults', contentType: PROBLEM, 'htv:statusCodeValue': 400 };
  const missing = { description: 'No TD with that id', contentType: PROBLEM, 'htv:statusCodeValue': 404 };
  const forbidden = { description: 'A Thing a node hosts, or a TD registered at another node', contentType: PROBLEM, 'htv:statusCodeValue': 403 };
  return {
    createThing: {
      description: 'Create or replace the TD with this id (201 created, 204 replaced)',
      uriVariables: TD_ID_VARIABLE,
      input: TD_BODY,
      forms: [write({ href: 'things/{id}', 'htv:methodName': 'PUT', contentType: 'application/td+json', additionalResponses: [invalid, forbidden] })],
    },
    createAnonymousThing: {
      description: 'Register a TD without id: the directory gives it a urn:uuid id, in the Location of the answer',
      input: TD_BODY,
      forms: [write({ href: 'things', 'htv:methodName': 'POST', contentType: 'application/td+json', additionalResponses: [invalid] })],
    },
    retrieveThing: {
      description: 'The TD with this id (or, for a Thing this node hosts, this slug), from this node or the ring',
      uriVariables: TD_ID_VARIABLE,
      output: TD_BODY,
      safe: true,
      idempotent: true,
      forms: [read({ href: 'things/{id}', 'htv:methodName': 'GET', response: { contentType: 'application/td+json', 'htv:statusCodeValue': 200 }, additionalResponses: [missing] })],
    },
    updateThing: {
      description: 'Replace the TD with this id',
      uriVariables: TD_ID_VARIABLE,
      input: TD_BODY,
      forms: [write({ href: 'things/{id}', 'htv:methodName': 'PUT', contentType: 'application/td+json', additionalResponses: [invalid, forbidden] })],
    },
    partiallyUpdateThing: {
      description: 'Apply a JSON Merge Patch (RFC 7396) to the TD with this id',
      uriVariables: TD_ID_VARIABLE,
      input: { description: 'A merge patch of the TD', type: 'object' },
      forms: [write({ href: 'things/{id}', 'htv:methodName': 'PATCH', contentType: 'application/merge-patch+json', additionalResponses: [invalid, missing, forbidden] })],
    },
    deleteThing: {
      description: 'Delete the TD with this id',
      uriVariables: TD_ID_VARIABLE,
      forms: [write({ href: 'things/{id}', 'htv:methodName': 'DELETE', additionalResponses: [missing, forbidden] })],
    },
    searchJSONPath: {
      description: 'The values a JSONPath expression (RFC 9535) selects from the listing',
      uriVariables: { query: { title: 'A JSONPath expression', type: 'string' } },
      output: { description: 'The selected values, as a JSON array', type: 'array' },
      safe: true,
      idempotent: true,
      forms: [read({ href: 'search/jsonpath?query={query}', 'htv:methodName': 'GET', response: { contentType: 'application/json', 'htv:statusCodeValue': 200 }, additionalResponses: [{ description: 'Missing or malformed query', contentType: PROBLEM, 'htv:statusCodeValue': 400 }] })],
    },
  };
}

/** The directory's notifications (WoT Discovery §7.3.2.3): SSE, resumable with Last-Event-ID. */
function directoryEvents(): Record<string, EventAffordance> {
  const event = (type: string, description: string, diff: boolean): EventAffordance => ({
    description,
    ...(diff ? { uriVariables: { diff: { description: 'With true, the whole created TD or the changes of an update', type: 'boolean' } } } : {}),
    data: { description: 'The id of the TD (with diff: the TD or its merge patch)', type: 'object' },
    forms: [{ href: `events/${type}${diff ? '{?diff}' : ''}`, op: ['subscribeevent', 'unsubscribeevent'], ...SSE, 'htv:headers': [{ 'htv:fieldName': 'Last-Event-ID' }] }],
  });
  return {
    thingCreated: event('thing_created', 'A TD was registered', true),
    thingUpdated: event('thing_updated', 'A registered TD was changed', true),
    thingDeleted: event('thing_deleted', 'A registered TD was deleted or expired', false),
  };
}

function mapValues<T, R>(record: Readonly<Record<string, T>> | undefined, fn: (name: string, value: T) => R): Record<string, R> | undefined {
  if (record === undefined) return undefined;
  return Object.fromEntries(Object.entries(record).map(([name, value]) => [name, fn(name, value)]));
}

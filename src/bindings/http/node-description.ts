/**
 * The node's own TD, served at /.well-known/wot: a Thing Directory (WoT Discovery §7.3) whose
 * properties, actions and events are the HTTP directory API (the names and forms of WoT
 * Discovery's directory Thing Model). Pure.
 */
import { SERVED_TD_CONTEXTS } from '../../td/td-context.js';
import { protectedScheme, securityDefinitions, SECURITY, type ExposureOptions } from '../../td/td-builder.js';
import type { ActionAffordance, EventAffordance, Form, ThingDescription } from '../../td/thing-description.js';
import { SSE } from './http-forms.js';
import { href, ROUTES } from './route-table.js';

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
        forms: [{ href: href(ROUTES.things, {}), op: ['readproperty'], contentType: 'application/ld+json' }],
      },
    },
    actions: directoryActions(exposure),
    events: directoryEvents(),
    links: things.map((thing) => ({
      rel: 'item',
      href: href(ROUTES.thing, { thing: thing.slug }),
      type: 'application/td+json',
      title: thing.title,
    })),
  };
}

/** The id of a TD in a directory URL (WoT Discovery's directory Thing Model). */
const TD_ID_VARIABLE = { id: { '@type': 'ThingID', title: 'Thing Description ID', type: 'string', format: 'iri-reference' } } as const;
const TD_BODY = { description: 'A Thing Description (TD 1.1)', type: 'object' } as const;
const PROBLEM = 'application/problem+json';
/** A directory entry's URL as a template of the TD id (the route's Thing segment). */
const TD_BY_ID = ROUTES.thing.replace('{thing}', '{id}');

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
      forms: [write({ href: TD_BY_ID, 'htv:methodName': 'PUT', contentType: 'application/td+json', additionalResponses: [invalid, forbidden] })],
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
      forms: [read({ href: TD_BY_ID, 'htv:methodName': 'GET', response: { contentType: 'application/td+json', 'htv:statusCodeValue': 200 }, additionalResponses: [missing] })],
    },
    updateThing: {
      description: 'Replace the TD with this id',
      uriVariables: TD_ID_VARIABLE,
      input: TD_BODY,
      forms: [write({ href: TD_BY_ID, 'htv:methodName': 'PUT', contentType: 'application/td+json', additionalResponses: [invalid, forbidden] })],
    },
    partiallyUpdateThing: {
      description: 'Apply a JSON Merge Patch (RFC 7396) to the TD with this id',
      uriVariables: TD_ID_VARIABLE,
      input: { description: 'A merge patch of the TD', type: 'object' },
      forms: [write({ href: TD_BY_ID, 'htv:methodName': 'PATCH', contentType: 'application/merge-patch+json', additionalResponses: [invalid, missing, forbidden] })],
    },
    deleteThing: {
      description: 'Delete the TD with this id',
      uriVariables: TD_ID_VARIABLE,
      forms: [write({ href: TD_BY_ID, 'htv:methodName': 'DELETE', additionalResponses: [missing, forbidden] })],
    },
    searchJSONPath: {
      description: 'The values a JSONPath expression (RFC 9535) selects from the listing',
      uriVariables: { query: { title: 'A JSONPath expression', type: 'string' } },
      output: { description: 'The selected values, as a JSON array', type: 'array' },
      safe: true,
      idempotent: true,
      forms: [read({ href: `${ROUTES.searchJsonPath}?query={query}`, 'htv:methodName': 'GET', response: { contentType: 'application/json', 'htv:statusCodeValue': 200 }, additionalResponses: [{ description: 'Missing or malformed query', contentType: PROBLEM, 'htv:statusCodeValue': 400 }] })],
    },
  };
}

/** The directory's notifications (WoT Discovery §7.3.2.3): SSE, resumable with Last-Event-ID. */
function directoryEvents(): Record<string, EventAffordance> {
  const event = (type: string, description: string, diff: boolean): EventAffordance => ({
    description,
    ...(diff ? { uriVariables: { diff: { description: 'With true, the whole created TD or the changes of an update', type: 'boolean' } } } : {}),
    data: { description: 'The id of the TD (with diff: the TD or its merge patch)', type: 'object' },
    forms: [{ href: `${href(ROUTES.directoryEvent, { type })}${diff ? '{?diff}' : ''}`, op: ['subscribeevent', 'unsubscribeevent'], ...SSE, 'htv:headers': [{ 'htv:fieldName': 'Last-Event-ID' }] }],
  });
  return {
    thingCreated: event('thing_created', 'A TD was registered', true),
    thingUpdated: event('thing_updated', 'A registered TD was changed', true),
    thingDeleted: event('thing_deleted', 'A registered TD was deleted or expired', false),
  };
}

/**
 * Choosing and filling in forms, TD alone: URI templates expanded with values checked against
 * the Thing's and the affordance's `uriVariables`, a GET form's input taken as URI variables
 * (it carries no body), and `formIndex` picking exactly one form. Pure: no node, no sockets.
 */
import t from 'tap';
import { HTTP_CLIENT_BINDINGS } from '../../src/bindings/http/client/client-bindings.js';
import { pickForms as pick, type Binding, type FormChoice } from '../../src/client/forms.js';
import type { ThingDescription } from '../../src/td/thing-description.js';

/** pickForms over the HTTP binding's client bindings (what a consumer uses by default). */
const pickForms = (...args: [...Parameters<typeof pick> extends [...infer Head, FormChoice, unknown] ? Head : never, FormChoice?]) => pick(args[0], args[1], args[2], args[3], args[4], args[5], args[6] ?? {}, HTTP_CLIENT_BINDINGS);

const ALL: readonly Binding[] = ['http', 'sse', 'longpoll', 'ws'];

/** A directory-like TD: the shapes of Flowchain's own /.well-known/wot forms. */
const DIRECTORY = {
  '@context': 'https://www.w3.org/2022/wot/td/v1.1',
  title: 'Directory',
  base: 'http://node.example:8080/',
  security: 'nosec_sc',
  securityDefinitions: { nosec_sc: { scheme: 'nosec' } },
  uriVariables: { scope: { type: 'string', enum: ['node', 'ring'] } },
  properties: {
    things: { type: 'array', readOnly: true, forms: [{ href: 'things{?scope}', op: 'readproperty' }] },
  },
  actions: {
    searchJSONPath: {
      uriVariables: { query: { type: 'string', minLength: 1 } },
      safe: true,
      idempotent: true,
      forms: [{ href: 'search/jsonpath?query={query}{&scope}', op: 'invokeaction', 'htv:methodName': 'GET' }],
    },
    retrieveThing: {
      uriVariables: { id: { type: 'string', format: 'iri-reference' } },
      forms: [{ href: 'things/{id}', op: 'invokeaction', 'htv:methodName': 'GET' }],
    },
    createThing: {
      uriVariables: { id: { type: 'string' } },
      input: { type: 'object' },
      forms: [{ href: 'things/{id}', op: 'invokeaction', 'htv:methodName': 'PUT', contentType: 'application/td+json' }],
    },
  },
  events: {
    thingCreated: {
      uriVariables: { diff: { type: 'boolean' } },
      forms: [{ href: 'events/thing_created{?diff}', op: 'subscribeevent', subprotocol: 'sse' }],
    },
  },
} as unknown as ThingDescription;

const action = (name: string) => DIRECTORY.actions![name]!;

t.test('uriVariables fill in a form-style query, a simple expansion in a query and a path segment', async (t) => {
  const [search] = pickForms(DIRECTORY, 'action', action('searchJSONPath'), 'invokeaction', ALL, 'actions/searchJSONPath', { uriVariables: { query: '$[?@.title=="Lamp"]', scope: 'ring' } });
  t.equal(search!.url.href, 'http://node.example:8080/search/jsonpath?query=%24%5B%3F%40.title%3D%3D%22Lamp%22%5D&scope=ring');
  t.equal(search!.url.searchParams.get('query'), '$[?@.title=="Lamp"]', 'the server reads back what was given');
  t.equal(search!.method, 'GET');
  t.equal(search!.sendsBody, false);
  const [retrieve] = pickForms(DIRECTORY, 'action', action('retrieveThing'), 'invokeaction', ALL, 'actions/retrieveThing', { uriVariables: { id: 'urn:uuid:6f1c2b1e-0000-4000-8000-000000000001' } });
  t.equal(retrieve!.url.pathname, '/things/urn%3Auuid%3A6f1c2b1e-0000-4000-8000-000000000001', 'one path segment, its reserved characters escaped');
  const [events] = pickForms(DIRECTORY, 'event', DIRECTORY.events!.thingCreated, 'subscribeevent', ALL, 'events/thingCreated', { uriVariables: { diff: true } });
  t.equal(events!.url.href, 'http://node.example:8080/events/thing_created?diff=true');
});

t.test('a variable of a form-style query may be left out; one of a simple expansion may not (FLOWCHAIN_ERR_URI_VARIABLE_MISSING)', async (t) => {
  const [events] = pickForms(DIRECTORY, 'event', DIRECTORY.events!.thingCreated, 'subscribeevent', ALL, 'events/thingCreated');
  t.equal(events!.url.href, 'http://node.example:8080/events/thing_created');
  const [things] = pickForms(DIRECTORY, 'property', DIRECTORY.properties!.things, 'readproperty', ALL, 'properties/things');
  t.equal(things!.url.href, 'http://node.example:8080/things');
  t.throws(() => pickForms(DIRECTORY, 'action', action('searchJSONPath'), 'invokeaction', ALL, 'actions/searchJSONPath'), { code: 'FLOWCHAIN_ERR_URI_VARIABLE_MISSING', field: 'uriVariables/query' });
  t.throws(() => pickForms(DIRECTORY, 'action', action('retrieveThing'), 'invokeaction', ALL, 'actions/retrieveThing', { uriVariables: { id: null } }), { code: 'FLOWCHAIN_ERR_URI_VARIABLE_MISSING', field: 'uriVariables/id' });
});

t.test('values are checked against the affordance\'s and the Thing\'s uriVariables: FLOWCHAIN_ERR_URI_VARIABLE_INVALID', async (t) => {
  const search = (uriVariables: Record<string, unknown>) => pickForms(DIRECTORY, 'action', action('searchJSONPath'), 'invokeaction', ALL, 'actions/searchJSONPath', { uriVariables });
  t.throws(() => search({ query: 42 }), { code: 'FLOWCHAIN_ERR_URI_VARIABLE_INVALID', field: 'uriVariables/query' }, 'the affordance\'s schema: a string');
  t.throws(() => search({ query: '' }), { code: 'FLOWCHAIN_ERR_URI_VARIABLE_INVALID', field: 'uriVariables/query' }, 'minLength');
  t.throws(() => search({ query: '$', scope: 'planet' }), { code: 'FLOWCHAIN_ERR_URI_VARIABLE_INVALID', field: 'uriVariables/scope' }, 'the Thing\'s schema: an enum');
  t.throws(() => search({ query: '$', limit: 3 }), { code: 'FLOWCHAIN_ERR_URI_VARIABLE_INVALID', field: 'uriVariables/limit' }, 'a variable the TD does not name');
  t.throws(() => search({ query: { nested: { deep: 1 } } }), { code: 'FLOWCHAIN_ERR_URI_VARIABLE_INVALID', field: 'uriVariables/query' }, 'a value no template can hold');
  t.throws(() => pickForms(DIRECTORY, 'event', DIRECTORY.events!.thingCreated, 'subscribeevent', ALL, 'events/thingCreated', { uriVariables: { diff: 'yes' } }), { code: 'FLOWCHAIN_ERR_URI_VARIABLE_INVALID', field: 'uriVariables/diff' });
});

t.test('a GET form takes its input as URI variables and sends no body; a PUT form sends it', async (t) => {
  const [fromInput] = pickForms(DIRECTORY, 'action', action('searchJSONPath'), 'invokeaction', ALL, 'actions/searchJSONPath', { input: { query: '$..title' } });
  t.equal(fromInput!.url.search, '?query=%24..title');
  t.equal(fromInput!.sendsBody, false);
  const search = (input: unknown, uriVariables: Record<string, unknown> = {}) => pickForms(DIRECTORY, 'action', action('searchJSONPath'), 'invokeaction', ALL, 'actions/searchJSONPath', { input, uriVariables });
  t.throws(() => search('$..title'), { code: 'FLOWCHAIN_ERR_URI_VARIABLE_INVALID' }, 'an input that is not an object has nowhere to go');
  t.throws(() => search({ query: '$' }, { query: '$' }), { code: 'FLOWCHAIN_ERR_URI_VARIABLE_INVALID', field: 'uriVariables/query' }, 'given twice');
  t.throws(() => search({ query: 7 }), { code: 'FLOWCHAIN_ERR_URI_VARIABLE_INVALID', field: 'uriVariables/query' }, 'checked like any variable');
  const [create] = pickForms(DIRECTORY, 'action', action('createThing'), 'invokeaction', ALL, 'actions/createThing', { uriVariables: { id: 'urn:x' }, input: { title: 'X' } });
  t.equal(create!.url.pathname, '/things/urn%3Ax');
  t.equal(create!.method, 'PUT');
  t.equal(create!.sendsBody, true, 'the input is the body');
});

/** A property with one form per binding, as Flowchain serves them. */
const LAMP = {
  '@context': 'https://www.w3.org/2022/wot/td/v1.1',
  title: 'Lamp',
  base: 'http://lamp.example/',
  properties: {
    on: {
      type: 'boolean',
      observable: true,
      forms: [
        { href: 'things/lamp/properties/on', op: ['readproperty', 'writeproperty'] },
        { href: 'things/lamp/properties/on/sse', op: ['observeproperty'], subprotocol: 'sse' },
        { href: 'ws://lamp.example/ws', op: ['readproperty', 'writeproperty', 'observeproperty'], subprotocol: 'flowchain.v1' },
        { href: 'coap://lamp.example/on', op: ['readproperty'] },
      ],
    },
  },
} as unknown as ThingDescription;

t.test('formIndex picks exactly that form, whatever the preference; one out of range or not followable is FLOWCHAIN_ERR_FORM_INDEX_INVALID', async (t) => {
  const on = LAMP.properties!.on;
  const read = (formIndex: number, preference: readonly Binding[] = ['http', 'ws']) => pickForms(LAMP, 'property', on, 'readproperty', preference, 'properties/on', { formIndex });
  t.same(read(0).map((form) => [form.index, form.binding]), [[0, 'http']]);
  t.same(read(2).map((form) => [form.index, form.binding]), [[2, 'ws']], 'the WebSocket form, though HTTP comes first');
  t.same(pickForms(LAMP, 'property', on, 'readproperty', ['http', 'ws'], 'properties/on').map((form) => form.index), [0, 2], 'without formIndex: every followable form, in preference order');
  t.throws(() => read(4), { code: 'FLOWCHAIN_ERR_FORM_INDEX_INVALID', field: 'properties/on/forms' });
  t.throws(() => read(-1), { code: 'FLOWCHAIN_ERR_FORM_INDEX_INVALID' });
  t.throws(() => read(0.5), { code: 'FLOWCHAIN_ERR_FORM_INDEX_INVALID' });
  t.throws(() => read(1), { code: 'FLOWCHAIN_ERR_FORM_INDEX_INVALID', field: 'properties/on/forms/1' }, 'a form that does not offer readproperty');
  t.throws(() => read(3), { code: 'FLOWCHAIN_ERR_FORM_INDEX_INVALID', field: 'properties/on/forms/3' }, 'a protocol this consumer does not speak');
  t.throws(() => read(2, ['http']), { code: 'FLOWCHAIN_ERR_FORM_INDEX_INVALID', field: 'properties/on/forms/2' }, 'a binding the consumer was told not to use');
});

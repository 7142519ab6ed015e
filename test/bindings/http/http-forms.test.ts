import t from 'tap';
import { loadBundledContexts, w3cContexts } from '../../../src/bundled.js';
import { FLOWCHAIN_CONTEXT_URL, FLOWCHAIN_INLINE_CONTEXT } from '../../../src/td/flowchain-context.js';
import { expandThingDescription } from '../../../src/td/json-ld.js';
import { HTTP_FORMS } from '../../../src/bindings/http/http-forms.js';
import { buildNodeDescription } from '../../../src/bindings/http/node-description.js';
import { webSocketUrl, WS_SUBPROTOCOL } from '../../../src/bindings/http/route-table.js';
import { buildThingDescription as buildWith, type ExposureOptions } from '../../../src/td/td-builder.js';
import type { Form, ThingDescription } from '../../../src/td/thing-description.js';
import { TdValidator } from '../../../src/td/td-validator.js';
import { W3C_TD_SCHEMA } from '../../helpers/w3c-spec.js';

const source: ThingDescription = {
  '@context': ['https://www.w3.org/2022/wot/td/v1.1', 'https://w3id.org/flowchain/v1'],
  title: 'Lamp',
  driver: { type: 'lamp' },
  properties: {
    on: { type: 'boolean', observable: true },
    power: { type: 'number', readOnly: true, observable: true },
    secret: { type: 'string', writeOnly: true },
    label: { type: 'string' },
  },
  actions: { blink: { input: { type: 'integer' } } },
  events: { burnout: { data: { type: 'string' } } },
};
const identity = { id: 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e', slug: 'lamp' };
/** A TD as the node serves it: the neutral builder with the HTTP binding's forms. */
const buildThingDescription = (td: ThingDescription, id: { id: string; slug: string }, exposure: ExposureOptions): ThingDescription => buildWith(td, id, exposure, [HTTP_FORMS]);
const open = { base: 'http://node.local:8080/', bearerAuth: false };
const guarded = { base: 'https://node.local/', bearerAuth: true };

const ops = (form: Form): string[] => [form.op ?? []].flat() as string[];
const opsAt = (forms: readonly Form[] | undefined, href: string): string[] => (forms ?? []).filter((f) => f.href === href).flatMap(ops);

t.test('served TDs validate against the W3C TD 1.1 schema and expand offline with the W3C contexts alone, with and without auth', async (t) => {
  const validator = new TdValidator(W3C_TD_SCHEMA());
  for (const exposure of [open, guarded]) {
    const td = buildThingDescription(source, identity, exposure);
    t.doesNotThrow(() => validator.assertValid(td, 'lamp'));
    t.ok((await expandThingDescription(td, w3cContexts(loadBundledContexts()))).length === 1);
  }
});

t.test("Flowchain's context URL is replaced by its terms inline; other context entries stay as they were", async (t) => {
  const saref = { saref: 'https://saref.etsi.org/core/' };
  const td = buildThingDescription({ ...source, '@context': ['https://www.w3.org/2022/wot/td/v1.1', FLOWCHAIN_CONTEXT_URL, saref] }, identity, open);
  t.same(td['@context'], ['https://www.w3.org/2019/wot/td/v1', 'https://www.w3.org/2022/wot/td/v1.1', FLOWCHAIN_INLINE_CONTEXT, saref]);
  t.notMatch(JSON.stringify(td['@context']), FLOWCHAIN_CONTEXT_URL, 'the served TD names no Flowchain context URL');
  const recorded = buildThingDescription({ ...source, properties: { power: { type: 'number', readOnly: true, recorded: false } } }, identity, open);
  const [node] = (await expandThingDescription(recorded, w3cContexts(loadBundledContexts()))) as Record<string, unknown>[];
  const power = (node!['https://www.w3.org/2019/wot/td#hasPropertyAffordance'] as Record<string, unknown>[])[0]!;
  t.same(power['https://w3id.org/flowchain#recorded'], [{ '@value': false }], 'recorded expands to its Flowchain IRI, a JSON boolean (xsd:boolean in RDF)');
});

t.test('the inline terms name the IRIs contexts/flowchain-v1.jsonld documents', async (t) => {
  const documented = (loadBundledContexts().get(FLOWCHAIN_CONTEXT_URL) as { '@context': Record<string, unknown> })['@context'];
  const prefix = documented.flowchain as string;
  t.equal(FLOWCHAIN_INLINE_CONTEXT.flowchain, prefix);
  for (const [term, iri] of Object.entries(FLOWCHAIN_INLINE_CONTEXT)) {
    if (term === 'flowchain') continue;
    t.equal(iri.replace(/^flowchain:/, prefix), (documented[term] as { '@id': string })['@id'].replace(/^flowchain:/, prefix), term);
  }
});

t.test('identity, base and security are filled in, and the driver is not served', async (t) => {
  const td = buildThingDescription(source, identity, open);
  t.equal(td.id, identity.id);
  t.equal(td.base, open.base);
  t.equal(td.security, 'nosec_sc');
  t.same(td.securityDefinitions, { nosec_sc: { scheme: 'nosec' } });
  t.notOk('driver' in td);
  t.equal(buildThingDescription({ ...source, id: 'urn:dev:own' }, identity, open).id, identity.id, 'the id comes from the identity (the servient puts a file\'s own id there)');
});

t.test('each property gets forms for exactly the operations it supports', async (t) => {
  const props = buildThingDescription(source, identity, open).properties!;
  const base = 'things/lamp/properties';
  t.same(opsAt(props.on!.forms, `${base}/on`), ['readproperty', 'writeproperty']);
  t.same(opsAt(props.on!.forms, `${base}/on/longpoll`), ['observeproperty']);
  t.same(opsAt(props.on!.forms, `${base}/on/sse`), ['observeproperty', 'unobserveproperty']);
  t.same(opsAt(props.power!.forms, `${base}/power`), ['readproperty'], 'readOnly: no write');
  t.same(opsAt(props.secret!.forms, `${base}/secret`), ['writeproperty'], 'writeOnly: no read');
  t.same(opsAt(props.label!.forms, `${base}/label/sse`), [], 'not observable: no stream');
  const sse = props.on!.forms!.find((f) => f.subprotocol === 'sse')!;
  t.equal(sse.contentType, 'application/json', 'the media type of the data; the sse subprotocol implies the stream (HTTP SSE Profile)');
  const longpoll = props.on!.forms!.find((f) => f.subprotocol === 'longpoll')!;
  t.equal(longpoll.contentType, 'application/json');
});

t.test('WebSocket forms point at the ws endpoint with the flowchain.v1 sub-protocol', async (t) => {
  const td = buildThingDescription(source, identity, open);
  const ws = td.properties!.on!.forms!.find((f) => f.subprotocol === WS_SUBPROTOCOL)!;
  t.equal(ws.href, 'ws://node.local:8080/ws');
  t.same(ops(ws), ['readproperty', 'writeproperty', 'observeproperty', 'unobserveproperty']);
  t.equal(webSocketUrl('https://node.local/'), 'wss://node.local/ws');
  t.same(opsAt(td.events!.burnout!.forms, 'ws://node.local:8080/ws'), ['subscribeevent', 'unsubscribeevent']);
  t.same(opsAt(td.actions!.blink!.forms, 'ws://node.local:8080/ws'), ['invokeaction']);
});

t.test('thing-level forms cover read all, read multiple (POST) and write multiple', async (t) => {
  const forms = buildThingDescription(source, identity, open).forms!;
  const at = forms.filter((f) => f.href === 'things/lamp/properties' && f.subprotocol === undefined);
  t.same(at.flatMap(ops).sort(), ['readallproperties', 'readmultipleproperties', 'writemultipleproperties']);
  t.equal(at.find((f) => ops(f).includes('readmultipleproperties'))!['htv:methodName'], 'POST');
  const readOnly = buildThingDescription({ ...source, properties: { power: { type: 'number', readOnly: true } } }, identity, open);
  t.notOk(readOnly.forms!.flatMap(ops).includes('writemultipleproperties'), 'no write multiple when nothing is writable');
});

t.test('with bearer auth, writes and actions carry the bearer scheme and reads stay open', async (t) => {
  const td = buildThingDescription(source, identity, guarded);
  t.same(Object.keys(td.securityDefinitions!), ['nosec_sc', 'bearer_sc']);
  t.match(td.securityDefinitions!.bearer_sc, { scheme: 'bearer', in: 'header', name: 'Authorization' });
  const forms = [...td.properties!.on!.forms!, ...td.actions!.blink!.forms!, ...td.forms!];
  for (const form of forms) {
    const protectedOps = ops(form).filter((op) => ['writeproperty', 'invokeaction', 'writemultipleproperties'].includes(op));
    if (protectedOps.length > 0) {
      t.same(form.security, ['bearer_sc'], `${form.href} ${ops(form)} needs the token`);
      t.equal(protectedOps.length, ops(form).length, 'protected and open operations are never mixed in one form');
    } else {
      t.equal(form.security, undefined, `${form.href} ${ops(form)} is open`);
    }
  }
});

t.test('the node TD is a valid Thing Directory TD linking every Thing', async (t) => {
  const td = buildNodeDescription('urn:uuid:7c9e6679-7425-40de-944b-e07fc1f90ae7', [{ slug: 'lamp', title: 'Lamp' }], open);
  t.doesNotThrow(() => new TdValidator(W3C_TD_SCHEMA()).assertValid(td, 'node'));
  t.ok((await expandThingDescription(td, loadBundledContexts())).length === 1);
  t.equal(td['@type'], 'ThingDirectory');
  t.same(td.links, [{ rel: 'item', href: 'things/lamp', type: 'application/td+json', title: 'Lamp' }]);
  t.same(td.properties!.things!.forms, [{ href: 'things', op: ['readproperty'], contentType: 'application/ld+json' }]);
});

t.test('thing-level SSE forms observe all properties and subscribe to all events, where there are any', async (t) => {
  const td = buildThingDescription(source, identity, open);
  const sse = td.forms!.filter((f) => f.subprotocol === 'sse');
  t.same(sse, [
    { href: 'things/lamp/properties', op: ['observeallproperties', 'unobserveallproperties'], contentType: 'application/json', subprotocol: 'sse' },
    { href: 'things/lamp/events', op: ['subscribeallevents', 'unsubscribeallevents'], contentType: 'application/json', subprotocol: 'sse' },
  ]);
  const quiet = buildThingDescription({ ...source, properties: { label: { type: 'string' } }, events: {} }, identity, open);
  t.same(quiet.forms!.filter((f) => f.subprotocol === 'sse'), [], 'nothing observable, no events: no streams');
});

t.test('profile: both HTTP profiles on an open node; none when writes need a bearer token, which profile consumers need not support', async (t) => {
  t.same(buildThingDescription(source, identity, open).profile, ['https://www.w3.org/2022/wot/profile/http-basic/v1', 'https://www.w3.org/2022/wot/profile/http-sse/v1']);
  t.equal(buildThingDescription(source, identity, guarded).profile, undefined);
  t.equal(buildThingDescription(source, identity, open).actions!.blink!.synchronous, true, 'actions say they answer synchronously');
  const asynchronous = buildThingDescription({ ...source, actions: { blink: { synchronous: false } } }, identity, open);
  t.same(asynchronous.profile, ['https://www.w3.org/2022/wot/profile/http-basic/v1', 'https://www.w3.org/2022/wot/profile/http-sse/v1'], 'an asynchronous action is answered as the HTTP Basic Profile says too');
  t.equal(asynchronous.actions!.blink!.synchronous, false);
  t.same(asynchronous.actions!.blink!.forms![0]!.op, ['invokeaction', 'queryaction', 'cancelaction']);
});

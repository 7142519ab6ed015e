/** The CoAP binding's pure parts: its forms, route table and error mapping. */
import t from 'tap';
import { coapForms, coapWritable } from '../../../src/bindings/coap/coap-forms.js';
import { codeOfDiagnostic, coapProblem } from '../../../src/bindings/coap/coap-codes.js';
import { COAP_ROUTES, coapHref, matchRoute, matchSegments } from '../../../src/bindings/coap/route-table.js';
import { FlowchainError } from '../../../src/errors.js';
import { buildThingDescription } from '../../../src/td/td-builder.js';
import type { ThingDescription } from '../../../src/td/thing-description.js';

const LAMP: ThingDescription = {
  '@context': ['https://www.w3.org/2022/wot/td/v1.1'],
  title: 'Lamp',
  properties: { on: { type: 'boolean', observable: true }, power: { type: 'number', readOnly: true }, secret: { type: 'string', writeOnly: true } },
  actions: { blink: { input: { type: 'integer' } }, fade: { synchronous: false } },
  events: { blinked: { data: { type: 'integer' } } },
};
const thing = { td: LAMP, id: 'urn:uuid:1', slug: 'lamp' };

t.test('forms on the requested host and the CoAP port, with the cov terms and prefix', async (t) => {
  const forms = coapForms(thing, { base: 'http://192.0.2.7:8080/', protectedScheme: undefined }, 5683);
  t.same(forms.context, { cov: 'http://www.example.org/coap-binding#' });
  t.same(forms.properties!.on, [
    { href: 'coap://192.0.2.7:5683/things/lamp/properties/on', op: ['readproperty'], contentType: 'application/json', 'cov:contentFormat': 50, 'cov:method': 'GET' },
    { href: 'coap://192.0.2.7:5683/things/lamp/properties/on', op: ['writeproperty'], contentType: 'application/json', 'cov:contentFormat': 50, 'cov:method': 'PUT' },
    { href: 'coap://192.0.2.7:5683/things/lamp/properties/on', op: ['observeproperty', 'unobserveproperty'], contentType: 'application/json', 'cov:contentFormat': 50, 'cov:method': 'GET', subprotocol: 'cov:observe' },
  ]);
  t.same(forms.properties!.power!.map((f) => f.op), [['readproperty']], 'a read-only property is read only');
  t.same(forms.properties!.secret!.map((f) => f.op), [['writeproperty']], 'a write-only one is written only');
  t.same(forms.actions!.blink!.map((f) => [f.op, f['cov:method']]), [[['invokeaction'], 'POST']]);
  t.same(forms.actions!.fade, [], 'an asynchronous action has no CoAP form');
  t.same(forms.events!.blinked!.map((f) => [f.op, f.subprotocol]), [[['subscribeevent', 'unsubscribeevent'], 'cov:observe']]);
  t.same(forms.forms!.map((f) => f.op), [['readallproperties']]);
  t.equal(coapForms(thing, { base: 'http://[2001:db8::1]:8080/', protectedScheme: undefined }, 61616).properties!.on![0]!.href, 'coap://[2001:db8::1]:61616/things/lamp/properties/on', 'IPv6 keeps its brackets');
});

t.test('with a protected scheme the CoAP forms only read, observe and subscribe', async (t) => {
  const exposure = { base: 'http://localhost:8080/', protectedScheme: 'bearer_sc' };
  t.equal(coapWritable(exposure), false);
  const forms = coapForms(thing, exposure, 5683);
  const ops = [...Object.values(forms.properties!), ...Object.values(forms.actions!), ...Object.values(forms.events!), forms.forms!].flat().flatMap((f) => [f.op].flat());
  t.same([...new Set(ops)].sort(), ['observeproperty', 'readallproperties', 'readproperty', 'subscribeevent', 'unobserveproperty', 'unsubscribeevent']);
  t.notOk(JSON.stringify(forms).includes('"security"'), 'no form needs credentials CoAP cannot carry');
});

t.test('the TD builder puts the cov prefix into the context', async (t) => {
  const td = buildThingDescription(LAMP, thing, { base: 'http://localhost:8080/', bearerAuth: false }, [{ formsFor: (described, exposure) => coapForms(described, exposure, 5683) }]);
  t.same((td['@context'] as unknown[]).at(-1), { cov: 'http://www.example.org/coap-binding#' });
});

t.test('the route table matches what it writes', async (t) => {
  t.same(matchRoute('/things/a%20b/properties/on'), { route: COAP_ROUTES.property, values: { thing: 'a b', name: 'on' } });
  t.same(matchSegments(['.well-known', 'core']), { route: COAP_ROUTES.core, values: {} });
  t.same(matchSegments(['things', 'lamp', 'events', 'e/f']), { route: COAP_ROUTES.event, values: { thing: 'lamp', name: 'e/f' } }, 'a Uri-Path segment may hold a slash');
  t.equal(matchSegments(['things', '', 'properties', 'on']), undefined);
  t.equal(matchRoute('/things/%E0%A4%A'), undefined, 'a bad escape is no route');
  t.equal(coapHref('http://h:1/', 5683, COAP_ROUTES.action, { thing: 'lamp', name: 'a b' }), 'coap://h:5683/things/lamp/actions/a%20b');
});

t.test('errors map to CoAP codes with the error code as diagnostic payload', async (t) => {
  const cases: [ConstructorParameters<typeof FlowchainError>[0], string][] = [
    ['FLOWCHAIN_ERR_VALUE_INVALID', '4.00'],
    ['FLOWCHAIN_ERR_AUTH_REQUIRED', '4.01'],
    ['FLOWCHAIN_ERR_THING_NOT_FOUND', '4.04'],
    ['FLOWCHAIN_ERR_PROPERTY_READ_ONLY', '4.05'],
    ['FLOWCHAIN_ERR_ACTION_FINISHED', '4.09'],
    ['FLOWCHAIN_ERR_REQUEST_TOO_LARGE', '4.13'],
    ['FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED', '4.15'],
    ['FLOWCHAIN_ERR_BUSY', '5.03'],
    ['FLOWCHAIN_ERR_HANDLER_TIMEOUT', '5.04'],
    ['FLOWCHAIN_ERR_URI_TOO_LONG', '4.00'],
  ];
  for (const [code, coap] of cases) {
    const problem = coapProblem(new FlowchainError(code, 'detail'));
    t.equal(problem.code, coap, code);
    t.equal(codeOfDiagnostic(problem.diagnostic.toString()), code);
  }
  const hidden = coapProblem(new Error('secret path /etc/x'));
  t.equal(hidden.code, '5.00');
  t.notMatch(hidden.diagnostic.toString(), /secret/, 'a bare error does not leak its message');
  t.ok(coapProblem(new FlowchainError('FLOWCHAIN_ERR_VALUE_INVALID', 'é'.repeat(500))).diagnostic.length <= 256, 'diagnostics stay short');
  t.equal(codeOfDiagnostic('FLOWCHAIN_ERR_NOT_A_CODE: x'), undefined);
});

/**
 * The forms the CoAP binding adds to an exposed Thing's TD, every href from the route table,
 * on the host the TD was requested under and the CoAP port. Each form names its CoAP method
 * (`cov:method`) and Content-Format (`cov:contentFormat`, beside `contentType`); observations
 * and subscriptions are GETs with the Observe option (RFC 7641), said by the `cov:observe`
 * subprotocol. The `cov` prefix is declared through {@link BindingForms.context}.
 *
 * CoAP here runs without DTLS, so it cannot carry credentials safely: on a node whose writes
 * need credentials (the exposure names a protected scheme) the binding is read-only and its
 * forms offer only reads, observations and subscriptions. An asynchronous action has no CoAP
 * form (its invocation resource is HTTP's). Pure.
 */
import type { BindingForms, DescribedThing, FormExposure } from '../../td/td-builder.js';
import type { Form } from '../../td/thing-description.js';
import { COAP_ROUTES, coapHref, CONTENT_FORMAT, COV_CONTEXT, COV_OBSERVE, type CoapRoute } from './route-table.js';

/** Whether the CoAP binding may take writes and invocations under `exposure`: only on an open node. */
export function coapWritable(exposure: Pick<FormExposure, 'protectedScheme'>): boolean {
  return exposure.protectedScheme === undefined;
}

/** The CoAP binding's forms for one Thing, its server on `port`. */
export function coapForms(thing: DescribedThing, exposure: FormExposure, port: number): BindingForms {
  const source = thing.td;
  const writable = coapWritable(exposure);
  const form = (route: CoapRoute, name: string | undefined, op: readonly string[], method: 'GET' | 'PUT' | 'POST', extra: Partial<Form> = {}): Form => ({
    href: coapHref(exposure.base, port, route, name === undefined ? { thing: thing.slug } : { thing: thing.slug, name }),
    op: [...op],
    contentType: 'application/json',
    'cov:contentFormat': CONTENT_FORMAT.json,
    'cov:method': method,
    ...extra,
  });

  const properties = mapValues(source.properties, (name, property) => [
    ...(property.writeOnly ? [] : [form(COAP_ROUTES.property, name, ['readproperty'], 'GET')]),
    ...(property.readOnly || !writable ? [] : [form(COAP_ROUTES.property, name, ['writeproperty'], 'PUT')]),
    ...(property.observable && !property.writeOnly ? [form(COAP_ROUTES.property, name, ['observeproperty', 'unobserveproperty'], 'GET', { subprotocol: COV_OBSERVE })] : []),
  ]);
  const actions = mapValues(source.actions, (name, action) => (writable && action.synchronous !== false ? [form(COAP_ROUTES.action, name, ['invokeaction'], 'POST')] : []));
  const events = mapValues(source.events, (name) => [form(COAP_ROUTES.event, name, ['subscribeevent', 'unsubscribeevent'], 'GET', { subprotocol: COV_OBSERVE })]);
  const forms = [form(COAP_ROUTES.properties, undefined, ['readallproperties'], 'GET')];
  return { ...(properties ? { properties } : {}), ...(actions ? { actions } : {}), ...(events ? { events } : {}), forms, context: COV_CONTEXT };
}

function mapValues<T, R>(record: Readonly<Record<string, T>> | undefined, fn: (name: string, value: T) => R): Record<string, R> | undefined {
  if (record === undefined) return undefined;
  return Object.fromEntries(Object.entries(record).map(([name, value]) => [name, fn(name, value)]));
}

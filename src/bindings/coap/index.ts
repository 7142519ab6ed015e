/**
 * The CoAP binding, one folder: the server side (coap-server-binding.ts, its forms and route
 * table) and the client side (client/coap-client-binding.ts). What the composition root and
 * the rest of the code take from it.
 */
export { COAP_CLIENT_BINDINGS, coapClient } from './client/coap-client-binding.js';
export { coapProblem, codeOfDiagnostic } from './coap-codes.js';
export { coapForms, coapWritable } from './coap-forms.js';
export { CoapServerBinding, type CoapListenOptions, type CoapServerComponents } from './coap-server-binding.js';
export { COAP_DEFAULT_PORT, COAP_ROUTES, coapHref, coapPath, CONTENT_FORMAT, COV_CONTEXT, COV_OBSERVE, matchRoute, matchSegments, pathSegments } from './route-table.js';

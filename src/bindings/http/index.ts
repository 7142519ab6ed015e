/**
 * The HTTP binding, one folder: the server side (the fastify app, its routes, SSE, long-poll
 * and the `flowchain.v1` WebSocket) and the client side, both built on one route table.
 * What the composition root and the rest of the code take from it.
 */
export { buildApp, type AppOptions, type HttpApp, type HttpLogger } from './app.js';
export { HttpAuth } from './auth.js';
export { HTTP_CLIENT_BINDINGS, httpClient, longPollClient, sseClient, wsClient } from './client/client-bindings.js';
export { HTTP_FORMS, httpForms, PROFILES } from './http-forms.js';
export { HttpServerBinding, type HttpListenOptions } from './http-server-binding.js';
export { buildNodeDescription, type ListedThing } from './node-description.js';
export { href, RECEIPT_REL, receiptUrl, routePath, ROUTES, webSocketUrl, WS_SUBPROTOCOL } from './route-table.js';

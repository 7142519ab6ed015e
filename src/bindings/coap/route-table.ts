/**
 * The CoAP binding's one route table: every path the CoAP server answers (RFC 7252) and its
 * forms point at, written once, so the two cannot drift. The layout mirrors the HTTP one:
 *
 *   .well-known/core                         GET: the node's resources in CoRE Link Format (RFC 6690)
 *   things/{thing}                           GET: the Thing's TD (block-wise when large, RFC 7959)
 *   things/{thing}/properties                GET: readallproperties
 *   things/{thing}/properties/{name}         GET read, GET + Observe observe (RFC 7641), PUT write
 *   things/{thing}/actions/{name}            POST invoke (synchronous actions)
 *   things/{thing}/events/{name}             GET + Observe subscribe
 *
 * and the vocabulary its forms use: the `cov:` terms of the W3C WoT Binding Templates' CoAP
 * binding and the CoAP Content-Format numbers (RFC 7252 §12.3, the IANA registry). Pure.
 */

/** The CoAP port of RFC 7252 §6.1 (`coap:` without DTLS). */
export const COAP_DEFAULT_PORT = 5683;

/** The prefix and namespace of the CoAP binding's form terms (WoT Binding Templates, CoAP). */
export const COV_CONTEXT = { cov: 'http://www.example.org/coap-binding#' } as const;

/** The `subprotocol` of forms followed with Observe (WoT Binding Templates, CoAP: `cov:observe`). */
export const COV_OBSERVE = 'cov:observe';

/** Content-Format numbers (RFC 7252 §12.3; application/td+json from the IANA CoAP registry). */
export const CONTENT_FORMAT = { linkFormat: 40, json: 50, tdJson: 432 } as const;

/** Every route, relative to the server's root, whose `{variables}` are one segment each. */
export const COAP_ROUTES = {
  core: '.well-known/core',
  thing: 'things/{thing}',
  properties: 'things/{thing}/properties',
  property: 'things/{thing}/properties/{name}',
  action: 'things/{thing}/actions/{name}',
  event: 'things/{thing}/events/{name}',
} as const;

/** A route of {@link COAP_ROUTES}. */
export type CoapRoute = (typeof COAP_ROUTES)[keyof typeof COAP_ROUTES];

/** A request path matched against the table: the route and its variables. */
export interface CoapMatch {
  readonly route: CoapRoute;
  readonly values: Readonly<Record<string, string>>;
}

/** `route` with its variables filled in, each URL-encoded as one path segment (no leading slash). */
export function coapPath(route: CoapRoute, values: Readonly<Record<string, string>>): string {
  return route.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name]!));
}

/**
 * The absolute `coap:` URL of `route` on the host a TD was requested under (`base`'s hostname,
 * brackets kept for IPv6) and the CoAP port.
 */
export function coapHref(base: string, port: number, route: CoapRoute, values: Readonly<Record<string, string>>): string {
  return `coap://${new URL(base).hostname}:${port}/${coapPath(route, values)}`;
}

/** The route a path names (percent-encoded segments, as in a form's href), or undefined. */
export function matchRoute(path: string): CoapMatch | undefined {
  try {
    return matchSegments(path.replace(/^\/+/, '').split('/').map((segment) => decodeURIComponent(segment)));
  } catch {
    return undefined;
  }
}

/** The route a request's Uri-Path options name (RFC 7252 §5.10.1: one decoded segment each), or undefined. */
export function matchSegments(segments: readonly string[]): CoapMatch | undefined {
  for (const route of Object.values(COAP_ROUTES)) {
    const parts = route.split('/');
    if (parts.length !== segments.length) continue;
    const values: Record<string, string> = {};
    const matches = parts.every((part, i) => {
      const variable = /^\{(\w+)\}$/.exec(part);
      if (variable === null) return part === segments[i];
      values[variable[1]!] = segments[i]!;
      return segments[i] !== '';
    });
    if (matches) return { route, values };
  }
  return undefined;
}

/** The decoded segments of a `coap:` URL's path, as Uri-Path options carry them (RFC 7252 §6.4 step 8). */
export function pathSegments(url: URL): string[] {
  return url.pathname.split('/').filter((segment) => segment !== '').map((segment) => decodeURIComponent(segment));
}

/**
 * The forms the HTTP binding adds to an exposed Thing's TD, every href from the route table:
 * plain HTTP (TD 1.1 §8.3.1 default methods), long-poll and SSE observations and
 * subscriptions (the HTTP SSE Profile), and the `flowchain.v1` WebSocket; the version-history
 * link of each readable property and each event, when the node keeps the Thing's history; the WoT Profiles the Thing then follows. Pure.
 */
import { SECURITY, securedForms, type BindingForms, type DescribedThing, type FormExposure, type FormSource } from '../../td/td-builder.js';
import type { Form } from '../../td/thing-description.js';
import { href, ROUTES, webSocketUrl, WS_SUBPROTOCOL } from './route-table.js';

/**
 * The WoT Profiles a served Thing follows (W3C WoT Profile: "HTTP Basic Profile" and "HTTP SSE
 * Profile", their Identifier sections).
 */
export const PROFILES = {
  httpBasic: 'https://www.w3.org/2022/wot/profile/http-basic/v1',
  httpSse: 'https://www.w3.org/2022/wot/profile/http-sse/v1',
} as const;

const JSON_TYPE = { contentType: 'application/json' } as const;
const LONGPOLL = { contentType: 'application/json', subprotocol: 'longpoll' } as const;
// The HTTP SSE Profile: `contentType` is the media type of each message's data; the event
// stream itself (text/event-stream) is implied by the sse subprotocol.
export const SSE = { contentType: 'application/json', subprotocol: 'sse' } as const;

/** The HTTP binding's forms, links and profiles for one Thing. */
export function httpForms(thing: DescribedThing, exposure: FormExposure): BindingForms {
  const source = thing.td;
  const at = (route: Parameters<typeof href>[0], name?: string): string => href(route, name === undefined ? { thing: thing.slug } : { thing: thing.slug, name });
  const ws = { ...JSON_TYPE, subprotocol: WS_SUBPROTOCOL };
  const wsHref = webSocketUrl(exposure.base);

  const properties = mapValues(source.properties, (name, property) => {
    const direct = [...(property.writeOnly ? [] : ['readproperty']), ...(property.readOnly ? [] : ['writeproperty'])];
    const observe = property.observable && !property.writeOnly ? ['observeproperty', 'unobserveproperty'] : [];
    return [
      ...securedForms(at(ROUTES.property, name), direct, JSON_TYPE, exposure),
      ...(observe.length ? securedForms(at(ROUTES.propertyLongPoll, name), ['observeproperty'], LONGPOLL, exposure) : []),
      ...(observe.length ? securedForms(at(ROUTES.propertySse, name), observe, SSE, exposure) : []),
      ...securedForms(wsHref, [...direct, ...observe], ws, exposure),
    ];
  });

  const actions = mapValues(source.actions, (name, action) => {
    // The servient answers a synchronous action when it is done (the HTTP Basic Profile's
    // "Synchronous Action Response"). An asynchronous one answers with an ActionStatus whose
    // URL (Location) takes queryaction and cancelaction, as the profile's "Asynchronous Action
    // Response" says.
    const ops = action.synchronous !== false ? ['invokeaction'] : ['invokeaction', 'queryaction', 'cancelaction'];
    return [...securedForms(at(ROUTES.action, name), ops, JSON_TYPE, exposure), ...securedForms(wsHref, ops, ws, exposure)];
  });

  const events = mapValues(source.events, (name) => [
    ...securedForms(at(ROUTES.eventLongPoll, name), ['subscribeevent'], LONGPOLL, exposure),
    ...securedForms(at(ROUTES.eventSse, name), ['subscribeevent', 'unsubscribeevent'], SSE, exposure),
    ...securedForms(wsHref, ['subscribeevent', 'unsubscribeevent'], ws, exposure),
  ]);

  // Every readable property keeps a history of its values (recorded ones with their
  // transactions), and every event of its occurrences: RFC 5829's version-history relation,
  // anchored at the affordance's resource.
  const history = (title: string) => ({ type: 'application/json', title: `${title} (?since=&until=&limit=, every=PT10S for buckets)` });
  const links = !thing.keepsHistory ? [] : [
    ...Object.entries(source.properties ?? {})
      .filter(([, property]) => !property.writeOnly)
      .map(([name]) => ({ rel: 'version-history', href: at(ROUTES.propertyHistory, name), anchor: at(ROUTES.property, name), ...history(`Past values of ${name}`) })),
    ...Object.keys(source.events ?? {}).map((name) => ({ rel: 'version-history', href: at(ROUTES.eventHistory, name), anchor: at(ROUTES.eventSse, name), ...history(`Past occurrences of ${name}`) })),
  ];

  const hasWritable = Object.values(source.properties ?? {}).some((p) => !p.readOnly);
  const hasObservable = Object.values(source.properties ?? {}).some((p) => p.observable === true && !p.writeOnly);
  const hasEvents = Object.keys(source.events ?? {}).length > 0;
  const hasAsynchronous = Object.values(source.actions ?? {}).some((action) => action.synchronous === false);
  const allHref = at(ROUTES.properties);
  const thingOps = ['readallproperties', 'readmultipleproperties', ...(hasWritable ? ['writemultipleproperties'] : [])];
  const forms: Form[] = [
    ...securedForms(allHref, ['readallproperties'], JSON_TYPE, exposure),
    // TD 1.1 leaves how names travel for readmultipleproperties to the binding: here they are
    // a JSON array in a POST body, said explicitly so consumers need no out-of-band knowledge.
    ...securedForms(allHref, ['readmultipleproperties'], { ...JSON_TYPE, 'htv:methodName': 'POST' }, exposure),
    ...(hasWritable ? securedForms(allHref, ['writemultipleproperties'], JSON_TYPE, exposure) : []),
    // The HTTP SSE Profile's observeallproperties and subscribeallevents: one stream per Thing.
    // The first shares its URL with readallproperties: the sse subprotocol means the consumer
    // asks for text/event-stream.
    ...(hasObservable ? securedForms(allHref, ['observeallproperties', 'unobserveallproperties'], SSE, exposure) : []),
    ...(hasEvents ? securedForms(at(ROUTES.events), ['subscribeallevents', 'unsubscribeallevents'], SSE, exposure) : []),
    ...(hasAsynchronous ? securedForms(at(ROUTES.actions), ['queryallactions'], JSON_TYPE, exposure) : []),
    ...securedForms(wsHref, thingOps, ws, exposure),
  ];

  return { ...(properties ? { properties } : {}), ...(actions ? { actions } : {}), ...(events ? { events } : {}), forms, links, profile: profilesFollowed(exposure) };
}

/** The HTTP binding's forms, as the TD builder asks for them. */
export const HTTP_FORMS: FormSource = { formsFor: httpForms };

/**
 * The profiles a served Thing follows: both HTTP profiles, as long as its security is one the
 * profiles' consumers must support (WoT Profile, Common Constraints, "Security": nosec, basic,
 * oauth2, or a combo with oneOf holding one of them; a bearer-only write is not). Every action
 * says whether it is synchronous, and each is answered as the HTTP Basic Profile says for its
 * kind.
 */
function profilesFollowed(exposure: FormExposure): string[] {
  if (exposure.protectedScheme === SECURITY.bearer) return [];
  return [PROFILES.httpBasic, PROFILES.httpSse];
}

function mapValues<T, R>(record: Readonly<Record<string, T>> | undefined, fn: (name: string, value: T) => R): Record<string, R> | undefined {
  if (record === undefined) return undefined;
  return Object.fromEntries(Object.entries(record).map(([name, value]) => [name, fn(name, value)]));
}

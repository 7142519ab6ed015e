/**
 * What the conformance tests share: the node set-ups they run against (open, bearer, HTTPS
 * with Basic or bearer), a consumer's view of a TD's forms, and a started node with its TDs as
 * a generic consumer fetched them.
 */
import type { Test } from 'tap';
import type { Form, ThingDescription } from '../../src/td/thing-description.js';
import { fetchTrusting } from './https-fetch.js';
import type { ManualClock } from './manual-clock.js';
import { selfSignedCertificate } from './self-signed.js';
import { createServient, type TestOptions } from './test-servient.js';
import type { ConsumerOptions } from './wot-consumer.js';

const TOKEN = 'conformance-token-0123456789';
const USER = { user: 'consumer', password: 'conformance-basic-password' };

/** One way to run a node, and what a consumer of it is given. */
export interface Setup {
  readonly name: string;
  readonly node: (tls: { cert: string; key: string }) => TestOptions;
  readonly consumer: (tls: { cert: string }) => ConsumerOptions;
  readonly https: boolean;
}

/** An open node; one that takes a bearer token; one over HTTPS that takes Basic or bearer (a combo), whose consumer presents Basic, as profile consumers do first. */
export const SETUPS: readonly Setup[] = [
  { name: 'open node', node: () => ({}), consumer: () => ({}), https: false },
  { name: 'bearer auth on', node: () => ({ authToken: TOKEN }), consumer: () => ({ bearer: TOKEN }), https: false },
  {
    name: 'HTTPS, Basic or bearer (combo), the consumer presents Basic',
    node: (tls) => ({ tls, authToken: TOKEN, basicCredentials: [USER] }),
    consumer: (tls) => ({ basic: USER, fetch: fetchTrusting(tls.cert) }),
    https: true,
  },
];

/** A started node of `setup`, the consumer options for it, and its TDs as a consumer fetched them. */
export async function consumedNode(t: Test, setup: Setup): Promise<{ readonly clock: ManualClock; readonly options: ConsumerOptions; readonly listing: ThingDescription[]; readonly node: ThingDescription }> {
  const tls = selfSignedCertificate();
  const { servient, clock } = await createServient(t, setup.node(tls));
  const { url } = await servient.start();
  t.match(url, setup.https ? /^https:/ : /^http:/);
  const options = setup.consumer(tls);
  const get = (path: string) => (options.fetch ?? fetch)(new URL(path, url));
  const listing = (await (await get('things')).json()) as ThingDescription[];
  t.same(listing.map((td) => td.title).sort(), ['Alerts', 'Environment sensor', 'Ledger', 'Smart plug', 'Thermostat'].sort(), 'the sample Things, the ledger Thing and the alerts Thing');
  const node = (await (await get('.well-known/wot')).json()) as ThingDescription;
  return { clock, options, listing, node };
}

/** Every form of a TD with the operations it offers and the affordance it belongs to. */
export function formsOf(td: ThingDescription): { readonly form: Form; readonly kind: 'property' | 'action' | 'event' | 'thing'; readonly ops: string[] }[] {
  const ops = (form: Form, fallback: string[]): string[] => (form.op === undefined ? fallback : [form.op].flat());
  return [
    ...(td.forms ?? []).map((form) => ({ form, kind: 'thing' as const, ops: ops(form, []) })),
    ...Object.values(td.properties ?? {}).flatMap((p) => (p.forms ?? []).map((form) => ({ form, kind: 'property' as const, ops: ops(form, ['readproperty', 'writeproperty']) }))),
    ...Object.values(td.actions ?? {}).flatMap((a) => (a.forms ?? []).map((form) => ({ form, kind: 'action' as const, ops: ops(form, ['invokeaction']) }))),
    ...Object.values(td.events ?? {}).flatMap((e) => (e.forms ?? []).map((form) => ({ form, kind: 'event' as const, ops: ops(form, ['subscribeevent']) }))),
  ];
}


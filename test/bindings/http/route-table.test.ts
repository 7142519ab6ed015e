/**
 * The route table is the one place the HTTP layout is written: the TDs a node serves (built
 * from it) are byte for byte those it served before the table existed (fixtures recorded from
 * that code), and the fastify routes are registered from the same entries.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { HTTP_FORMS } from '../../../src/bindings/http/http-forms.js';
import { buildNodeDescription } from '../../../src/bindings/http/node-description.js';
import { href, receiptTxId, receiptUrl, routePath, ROUTES, webSocketUrl } from '../../../src/bindings/http/route-table.js';
import { buildThingDescription, type ExposureOptions } from '../../../src/td/td-builder.js';
import type { ThingDescription } from '../../../src/td/thing-description.js';
import { createServient } from '../../helpers/test-servient.js';

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8')) as T;

/** Thing and node ids derive from a key each node draws afresh; everything else must match. */
const withoutIds = (text: string): string => text.replace(/urn:uuid:[0-9a-f-]{36}/g, 'urn:uuid:ID');

/**
 * The TDs without their version-history links: those changed on purpose since the fixtures
 * were taken (every readable property and event links its history now, and only where the
 * node keeps it; test/bindings/http/routes/history-routes.test.ts checks them).
 */
function withoutHistoryLinks(text: string): string {
  return JSON.stringify(JSON.parse(text), (key, value: unknown) => {
    if (key !== 'links' || !Array.isArray(value)) return value;
    const kept = value.filter((l: { rel?: string }) => l.rel !== 'version-history');
    return kept.length === 0 ? undefined : kept;
  });
}

/** The listing and the node TD without the node's alerts Thing, which came after the fixtures were taken (test/alerts checks its TD). */
function withoutAlertsThing(text: string): string {
  const value = JSON.parse(text) as { title?: string; links?: { href?: string }[] }[] | { links?: { href?: string }[] };
  if (Array.isArray(value)) return JSON.stringify(value.filter((td) => td.title !== 'Alerts'));
  return JSON.stringify(value.links === undefined ? value : { ...value, links: value.links.filter((link) => link.href !== 'things/alerts') });
}

const EXPOSURES = {
  open: {},
  bearer: { authToken: 'secret-token' },
  basic: { basicCredentials: [{ username: 'u', password: 'p' }] },
  combo: { authToken: 'secret-token', basicCredentials: [{ username: 'u', password: 'p' }] },
  public: { publicUrl: 'https://node.example/flow/' },
} as const;

t.test('every TD a node serves is the one it served before the route table, for each kind of security and a public URL', async (t) => {
  const before = fixture<Record<string, Record<string, string>>>('served-tds.json');
  for (const [name, options] of Object.entries(EXPOSURES)) {
    const { servient } = await createServient(t, options as never);
    for (const [url, body] of Object.entries(before[name]!)) {
      const served = await servient.app.inject({ url, headers: { host: 'node.local:8080' } });
      t.equal(served.statusCode, 200, `${name} ${url}`);
      t.equal(withoutHistoryLinks(withoutAlertsThing(withoutIds(served.body))), withoutHistoryLinks(withoutIds(body)), `${name} ${url}: the same bytes (but for history links)`);
    }
    await servient.stop();
  }
});

t.test('the TD builder with the HTTP forms gives the TDs of before for every branch (writeOnly, readOnly, async actions, events, odd names)', async (t) => {
  const before = fixture<Record<string, Record<string, ThingDescription>>>('built-tds.json');
  const { SYNTHETIC, READONLY_ONLY, EMPTY } = sources();
  const exposures: Record<string, ExposureOptions> = {
    open: { base: 'http://node.local:8080/', bearerAuth: false },
    bearer: { base: 'http://node.local:8080/', bearerAuth: true },
    basic: { base: 'https://node.local/', bearerAuth: false, basicAuth: true },
    combo: { base: 'https://node.example/flow/', bearerAuth: true, basicAuth: true },
  };
  for (const [name, exposure] of Object.entries(exposures)) {
    const expected = before[name]!;
    t.equal(withoutHistoryLinks(JSON.stringify(buildThingDescription(SYNTHETIC, { id: 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e', slug: 'every branch' }, exposure, [HTTP_FORMS]))), withoutHistoryLinks(JSON.stringify(expected.synthetic)), `${name}: every branch`);
    t.equal(withoutHistoryLinks(JSON.stringify(buildThingDescription(READONLY_ONLY, { id: 'urn:uuid:1', slug: 'quiet' }, exposure, [HTTP_FORMS]))), withoutHistoryLinks(JSON.stringify(expected.quiet)), `${name}: read-only`);
    t.equal(withoutHistoryLinks(JSON.stringify(buildThingDescription(EMPTY, { id: 'urn:uuid:2', slug: 'empty' }, exposure, [HTTP_FORMS]))), withoutHistoryLinks(JSON.stringify(expected.empty)), `${name}: no affordances`);
    t.equal(JSON.stringify(buildNodeDescription('urn:uuid:7c9e6679-7425-40de-944b-e07fc1f90ae7', [{ slug: 'every branch', title: 'Every branch' }], exposure)), JSON.stringify(expected.node), `${name}: the node TD`);
  }
});

t.test('a route gives both its fastify path and its hrefs, each variable one encoded segment', async (t) => {
  t.equal(routePath(ROUTES.property), '/things/:thing/properties/:name');
  t.equal(routePath(ROUTES.invocation), '/things/:thing/actions/:name/:id');
  t.equal(routePath(ROUTES.ws), '/ws');
  t.equal(href(ROUTES.propertySse, { thing: 'lamp', name: 'a/b c' }), 'things/lamp/properties/a%2Fb%20c/sse');
  t.equal(receiptUrl('http://node.local/', 'f'.repeat(64)), `http://node.local/ledger/tx/${'f'.repeat(64)}`);
  t.equal(receiptTxId(`http://node.local/ledger/tx/${'a'.repeat(64)}`), 'a'.repeat(64));
  t.equal(receiptTxId('http://node.local/ledger/tx/queued-key'), undefined, 'a receipt by H_DATA names no transaction id');
  t.equal(webSocketUrl('https://node.local/'), 'wss://node.local/ws');
});

t.test('every fastify route of a Thing interaction is registered from the table', async (t) => {
  const { servient } = await createServient(t);
  const printed = servient.app.printRoutes({ commonPrefix: false });
  for (const route of [ROUTES.property, ROUTES.propertyLongPoll, ROUTES.propertySse, ROUTES.action, ROUTES.invocation, ROUTES.eventSse, ROUTES.eventLongPoll, ROUTES.ws, ROUTES.receipt, ROUTES.propertyHistory]) {
    t.ok(servient.app.hasRoute({ method: 'GET', url: routePath(route) }) || servient.app.hasRoute({ method: 'POST', url: routePath(route) }), `${routePath(route)} is served`);
  }
  t.ok(printed.length > 0);
});

function sources(): Record<'SYNTHETIC' | 'READONLY_ONLY' | 'EMPTY', ThingDescription> {
  return {
    SYNTHETIC: {
      '@context': ['https://www.w3.org/2022/wot/td/v1.1', 'https://w3id.org/flowchain/v1'],
      title: 'Every branch',
      properties: {
        plain: { type: 'number' },
        ro: { type: 'number', readOnly: true, observable: true },
        wo: { type: 'string', writeOnly: true, observable: true },
        obs: { type: 'boolean', observable: true },
        unrecorded: { type: 'number', recorded: false, observable: true },
        'with space': { type: 'number', readOnly: true },
      },
      actions: { sync: { input: { type: 'number' } }, later: { synchronous: false }, 'odd/name': {} },
      events: { alarm: { data: { type: 'string' } }, ü: {} },
      links: [{ rel: 'icon', href: 'x.png' }],
    } as ThingDescription,
    READONLY_ONLY: { '@context': ['https://www.w3.org/2022/wot/td/v1.1'], title: 'Quiet', properties: { p: { type: 'number', readOnly: true } } } as ThingDescription,
    EMPTY: { '@context': ['https://www.w3.org/2022/wot/td/v1.1'], title: 'Empty' } as ThingDescription,
  };
}

import t from 'tap';
import type { ThingDescription } from '../../../../src/td/thing-description.js';
import { createServient } from '../../../helpers/test-servient.js';
import { assertProblem, body } from '../fixtures.js';

// The bundled samples, then the ledger and alerts Things every node exposes.
const SLUGS = ['environment-sensor', 'smart-plug', 'thermostat', 'ledger', 'alerts'];

t.test('GET /things lists every TD as application/ld+json', async (t) => {
  const { servient } = await createServient(t);
  const res = await servient.app.inject({ method: 'GET', url: '/things' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/ld\+json/);
  const tds = body<ThingDescription[]>(res);
  t.ok(Array.isArray(tds));
  t.same(
    tds.map((td) => td.id),
    SLUGS.map((slug) => servient.registry.get(slug).id),
    'one TD per Thing, in registry order, with the stable ids',
  );
  t.same(tds.map((td) => td.title), ['Environment sensor', 'Smart plug', 'Thermostat', 'Ledger', 'Alerts'], 'the sample Things, then the node\'s ledger and alerts Things');
  for (const td of tds) t.notOk('driver' in td, `${td.title}: the servient-only driver member is not served`);
});

t.test('GET /things/{slug} answers the TD as application/td+json', async (t) => {
  const { servient } = await createServient(t);
  for (const slug of SLUGS) {
    const res = await servient.app.inject({ method: 'GET', url: `/things/${slug}` });
    t.equal(res.statusCode, 200, slug);
    t.match(res.headers['content-type'], /^application\/td\+json/, slug);
    const td = body<ThingDescription>(res);
    t.equal(td.id, servient.registry.get(slug).id, `${slug}: id`);
    t.ok(td.properties && Object.keys(td.properties).length > 0, `${slug}: has properties with forms`);
  }
});

t.test('GET /things/{id} finds the Thing by its URL-encoded TD id (urn:uuid) and serves the same TD as the slug', async (t) => {
  const { servient } = await createServient(t);
  const thermostat = servient.registry.get('thermostat');
  t.match(thermostat.id, /^urn:uuid:[0-9a-f-]{36}$/);
  const byId = await servient.app.inject({ method: 'GET', url: `/things/${encodeURIComponent(thermostat.id)}` });
  const bySlug = await servient.app.inject({ method: 'GET', url: '/things/thermostat' });
  t.equal(byId.statusCode, 200);
  t.match(byId.headers['content-type'], /^application\/td\+json/);
  t.equal(byId.body, bySlug.body);
});

t.test('HEAD /things/{slug} and /things/{id} answer 200 with the TD headers and no body', async (t) => {
  const { servient } = await createServient(t);
  const get = await servient.app.inject({ method: 'GET', url: '/things/smart-plug' });
  for (const ref of ['smart-plug', encodeURIComponent(servient.registry.get('smart-plug').id)]) {
    const head = await servient.app.inject({ method: 'HEAD', url: `/things/${ref}` });
    t.equal(head.statusCode, 200, ref);
    t.match(head.headers['content-type'], /^application\/td\+json/, `${ref}: content type`);
    t.equal(head.headers['content-length'], String(Buffer.byteLength(get.body)), `${ref}: length of the TD`);
    t.equal(head.body, '', `${ref}: no body`);
  }
});

t.test('HEAD /things/{unknown} is 404', async (t) => {
  const { servient } = await createServient(t);
  const res = await servient.app.inject({ method: 'HEAD', url: '/things/nope' });
  t.equal(res.statusCode, 404);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  t.equal(res.body, '');
});

t.test('GET /things/{unknown} fails with 404 FLOWCHAIN_ERR_THING_NOT_FOUND naming the thing', async (t) => {
  const { servient } = await createServient(t);
  assertProblem(t, await servient.app.inject({ method: 'GET', url: '/things/nope' }), {
    status: 404,
    code: 'FLOWCHAIN_ERR_THING_NOT_FOUND',
    field: 'thing',
    instance: '/things/nope',
  });
  const unknownUrn = encodeURIComponent('urn:uuid:00000000-0000-5000-8000-000000000000');
  assertProblem(t, await servient.app.inject({ method: 'GET', url: `/things/${unknownUrn}` }), { status: 404, code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' });
});

t.test('GET /.well-known/wot answers the node TD: a ThingDirectory linking every Thing', async (t) => {
  const { servient } = await createServient(t);
  const res = await servient.app.inject({ method: 'GET', url: '/.well-known/wot' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/td\+json/);
  const node = body<ThingDescription>(res);
  t.equal(node.id, servient.nodeId);
  t.equal(node['@type'], 'ThingDirectory');
  t.match(node.properties?.things, { readOnly: true, forms: [{ href: 'things', op: ['readproperty'], contentType: 'application/ld+json' }] });
  const links = node.links ?? [];
  t.same(
    links.map((link) => link.href),
    SLUGS.map((slug) => `things/${slug}`),
  );
  for (const link of links) {
    t.equal(link.rel, 'item');
    t.equal(link.type, 'application/td+json');
    const followed = await servient.app.inject({ method: 'GET', url: new URL(link.href as string, node.base).pathname });
    t.equal(followed.statusCode, 200, `${String(link.href)} resolves against the base`);
    t.equal(body<ThingDescription>(followed).title, link.title);
  }
});

t.test('GET /health reports status, Thing count and uptime from the injected clock', async (t) => {
  const { servient, clock } = await createServient(t);
  const first = await servient.app.inject({ method: 'GET', url: '/health' });
  t.equal(first.statusCode, 200);
  t.match(first.headers['content-type'], /^application\/json/);
  t.same(body(first), { status: 'ok', things: 5, uptimeSeconds: 0 });
  clock.advance(90_000);
  t.same(body(await servient.app.inject({ method: 'GET', url: '/health' })), { status: 'ok', things: 5, uptimeSeconds: 90 });
});

t.test('an unknown route fails with 404 FLOWCHAIN_ERR_ROUTE_NOT_FOUND; a method a route lacks with 405 FLOWCHAIN_ERR_METHOD_NOT_ALLOWED and Allow', async (t) => {
  const { servient } = await createServient(t);
  for (const [method, url] of [
    ['GET', '/nope'],
    ['GET', '/things/thermostat/widgets'],
  ] as const) {
    assertProblem(t, await servient.app.inject({ method, url }), { status: 404, code: 'FLOWCHAIN_ERR_ROUTE_NOT_FOUND', field: null, instance: url });
  }
  for (const [method, url, allow] of [
    ['POST', '/things/thermostat', 'GET, HEAD, PUT, PATCH, DELETE'],
    ['DELETE', '/things', 'GET, HEAD, POST'],
    ['PATCH', '/things/thermostat/properties/mode', 'GET, HEAD, PUT'],
    ['DELETE', '/things/thermostat/actions/boost', 'GET, HEAD, POST'],
  ] as const) {
    const res = await servient.app.inject({ method, url });
    assertProblem(t, res, { status: 405, code: 'FLOWCHAIN_ERR_METHOD_NOT_ALLOWED', field: 'method', instance: url });
    t.equal(res.headers.allow, allow, `${method} ${url}`);
  }
});

t.test('a TD served twice for the same base is byte-identical', async (t) => {
  const { servient } = await createServient(t);
  const a = await servient.app.inject({ method: 'GET', url: '/things' });
  const b = await servient.app.inject({ method: 'GET', url: '/things' });
  t.equal(a.body, b.body);
});

t.test('GET /things/{t}/validation says whether the TD as served validates against the TD 1.1 JSON Schema', async (t) => {
  const { servient } = await createServient(t);
  for (const slug of SLUGS) {
    const res = await servient.app.inject({ method: 'GET', url: `/things/${slug}/validation`, headers: { host: 'device.local:8080' } });
    t.equal(res.statusCode, 200, slug);
    t.same(body(res), { valid: true, schema: 'W3C WoT TD 1.1 JSON Schema' }, `${slug}: valid as served to device.local`);
  }
  assertProblem(t, await servient.app.inject({ method: 'GET', url: '/things/nope/validation' }), { status: 404, code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' });
});

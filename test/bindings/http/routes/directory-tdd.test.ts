// The Thing Description Directory API of W3C WoT Discovery §7.3.2, driven with inject(): each
// test is named after the spec's assertion id where it has one.
import t from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import type { ThingDescription } from '../../../../src/td/thing-description.js';
import { createServient, type TestOptions } from '../../../helpers/test-servient.js';
import { loadTdSchema } from '../../../../src/bundled.js';
import { TdValidator } from '../../../../src/td/td-validator.js';
import { assertProblem, AUTH_TOKEN, body, openSse, remoteLampTd } from '../fixtures.js';
import type { Test } from 'tap';

const LAMP_ID = 'urn:example:lamp';
const LAMP_URL = `/things/${encodeURIComponent(LAMP_ID)}`;

/** A small valid TD 1.1 of a Thing hosted elsewhere. */
const lamp = (extra: Record<string, unknown> = {}): Record<string, unknown> => remoteLampTd(LAMP_ID, extra);

/** UUIDs in a fixed sequence. */
function uuids(): () => string {
  let n = 0;
  return () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
}

async function node(t: Test, options: TestOptions = {}) {
  return createServient(t, { randomUuid: uuids(), ...options });
}

type Servient = Awaited<ReturnType<typeof node>>['servient'];

function put(servient: Servient, url: string, td: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return servient.app.inject({ method: 'PUT', url, payload: JSON.stringify(td), headers: { 'content-type': 'application/td+json', ...headers } });
}

function patch(servient: Servient, url: string, value: unknown, contentType = 'application/merge-patch+json'): Promise<LightMyRequestResponse> {
  return servient.app.inject({ method: 'PATCH', url, payload: JSON.stringify(value), headers: { 'content-type': contentType } });
}

async function listing(servient: Servient, query = ''): Promise<ThingDescription[]> {
  const res = await servient.app.inject({ method: 'GET', url: `/things${query}` });
  t.equal(res.statusCode, 200);
  return body<ThingDescription[]>(res);
}

t.test('tdd-things-create-known-td: PUT /things/{id} of a new TD answers 201 and the TD is then served, with registration info', async (t) => {
  const { servient, clock } = await node(t);
  const res = await put(servient, LAMP_URL, lamp());
  t.equal(res.statusCode, 201, 'tdd-things-create-known-td-resp');
  t.equal(res.body, '');
  const got = await servient.app.inject({ method: 'GET', url: LAMP_URL });
  t.equal(got.statusCode, 200, 'tdd-things-retrieve');
  t.match(got.headers['content-type'], /^application\/td\+json/, 'tdd-things-retrieve-resp');
  const td = body<ThingDescription>(got);
  t.equal(td.id, LAMP_ID);
  t.equal(td.title, 'Lamp');
  t.same(td['@context'], ['https://www.w3.org/2022/wot/td/v1.1', 'https://www.w3.org/2022/wot/discovery'], 'the discovery context defines registration');
  const at = new Date(clock.now()).toISOString();
  t.same(td.registration, { created: at, modified: at }, 'registration info: created and modified, no expiry without a ttl');
  const head = await servient.app.inject({ method: 'HEAD', url: LAMP_URL });
  t.equal(head.statusCode, 200);
  t.equal(head.body, '');
});

t.test('tdd-things-update: PUT /things/{id} of a known TD answers 204 and replaces it; created stays, modified moves', async (t) => {
  const { servient, clock } = await node(t);
  t.equal((await put(servient, LAMP_URL, lamp())).statusCode, 201);
  const created = new Date(clock.now()).toISOString();
  clock.advance(5_000);
  const res = await put(servient, LAMP_URL, lamp({ title: 'Desk lamp' }));
  t.equal(res.statusCode, 204, 'tdd-things-update-resp');
  const td = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: LAMP_URL }));
  t.equal(td.title, 'Desk lamp');
  t.same(td.registration, { created, modified: new Date(clock.now()).toISOString() });
});

t.test('a TD without an id is PUT under the id of its URL; a TD whose id differs from the URL is refused', async (t) => {
  const { servient } = await node(t);
  const { id: _id, ...anonymous } = lamp();
  t.equal((await put(servient, LAMP_URL, anonymous)).statusCode, 201);
  t.equal(body<ThingDescription>(await servient.app.inject({ method: 'GET', url: LAMP_URL })).id, LAMP_ID);
  const problem = assertProblem(t, await put(servient, `/things/${encodeURIComponent('urn:example:other')}`, lamp()), { status: 400, code: 'FLOWCHAIN_ERR_DIRECTORY_TD_INVALID', field: '/id' });
  t.match(problem, { validationErrors: [{ field: '/id' }] });
  t.equal((await servient.app.inject({ method: 'GET', url: `/things/${encodeURIComponent('urn:example:other')}` })).statusCode, 404, 'nothing stored');
});

t.test('tdd-things-create-anonymous-td: POST /things answers 201 with a Location holding a generated urn:uuid id', async (t) => {
  const { servient } = await node(t);
  const { id: _id, ...anonymous } = lamp();
  const res = await servient.app.inject({ method: 'POST', url: '/things', payload: JSON.stringify(anonymous), headers: { 'content-type': 'application/td+json' } });
  t.equal(res.statusCode, 201, 'tdd-things-create-anonymous-td-resp');
  const id = 'urn:uuid:00000000-0000-4000-8000-000000000001';
  t.equal(res.headers.location, `http://localhost/things/${encodeURIComponent(id)}`);
  const td = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: `/things/${encodeURIComponent(id)}` }));
  t.equal(td.id, id, 'the TD carries the generated id');
  const second = await servient.app.inject({ method: 'POST', url: '/things', payload: JSON.stringify(anonymous), headers: { 'content-type': 'application/td+json' } });
  t.match(second.headers.location, /000000000002$/, 'each registration gets a fresh id');
  assertProblem(t, await servient.app.inject({ method: 'POST', url: '/things', payload: JSON.stringify(lamp()), headers: { 'content-type': 'application/td+json' } }), { status: 400, code: 'FLOWCHAIN_ERR_DIRECTORY_TD_INVALID', field: '/id' });
});

t.test('tdd-things-update-partial-mergepatch: PATCH applies an RFC 7396 merge patch and answers 204', async (t) => {
  const { servient } = await node(t);
  await put(servient, LAMP_URL, lamp({ description: 'a lamp' }));
  const res = await patch(servient, LAMP_URL, { title: 'Patched', description: null, properties: { level: { type: 'integer', forms: [{ href: 'http://lamp.example/level' }] } } });
  t.equal(res.statusCode, 204, 'tdd-things-update-partial-resp');
  const td = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: LAMP_URL }));
  t.equal(td.title, 'Patched');
  t.notOk('description' in td, 'null removes a member');
  t.same(Object.keys(td.properties ?? {}), ['on', 'level'], 'objects merge member by member');
});

t.test('tdd-things-update-partial: a PATCH that would make the TD invalid is 400 and the stored TD is unchanged', async (t) => {
  const { servient } = await node(t);
  await put(servient, LAMP_URL, lamp());
  const before = (await servient.app.inject({ method: 'GET', url: LAMP_URL })).body;
  const problem = assertProblem(t, await patch(servient, LAMP_URL, { title: null, security: 42 }), { status: 400, code: 'FLOWCHAIN_ERR_DIRECTORY_TD_INVALID' });
  t.ok((problem.validationErrors ?? []).length >= 2, 'every fault is listed');
  t.equal((await servient.app.inject({ method: 'GET', url: LAMP_URL })).body, before);
  assertProblem(t, await patch(servient, `/things/${encodeURIComponent('urn:example:none')}`, { title: 'x' }), { status: 404, code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' });
});

t.test('tdd-things-update-partial-contenttype: PATCH takes application/merge-patch+json only; PUT and POST take application/td+json (or json)', async (t) => {
  const { servient } = await node(t);
  await put(servient, LAMP_URL, lamp());
  assertProblem(t, await patch(servient, LAMP_URL, { title: 'x' }, 'application/json'), { status: 415, code: 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED', field: 'content-type' });
  assertProblem(t, await put(servient, LAMP_URL, lamp(), { 'content-type': 'application/merge-patch+json' }), { status: 415, code: 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED' });
  assertProblem(t, await servient.app.inject({ method: 'PUT', url: LAMP_URL, payload: 'title=x', headers: { 'content-type': 'text/plain' } }), { status: 415, code: 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED' });
  t.equal((await put(servient, LAMP_URL, lamp(), { 'content-type': 'application/json; charset=utf-8' })).statusCode, 204, 'plain JSON is a TD too');
});

t.test('tdd-things-delete: DELETE answers 204, the TD is gone (404), and a second DELETE is 404', async (t) => {
  const { servient } = await node(t);
  await put(servient, LAMP_URL, lamp());
  const res = await servient.app.inject({ method: 'DELETE', url: LAMP_URL });
  t.equal(res.statusCode, 204, 'tdd-things-delete-resp');
  assertProblem(t, await servient.app.inject({ method: 'GET', url: LAMP_URL }), { status: 404, code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' });
  assertProblem(t, await servient.app.inject({ method: 'DELETE', url: LAMP_URL }), { status: 404, code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' });
});

t.test('tdd-validation-syntactic: an invalid TD is 400 with validationErrors [{ field, description }] and nothing is stored', async (t) => {
  const { servient } = await node(t);
  const res = await put(servient, LAMP_URL, { id: LAMP_ID, title: 7, properties: { on: { type: 'boolean' } } });
  const problem = assertProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_DIRECTORY_TD_INVALID' });
  const faults = problem.validationErrors ?? [];
  t.ok(faults.length >= 3, 'context, title, security... each reported');
  for (const fault of faults) t.ok(typeof fault.field === 'string' && fault.field.startsWith('/') && typeof fault.description === 'string' && fault.description.length > 0, JSON.stringify(fault));
  t.ok(faults.some((f) => f.field === '/title'), 'the wrong title is named');
  assertProblem(t, await servient.app.inject({ method: 'GET', url: LAMP_URL }), { status: 404, code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' });
  t.same((await listing(servient)).filter((td) => td.id === LAMP_ID), [], 'not listed');
  assertProblem(t, await put(servient, LAMP_URL, [lamp()]), { status: 400, code: 'FLOWCHAIN_ERR_DIRECTORY_TD_INVALID', field: '/' });
  assertProblem(t, await servient.app.inject({ method: 'PUT', url: LAMP_URL, payload: '{"title":', headers: { 'content-type': 'application/td+json' } }), { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' });
});

t.test('an oversized TD is 413 and nothing is stored', async (t) => {
  const { servient } = await node(t, { bodyLimit: 4096 });
  const res = await put(servient, LAMP_URL, lamp({ description: 'x'.repeat(5000) }));
  assertProblem(t, res, { status: 413, code: 'FLOWCHAIN_ERR_REQUEST_TOO_LARGE' });
  t.equal((await servient.app.inject({ method: 'GET', url: LAMP_URL })).statusCode, 404);
});

t.test('a PUT, PATCH or DELETE of a Thing this node hosts is 403 FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN, by slug or id, and the Thing stays', async (t) => {
  const { servient } = await node(t);
  const thermostat = servient.registry.get('thermostat');
  const before = (await servient.app.inject({ method: 'GET', url: '/things/thermostat' })).body;
  for (const ref of ['thermostat', encodeURIComponent(thermostat.id)]) {
    assertProblem(t, await put(servient, `/things/${ref}`, lamp({ id: thermostat.id })), { status: 403, code: 'FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN' });
    assertProblem(t, await patch(servient, `/things/${ref}`, { title: 'x' }), { status: 403, code: 'FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN' });
    assertProblem(t, await servient.app.inject({ method: 'DELETE', url: `/things/${ref}` }), { status: 403, code: 'FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN' });
  }
  t.equal((await servient.app.inject({ method: 'GET', url: '/things/thermostat' })).body, before);
});

t.test('with auth on, directory writes need the token (401 without, 403 never hides it); reads stay open', async (t) => {
  const { servient } = await node(t, { authToken: AUTH_TOKEN });
  const bearer = { authorization: `Bearer ${AUTH_TOKEN}` };
  assertProblem(t, await put(servient, LAMP_URL, lamp()), { status: 401, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
  assertProblem(t, await put(servient, LAMP_URL, lamp(), { authorization: 'Bearer wrong-token-wrong-token' }), { status: 401, code: 'FLOWCHAIN_ERR_AUTH_INVALID' });
  t.equal((await put(servient, LAMP_URL, lamp(), bearer)).statusCode, 201);
  assertProblem(t, await patch(servient, LAMP_URL, { title: 'x' }), { status: 401, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
  assertProblem(t, await servient.app.inject({ method: 'DELETE', url: LAMP_URL }), { status: 401, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
  assertProblem(t, await servient.app.inject({ method: 'POST', url: '/things', payload: '{}', headers: { 'content-type': 'application/td+json' } }), { status: 401, code: 'FLOWCHAIN_ERR_AUTH_REQUIRED' });
  t.equal((await servient.app.inject({ method: 'GET', url: LAMP_URL })).statusCode, 200, 'reads need no token');
  t.equal((await servient.app.inject({ method: 'DELETE', url: LAMP_URL, headers: bearer })).statusCode, 204);
});

t.test('tdd-things-list-only: GET /things lists the hosted Things and the registered TDs as one JSON array', async (t) => {
  const { servient } = await node(t);
  await put(servient, LAMP_URL, lamp());
  const tds = await listing(servient);
  t.same(tds.map((td) => td.id), [...servient.registry.list().map((thing) => thing.id), LAMP_ID]);
  t.ok(tds.at(-1)?.registration, 'a registered TD is listed with its registration info');
});

t.test('tdd-things-list-pagination-limit: offset and limit page the listing; a page before the last links the next (tdd-things-list-pagination-header-nextlink)', async (t) => {
  const { servient } = await node(t);
  for (let i = 0; i < 3; i++) await put(servient, `/things/${encodeURIComponent(`urn:example:lamp-${i}`)}`, lamp({ id: `urn:example:lamp-${i}` }));
  const all = (await listing(servient)).map((td) => td.id);
  t.equal(all.length, 8, 'five hosted Things and three registered TDs');
  const seen: unknown[] = [];
  let url: string | undefined = '/things?limit=3';
  let pages = 0;
  while (url !== undefined) {
    const res = await servient.app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 200);
    const page = body<ThingDescription[]>(res);
    t.ok(page.length <= 3, 'at most limit TDs');
    seen.push(...page.map((td) => td.id));
    const link = res.headers.link as string | undefined;
    url = link === undefined ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
    if (link !== undefined) t.ok(url, `a next link: ${link}`);
    pages++;
  }
  t.equal(pages, 3);
  t.same(seen, all, 'the pages together are the listing, in order');
  t.same((await listing(servient, '?offset=5')).map((td) => td.id), all.slice(5));
  t.equal((await servient.app.inject({ method: 'GET', url: '/things?offset=5&limit=3' })).headers.link, undefined, 'the last page links nothing');
  for (const query of ['?limit=0', '?limit=-1', '?offset=x', '?limit=1.5']) {
    assertProblem(t, await servient.app.inject({ method: 'GET', url: `/things${query}` }), { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' });
  }
});

t.test('registration ttl: a TD expires ttl seconds after its last change; an expired TD is not served and is purged', async (t) => {
  const { servient, clock } = await node(t);
  t.equal((await put(servient, LAMP_URL, lamp({ registration: { ttl: 60 } }))).statusCode, 201);
  const td = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: LAMP_URL }));
  t.same(td.registration, { created: new Date(clock.now()).toISOString(), modified: new Date(clock.now()).toISOString(), expires: new Date(clock.now() + 60_000).toISOString(), ttl: 60 });
  clock.advance(59_000);
  t.equal((await servient.app.inject({ method: 'GET', url: LAMP_URL })).statusCode, 200, 'still there before it expires');
  clock.advance(1_000);
  assertProblem(t, await servient.app.inject({ method: 'GET', url: LAMP_URL }), { status: 404, code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' });
  t.notOk((await listing(servient)).some((x) => x.id === LAMP_ID), 'not listed once expired');
  await servient.tdd.purge();
  t.equal(servient.tdd.list().length, 0, 'tdd-registrationinfo-expiry-purge');
  assertProblem(t, await put(servient, LAMP_URL, lamp({ registration: { ttl: -1 } })), { status: 400, code: 'FLOWCHAIN_ERR_DIRECTORY_TD_INVALID', field: '/registration/ttl' });
});

t.test('registered TDs are stored durably: a node restarted on the same data serves them again', async (t) => {
  const first = await node(t);
  await put(first.servient, LAMP_URL, lamp());
  const served = (await first.servient.app.inject({ method: 'GET', url: LAMP_URL })).body;
  await first.servient.stop();
  const second = await node(t, { data: first.config.data, clock: first.clock });
  t.equal((await second.servient.app.inject({ method: 'GET', url: LAMP_URL })).body, served);
});

t.test('tdd-search-jsonpath: GET /search/jsonpath answers the values the query selects; a malformed query is 400', async (t) => {
  const { servient } = await node(t);
  await put(servient, LAMP_URL, lamp());
  const res = await servient.app.inject({ method: 'GET', url: `/search/jsonpath?query=${encodeURIComponent('$[?@.title=="Lamp"].id')}` });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(body(res), [LAMP_ID]);
  const titles = body<string[]>(await servient.app.inject({ method: 'GET', url: `/search/jsonpath?query=${encodeURIComponent('$[*].title')}` }));
  t.same(titles, ['Environment sensor', 'Smart plug', 'Thermostat', 'Ledger', 'Alerts', 'Lamp']);
  for (const query of ['$[', 'title', '$[?@.a=]']) {
    assertProblem(t, await servient.app.inject({ method: 'GET', url: `/search/jsonpath?query=${encodeURIComponent(query)}` }), { status: 400, code: 'FLOWCHAIN_ERR_DIRECTORY_QUERY_INVALID', field: 'query' });
  }
  assertProblem(t, await servient.app.inject({ method: 'GET', url: '/search/jsonpath' }), { status: 400, code: 'FLOWCHAIN_ERR_DIRECTORY_QUERY_INVALID', field: 'query' });
});

t.test('/.well-known/wot describes the directory API as forms (the directory Thing Model\'s names) and validates against the TD 1.1 schema', async (t) => {
  for (const authToken of [undefined, AUTH_TOKEN]) {
    const { servient } = await node(t, authToken ? { authToken } : {});
    const td = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: '/.well-known/wot' }));
    t.equal(new TdValidator(loadTdSchema()).explain(td), undefined, 'valid TD 1.1');
    const actions = td.actions ?? {};
    t.same(Object.keys(actions), ['createThing', 'createAnonymousThing', 'retrieveThing', 'updateThing', 'partiallyUpdateThing', 'deleteThing', 'searchJSONPath']);
    const method = (name: string) => actions[name]?.forms?.[0]?.['htv:methodName'];
    t.same(['createThing', 'createAnonymousThing', 'retrieveThing', 'partiallyUpdateThing', 'deleteThing'].map(method), ['PUT', 'POST', 'GET', 'PATCH', 'DELETE']);
    t.equal(actions.partiallyUpdateThing?.forms?.[0]?.contentType, 'application/merge-patch+json');
    const secured = (name: string) => actions[name]?.forms?.[0]?.security;
    t.same(secured('createThing'), authToken ? ['bearer_sc'] : undefined, 'writes need the token when auth is on');
    t.equal(secured('retrieveThing'), undefined, 'reads are open');
    t.same(Object.keys(td.events ?? {}), ['thingCreated', 'thingUpdated', 'thingDeleted']);
    t.equal(td.events?.thingCreated?.forms?.[0]?.href, 'events/thing_created{?diff}');
    // The forms resolve: a PUT through createThing's href template, then retrieveThing's.
    const href = (name: string) => `/${String(actions[name]?.forms?.[0]?.href).replace('{id}', encodeURIComponent(LAMP_ID))}`;
    t.equal((await put(servient, href('createThing'), lamp(), authToken ? { authorization: `Bearer ${authToken}` } : {})).statusCode, 201);
    t.equal((await servient.app.inject({ method: 'GET', url: href('retrieveThing') })).statusCode, 200);
  }
});

t.test('tdd-notification-sse: GET /events streams thing_created, thing_updated and thing_deleted with ids (tdd-notification-event-id), resumable with Last-Event-ID', async (t) => {
  const { servient } = await node(t);
  const { url } = await servient.start();
  const all = await openSse(t, `${url}events`);
  t.equal(all.status, 200);
  t.match(all.headers['content-type'], /^text\/event-stream/);
  const created = await openSse(t, `${url}events/thing_created?diff=true`);
  const updates = await openSse(t, `${url}events/thing_updated?diff=true`);
  t.equal((await put(servient, LAMP_URL, lamp())).statusCode, 201);
  t.equal((await patch(servient, LAMP_URL, { title: 'Patched' })).statusCode, 204);
  t.equal((await servient.app.inject({ method: 'DELETE', url: LAMP_URL })).statusCode, 204);

  const first = await all.nextEvent();
  t.match(first, { event: 'thing_created' }, 'tdd-notification-event-types');
  t.same(JSON.parse(first.data!), { id: LAMP_ID }, 'tdd-notification-data-td-id: without diff, the id only');
  const second = await all.nextEvent();
  t.match(second, { event: 'thing_updated' });
  t.same(JSON.parse(second.data!), { id: LAMP_ID });
  const third = await all.nextEvent();
  t.match(third, { event: 'thing_deleted' });
  t.same(JSON.parse(third.data!), { id: LAMP_ID }, 'tdd-notification-data-delete-diff: a deletion sends the id');
  t.ok(first.id! < second.id! && second.id! < third.id!, 'ids rise');

  const full = await created.nextEvent();
  t.equal(full.event, 'thing_created', 'tdd-notification-filter-type: only the type asked for');
  t.match(JSON.parse(full.data!), { id: LAMP_ID, title: 'Lamp', registration: {} }, 'tdd-notification-data-create-full: with diff, the whole TD');
  const change = await updates.nextEvent();
  t.equal(change.event, 'thing_updated');
  const diff = JSON.parse(change.data!) as Record<string, unknown>;
  t.equal(diff.id, LAMP_ID, 'tdd-notification-data-update-id');
  t.equal(diff.title, 'Patched', 'tdd-notification-data-update-diff: the changed members');
  t.notOk('properties' in diff, 'unchanged members are not sent');

  // A consumer that saw only the creation gets the rest again.
  const resumed = await openSse(t, `${url}events`, { 'last-event-id': first.id! });
  t.match(await resumed.nextEvent(), { id: second.id, event: 'thing_updated' });
  t.match(await resumed.nextEvent(), { id: third.id, event: 'thing_deleted' });
  assertProblem(t, await servient.app.inject({ method: 'GET', url: '/events/thing_moved' }), { status: 404, code: 'FLOWCHAIN_ERR_ROUTE_NOT_FOUND' });
  all.close();
  created.close();
  updates.close();
  resumed.close();
});

t.test('a TD registered at a started node is published into the ring, signed by it, and survives as a ring entry', async (t) => {
  const { servient } = await node(t);
  await servient.start();
  t.equal((await put(servient, LAMP_URL, lamp({ registration: { ttl: 600 } }))).statusCode, 201);
  const entry = await servient.directory.entryOf(LAMP_ID);
  t.ok(entry, 'the ring holds an entry');
  t.equal(entry?.td?.title, 'Lamp');
  t.match(entry?.registration, { ttl: 600 });
  t.ok(entry && servient.directory.isOwn(entry), 'signed by this node');
  t.equal(await servient.directory.hostOf(LAMP_ID), undefined, 'a registration names no host of the Thing');
  await servient.app.inject({ method: 'DELETE', url: LAMP_URL });
  t.equal((await servient.directory.entryOf(LAMP_ID))?.td, null, 'deletion publishes a tombstone');
});

t.test('tdd-notification-event-types for hosted Things: one produced and exposed is thing_created (the TD as served with diff), one destroyed thing_deleted', async (t) => {
  const { servient } = await node(t);
  const { url } = await servient.start();
  const events = await openSse(t, `${url}events?diff=true`);
  const thing = await servient.produce({ title: 'Fan', properties: { speed: { type: 'integer' } } });
  await thing.expose();
  const created = await events.nextEvent();
  t.equal(created.event, 'thing_created');
  const td = JSON.parse(created.data!) as ThingDescription;
  t.equal(td.id, thing.id);
  t.equal(td.base, url, 'rendered for the subscriber\'s base');
  t.ok(td.properties?.speed?.forms?.length, 'with its forms');
  await thing.destroy();
  const deleted = await events.nextEvent();
  t.equal(deleted.event, 'thing_deleted');
  t.same(JSON.parse(deleted.data!), { id: thing.id });
  events.close();
});

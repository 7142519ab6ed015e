/**
 * Typos in a TD are refused wherever a TD enters a node, naming the member's JSON Pointer and
 * the term it stands for: TD files (things/), produce(), and directory registrations (PUT, POST
 * and PATCH /things). JSON Schema allows unknown members and the TD context maps any term into
 * the TD namespace, so `"readonly": true` used to pass and leave a sensor value writable.
 * Namespaced extensions pass, and so does every TD a node serves.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadBundledContexts, loadTdSchema } from '../../src/bundled.js';
import type { ThingDescription } from '../../src/td/thing-description.js';
import { TdVocabulary } from '../../src/td/td-vocabulary.js';
import { assertProblem, body } from '../bindings/http/fixtures.js';
import { createServient, tempDir } from '../helpers/test-servient.js';

const TD11 = 'https://www.w3.org/2022/wot/td/v1.1';

/** The three typos of the issue: the member written, the field it is at, the term meant. */
const TYPOS = [
  { member: { readonly: true }, term: 'readonly', meant: 'readOnly' },
  { member: { minimun: -40 }, term: 'minimun', meant: 'minimum' },
  { member: { tpye: 'number' }, term: 'tpye', meant: 'type' },
] as const;

/** A sensor fragment whose `value` property carries `member`. */
const sensor = (member: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  '@context': [TD11, { saref: 'https://saref.etsi.org/core/' }],
  title: 'Sensor',
  properties: { value: { type: 'number', observable: true, ...member } },
  ...extra,
});

/** A complete TD of a Thing hosted elsewhere, for the directory. */
const remote = (id: string | undefined, member: Record<string, unknown>, context: unknown = TD11) => ({
  '@context': context,
  ...(id === undefined ? {} : { id }),
  title: 'Sensor',
  securityDefinitions: { nosec_sc: { scheme: 'nosec' } },
  security: 'nosec_sc',
  properties: { value: { type: 'number', ...member, forms: [{ href: 'http://sensor.example/value' }] } },
});

const json = { 'content-type': 'application/td+json' };

t.test('a TD file with a typo is refused at start-up with FLOWCHAIN_ERR_TD_TERM_UNKNOWN, naming the file, the field and the term meant', async (t) => {
  for (const { member, term, meant } of TYPOS) {
    const things = tempDir(t);
    writeFileSync(join(things, 'sensor.td.json'), JSON.stringify(sensor(member)));
    await t.rejects(createServient(t, { things }), {
      code: 'FLOWCHAIN_ERR_TD_TERM_UNKNOWN',
      field: `/properties/value/${term}`,
      message: new RegExp(`sensor\\.td\\.json: .*/properties/value/${term} .*did you mean \`${meant}\`\\?`),
    }, term);
  }
});

t.test('produce() refuses a fragment with a typo, and nothing is produced', async (t) => {
  const { servient } = await createServient(t, { things: tempDir(t) });
  for (const { member, term, meant } of TYPOS) {
    await t.rejects(servient.produce(sensor(member) as never), { code: 'FLOWCHAIN_ERR_TD_TERM_UNKNOWN', field: `/properties/value/${term}`, message: new RegExp(`did you mean \`${meant}\`\\?`) }, term);
  }
  t.same(servient.things.map((thing) => thing.slug), ['ledger', 'alerts'], 'only the ledger and alerts Things');
  const fixed = await servient.produce(sensor({ readOnly: true }) as never, { slug: 'sensor' });
  t.equal(fixed.slug, 'sensor', 'the corrected fragment is produced');
});

t.test('namespaced extensions are accepted in TD files and produce(): a declared prefix, a full IRI, a term an object entry of @context defines', async (t) => {
  const extended = (title: string) => sensor(
    { 'saref:isMeasuredIn': 'om:degreeCelsius', 'https://example.org/ext#calibrated': true, calibration: '2024-01-01' },
    { title, '@context': [TD11, { saref: 'https://saref.etsi.org/core/', om: 'http://www.ontology-of-units-of-measure.org/resource/om-2/', calibration: 'https://example.org/ext#calibration' }], '@type': ['Thing', 'saref:Sensor'] },
  );
  const things = tempDir(t);
  writeFileSync(join(things, 'probe.td.json'), JSON.stringify(extended('Probe')));
  const { servient } = await createServient(t, { things });
  t.ok(servient.registry.has('probe'), 'the TD file');
  t.ok(await servient.produce(extended('Produced') as never), 'the produced fragment');
  await t.rejects(servient.produce(sensor({ 'sarf:isMeasuredIn': 'x' }, { title: 'Bad prefix' }) as never), { code: 'FLOWCHAIN_ERR_TD_TERM_UNKNOWN', message: /did you mean `saref:isMeasuredIn`\?/ }, 'an undeclared prefix is not');
});

t.test('directory registrations with a typo are refused: 400 FLOWCHAIN_ERR_DIRECTORY_TD_INVALID, the typo in validationErrors, nothing stored', async (t) => {
  const { servient } = await createServient(t, { randomUuid: () => '00000000-0000-4000-8000-000000000001' });
  for (const { member, term, meant } of TYPOS) {
    const url = `/things/${encodeURIComponent(`urn:example:${term}`)}`;
    const put = await servient.app.inject({ method: 'PUT', url, headers: json, payload: JSON.stringify(remote(`urn:example:${term}`, member)) });
    const problem = assertProblem(t, put, { status: 400, code: 'FLOWCHAIN_ERR_DIRECTORY_TD_INVALID' });
    t.match(problem.validationErrors, [{ field: `/properties/value/${term}`, description: new RegExp(`did you mean \`${meant}\`\\?`) }], `PUT: ${term}`);
    t.equal((await servient.app.inject({ method: 'GET', url })).statusCode, 404, 'nothing stored');
    const post = await servient.app.inject({ method: 'POST', url: '/things', headers: json, payload: JSON.stringify(remote(undefined, member)) });
    t.match(assertProblem(t, post, { status: 400, code: 'FLOWCHAIN_ERR_DIRECTORY_TD_INVALID' }).validationErrors, [{ field: `/properties/value/${term}` }], `POST: ${term}`);
  }
  const url = `/things/${encodeURIComponent('urn:example:patched')}`;
  t.equal((await servient.app.inject({ method: 'PUT', url, headers: json, payload: JSON.stringify(remote('urn:example:patched', { readOnly: true })) })).statusCode, 201);
  const patch = await servient.app.inject({ method: 'PATCH', url, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ properties: { value: { readOnly: null, readonly: true } } }) });
  t.match(assertProblem(t, patch, { status: 400, code: 'FLOWCHAIN_ERR_DIRECTORY_TD_INVALID' }).validationErrors, [{ field: '/properties/value/readonly' }], 'PATCH');
  t.equal(body<ThingDescription>(await servient.app.inject({ method: 'GET', url })).properties?.value?.readOnly, true, 'the stored TD is unchanged');
});

t.test('the directory accepts namespaced extensions, and a TD naming a context it does not bundle (whose terms it cannot know)', async (t) => {
  const { servient } = await createServient(t);
  const extended = remote('urn:example:extended', { 'saref:isMeasuredIn': 'om:degreeCelsius', 'https://example.org/ext#calibrated': true }, [TD11, { saref: 'https://saref.etsi.org/core/' }]);
  t.equal((await servient.app.inject({ method: 'PUT', url: `/things/${encodeURIComponent('urn:example:extended')}`, headers: json, payload: JSON.stringify(extended) })).statusCode, 201);
  const foreign = remote('urn:example:foreign', { colour: 'red' }, [TD11, 'https://example.org/private-context']);
  t.equal((await servient.app.inject({ method: 'PUT', url: `/things/${encodeURIComponent('urn:example:foreign')}`, headers: json, payload: JSON.stringify(foreign) })).statusCode, 201, '`colour` may be a term of that context');
});

t.test('every TD a node serves uses known terms only: its Things, the directory Thing, a registration as served', async (t) => {
  const vocabulary = new TdVocabulary(loadTdSchema(), loadBundledContexts());
  for (const options of [{}, { authToken: 'td-terms-token-0123456789' }]) {
    const { servient } = await createServient(t, options);
    const headers = 'authToken' in options ? { ...json, authorization: `Bearer ${options.authToken}` } : json;
    const put = await servient.app.inject({ method: 'PUT', url: `/things/${encodeURIComponent('urn:example:lamp')}`, headers, payload: JSON.stringify({ ...remote('urn:example:lamp', {}), registration: { ttl: 60 } }) });
    t.equal(put.statusCode, 201);
    const listing = body<ThingDescription[]>(await servient.app.inject({ method: 'GET', url: '/things' }));
    const node = body<ThingDescription>(await servient.app.inject({ method: 'GET', url: '/.well-known/wot' }));
    t.same(listing.map((td) => td.title).sort(), ['Alerts', 'Environment sensor', 'Ledger', 'Sensor', 'Smart plug', 'Thermostat'], 'the sample Things, the ledger and alerts Things and the registration');
    for (const td of [...listing, node]) t.same(vocabulary.unknownTerms(td), [], `${td.title}`);
    for (const thing of servient.things) {
      const validation = body<{ valid: boolean }>(await servient.app.inject({ method: 'GET', url: `/things/${thing.slug}/validation` }));
      t.equal(validation.valid, true, `/things/${thing.slug}/validation`);
    }
  }
});

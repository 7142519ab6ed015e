import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { ledgerThingDescription } from '../../src/broker/ledger-thing.js';
import { BUNDLED_THINGS, loadBundledContexts, loadTdSchema } from '../../src/bundled.js';
import { HTTP_FORMS } from '../../src/bindings/http/http-forms.js';
import { buildNodeDescription } from '../../src/bindings/http/node-description.js';
import { buildThingDescription as buildWith, type ExposureOptions } from '../../src/td/td-builder.js';
import type { ThingDescription } from '../../src/td/thing-description.js';
import { editDistance, nearestTerm, TdVocabulary } from '../../src/td/td-vocabulary.js';
import { readSpecJson, W3C_TD_SCHEMA } from '../helpers/w3c-spec.js';

/** A TD as the node serves it: the neutral builder with the HTTP binding's forms. */
const buildThingDescription = (td: ThingDescription, id: { id: string; slug: string }, exposure: ExposureOptions): ThingDescription => buildWith(td, id, exposure, [HTTP_FORMS]);

const vocabulary = new TdVocabulary(W3C_TD_SCHEMA(), loadBundledContexts());
const TD11 = 'https://www.w3.org/2022/wot/td/v1.1';

const sensor = (property: Record<string, unknown>, extra: Record<string, unknown> = {}): ThingDescription => ({
  '@context': [TD11, { saref: 'https://saref.etsi.org/core/' }],
  title: 'Sensor',
  properties: { value: { type: 'number', observable: true, ...property } },
  ...extra,
});

/** The sample TD files as the servient reads them (the `driver` member is Flowchain's, defined by its context). */
const sampleFiles = (): [string, ThingDescription][] =>
  readdirSync(BUNDLED_THINGS)
    .filter((name) => name.endsWith('.td.json'))
    .map((name) => [name, JSON.parse(readFileSync(join(BUNDLED_THINGS, name), 'utf8')) as ThingDescription]);

t.test('the three typos of the issue are refused, each at its JSON Pointer with the term it stands for', async (t) => {
  const cases = [
    [{ readonly: true }, '/properties/value/readonly', 'readOnly'],
    [{ minimun: 0 }, '/properties/value/minimun', 'minimum'],
    [{ tpye: 'number' }, '/properties/value/tpye', 'type'],
  ] as const;
  for (const [property, field, suggestion] of cases) {
    const [fault, ...rest] = vocabulary.unknownTerms(sensor(property));
    t.match(fault, { field, suggestion, term: field.split('/').at(-1) }, field);
    t.match(fault!.description, `did you mean \`${suggestion}\`?`);
    t.same(rest, [], 'nothing else');
  }
  const nested = sensor({}, { actions: { boost: { input: { type: 'object', properties: { minutes: { type: 'integer', minimun: 1 } } } } } });
  t.match(vocabulary.unknownTerms(nested), [{ field: '/actions/boost/input/properties/minutes/minimun', suggestion: 'minimum' }], 'inside a nested data schema too');
});

t.test('namespaced extensions stay allowed: a prefix the @context declares, a full IRI, a term an object entry of @context defines', async (t) => {
  const td = sensor(
    { 'saref:hasState': { anything: 1 }, 'https://example.org/ext#colour': 'red', colour: 'red', 'htv:methodName': 'GET' },
    { '@context': [TD11, { saref: 'https://saref.etsi.org/core/', colour: 'https://example.org/ext#colour' }], 'urn:example:note': 'x', 'saref:Sensor': true },
  );
  t.same(vocabulary.unknownTerms(td), []);
  t.same(vocabulary.unknownTerms({ ...td, '@context': [TD11, { saref: 'https://saref.etsi.org/core/' }] }).map((f) => f.field), ['/properties/value/colour'], 'the same term without its definition is refused');
});

t.test('a prefix the @context does not declare is refused, with the declared one it most likely stands for', async (t) => {
  const [fault] = vocabulary.unknownTerms(sensor({ 'sarf:hasState': 1 }));
  t.match(fault, { field: '/properties/value/sarf:hasState', suggestion: 'saref:hasState' });
  t.match(fault!.description, /prefix `sarf`/);
});

t.test('names are not terms: affordance, property, security scheme and URI variable names, language tags', async (t) => {
  const td: ThingDescription = {
    '@context': TD11,
    title: 'Names',
    titles: { de: 'Namen', 'zh-Hant': '名稱' },
    securityDefinitions: { tpye_sc: { scheme: 'nosec' } },
    security: 'tpye_sc',
    properties: {
      readonly: { type: 'object', properties: { minimun: { type: 'integer' } }, required: ['minimun'] },
    },
    actions: { tpye: { uriVariables: { colour: { type: 'string' } } } },
    events: { minimun: {} },
    schemaDefinitions: { readonly: { type: 'string' } },
  };
  t.same(vocabulary.unknownTerms(td), []);
});

t.test('JSON values are not terms: const, default, enum (open in the JSON Schema) and @json terms (Flowchain\'s driver)', async (t) => {
  const td = sensor({ type: 'object', const: { readonly: 1 }, default: { tpye: 2 }, enum: [{ minimun: 3 }] }, { '@context': [TD11, 'https://w3id.org/flowchain/v1'], driver: { type: 'x', options: { readonly: true } } });
  t.same(vocabulary.unknownTerms(td), []);
});

t.test("a term of a bundled context the TD does not name is refused, naming that context", async (t) => {
  const [fault] = vocabulary.unknownTerms(sensor({ recorded: false }));
  t.match(fault, { field: '/properties/value/recorded' });
  t.match(fault!.description, 'https://w3id.org/flowchain/v1');
  t.same(vocabulary.unknownTerms(sensor({ recorded: false }, { '@context': [TD11, 'https://w3id.org/flowchain/v1'] })), [], 'named by URL');
  t.same(vocabulary.unknownTerms(sensor({ recorded: false }, { '@context': [TD11, { flowchain: 'https://w3id.org/flowchain#', recorded: 'flowchain:recorded' }] })), [], 'defined inline, as served TDs do');
});

t.test('a TD naming a context that is not bundled may define anything there: nothing is refused as unknown', async (t) => {
  t.same(vocabulary.unknownTerms(sensor({ readonly: true }, { '@context': [TD11, 'https://example.org/private-context'] })), []);
});

t.test('JSON-LD keywords are left to the expansion; a list of faults stops at max', async (t) => {
  t.same(vocabulary.unknownTerms(sensor({ '@type': 'saref:Temperature', '@id': 'urn:x' })), []);
  const many = sensor(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`extra${i}`, i])));
  t.equal(vocabulary.unknownTerms(many, 5).length, 5);
  t.equal(vocabulary.unknownTerms(many).length, 20, 'at most 20 by default');
  t.same(vocabulary.unknownTerms('not a TD'), []);
});

t.test('the vocabulary is derived from the vendored W3C files: every TD 1.1 context term and every JSON Schema member', async (t) => {
  const context = (readSpecJson('contexts/td-context-1.1.jsonld') as { '@context': Record<string, { '@context'?: Record<string, unknown> } | string> })['@context'];
  const expected = new Set<string>();
  for (const [term, definition] of Object.entries(context)) {
    expected.add(term);
    if (typeof definition === 'object' && definition['@context']) for (const scoped of Object.keys(definition['@context'])) expected.add(scoped);
  }
  for (const term of expected) if (!term.startsWith('@')) t.ok(vocabulary.baseTerms.has(term), term);
  for (const term of ['readOnly', 'writeOnly', 'minimum', 'exclusiveMaximum', 'multipleOf', 'contentMediaType', 'synchronous', 'observable', 'subprotocol', 'additionalResponses']) t.ok(vocabulary.baseTerms.has(term), `${term} is known`);
  t.notOk(vocabulary.baseTerms.has('readonly'), 'a typo is not');
  t.notOk(vocabulary.baseTerms.has('recorded'), "Flowchain's terms only come with Flowchain's context");
  t.same(new TdVocabulary(loadTdSchema(), loadBundledContexts()).baseTerms, vocabulary.baseTerms, 'the servient loads the same files');
  t.throws(() => new TdVocabulary(W3C_TD_SCHEMA(), new Map()), { code: 'FLOWCHAIN_ERR_TD_CONTEXT_UNKNOWN' });
});

t.test('every sample TD file, and every TD a node serves from them, uses known terms only', async (t) => {
  const exposures = [{ base: 'http://node.local:8080/', bearerAuth: false }, { base: 'https://node.local/', bearerAuth: true, basicAuth: true }];
  const files = sampleFiles();
  t.ok(files.length >= 3, 'the sample Things');
  for (const [name, file] of files) {
    t.same(vocabulary.unknownTerms(file), [], name);
    const { driver: _driver, ...td } = file;
    for (const exposure of exposures) t.same(vocabulary.unknownTerms(buildThingDescription(td as ThingDescription, { id: 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e', slug: name.replace('.td.json', '') }, exposure)), [], `${name} as served`);
  }
  for (const exposure of exposures) {
    t.same(vocabulary.unknownTerms(buildThingDescription(ledgerThingDescription(true), { id: 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e', slug: 'ledger' }, exposure)), [], 'the ledger Thing');
    t.same(vocabulary.unknownTerms(buildNodeDescription('urn:uuid:7c9e6679-7425-40de-944b-e07fc1f90ae7', [{ slug: 'lamp', title: 'Lamp' }], exposure)), [], 'the directory Thing');
  }
});

t.test('the nearest term: a case-insensitive match first, then the smallest edit distance within a third of the length', async (t) => {
  const terms = ['readOnly', 'writeOnly', 'type', 'minimum', 'maximum', 'title'];
  t.equal(nearestTerm('readonly', terms), 'readOnly');
  t.equal(nearestTerm('READONLY', terms), 'readOnly');
  t.equal(nearestTerm('tpye', terms), 'type', 'a transposition is one edit');
  t.equal(nearestTerm('minimun', terms), 'minimum');
  t.equal(nearestTerm('maximun', terms), 'maximum');
  t.equal(nearestTerm('colour', terms), undefined, 'nothing near');
  t.equal(nearestTerm('tipe', ['type', 'tide']), 'tide', 'a tie goes to the first in code-point order');
  t.equal(editDistance('tpye', 'type'), 1);
  t.equal(editDistance('', 'abc'), 3);
  t.equal(editDistance('kitten', 'sitting'), 3);
});

t.test('edit distance: zero exactly for equal words, symmetric, at most the longer length', async () => {
  const word = fc.string({ maxLength: 12 });
  fc.assert(
    fc.property(word, word, (a, b) => {
      const d = editDistance(a, b);
      return d === editDistance(b, a) && (d === 0) === (a === b) && d <= Math.max(a.length, b.length) && d >= Math.abs(a.length - b.length);
    }),
    { seed: 23, numRuns: 500 },
  );
});

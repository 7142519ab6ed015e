import { Ajv } from 'ajv';
import t from 'tap';
import { loadBundledContexts, w3cContexts } from '../../src/bundled.js';
import { FLOWCHAIN_CONTEXT_URL, FLOWCHAIN_INLINE_CONTEXT } from '../../src/td/flowchain-context.js';
import { expandThingDescription } from '../../src/td/json-ld.js';
import { HTTP_FORMS } from '../../src/bindings/http/http-forms.js';
import { buildNodeDescription } from '../../src/bindings/http/node-description.js';
import { buildThingDescription as buildWith, type ExposureOptions } from '../../src/td/td-builder.js';
import { servedContext, SERVED_TD_CONTEXTS, TD_CONTEXT_V1, TD_CONTEXT_V11 } from '../../src/td/td-context.js';
import type { Json, ThingDescription } from '../../src/td/thing-description.js';
import { TdValidator } from '../../src/td/td-validator.js';
import { readSpecJson, W3C_TD_SCHEMA } from '../helpers/w3c-spec.js';

/** A TD as the node serves it: the neutral builder with the HTTP binding's forms. */
const buildThingDescription = (td: ThingDescription, id: { id: string; slug: string }, exposure: ExposureOptions): ThingDescription => buildWith(td, id, exposure, [HTTP_FORMS]);

const saref = { saref: 'https://saref.etsi.org/core/' };
const identity = { id: 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e', slug: 'lamp' };
const exposures = [
  { base: 'http://node.local:8080/', bearerAuth: false },
  { base: 'https://node.local/', bearerAuth: true, basicAuth: true },
];
const lamp = (context: Json): ThingDescription => ({ '@context': context, title: 'Lamp', properties: { on: { type: 'boolean', observable: true, recorded: false } } });

/** The TD 1.0 Recommendation's check of `@context` (its `thing-context` definition), as a TD 1.0 consumer makes it. */
function td10ContextCheck(): (context: unknown) => boolean {
  const td10 = readSpecJson('schemas/td-1.0-json-schema.json') as { definitions: object };
  const validate = new Ajv({ strict: false }).compile({ definitions: td10.definitions, $ref: '#/definitions/thing-context' });
  return (context) => validate(context) as boolean;
}

t.test('a served context names the TD 1.0 URI first, the TD 1.1 URI second, then the other entries in their order', async (t) => {
  t.same(SERVED_TD_CONTEXTS, ['https://www.w3.org/2019/wot/td/v1', 'https://www.w3.org/2022/wot/td/v1.1']);
  t.same(servedContext(TD_CONTEXT_V11), [TD_CONTEXT_V1, TD_CONTEXT_V11], 'the 1.1 URI alone');
  t.same(servedContext([TD_CONTEXT_V11, FLOWCHAIN_CONTEXT_URL, saref]), [TD_CONTEXT_V1, TD_CONTEXT_V11, FLOWCHAIN_INLINE_CONTEXT, saref], "Flowchain's URL inlined, saref kept");
  t.same(servedContext([TD_CONTEXT_V1, TD_CONTEXT_V11, saref]), [TD_CONTEXT_V1, TD_CONTEXT_V11, saref], 'already dual: unchanged');
  t.same(servedContext([saref, TD_CONTEXT_V11, TD_CONTEXT_V1]), [TD_CONTEXT_V1, TD_CONTEXT_V11, saref], 'TD URIs moved to the front, each once');
  t.same(servedContext(TD_CONTEXT_V1), [TD_CONTEXT_V1, TD_CONTEXT_V11], 'a TD 1.0 file gets the 1.1 URI too');
});

t.test('a context naming no TD context is left for the schema check to refuse, not turned into a TD', async (t) => {
  const validator = new TdValidator(W3C_TD_SCHEMA());
  t.same(servedContext('https://example.org/not-a-td'), 'https://example.org/not-a-td');
  t.same(servedContext([FLOWCHAIN_CONTEXT_URL, saref]), [FLOWCHAIN_INLINE_CONTEXT, saref]);
  const td = buildThingDescription(lamp([FLOWCHAIN_CONTEXT_URL, saref]), identity, exposures[0]!);
  t.throws(() => validator.assertValid(td, 'lamp'), { code: 'FLOWCHAIN_ERR_TD_INVALID', field: '/@context' });
});

t.test("every served TD's context passes TD 1.0's check, and the TD still validates against TD 1.1 and expands with the W3C contexts alone", async (t) => {
  const accepts10 = td10ContextCheck();
  t.notOk(accepts10([TD_CONTEXT_V11, saref]), 'the check refuses the 1.1 URI alone (what node-wot reported)');
  const validator = new TdValidator(W3C_TD_SCHEMA());
  const w3c = w3cContexts(loadBundledContexts());
  for (const exposure of exposures) {
    const tds = [
      buildThingDescription(lamp([TD_CONTEXT_V11, FLOWCHAIN_CONTEXT_URL, saref]), identity, exposure),
      buildThingDescription(lamp([TD_CONTEXT_V1, FLOWCHAIN_CONTEXT_URL]), identity, exposure),
      buildNodeDescription('urn:uuid:7c9e6679-7425-40de-944b-e07fc1f90ae7', [{ slug: 'lamp', title: 'Lamp' }], exposure),
    ];
    for (const td of tds) {
      t.same((td['@context'] as Json[]).slice(0, 2), [TD_CONTEXT_V1, TD_CONTEXT_V11], `${td.title}: the dual context`);
      t.ok(accepts10(td['@context']), `${td.title}: TD 1.0's thing-context accepts it`);
      t.equal(validator.explain(td), undefined, `${td.title}: valid against the TD 1.1 JSON Schema`);
      const [node] = (await expandThingDescription(td, w3c)) as Record<string, unknown>[];
      t.ok(node!['https://www.w3.org/2019/wot/td#title'], `${td.title}: expands with the W3C contexts alone`);
    }
  }
  const node = buildNodeDescription('urn:uuid:7c9e6679-7425-40de-944b-e07fc1f90ae7', [], exposures[0]!);
  t.same(node['@context'], [TD_CONTEXT_V1, TD_CONTEXT_V11, 'https://www.w3.org/2022/wot/discovery'], 'the directory Thing keeps the discovery context after them');
});

t.test('both TD URIs dereference to the TD 1.1 context, so naming both changes no meaning', async (t) => {
  const contexts = loadBundledContexts();
  t.same(contexts.get(TD_CONTEXT_V1), readSpecJson('contexts/td-context-1.1.jsonld'));
  t.same(contexts.get(TD_CONTEXT_V11), readSpecJson('contexts/td-context-1.1.jsonld'));
  const w3c = w3cContexts(contexts);
  const one = await expandThingDescription({ ...lamp([TD_CONTEXT_V11, saref]), id: identity.id }, w3c);
  const both = await expandThingDescription({ ...lamp([TD_CONTEXT_V1, TD_CONTEXT_V11, saref]), id: identity.id }, w3c);
  t.same(both, one);
});

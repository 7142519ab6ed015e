import t from 'tap';
import { loadBundledContexts } from '../../src/bundled.js';
import { createDocumentLoader, expandThingDescription } from '../../src/td/json-ld.js';
import { readSpecJson } from '../helpers/w3c-spec.js';

const TD = 'https://www.w3.org/2019/wot/td#';

t.test('bundled W3C contexts are the unchanged W3C files', async (t) => {
  const contexts = loadBundledContexts();
  t.same(contexts.get('https://www.w3.org/2022/wot/td/v1.1'), readSpecJson('contexts/td-context-1.1.jsonld'));
  t.same(contexts.get('https://www.w3.org/2022/wot/discovery'), readSpecJson('contexts/discovery-core.jsonld'));
});

t.test('a TD expands offline with the bundled contexts', async (t) => {
  const expanded = await expandThingDescription(
    {
      '@context': ['https://www.w3.org/2022/wot/td/v1.1', 'https://w3id.org/flowchain/v1'],
      title: 'Lamp',
      driver: { type: 'x', options: { a: 1 } },
      properties: { on: { type: 'boolean', forms: [{ href: 'http://localhost/on' }] } },
    },
    loadBundledContexts(),
  );
  const node = expanded[0] as Record<string, unknown>;
  t.same(node[`${TD}title`], [{ '@language': 'en', '@value': 'Lamp' }], 'the TD context sets English as the default language');
  t.ok(node[`${TD}hasPropertyAffordance`], 'properties expand to td:hasPropertyAffordance');
  t.same(node['https://w3id.org/flowchain#driver'], [{ '@type': '@json', '@value': { type: 'x', options: { a: 1 } } }], 'driver is kept as a JSON literal');
});

t.test('a context that is not bundled fails with FLOWCHAIN_ERR_TD_CONTEXT_UNKNOWN, without a network call', async (t) => {
  const td = { '@context': ['https://www.w3.org/2022/wot/td/v1.1', 'https://example.org/ctx'], title: 'x' };
  await t.rejects(expandThingDescription(td, loadBundledContexts()), { code: 'FLOWCHAIN_ERR_TD_CONTEXT_UNKNOWN' });
});

t.test('the document loader answers only bundled URLs', async (t) => {
  const loader = createDocumentLoader(new Map([['https://a.example/ctx', { '@context': {} }]]));
  t.same((await loader('https://a.example/ctx')).document, { '@context': {} });
  await t.rejects(loader('https://b.example/ctx'), { code: 'FLOWCHAIN_ERR_TD_CONTEXT_UNKNOWN' });
});

t.test('a member no context defines fails (safe mode) instead of being silently dropped', async (t) => {
  // The TD context maps every term through @vocab, so use a context without one.
  const td = { '@context': { '@version': 1.1 }, 'no-such-term': 'x' };
  await t.rejects(expandThingDescription(td, loadBundledContexts()), { code: 'FLOWCHAIN_ERR_TD_INVALID' });
});

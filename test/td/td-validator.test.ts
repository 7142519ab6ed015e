import t from 'tap';
import { loadBundledContexts, loadTdSchema } from '../../src/bundled.js';
import { TdValidator } from '../../src/td/td-validator.js';
import { TdVocabulary } from '../../src/td/td-vocabulary.js';
import { readSpecText, W3C_TD_SCHEMA } from '../helpers/w3c-spec.js';

const minimal = {
  '@context': 'https://www.w3.org/2022/wot/td/v1.1',
  title: 'Lamp',
  securityDefinitions: { nosec_sc: { scheme: 'nosec' } },
  security: 'nosec_sc',
  properties: { on: { type: 'boolean', forms: [{ href: 'things/lamp/properties/on' }] } },
};

t.test('the schema the servient loads is the unchanged W3C TD 1.1 schema', async (t) => {
  t.same(loadTdSchema(), JSON.parse(readSpecText('schemas/td-1.1-json-schema.json')));
});

t.test('a minimal valid TD passes', async (t) => {
  t.doesNotThrow(() => new TdValidator(W3C_TD_SCHEMA()).assertValid(minimal, 'lamp'));
});

t.test('a TD without security fails with FLOWCHAIN_ERR_TD_INVALID naming the field', async (t) => {
  const { security: _s, ...td } = minimal;
  t.throws(() => new TdValidator(W3C_TD_SCHEMA()).assertValid(td, 'lamp'), { code: 'FLOWCHAIN_ERR_TD_INVALID', field: '/' });
});

t.test('a property without forms fails naming the property', async (t) => {
  const td = { ...minimal, properties: { on: { type: 'boolean' } } };
  t.throws(() => new TdValidator(W3C_TD_SCHEMA()).assertValid(td, 'lamp'), { code: 'FLOWCHAIN_ERR_TD_INVALID', field: '/properties/on' });
});

t.test('a wrong @context fails', async (t) => {
  const td = { ...minimal, '@context': 'https://example.org/not-a-td' };
  t.throws(() => new TdValidator(W3C_TD_SCHEMA()).assertValid(td, 'lamp'), { code: 'FLOWCHAIN_ERR_TD_INVALID' });
});

t.test('explain names the first failing field, and nothing for a valid TD', async (t) => {
  const validator = new TdValidator(W3C_TD_SCHEMA());
  t.equal(validator.explain(minimal), undefined);
  const fault = validator.explain({ ...minimal, properties: { on: { type: 'boolean', forms: 'not-an-array' } } });
  t.match(fault, { field: /^\/properties\/on/, reason: /\S/ });
});

t.test('with a vocabulary, a TD that passes the schema but uses an unknown term fails with FLOWCHAIN_ERR_TD_TERM_UNKNOWN naming the field and the term meant', async (t) => {
  const validator = new TdValidator(W3C_TD_SCHEMA(), new TdVocabulary(W3C_TD_SCHEMA(), loadBundledContexts()));
  const typo = { ...minimal, properties: { on: { type: 'boolean', readonly: true, forms: [{ href: 'things/lamp/properties/on' }] } } };
  t.equal(new TdValidator(W3C_TD_SCHEMA()).explain(typo), undefined, 'the JSON Schema alone lets the typo pass');
  t.throws(() => validator.assertValid(typo, 'lamp'), { code: 'FLOWCHAIN_ERR_TD_TERM_UNKNOWN', field: '/properties/on/readonly', message: /^lamp: \/properties\/on\/readonly .*did you mean `readOnly`\?/ });
  t.match(validator.explain(typo), { field: '/properties/on/readonly', reason: /did you mean `readOnly`\?/ }, 'what /things/{thing}/validation reports');
  t.doesNotThrow(() => validator.assertValid(minimal, 'lamp'));
});

t.test('with a vocabulary, a schema fault still comes first, and faults lists the schema faults then every unknown term', async (t) => {
  const validator = new TdValidator(W3C_TD_SCHEMA(), new TdVocabulary(W3C_TD_SCHEMA(), loadBundledContexts()));
  const both = { ...minimal, tpye: 'Thing', properties: { on: { type: 'boolean', minimun: 0 } } };
  t.throws(() => validator.assertValid(both, 'lamp'), { code: 'FLOWCHAIN_ERR_TD_INVALID', field: '/properties/on' });
  const faults = validator.faults(both);
  t.match(faults[0], { field: '/properties/on' }, 'the schema fault first');
  t.match(faults.slice(1), [{ field: '/properties/on/minimun', description: /`minimum`/ }, { field: '/tpye', description: /`type`/ }], 'then the unknown terms, in document order');
  t.same(validator.faults(minimal), []);
  t.equal(validator.faults(both, 2).length, 2, 'at most max');
});

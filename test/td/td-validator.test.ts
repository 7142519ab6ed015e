import t from 'tap';
import { loadTdSchema } from '../../src/bundled.js';
import { TdValidator } from '../../src/td/td-validator.js';
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

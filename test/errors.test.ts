import t from 'tap';
import { describeError, ERRORS, FlowchainError, isFlowchainError } from '../src/errors.js';

t.test('every code is FLOWCHAIN_ERR_ in upper snake case and has an HTTP status', async (t) => {
  for (const [code, spec] of Object.entries(ERRORS)) {
    t.match(code, /^FLOWCHAIN_ERR_[A-Z]+(?:_[A-Z]+)*$/);
    t.ok(spec.status >= 400 && spec.status < 600, `${code} -> ${spec.status}`);
  }
});

t.test('a FlowchainError carries code, status, title, field and cause', async (t) => {
  const cause = new Error('disk');
  const err = new FlowchainError('FLOWCHAIN_ERR_VALUE_INVALID', 'x: must be <= 30', { field: 'x', cause });
  t.match(err, { code: 'FLOWCHAIN_ERR_VALUE_INVALID', status: 400, field: 'x', cause });
  t.ok(isFlowchainError(err, 'FLOWCHAIN_ERR_VALUE_INVALID'));
  t.notOk(isFlowchainError(err, 'FLOWCHAIN_ERR_THING_NOT_FOUND'));
  t.same(describeError(err), { code: 'FLOWCHAIN_ERR_VALUE_INVALID', status: 400, title: ERRORS.FLOWCHAIN_ERR_VALUE_INVALID.title, detail: 'x: must be <= 30', field: 'x' });
});

t.test('unexpected errors are described as internal without leaking their message', async (t) => {
  const body = describeError(new Error('secret path /etc/passwd'));
  t.equal(body.code, 'FLOWCHAIN_ERR_INTERNAL');
  t.equal(body.status, 500);
  t.notMatch(body.detail, /passwd/);
});

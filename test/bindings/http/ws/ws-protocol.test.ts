import t, { type Test } from 'tap';
import type { ErrorCode } from '../../../../src/errors.js';
import { decodeFrame, isProtected, parseRequest, requestIdOf, toRequest, type Operation } from '../../../../src/bindings/http/ws/ws-protocol.js';

const BY_NAME: Operation[] = ['readproperty', 'writeproperty', 'observeproperty', 'unobserveproperty', 'invokeaction', 'subscribeevent', 'unsubscribeevent'];

/** Asserts that parsing `text` throws `code` at `field`. */
function rejects(t: Test, text: string, code: ErrorCode, field: string): void {
  t.throws(() => parseRequest(text), { name: 'FlowchainError', code, field }, `${text} -> ${code} at ${field}`);
}

t.test('parseRequest accepts every operation with the members it needs', async (t) => {
  for (const op of BY_NAME) {
    const message = { id: 1, op, thingID: 'thermostat', name: 'mode' };
    t.same(parseRequest(JSON.stringify(message)), message, op);
  }
  t.same(parseRequest('{"id":"a","op":"readallproperties","thingID":"thermostat"}'), { id: 'a', op: 'readallproperties', thingID: 'thermostat' });
  t.same(parseRequest('{"id":2,"op":"readmultipleproperties","thingID":"t","names":["a","b"]}').names, ['a', 'b']);
  t.same(parseRequest('{"id":2,"op":"readmultipleproperties","thingID":"t","names":[]}').names, [], 'an empty list of names is a valid request');
  t.same(parseRequest('{"id":3,"op":"writemultipleproperties","thingID":"t","values":{"a":1}}').values, { a: 1 });
});

t.test('parseRequest keeps value and input as sent, including falsy ones', async (t) => {
  t.equal(parseRequest('{"id":1,"op":"writeproperty","thingID":"t","name":"on","value":false}').value, false);
  t.equal(parseRequest('{"id":1,"op":"writeproperty","thingID":"t","name":"n","value":0}').value, 0);
  t.equal(parseRequest('{"id":1,"op":"writeproperty","thingID":"t","name":"n","value":null}').value, null);
  t.same(parseRequest('{"id":1,"op":"invokeaction","thingID":"t","name":"boost","input":{"minutes":5}}').input, { minutes: 5 });
});

t.test('ids may be strings or numbers, including 0 and the empty string', async (t) => {
  t.equal(parseRequest('{"id":0,"op":"readallproperties","thingID":"t"}').id, 0);
  t.equal(parseRequest('{"id":"","op":"readallproperties","thingID":"t"}').id, '');
  t.equal(parseRequest('{"id":-1.5,"op":"readallproperties","thingID":"t"}').id, -1.5);
});

t.test('text that is not a JSON object fails with FLOWCHAIN_ERR_REQUEST_MALFORMED at /', async (t) => {
  for (const text of ['', '{', 'hello', '{"id":1,}', '[]', '[{"id":1}]', 'null', '42', '"readproperty"', 'true']) {
    rejects(t, text, 'FLOWCHAIN_ERR_REQUEST_MALFORMED', '/');
  }
});

t.test('a missing or non-scalar id fails with FLOWCHAIN_ERR_REQUEST_MALFORMED at /id', async (t) => {
  for (const id of [undefined, null, true, {}, [1]]) {
    rejects(t, JSON.stringify({ id, op: 'readallproperties', thingID: 't' }), 'FLOWCHAIN_ERR_REQUEST_MALFORMED', '/id');
  }
});

t.test('a missing or non-string op fails with FLOWCHAIN_ERR_REQUEST_MALFORMED at /op', async (t) => {
  rejects(t, '{"id":1,"thingID":"t"}', 'FLOWCHAIN_ERR_REQUEST_MALFORMED', '/op');
  rejects(t, '{"id":1,"op":7,"thingID":"t"}', 'FLOWCHAIN_ERR_REQUEST_MALFORMED', '/op');
});

t.test('an unknown op fails with FLOWCHAIN_ERR_OPERATION_UNKNOWN at /op, even one named like an Object member', async (t) => {
  for (const op of ['readProperty', 'writeallproperties', 'queryallactions', 'toString', '__proto__', 'constructor', 'hasOwnProperty', '']) {
    rejects(t, JSON.stringify({ id: 1, op, thingID: 't', name: 'x' }), 'FLOWCHAIN_ERR_OPERATION_UNKNOWN', '/op');
  }
});

t.test('a missing or non-string thingID fails with FLOWCHAIN_ERR_REQUEST_MALFORMED at /thingID', async (t) => {
  rejects(t, '{"id":1,"op":"readproperty","name":"mode"}', 'FLOWCHAIN_ERR_REQUEST_MALFORMED', '/thingID');
  rejects(t, '{"id":1,"op":"readallproperties","thingID":3}', 'FLOWCHAIN_ERR_REQUEST_MALFORMED', '/thingID');
});

t.test('an operation on one affordance without a string name fails with FLOWCHAIN_ERR_REQUEST_MALFORMED at /name', async (t) => {
  for (const op of BY_NAME) {
    rejects(t, JSON.stringify({ id: 1, op, thingID: 't' }), 'FLOWCHAIN_ERR_REQUEST_MALFORMED', '/name');
    rejects(t, JSON.stringify({ id: 1, op, thingID: 't', name: 1 }), 'FLOWCHAIN_ERR_REQUEST_MALFORMED', '/name');
  }
});

t.test('readmultipleproperties without an array of strings fails at /names', async (t) => {
  for (const names of [undefined, 'mode', ['mode', 1], { 0: 'mode' }, null]) {
    rejects(t, JSON.stringify({ id: 1, op: 'readmultipleproperties', thingID: 't', names }), 'FLOWCHAIN_ERR_REQUEST_MALFORMED', '/names');
  }
});

t.test('writemultipleproperties without an object of values fails at /values', async (t) => {
  for (const values of [undefined, null, [], [['mode', 'cool']], 'mode=cool', 3]) {
    rejects(t, JSON.stringify({ id: 1, op: 'writemultipleproperties', thingID: 't', values }), 'FLOWCHAIN_ERR_REQUEST_MALFORMED', '/values');
  }
});

t.test('decodeFrame returns any JSON value and rejects non-JSON at /', async (t) => {
  t.same(decodeFrame('{"id":1}'), { id: 1 });
  t.same(decodeFrame('[1]'), [1]);
  t.equal(decodeFrame('null'), null);
  for (const text of ['', '{', "{'id':1}", 'undefined']) {
    t.throws(() => decodeFrame(text), { code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: '/' }, JSON.stringify(text));
  }
});

t.test('toRequest checks an already decoded message, so its id is known even when it is refused', async (t) => {
  const message = decodeFrame('{"id":"abc","op":"readproperty","thingID":"t"}');
  t.equal(requestIdOf(message), 'abc');
  t.throws(() => toRequest(message), { code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: '/name' });
  t.same(toRequest({ id: 1, op: 'readallproperties', thingID: 't' }), { id: 1, op: 'readallproperties', thingID: 't' });
  t.throws(() => toRequest('{"id":1}'), { code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: '/' }, 'a string is not a decoded object');
});

t.test('requestIdOf finds a string or number id in anything, else null', async (t) => {
  t.equal(requestIdOf({ id: 7 }), 7);
  t.equal(requestIdOf({ id: 'x' }), 'x');
  t.equal(requestIdOf({ id: null }), null);
  t.equal(requestIdOf({ id: true }), null);
  t.equal(requestIdOf({}), null);
  t.equal(requestIdOf(null), null);
  t.equal(requestIdOf(undefined), null);
  t.equal(requestIdOf(42), null);
  t.equal(requestIdOf('{"id":1}'), null);
});

t.test('isProtected is true exactly for the operations that change state', async (t) => {
  const all: Operation[] = [...BY_NAME, 'readallproperties', 'readmultipleproperties', 'writemultipleproperties'];
  t.same(
    all.filter(isProtected).sort(),
    ['invokeaction', 'writemultipleproperties', 'writeproperty'],
  );
});

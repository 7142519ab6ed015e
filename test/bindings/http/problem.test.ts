import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import t, { type Test } from 'tap';
import { FlowchainError, isFlowchainError } from '../../../src/errors.js';
import { clientErrorOf, rawProblemResponse, registerProblemHandlers, toFlowchainError } from '../../../src/bindings/http/problem.js';
import { createServient } from '../../helpers/test-servient.js';
import { assertProblem, assertRawProblem, body, jsonRequest, parseRawResponse } from './fixtures.js';

/** A bare fastify app with only the problem handlers and routes that throw what they are told. */
async function problemApp(t: Test): Promise<FastifyInstance> {
  const app = Fastify();
  registerProblemHandlers(app);
  app.get('/read-only', async () => {
    throw new FlowchainError('FLOWCHAIN_ERR_PROPERTY_READ_ONLY', 'property x is read-only', { field: 'x' });
  });
  app.get('/write-only', async () => {
    throw new FlowchainError('FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY', 'property x is write-only', { field: 'x' });
  });
  app.get('/no-field', async () => {
    throw new FlowchainError('FLOWCHAIN_ERR_THING_NOT_FOUND', 'no Thing here');
  });
  app.get('/crash', async () => {
    throw new Error('database password is hunter2');
  });
  app.get('/device', async () => {
    throw new FlowchainError('FLOWCHAIN_ERR_DEVICE_FAILED', 'device x failed', { cause: new Error('boom') });
  });
  app.post('/echo', async (request) => request.body);
  await app.ready();
  t.teardown(() => app.close());
  return app;
}

t.test('toFlowchainError', async (t) => {
  t.test('passes a FlowchainError through unchanged', async (t) => {
    const err = new FlowchainError('FLOWCHAIN_ERR_VALUE_INVALID', 'bad', { field: 'x' });
    t.equal(toFlowchainError(err), err);
  });

  t.test("translates fastify's body errors into catalogue codes", async (t) => {
    const cases = {
      FST_ERR_CTP_BODY_TOO_LARGE: 'FLOWCHAIN_ERR_REQUEST_TOO_LARGE',
      FST_ERR_CTP_INVALID_MEDIA_TYPE: 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED',
      FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'FLOWCHAIN_ERR_REQUEST_MALFORMED',
      FST_ERR_CTP_INVALID_JSON_BODY: 'FLOWCHAIN_ERR_REQUEST_MALFORMED',
      FST_ERR_CTP_EMPTY_JSON_BODY: 'FLOWCHAIN_ERR_REQUEST_MALFORMED',
    } as const;
    for (const [fastifyCode, code] of Object.entries(cases)) {
      const translated = toFlowchainError(Object.assign(new Error('x'), { code: fastifyCode }));
      t.ok(isFlowchainError(translated, code), `${fastifyCode} becomes ${code}`);
    }
    const mediaType = toFlowchainError(Object.assign(new Error('x'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }));
    t.equal(mediaType?.field, 'content-type', 'an unsupported media type names the content-type header');
  });

  t.test('a JSON SyntaxError or any status-400 error is a malformed request', async (t) => {
    t.ok(isFlowchainError(toFlowchainError(new SyntaxError('Unexpected token')), 'FLOWCHAIN_ERR_REQUEST_MALFORMED'));
    t.ok(isFlowchainError(toFlowchainError(Object.assign(new Error('x'), { statusCode: 400 })), 'FLOWCHAIN_ERR_REQUEST_MALFORMED'));
  });

  t.test("fastify's framework errors (a bad URL, an over-long path segment) become catalogue codes naming the path", async (t) => {
    const badUrl = toFlowchainError(Object.assign(new Error('x'), { code: 'FST_ERR_BAD_URL' }));
    t.ok(isFlowchainError(badUrl, 'FLOWCHAIN_ERR_REQUEST_MALFORMED'));
    t.equal(badUrl?.field, 'path');
    const long = toFlowchainError(Object.assign(new Error('x'), { code: 'FST_ERR_MAX_PARAM_LENGTH' }));
    t.ok(isFlowchainError(long, 'FLOWCHAIN_ERR_URI_TOO_LONG'));
    t.equal(long?.status, 414);
  });

  t.test("an error that carries only an HTTP client status (a plugin's http-errors) becomes the catalogue code of that status", async (t) => {
    const cases = { 400: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', 404: 'FLOWCHAIN_ERR_ROUTE_NOT_FOUND', 412: 'FLOWCHAIN_ERR_PRECONDITION_FAILED', 416: 'FLOWCHAIN_ERR_RANGE_NOT_SATISFIABLE' } as const;
    for (const [status, code] of Object.entries(cases)) {
      t.ok(isFlowchainError(toFlowchainError(Object.assign(new Error('secret detail'), { status: Number(status) })), code), `${status} becomes ${code}`);
    }
    t.notMatch(toFlowchainError(Object.assign(new Error('secret detail'), { statusCode: 416 }))?.message, /secret/, 'without passing the message on');
  });

  t.test('anything else is left for the caller to report as internal', async (t) => {
    t.equal(toFlowchainError(new Error('boom')), undefined);
    t.equal(toFlowchainError(Object.assign(new Error('x'), { code: 'FST_ERR_SOMETHING_ELSE' })), undefined);
    t.equal(toFlowchainError(undefined), undefined);
    t.equal(toFlowchainError('a string'), undefined);
  });
});

t.test("Node's client errors become catalogue codes: 431 for oversized headers, 408 for a timeout, 400 for anything unparsable", async (t) => {
  t.ok(isFlowchainError(clientErrorOf({ code: 'HPE_HEADER_OVERFLOW' }), 'FLOWCHAIN_ERR_HEADERS_TOO_LARGE'));
  t.ok(isFlowchainError(clientErrorOf({ code: 'ERR_HTTP_REQUEST_TIMEOUT' }), 'FLOWCHAIN_ERR_REQUEST_TIMEOUT'));
  t.ok(isFlowchainError(clientErrorOf({ code: 'HPE_CHUNK_EXTENSIONS_OVERFLOW' }), 'FLOWCHAIN_ERR_REQUEST_TOO_LARGE'));
  t.ok(isFlowchainError(clientErrorOf({ code: 'HPE_INVALID_METHOD' }), 'FLOWCHAIN_ERR_REQUEST_MALFORMED'));
  t.ok(isFlowchainError(clientErrorOf({}), 'FLOWCHAIN_ERR_REQUEST_MALFORMED'));
});

t.test('a raw problem response is a complete HTTP/1.1 message: status line, problem+json, content-length and connection: close', async (t) => {
  const text = rawProblemResponse(new FlowchainError('FLOWCHAIN_ERR_HEADERS_TOO_LARGE', 'too big'), undefined, { 'retry-after': '1' });
  t.match(text, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  const res = parseRawResponse(text);
  const problem = assertRawProblem(t, res, { status: 431, code: 'FLOWCHAIN_ERR_HEADERS_TOO_LARGE', field: null });
  t.notOk('instance' in problem, 'no instance when no request line was read');
  t.equal(res.headers['retry-after'], '1');
});

t.test('a FlowchainError becomes problem+json with type, title, status, detail, instance, code and field', async (t) => {
  const app = await problemApp(t);
  const res = await app.inject({ method: 'GET', url: '/read-only' });
  const problem = assertProblem(t, res, { status: 405, code: 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY', field: 'x', instance: '/read-only' });
  t.same(Object.keys(problem).sort(), ['code', 'detail', 'field', 'instance', 'status', 'title', 'type']);
});

t.test('the instance is the request path only: a query string, which may carry an access_token, is never echoed', async (t) => {
  const app = await problemApp(t);
  const res = await app.inject({ method: 'GET', url: '/read-only?access_token=secret-token-value&x=1' });
  assertProblem(t, res, { status: 405, code: 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY', instance: '/read-only' });
  t.notMatch(res.body, /secret-token-value/);
  const missing = await app.inject({ method: 'GET', url: '/nowhere?access_token=secret-token-value' });
  assertProblem(t, missing, { status: 404, code: 'FLOWCHAIN_ERR_ROUTE_NOT_FOUND', instance: '/nowhere' });
  t.notMatch(missing.body, /secret-token-value/);
});

t.test('a FlowchainError without a field has no field member', async (t) => {
  const app = await problemApp(t);
  assertProblem(t, await app.inject({ method: 'GET', url: '/no-field' }), { status: 404, code: 'FLOWCHAIN_ERR_THING_NOT_FOUND', field: null });
});

t.test('a 405 for a readOnly property says Allow: GET, HEAD', async (t) => {
  const app = await problemApp(t);
  const res = await app.inject({ method: 'GET', url: '/read-only' });
  t.equal(res.statusCode, 405);
  t.equal(res.headers.allow, 'GET, HEAD');
});

t.test('a 405 for a writeOnly property says Allow: PUT', async (t) => {
  const app = await problemApp(t);
  const res = await app.inject({ method: 'GET', url: '/write-only' });
  assertProblem(t, res, { status: 405, code: 'FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY', field: 'x' });
  t.equal(res.headers.allow, 'PUT');
});

t.test('an unexpected error is a 500 FLOWCHAIN_ERR_INTERNAL that does not leak its message', async (t) => {
  const app = await problemApp(t);
  const res = await app.inject({ method: 'GET', url: '/crash' });
  assertProblem(t, res, { status: 500, code: 'FLOWCHAIN_ERR_INTERNAL', field: null, instance: '/crash' });
  t.notMatch(res.body, /hunter2/, 'the internal message stays internal');
});

t.test('a device failure keeps its own code and status rather than becoming internal', async (t) => {
  const app = await problemApp(t);
  assertProblem(t, await app.inject({ method: 'GET', url: '/device' }), { status: 502, code: 'FLOWCHAIN_ERR_DEVICE_FAILED' });
});

t.test('an unknown route is a 404 FLOWCHAIN_ERR_ROUTE_NOT_FOUND problem; a method a route lacks is 405 with Allow', async (t) => {
  const app = await problemApp(t);
  assertProblem(t, await app.inject({ method: 'GET', url: '/nowhere' }), { status: 404, code: 'FLOWCHAIN_ERR_ROUTE_NOT_FOUND', instance: '/nowhere' });
  const deleted = await app.inject({ method: 'DELETE', url: '/read-only' });
  assertProblem(t, deleted, { status: 405, code: 'FLOWCHAIN_ERR_METHOD_NOT_ALLOWED' });
  t.equal(deleted.headers.allow, 'GET, HEAD');
});

t.test("fastify's own body errors reach the client as catalogue problems", async (t) => {
  const app = await problemApp(t);
  const malformed = await app.inject({ method: 'POST', url: '/echo', payload: '{"a":', headers: { 'content-type': 'application/json' } });
  assertProblem(t, malformed, { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' });
  const media = await app.inject({ method: 'POST', url: '/echo', payload: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assertProblem(t, media, { status: 415, code: 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED', field: 'content-type' });
});

t.test('the servient answers every failure as problem+json, never as fastify default errors', async (t) => {
  const { servient } = await createServient(t);
  const cases = [
    { req: { method: 'GET' as const, url: '/things/nope' }, status: 404, code: 'FLOWCHAIN_ERR_THING_NOT_FOUND' as const },
    { req: { method: 'GET' as const, url: '/things/thermostat/properties/nope' }, status: 404, code: 'FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND' as const },
    { req: { method: 'GET' as const, url: '/nope' }, status: 404, code: 'FLOWCHAIN_ERR_ROUTE_NOT_FOUND' as const },
  ];
  for (const { req, status, code } of cases) {
    const res = await servient.app.inject(req);
    const problem = assertProblem(t, res, { status, code, instance: req.url });
    t.notOk('statusCode' in body<Record<string, unknown>>(res), 'not the fastify default error shape');
    t.equal(problem.instance, req.url);
  }
});

t.test('framework-level refusals of the servient are problem+json: bad URL encoding, over-long segment, 404, 405, 413, 415', async (t) => {
  const { servient } = await createServient(t);
  const inject = (options: InjectOptions) => servient.app.inject(options);
  assertProblem(t, await inject({ method: 'GET', url: '/things/%E0%A4%A' }), { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: 'path' });
  assertProblem(t, await inject({ method: 'GET', url: `/things/${'a'.repeat(101)}` }), { status: 414, code: 'FLOWCHAIN_ERR_URI_TOO_LONG', field: 'path' });
  assertProblem(t, await inject({ method: 'DELETE', url: '/things' }), { status: 405, code: 'FLOWCHAIN_ERR_METHOD_NOT_ALLOWED' });
  assertProblem(t, await inject(jsonRequest('PUT', '/things/thermostat/properties/currentTemperature', 20)), { status: 405, code: 'FLOWCHAIN_ERR_PROPERTY_READ_ONLY' });
  assertProblem(t, await inject(jsonRequest('PUT', '/things/thermostat/properties/mode', 'x'.repeat(70_000))), { status: 413, code: 'FLOWCHAIN_ERR_REQUEST_TOO_LARGE' });
  assertProblem(t, await inject({ method: 'PUT', url: '/things/thermostat/properties/mode', payload: 'cool', headers: { 'content-type': 'text/plain' } }), {
    status: 415,
    code: 'FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED',
    field: 'content-type',
  });
});

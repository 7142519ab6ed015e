/**
 * Connection hygiene over real sockets: what Node's parser refuses is answered as problem+json
 * (never Node's or fastify's default bodies), half-open and slow connections are closed by the
 * configured timeouts, streams are not, and connections beyond the cap are refused; with a
 * certificate and key, the port speaks HTTPS and the TDs send consumers to https: and wss:.
 */
import type { Server, Socket } from 'node:net';
import t from 'tap';
import { WebSocket } from 'ws';
import type { ThingDescription } from '../../../src/td/thing-description.js';
import { fetchTrusting } from '../../helpers/https-fetch.js';
import { selfSignedCertificate } from '../../helpers/self-signed.js';
import { createServient } from '../../helpers/test-servient.js';
import { allForms, assertRawProblem, body, httpGet, jsonRequest, openSse, openWs, expectResult, parseRawResponse, rawConnect, rawExchange, until } from './fixtures.js';

const GET_HEALTH = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';

/** Resolves once `server` counts `count` open connections (asked once per turn of the event loop). */
async function connectionsReach(server: Server, count: number): Promise<void> {
  for (;;) {
    const open = await new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    if (open === count) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

t.test('what the parser refuses is answered as problem+json with connection: close', async (t) => {
  const { servient } = await createServient(t);
  const { port } = await servient.start();

  t.test('a malformed request line gets 400 FLOWCHAIN_ERR_REQUEST_MALFORMED', async (t) => {
    assertRawProblem(t, await rawExchange(t, port, 'GARBAGE\r\n\r\n'), { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' });
  });

  t.test('an unknown HTTP version gets 400 FLOWCHAIN_ERR_REQUEST_MALFORMED', async (t) => {
    assertRawProblem(t, await rawExchange(t, port, 'GET / HTTP/9.9\r\nHost: x\r\n\r\n'), { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' });
  });

  t.test('a header name that is not a token gets 400 FLOWCHAIN_ERR_REQUEST_MALFORMED', async (t) => {
    assertRawProblem(t, await rawExchange(t, port, 'GET /health HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n'), { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' });
  });

  t.test('Content-Length together with Transfer-Encoding (request smuggling) gets 400 FLOWCHAIN_ERR_REQUEST_MALFORMED', async (t) => {
    const smuggled = 'POST /things/smart-plug/actions/toggle HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n';
    assertRawProblem(t, await rawExchange(t, port, smuggled), { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' });
    t.equal(await servient.registry.get('smart-plug').readProperty('on'), false, 'the action did not run');
  });

  t.test('an HTTP/2 preface on the HTTP/1.1 port gets 400 FLOWCHAIN_ERR_REQUEST_MALFORMED', async (t) => {
    assertRawProblem(t, await rawExchange(t, port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' });
  });

  t.test('oversized headers get 431 FLOWCHAIN_ERR_HEADERS_TOO_LARGE', async (t) => {
    const big = `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    assertRawProblem(t, await rawExchange(t, port, big), { status: 431, code: 'FLOWCHAIN_ERR_HEADERS_TOO_LARGE' });
  });

  t.test('an over-long request target gets 431 FLOWCHAIN_ERR_HEADERS_TOO_LARGE (the line counts toward the header limit)', async (t) => {
    assertRawProblem(t, await rawExchange(t, port, `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`), { status: 431, code: 'FLOWCHAIN_ERR_HEADERS_TOO_LARGE' });
  });

  t.test('a missing Host gets 400 FLOWCHAIN_ERR_REQUEST_MALFORMED naming host, not an empty 400', async (t) => {
    const res = await rawExchange(t, port, 'GET /things HTTP/1.1\r\nConnection: close\r\n\r\n');
    assertRawProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: 'host', instance: '/things' });
  });

  t.test('two Host headers get 400 FLOWCHAIN_ERR_REQUEST_MALFORMED naming host', async (t) => {
    const res = await rawExchange(t, port, 'GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n');
    assertRawProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: 'host' });
  });

  t.test('bad percent-encoding in the path gets 400 FLOWCHAIN_ERR_REQUEST_MALFORMED naming path, not FST_ERR_BAD_URL', async (t) => {
    const res = await rawExchange(t, port, 'GET /things/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assertRawProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: 'path' });
  });

  t.test('CONNECT gets 404 FLOWCHAIN_ERR_ROUTE_NOT_FOUND instead of a silent close', async (t) => {
    assertRawProblem(t, await rawExchange(t, port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'), { status: 404, code: 'FLOWCHAIN_ERR_ROUTE_NOT_FOUND' });
  });

  t.test('an Expect other than 100-continue gets 417 FLOWCHAIN_ERR_EXPECTATION_FAILED and the write is not applied', async (t) => {
    const put = 'PUT /things/thermostat/properties/mode HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Type: application/json\r\nContent-Length: 6\r\n\r\n"cool"';
    assertRawProblem(t, await rawExchange(t, port, put), { status: 417, code: 'FLOWCHAIN_ERR_EXPECTATION_FAILED', field: 'expect' });
    t.equal(await servient.registry.get('thermostat').readProperty('mode'), 'heat');
  });

  t.test('a WebSocket handshake without Sec-WebSocket-Key gets 400 problem+json naming it, not text/html', async (t) => {
    const res = await rawExchange(t, port, 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n');
    assertRawProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: 'sec-websocket-key' });
  });

  t.test('a WebSocket handshake with an unknown version gets 400 problem+json and the versions spoken', async (t) => {
    const res = await rawExchange(t, port, 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n\r\n');
    assertRawProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: 'sec-websocket-version' });
    t.match(res.headers['sec-websocket-version'], /13/);
  });

  t.test('a WebSocket handshake with an out-of-range Host gets 400 naming host before the upgrade', async (t) => {
    const res = await rawExchange(t, port, 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1:99999\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    assertRawProblem(t, res, { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: 'host' });
  });

  t.test('an Upgrade to a route without WebSocket is answered as plain HTTP, then the connection closes', async (t) => {
    const res = await rawExchange(t, port, 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
    t.equal(res.status, 200);
    t.match(res.headers.connection, /close/i);
    t.equal(body<{ status: string }>(res).status, 'ok');
  });

  t.test('an Upgrade request carrying a body gets 400 naming upgrade, and the write is not applied', async (t) => {
    const put = 'PUT /things/thermostat/properties/mode HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Type: application/json\r\nContent-Length: 6\r\n\r\n"cool"';
    assertRawProblem(t, await rawExchange(t, port, put), { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: 'upgrade' });
    t.equal(await servient.registry.get('thermostat').readProperty('mode'), 'heat');
  });

  t.test('a second parse error on an answered connection does not produce a second answer', async (t) => {
    const connection = await rawConnect(t, port);
    connection.write('GARBAGE\r\n\r\n');
    connection.write('MORE GARBAGE\r\n\r\n');
    const text = await connection.closed;
    t.equal(text.split('HTTP/1.1 ').length - 1, 1, 'one response');
    assertRawProblem(t, parseRawResponse(text), { status: 400, code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED' });
  });
});

t.test('half-open connections (connected, never sending a request) are answered 408 and closed by the headers timeout', async (t) => {
  const headersTimeoutMs = 300;
  const { servient } = await createServient(t, { headersTimeoutMs, requestTimeoutMs: 600 });
  const { port } = await servient.start();
  const opened = Date.now();
  const connections = await Promise.all(Array.from({ length: 100 }, () => rawConnect(t, port)));
  const answers = await Promise.all(connections.map((c) => c.closed));
  // Node measures from the connection; allow for the clock granularity of the timers.
  t.ok(Date.now() - opened >= headersTimeoutMs - 20, `closed after the timeout (${Date.now() - opened} ms)`);
  for (const answer of answers) assertRawProblem(t, parseRawResponse(answer), { status: 408, code: 'FLOWCHAIN_ERR_REQUEST_TIMEOUT' });
  await connectionsReach(servient.app.server, 0);
});

t.test('headers sent slower than the headers timeout get 408 FLOWCHAIN_ERR_REQUEST_TIMEOUT', async (t) => {
  const { servient } = await createServient(t, { headersTimeoutMs: 300, requestTimeoutMs: 600 });
  const { port } = await servient.start();
  const connection = await rawConnect(t, port);
  connection.write('GET /health HTTP/1.1\r\nHost: x\r\n');
  assertRawProblem(t, parseRawResponse(await connection.closed), { status: 408, code: 'FLOWCHAIN_ERR_REQUEST_TIMEOUT' });
});

t.test('a body that does not arrive within the request timeout gets 408 FLOWCHAIN_ERR_REQUEST_TIMEOUT and is not applied', async (t) => {
  const { servient } = await createServient(t, { headersTimeoutMs: 200, requestTimeoutMs: 400 });
  const { port } = await servient.start();
  const connection = await rawConnect(t, port);
  connection.write('PUT /things/thermostat/properties/mode HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 6\r\n\r\n"co');
  assertRawProblem(t, parseRawResponse(await connection.closed), { status: 408, code: 'FLOWCHAIN_ERR_REQUEST_TIMEOUT' });
  t.equal(await servient.registry.get('thermostat').readProperty('mode'), 'heat');
});

t.test('an idle keep-alive connection is closed after the keep-alive timeout', async (t) => {
  const { servient } = await createServient(t, { keepAliveTimeoutMs: 200 });
  const { port } = await servient.start();
  const connection = await rawConnect(t, port);
  connection.write(GET_HEALTH);
  const res = await connection.response();
  t.equal(res.status, 200);
  t.match(res.headers.connection, /keep-alive/i, 'kept alive at first');
  const answered = Date.now();
  t.equal(parseRawResponse(await connection.closed).status, 200, 'nothing more was sent before closing');
  t.ok(Date.now() - answered >= 180, `closed once idle for the timeout (${Date.now() - answered} ms)`);
});

t.test('SSE, long-poll and WebSocket streams outlive the headers, request and keep-alive timeouts', async (t) => {
  // Node applies the two request timeouts only while a request is being received, and the
  // keep-alive timeout only between requests: a response that streams is not cut.
  const { servient, clock } = await createServient(t, { headersTimeoutMs: 200, requestTimeoutMs: 300, keepAliveTimeoutMs: 200 });
  const { url, port } = await servient.start();
  const sse = await openSse(t, `${url}things/thermostat/properties/mode/sse`);
  t.equal((await sse.nextEvent()).data, '"heat"');
  const poll = httpGet(t, `${url}things/thermostat/properties/mode/longpoll`);
  const ws = await openWs(t, url);
  t.equal(expectResult(t, await ws.request({ op: 'observeproperty', thingID: 'thermostat', name: 'mode' })), 'heat');

  // Witnesses that every timeout fired meanwhile: each closes its own connection.
  const halfOpen = await rawConnect(t, port);
  const slowBody = await rawConnect(t, port);
  slowBody.write('PUT /things/thermostat/properties/mode HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 6\r\n\r\n"');
  const idle = await rawConnect(t, port);
  idle.write(GET_HEALTH);
  assertRawProblem(t, parseRawResponse(await halfOpen.closed), { status: 408, code: 'FLOWCHAIN_ERR_REQUEST_TIMEOUT' });
  assertRawProblem(t, parseRawResponse(await slowBody.closed), { status: 408, code: 'FLOWCHAIN_ERR_REQUEST_TIMEOUT' });
  t.equal(parseRawResponse(await idle.closed).status, 200, 'the idle keep-alive connection was closed');

  // The streams are still there and still deliver.
  t.equal((await servient.app.inject(jsonRequest('PUT', '/things/thermostat/properties/mode', 'cool'))).statusCode, 204);
  t.match(await sse.nextEvent(), { event: 'mode', data: '"cool"' }, 'SSE delivers');
  clock.advance(15_000);
  t.match(await sse.next(), { comments: ['heartbeat'] }, 'and keeps its heartbeat');
  const polled = await poll.response;
  t.equal(polled.status, 200, 'the long-poll answered with the change');
  t.equal(JSON.parse(polled.body), 'cool');
  t.match(await ws.next((m) => m.type === 'propertyChange'), { name: 'mode', value: 'cool' }, 'the WebSocket delivers');
  t.equal(expectResult(t, await ws.request({ op: 'readproperty', thingID: 'thermostat', name: 'mode' })), 'cool', 'and answers');
  await ws.close();
  sse.close();
});

t.test('connections beyond the cap are refused at once; a freed slot takes a connection again', async (t) => {
  const { servient } = await createServient(t, { maxConnections: 3 });
  const { port } = await servient.start();
  const held = await Promise.all([rawConnect(t, port), rawConnect(t, port), rawConnect(t, port)]);
  await connectionsReach(servient.app.server, 3);
  const refused = await rawConnect(t, port);
  t.equal(await refused.closed, '', 'closed without a byte');
  held[0]!.socket.destroy();
  await connectionsReach(servient.app.server, 2);
  const admitted = await rawConnect(t, port);
  admitted.write(GET_HEALTH);
  t.equal((await admitted.response()).status, 200);
});

t.test('a request arriving while the node shuts down gets 503 FLOWCHAIN_ERR_SHUTTING_DOWN, never fastify\'s default body', async (t) => {
  const { servient } = await createServient(t);
  const { port } = await servient.start();
  // A request under way (its first bytes read by the server) keeps its connection open through the shutdown.
  let server: Socket | undefined;
  servient.app.server.once('connection', (socket: Socket) => (server = socket));
  const connection = await rawConnect(t, port);
  connection.write('GET /health HTTP/1.1\r\n');
  await until(() => (server?.bytesRead ?? 0) > 0, 'the server to read the request line');
  const stopping = servient.stop();
  await until(() => !servient.app.server.listening, 'the server to stop listening');
  connection.write('Host: x\r\n\r\n');
  assertRawProblem(t, await connection.response(), { status: 503, code: 'FLOWCHAIN_ERR_SHUTTING_DOWN' });
  await stopping;
});

t.test('a connection that has not sent a byte (a browser\'s preconnection) does not hold up a shutdown', async (t) => {
  for (const tls of [undefined, selfSignedCertificate()]) {
    const { servient } = await createServient(t, tls === undefined ? {} : { tls });
    const { port } = await servient.start();
    const silent = await rawConnect(t, port);
    await connectionsReach(servient.app.server, 1);
    // The clock of these timeouts is the real one: without the drop, close() would wait for the
    // client (or, over TLS, the handshake timeout) however long that takes.
    await servient.stop();
    await silent.closed;
    t.pass(tls === undefined ? 'plain HTTP' : 'HTTPS, in the middle of no handshake');
  }
});

t.test('HTTPS (--tls-cert, --tls-key): on a self-signed certificate made here', async (t) => {
  const tls = selfSignedCertificate();
  const { servient } = await createServient(t, { tls });
  const { url, port } = await servient.start();
  const fetchTls = fetchTrusting(tls.cert);

  t.test('the port speaks HTTPS, and TDs send consumers there: https base and forms, wss WebSocket forms', async (t) => {
    t.match(url, /^https:\/\/127\.0\.0\.1:\d+\/$/, 'the node says where it listens');
    const td = (await (await fetchTls(`${url}things/thermostat`)).json()) as ThingDescription;
    t.equal(td.base, url);
    const hrefs = allForms(td).map((form) => new URL(form.href, td.base).protocol);
    t.ok(hrefs.length > 0 && hrefs.every((p) => p === 'https:' || p === 'wss:'), 'every form is https: or wss:');
    t.ok(allForms(td).filter((f) => f.subprotocol === 'flowchain.v1').every((f) => f.href === `wss://127.0.0.1:${port}/ws`), 'the WebSocket forms are wss:');
    const node = (await (await fetchTls(`${url}.well-known/wot`)).json()) as ThingDescription;
    t.equal(node.base, url);
  });

  t.test('the WebSocket form works over wss: for a client that trusts the certificate', async (t) => {
    const socket = new WebSocket(`wss://127.0.0.1:${port}/ws`, ['flowchain.v1'], { ca: tls.cert });
    t.teardown(() => socket.terminate());
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(JSON.stringify({ id: 1, op: 'readproperty', thingID: 'thermostat', name: 'mode' }));
    const reply = await new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())));
    t.same(JSON.parse(reply), { type: 'result', id: 1, value: 'heat' });
  });

  t.test('a client that does not trust the certificate is refused by its own TLS, and plain HTTP gets no HTTP answer', async (t) => {
    await t.rejects(fetch(`${url}health`), 'the global fetch knows no such authority');
    const plain = await rawConnect(t, port);
    plain.write(GET_HEALTH);
    t.notMatch(await plain.closed, /^HTTP\/1\.1 200/, 'no HTTP answer on the TLS port');
  });
});

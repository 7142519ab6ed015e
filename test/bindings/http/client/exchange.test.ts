/**
 * The bindings tell a request that never went out (FLOWCHAIN_ERR_REMOTE_UNREACHABLE: a caller
 * may try another form) from one that went out and got no answer (FLOWCHAIN_ERR_OUTCOME_UNKNOWN:
 * the Thing may have acted on it). Real sockets on loopback, port 0: servers that refuse,
 * that present a certificate the client does not trust, that never answer, that hang up.
 */
import t from 'tap';
import { WebSocketServer } from 'ws';
import { httpExchange, WsConnection } from '../../../../src/bindings/http/client/exchange.js';
import { closedPort, rawServer, untrustedTlsServer } from '../../../client/fixtures.js';

const post = (url: string, timeoutMs = 5_000) => httpExchange(new URL(url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '3', timeoutMs });

t.test('HTTP: a refused connection sent nothing: FLOWCHAIN_ERR_REMOTE_UNREACHABLE', async (t) => {
  await t.rejects(post(`http://127.0.0.1:${await closedPort()}/things/lamp/actions/blink`), { code: 'FLOWCHAIN_ERR_REMOTE_UNREACHABLE', field: 'url' });
});

t.test('HTTP: a TLS handshake the client refuses sent nothing: FLOWCHAIN_ERR_REMOTE_UNREACHABLE, and the server saw no request', async (t) => {
  const { port, requests } = await untrustedTlsServer(t);
  await t.rejects(post(`https://127.0.0.1:${port}/things/lamp/actions/blink`), { code: 'FLOWCHAIN_ERR_REMOTE_UNREACHABLE' });
  t.equal(requests(), 0);
});

t.test('HTTP: a request sent and never answered is FLOWCHAIN_ERR_OUTCOME_UNKNOWN once the time is up', async (t) => {
  const silent = await rawServer(t, 'silent');
  await t.rejects(post(`http://127.0.0.1:${silent.port}/things/lamp/actions/blink`, 100), { code: 'FLOWCHAIN_ERR_OUTCOME_UNKNOWN', field: 'url', message: /no answer within 100 ms/ });
  t.match(silent.received(), /^POST \/things\/lamp\/actions\/blink HTTP\/1\.1\r\n/, 'the request did go out');
});

t.test('HTTP: a connection dropped after the request went out is FLOWCHAIN_ERR_OUTCOME_UNKNOWN', async (t) => {
  const dropping = await rawServer(t, 'hang-up');
  await t.rejects(post(`http://127.0.0.1:${dropping.port}/things/lamp/actions/blink`), { code: 'FLOWCHAIN_ERR_OUTCOME_UNKNOWN' });
  t.match(dropping.received(), /^POST /);
});

t.test('WebSocket: a socket that cannot open sent nothing; a request unanswered, or cut off by a close, is FLOWCHAIN_ERR_OUTCOME_UNKNOWN', async (t) => {
  const refused = new WsConnection(new URL(`ws://127.0.0.1:${await closedPort()}/ws`), {}, 1_000);
  await t.rejects(refused.request({ op: 'invokeaction', name: 'blink' }), { code: 'FLOWCHAIN_ERR_REMOTE_UNREACHABLE' });

  const messages: string[] = [];
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  t.teardown(() => {
    for (const client of server.clients) client.terminate();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  server.on('connection', (socket) =>
    socket.on('message', (data) => {
      messages.push(data.toString());
      // Answers nothing to the first; hangs up on the second.
      if (messages.length === 2) socket.close(1011);
    }),
  );
  const url = new URL(`ws://127.0.0.1:${(server.address() as { port: number }).port}/ws`);
  const connection = new WsConnection(url, {}, 100);
  t.teardown(() => connection.close());
  await t.rejects(connection.request({ op: 'invokeaction', name: 'blink' }), { code: 'FLOWCHAIN_ERR_OUTCOME_UNKNOWN', message: /invokeaction sent, but no answer within 100 ms/ });
  const patient = new WsConnection(url, {}, 5_000);
  t.teardown(() => patient.close());
  await t.rejects(patient.request({ op: 'writeproperty', name: 'on', value: true }), { code: 'FLOWCHAIN_ERR_OUTCOME_UNKNOWN', message: /writeproperty sent, but the WebSocket closed/ });
  t.equal(messages.length, 2, 'both requests went out');
  t.match(JSON.parse(messages[0]!), { op: 'invokeaction', name: 'blink' });
});

/**
 * Node-RED inside a `flowchain start --flows` process that requires credentials: the editor's
 * admin API asks for a login, which takes the node's Basic credentials, or any user name with
 * the node's bearer token as the password, and nothing else; the session token Node-RED then
 * gives opens the admin API. The process stops at SIGTERM, Node-RED with it, although Node-RED
 * leaves a login's expiry timer behind.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startNode } from '../helpers/node-process.js';
import { tempDir } from '../helpers/test-servient.js';

const TOKEN = 'flows-test-token-0123456789';
const USER = { user: 'operator', password: 'correct horse battery' };

t.test("the editor is behind the node's own credentials", async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'token'), TOKEN);
  writeFileSync(join(dir, 'basic'), `${USER.user}:${USER.password}\n`);
  const node = await startNode(t, ['--data', join(dir, 'data'), '--flows', '--auth-token-file', join(dir, 'token'), '--basic-auth-file', join(dir, 'basic'), '--mqtt', 'off', '--coap-port', 'off']);
  const url = node.url;
  const login = (username: string, password: string) =>
    fetch(`${url}flows/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: 'node-red-editor', grant_type: 'password', scope: '*', username, password }) });

  t.equal((await fetch(`${url}flows/flows`)).status, 401, 'no login, no flows');
  t.match(await (await fetch(`${url}flows/auth/login`)).json(), { type: 'credentials' }, 'the editor shows its login form');

  t.equal((await login(USER.user, 'wrong')).status, 403, 'a wrong password is refused');
  t.equal((await login('someone', USER.password)).status, 403, 'so is a user the node does not know');
  t.equal((await login('someone', `${TOKEN}x`)).status, 403, 'and a token that is not the node\'s');

  for (const [how, username, password] of [['Basic credentials', USER.user, USER.password], ['the bearer token', 'anyone', TOKEN]] as const) {
    const answer = await login(username, password);
    t.equal(answer.status, 200, `a login with ${how}`);
    const { access_token: session } = (await answer.json()) as { access_token: string };
    const flows = await fetch(`${url}flows/flows`, { headers: { authorization: `Bearer ${session}` } });
    t.equal(flows.status, 200, `its session opens the admin API (${how})`);
  }
  t.equal(await node.stop('SIGTERM'), 0, 'SIGTERM stops the node, flows and all, and the process exits');
});

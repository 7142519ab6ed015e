/**
 * The editor's GET /flowchain/things on Node-RED's admin API, against a real node: the Things
 * of a URL not deployed yet, of a deployed config node (with its credentials), and problem
 * details with a code for what it will not or cannot fetch.
 */
import t from 'tap';
import { closedPort } from '../client/fixtures.js';
import { createServient } from '../helpers/test-servient.js';
import { flowchainNodes, helper, loadFlow, serverNode } from './fixtures.js';

const get = (query: Record<string, string>) => helper.request().get('/flowchain/things').query(query);

t.test('answers the Things a node lists, for a URL or a deployed config node', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  await loadFlow(t, [flowchainNodes()], [serverNode(url)]);
  const byUrl = await get({ url });
  t.equal(byUrl.status, 200);
  const plug = (byUrl.body as { title: string; href: string }[]).find((thing) => thing.title === 'Smart plug');
  t.match(plug, { id: /^urn:uuid:/, href: new RegExp(`^${url}things/urn%3Auuid%3A`), properties: ['on', 'power'], actions: ['toggle'], events: [] });
  const td = await fetch(plug!.href);
  t.equal(td.status, 200, 'href is the TD\'s URL');
  const byServer = await get({ server: 'server' });
  t.same(byServer.body, byUrl.body, 'the deployed config node lists the same');
  const bySlug = await get({ server: 'server', thing: `${url}things/smart-plug` });
  t.equal(bySlug.status, 200);
  t.same(bySlug.body, [plug], 'one Thing by a TD URL the listing does not have as such (its slug URL): its affordances');
  const unknown = await get({ server: 'server', thing: 'urn:uuid:00000000-0000-4000-8000-000000000000' });
  t.equal(unknown.status, 404);
  t.match(unknown.body, { code: 'FLOWCHAIN_ERR_THING_NOT_FOUND', field: 'thing' });
});

t.test('fetches http and https URLs only, and says why it could not list', async (t) => {
  await loadFlow(t, [flowchainNodes()], []);
  for (const url of ['file:///etc/passwd', 'not a url', '']) {
    const res = await get({ url });
    t.equal(res.status, 400, url);
    t.match(res.body, { code: 'FLOWCHAIN_ERR_REQUEST_MALFORMED', field: 'url' });
  }
  const down = await get({ url: `http://127.0.0.1:${await closedPort()}/` });
  t.equal(down.status, 504);
  t.match(down.body, { code: 'FLOWCHAIN_ERR_REMOTE_UNREACHABLE', type: 'about:blank' });
});

/**
 * The dashboard's files as the node serves them: the page with its Content-Security-Policy,
 * every module it loads (followed import by import, as a browser would, through the page's
 * import map), and nothing else from the build or the packages. Needs the build (npm test's
 * pretest compiles the browser modules).
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { contentSecurityPolicy } from '../../../../src/bindings/http/routes/dashboard-routes.js';
import { createServient } from '../../../helpers/test-servient.js';
import { assertProblem } from '../fixtures.js';

t.test('GET / serves the page, with a CSP that allows its one inline script by hash', async (t) => {
  const { servient } = await createServient(t);
  const res = await servient.app.inject({ method: 'GET', url: '/' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/html/);
  const inline = [...res.body.matchAll(/<script type="importmap">([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  t.equal(inline.length, 1, 'the page has one inline script, its import map');
  const csp = String(res.headers['content-security-policy']);
  t.match(csp, `script-src 'self' 'sha256-${createHash('sha256').update(inline[0]!).digest('base64')}'`, 'allowed by its SHA-256');
  t.match(csp, "default-src 'self'");
  t.match(csp, "frame-ancestors 'none'");
  t.match(csp, "connect-src 'self';", 'connections to this origin only');
  t.notMatch(csp, 'unsafe-inline', 'no inline style or script beyond the hashed one');
});

t.test('with a public URL, the page may also connect to that origin over HTTP and WebSocket', async (t) => {
  t.match(contentSecurityPolicy('<p></p>', 'https://home.example:8443/flowchain/'), "connect-src 'self' https://home.example:8443 wss://home.example:8443;");
  t.match(contentSecurityPolicy('<p></p>', 'http://10.0.0.5:8080/'), "connect-src 'self' http://10.0.0.5:8080 ws://10.0.0.5:8080;");
});

t.test('every module the page loads is served, and resolves its imports through the import map', async (t) => {
  const { servient } = await createServient(t);
  const page = (await servient.app.inject({ method: 'GET', url: '/' })).body;
  const imports = (JSON.parse(/<script type="importmap">([\s\S]*?)<\/script>/.exec(page)![1]!) as { imports: Record<string, string> }).imports;
  const base = 'http://node.test/';
  const resolve = (specifier: string, from: string): string => {
    const mapped = Object.entries(imports).find(([key]) => (key.endsWith('/') ? specifier.startsWith(key) : specifier === key));
    if (mapped) return new URL(mapped[1] + specifier.slice(mapped[0].endsWith('/') ? mapped[0].length : specifier.length), base).href;
    return new URL(specifier, from).href;
  };
  const entry = new URL(/<script type="module" src="([^"]+)"/.exec(page)![1]!, base).href;
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const url = queue.shift()!;
    if (seen.has(url)) continue;
    seen.add(url);
    const res = await servient.app.inject({ method: 'GET', url: new URL(url).pathname });
    t.equal(res.statusCode, 200, `${new URL(url).pathname} is served`);
    if (res.statusCode !== 200) continue;
    t.match(res.headers['content-type'], /javascript/, `${new URL(url).pathname} as JavaScript`);
    for (const m of res.body.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/gm)) queue.push(resolve(m[1]!, url));
  }
  t.ok([...seen].some((u) => u.endsWith('/ledger/receipt-proofs.js')), 'the ledger\'s receipt proofs are among them');
  t.ok([...seen].some((u) => u.endsWith('/uPlot.esm.js')), 'and uPlot');
  t.ok(seen.size >= 12, `${seen.size} modules in all`);
  for (const css of page.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)) {
    t.equal((await servient.app.inject({ method: 'GET', url: `/${css[1]}` })).statusCode, 200, `${css[1]} is served`);
  }
});

t.test('nothing else of the build, the packages or the page folder is served', async (t) => {
  const { servient } = await createServient(t);
  const urls = [
    '/dashboard/modules/cli.js',
    '/dashboard/modules/servient.js',
    '/dashboard/modules/dashboard/client/main.js.map',
    '/dashboard/modules/ledger/receipt-proofs.ts',
    '/dashboard/index.html',
    '/dashboard/modules/../package.json',
    '/dashboard/vendor/uplot/../package.json',
    '/dashboard/vendor/noble-hashes/package.json',
    '/dashboard/vendor/noble-hashes/README.md',
    '/dashboard/vendor/noble-hashes/src/sha2.ts',
  ];
  for (const url of urls) {
    const res = await servient.app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 404, `${url} is not served`);
    t.match(res.headers['content-type'], /^application\/problem\+json/, `${url}: problem+json`);
  }
  assertProblem(t, await servient.app.inject({ method: 'GET', url: '/dashboard/modules/cli.js' }), { status: 404, code: 'FLOWCHAIN_ERR_ROUTE_NOT_FOUND' });
});

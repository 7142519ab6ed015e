/**
 * The dashboard browses the ring, in a real browser against two real node processes: node A's
 * page lists node B's Things with the node that hosts them, reads, writes and observes one of
 * them through B's own forms (CORS and the CSP allow the ring's members), shows the write's
 * receipt, sends B none of A's credentials, and marks B's Things unreachable, not as an
 * error, once B is gone.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { openPage, requireBrowser } from '../helpers/browser.js';
import { runCli, startNode } from '../helpers/node-process.js';
import { tempDir } from '../helpers/test-servient.js';

t.before(requireBrowser);

t.test("node A's dashboard lists and drives a Thing of node B", async (t) => {
  const dataA = tempDir(t);
  const dataB = tempDir(t);
  // A's writes need a token, which the page holds; B's do not, and must never see it.
  const tokenFile = join(tempDir(t), 'token');
  const token = randomBytes(24).toString('hex');
  writeFileSync(tokenFile, token);
  const a = await startNode(t, ['--data', dataA, '--log-level', 'info', '--auth-token-file', tokenFile]);
  t.equal((await runCli(['ring', 'admit', '--authority', join(dataA, 'ring-authority'), '--data', dataB])).code, 0);
  const b = await startNode(t, ['--data', dataB, '--log-level', 'info', '--join', a.url]);
  const thermostat = (await (await fetch(`${b.url}things/thermostat`)).json()) as { id: string };
  // A lists B's Things once B's directory entries reach it through the ring.
  for (let i = 0; i < 300; i++) {
    const listed = (await (await fetch(`${a.url}things`)).json()) as { id: string }[];
    if (listed.some((td) => td.id === thermostat.id)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const { page, scriptErrors } = await openPage(t);
  const sentToB: (string | undefined)[] = [];
  page.on('request', (request) => {
    if (request.url().startsWith(b.url) || request.url().startsWith(b.url.replace('http:', 'ws:'))) sentToB.push(request.headers().authorization ?? (request.url().includes(token) ? request.url() : undefined));
  });
  await page.goto(`${a.url}#/things`);
  await page.locator('#connection[data-state="open"]').waitFor();
  await page.fill('#token', token);
  await page.press('#token', 'Enter');
  const link = page.locator(`[data-thing-link="${thermostat.id}"]`);
  await link.waitFor();
  t.equal(await link.locator('.host').textContent(), `on ${new URL(b.url).host}`, "B's thermostat is listed with the node that hosts it");
  t.equal(await page.locator('[data-thing-link="thermostat"] .host').count(), 0, "A's own thermostat names no host");
  const groups = await page.locator('[data-host-group]').evaluateAll((items) => items.map((g) => ({ label: g.querySelector('h3')?.textContent, things: [...g.querySelectorAll('[data-thing-link]')].map((l) => l.getAttribute('data-thing-link')) })));
  t.equal(groups.length, 2, 'the Things are listed in two groups, one per node');
  t.equal(groups[0]!.label, `This node · ${new URL(a.url).host}`, "A's own first, under this node's name");
  t.ok(groups[0]!.things.includes('thermostat') && !groups[0]!.things.includes(thermostat.id), "with A's thermostat only");
  t.equal(groups[1]!.label, `Node ${new URL(b.url).host}`, "then B's, under B's address");
  t.ok(groups[1]!.things.includes(thermostat.id) && !groups[1]!.things.includes('thermostat'), "with B's thermostat");

  await link.click();
  const view = page.locator(`[data-thing="${thermostat.id}"]`);
  const target = view.locator('[data-property="targetTemperature"]');
  await target.locator('output', { hasText: '21.0 °C' }).waitFor();
  t.pass("B's value is read through B's form");
  await target.locator('input').fill('23.5');
  await target.locator('button[type="submit"]').click();
  const write = page.locator('.write').first();
  await write.locator('[data-step="stored"][data-state="done"]').waitFor();
  t.match(await write.locator('[data-step="stored"]').textContent(), /^stored at node [0-9a-f]{8}…$/, 'the write to B shows its receipt');
  t.equal(await (await fetch(`${b.url}things/thermostat/properties/targetTemperature`)).json(), 23.5, 'B has the value');
  t.equal(await (await fetch(`${a.url}things/thermostat/properties/targetTemperature`)).json(), 21, "A's own thermostat is untouched");
  await view.locator('[data-property="currentTemperature"] output[data-updated-at]').waitFor();
  t.pass("B's readings arrive live over B's WebSocket");
  t.ok(sentToB.length > 0 && sentToB.every((authorization) => authorization === undefined), `${sentToB.length} requests to B, none with A's token`);
  t.notOk(sentToB.some((url) => url?.includes(token)), 'nor in a URL');

  t.equal(await b.stop('SIGKILL'), null);
  await page.locator(`[data-thing-link="${thermostat.id}"] [data-live="unreachable"]`).waitFor();
  t.pass("once B is gone its Things are marked unreachable");
  t.equal(await page.locator('#connection').getAttribute('data-state'), 'open', "A's own connection is unaffected");
  const refused = (e: string) => e.includes('WebSocket') || e.includes('net::ERR_CONNECTION_REFUSED');
  t.same(scriptErrors.filter((e) => !refused(e)), [], 'the page logged no script error (beyond the refused reconnects to B)');
  t.equal(await a.stop(), 0);
});

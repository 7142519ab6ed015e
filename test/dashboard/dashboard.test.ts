/**
 * The dashboard end to end, in a real browser (Debian's chromium driven by playwright-core)
 * against a real `flowchain start` process: the Things list and its search, a sensor value
 * updating live, a TD that validates, a write followed until it is mined with its Merkle proof
 * checked in the page, an out-of-range value explained and not sent, and the ring and ledger
 * views, and a dropped connection resumed without losing what happened meanwhile. A screenshot
 * goes next to the test's results (.tap/test-results/test/dashboard/).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { openPage, requireBrowser } from '../helpers/browser.js';
import { startNode } from '../helpers/node-process.js';
import { selfSignedCertificate } from '../helpers/self-signed.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import type { ThingFragment } from '../../src/td/thing-description.js';
import { createServient, tempDir } from '../helpers/test-servient.js';

const SCREENSHOTS = join(process.cwd(), '.tap', 'test-results', 'test', 'dashboard');

const updatedAt = (page: Page, thing: string, property: string) =>
  page.locator(`[data-thing="${thing}"] [data-property="${property}"] output`).getAttribute('data-updated-at');

/** Waits until a pushed value replaces the one stamped `before` (or the default timeout runs out). */
async function nextUpdate(page: Page, thing: string, property: string, before: string | null): Promise<void> {
  const output = page.locator(`[data-thing="${thing}"] [data-property="${property}"] output`);
  await output.and(page.locator(before === null ? '[data-updated-at]' : `:not([data-updated-at="${before}"])`)).waitFor({ state: 'attached' });
}

t.before(requireBrowser);

t.test('the dashboard in a real browser', async (t) => {
  const data = tempDir(t);
  const node = await startNode(t, ['--data', data, '--log-level', 'info']);
  const { page, scriptErrors } = await openPage(t);

  // The page opens on the overview; the Things view lists them.
  await page.goto(`${node.url}#/things`);
  await page.locator('#connection[data-state="open"]').waitFor();
  t.pass('the connection indicator says live');
  const slugs = await page.locator('[data-thing-link]').evaluateAll((links) => links.map((a) => a.getAttribute('data-thing-link')));
  t.same([...slugs].sort(), ['alerts', 'environment-sensor', 'ledger', 'smart-plug', 'thermostat'], 'every Thing is listed');
  await page.fill('#search', 'plug');
  const listed = () => page.locator('[data-thing-link]:visible').evaluateAll((links) => links.map((a) => a.getAttribute('data-thing-link')));
  t.same(await listed(), ['smart-plug'], 'search narrows the list');
  await page.fill('#search', '');
  await page.selectOption('#type-filter', 'saref:Sensor');
  t.same(await listed(), ['environment-sensor'], 'the @type filter narrows it to the sensors');
  await page.selectOption('#type-filter', '');
  await page.check('#live-only');
  t.notOk((await listed()).includes('smart-plug'), 'the live-only filter leaves out the smart plug, which reports nothing while off');
  await page.uncheck('#live-only');

  // A sensor value arrives twice over the WebSocket, and the Thing is marked live.
  await page.click('[data-thing-link="environment-sensor"]');
  const sensor = page.locator('[data-thing="environment-sensor"]');
  await sensor.locator('[data-property="temperature"] output[data-updated-at]').waitFor();
  const first = await updatedAt(page, 'environment-sensor', 'temperature');
  await nextUpdate(page, 'environment-sensor', 'temperature', first);
  t.match(await sensor.locator('[data-property="temperature"] output').textContent(), /^-?\d+(\.\d+)? °C$/, 'the temperature updates live, with its unit');
  await page.locator('[data-thing-link="environment-sensor"] [data-live="live"]').waitFor();
  t.pass('the sensor is marked live in the list');
  t.equal(await sensor.locator('[data-property="temperature"] input').count(), 0, 'a read-only property has no editor');
  await sensor.locator('[data-validation="valid"]').waitFor();
  t.pass('its TD validates against the TD 1.1 JSON Schema');

  // A write is confirmed by its owner and then mined; the browser checks the Merkle proof.
  await page.click('[data-thing-link="thermostat"]');
  const target = page.locator('[data-thing="thermostat"] [data-property="targetTemperature"]');
  await target.locator('input').fill('22.5');
  await target.locator('button[type="submit"]').click();
  const write = page.locator('.write').first();
  await write.locator('[data-step="stored"][data-state="done"]').waitFor();
  t.match(await write.locator('[data-step="stored"]').textContent(), /^stored at node [0-9a-f]{8}…$/, 'the write is confirmed as stored at its owner');
  await write.locator('[data-step="mined"][data-state="done"]').waitFor();
  t.match(await write.locator('[data-step="mined"]').textContent(), /^mined in block #\d+$/, 'then mined in a block');
  t.equal(await write.locator('[data-check="proofs"]').textContent(), 'Proofs checked in this browser ✓ (block hash, puzzle, Merkle path)', 'its proofs check in the browser');
  t.match(await write.locator('[data-step="anchored"]').textContent(), /not anchored/, 'the node anchors nowhere, and the page says so');
  const download = page.waitForEvent('download');
  await write.locator('a[download]').click();
  const receipt = JSON.parse(await (await download).createReadStream().then(async (stream) => {
    let text = '';
    for await (const chunk of stream) text += String(chunk);
    return text;
  })) as { status: string; tx: { data: { value: unknown } } };
  t.match(receipt, { status: 'mined', tx: { data: { value: 22.5 } } }, 'the downloaded receipt is the mined write');
  t.equal(await (await fetch(`${node.url}things/thermostat/properties/targetTemperature`)).json(), 22.5, 'the node has the value');

  // A value out of range is explained at the control and never sent.
  const writes = await page.locator('.write').count();
  await target.locator('input').fill('99');
  await target.locator('button[type="submit"]').click();
  t.equal(await target.locator('.error').textContent(), 'Target temperature must be at most 30 °C', 'an out-of-range value is rejected with a readable message');
  t.equal(await page.locator('.write').count(), writes, 'and nothing was sent');
  t.equal(await (await fetch(`${node.url}things/thermostat/properties/targetTemperature`)).json(), 22.5, 'the node still has the last good value');

  // An asynchronous action shows its invocation running, with a Cancel button that ends it.
  const boost = page.locator('[data-thing="thermostat"] [data-action="boost"]');
  await boost.locator('label.member', { hasText: 'minutes' }).locator('input').fill('30');
  await boost.locator('button[type="submit"]').click();
  await boost.locator('.result', { hasText: 'running…' }).waitFor();
  t.pass('the boost shows as running');
  await boost.locator('button.cancel').click();
  await boost.locator('.result.error').waitFor();
  t.equal(await boost.locator('.result').textContent(), 'The action was cancelled: boost was cancelled', 'cancelled, and the page says so');
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'dashboard.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  t.ok(await page.evaluate('document.documentElement.scrollWidth <= 390'), 'on a phone-sized screen the page needs no sideways scrolling');
  await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-phone.png') });
  await page.setViewportSize({ width: 1280, height: 1000 });

  // The ring and ledger views.
  await page.click('nav a[data-view="ring"]');
  await page.locator('#ring table').first().waitFor();
  t.match(await page.locator('#ring').textContent(), /This node .* sits at \d+\.\d+% of the identifier circle/, 'the ring view shows this node\'s position');
  const chainHeight = async () => ((await (await fetch(`${node.url}ledger`)).json()) as { height: number }).height;
  const before = await chainHeight();
  await page.click('nav a[data-view="ledger"]');
  await page.locator('#ledger [data-ledger="height"]').waitFor();
  const height = Number(await page.locator('#ledger [data-ledger="height"]').textContent());
  // The sample devices' readings are recorded, so blocks keep coming: the page shows a height
  // the chain had while it was read.
  const after = await chainHeight();
  t.ok(height >= before && height <= after, `the ledger view shows the chain height (${height}; the chain had ${before} then ${after})`);
  t.match(await page.locator('#ledger table').first().textContent(), new RegExp(`^#hashtransactionsdifficultysealed${height}`), 'and the newest block first');

  // The ledger's traffic (its own log, apart from the devices' events): events arrive; a
  // filter narrows them; pause holds new ones back until resumed.
  await page.click('nav a[data-view="events"]');
  await page.locator('#ledger-traffic summary').click();
  await page.locator('#ledger-log li').first().waitFor();
  await page.fill('#ledger-log-filter', 'block');
  const visible = () => page.locator('#ledger-log li:visible').allTextContents();
  await page.locator('#ledger-log li:visible').first().waitFor();
  t.ok((await visible()).every((text) => text.includes('block')), 'the filter shows only the matching events');
  await page.fill('#ledger-log-filter', '');
  await page.click('#ledger-log-pause');
  const held = await page.locator('#ledger-log li').count();
  await page.locator('#ledger-log-pause', { hasText: /^Resume \(\d+ new\)$/ }).waitFor();
  t.equal(await page.locator('#ledger-log li').count(), held, 'while paused, new events are counted but not shown');
  await page.click('#ledger-log-pause');
  t.ok((await page.locator('#ledger-log li').count()) > held, 'resuming shows them');

  // The node goes away and comes back on the same port: the page says so and reconnects by itself.
  const port = new URL(node.url).port;
  t.equal(await node.stop(), 0, 'the node stops');
  await page.locator('#connection[data-state="closed"]').waitFor();
  t.match(await page.locator('#connection').textContent(), /^offline, retrying in \d+ s$/, 'the indicator says the page is offline and when it retries');
  const again = await startNode(t, ['--data', data, '--log-level', 'info'], { FLOWCHAIN_HOST: '127.0.0.1', FLOWCHAIN_PORT: port });
  await page.locator('#connection[data-state="open"]').waitFor({ timeout: 30_000 });
  const back = await updatedAt(page, 'environment-sensor', 'temperature');
  await nextUpdate(page, 'environment-sensor', 'temperature', back);
  t.pass('the page reconnects and live values flow again');

  // While the node was down the browser itself logged the refused reconnects and list re-reads.
  const refused = (e: string) => e.includes('WebSocket') || e.includes('net::ERR_CONNECTION_REFUSED');
  t.same(scriptErrors.filter((e) => !refused(e)), [], 'the page logged no script error (beyond the refused reconnects)');
  t.equal(await again.stop(), 0);
});

t.test('on a node that requires a token, the server\'s refusal is explained and the token entered on the page is used', async (t) => {
  const tokenFile = join(tempDir(t), 'token');
  const token = randomBytes(24).toString('hex');
  writeFileSync(tokenFile, token);
  const node = await startNode(t, ['--data', tempDir(t), '--log-level', 'info', '--auth-token-file', tokenFile]);
  const { page, scriptErrors } = await openPage(t);
  await page.goto(`${node.url}#/things/thermostat`);
  await page.locator('#connection[data-state="open"]').waitFor();
  const mode = page.locator('[data-thing="thermostat"] [data-property="mode"]');
  await mode.locator('select').selectOption('cool');
  await mode.locator('.error:not(:empty)').waitFor();
  t.equal(await mode.locator('.error').textContent(), 'Credentials required: enter this node\'s access token at the top of the page', 'the 401 problem is shown as what to do');
  t.equal(await (await fetch(`${node.url}things/thermostat/properties/mode`)).json(), 'heat', 'nothing was written');
  t.equal(await mode.locator('select').inputValue().then((index) => mode.locator(`option[value="${index}"]`).textContent()), 'heat', 'and the select shows the value the Thing still has');

  await page.fill('#token', token);
  await page.press('#token', 'Enter');
  await page.locator('#connection[data-state="open"]').waitFor();
  await mode.locator('select').selectOption('auto');
  await page.locator('.write').first().locator('[data-step="stored"][data-state="done"]').waitFor();
  t.equal(await (await fetch(`${node.url}things/thermostat/properties/mode`)).json(), 'auto', 'with the token, the write goes through');
  t.equal(await mode.locator('.error').textContent(), '', 'and the earlier error is gone');
  t.same(scriptErrors.filter((e) => !e.includes('status of 401')), [], 'the page logged no script error');
  t.equal(await node.stop(), 0);
});

t.test('on a node that takes only HTTP Basic credentials, the page sends the user:password entered as Basic', async (t) => {
  const users = join(tempDir(t), 'users');
  const password = randomBytes(12).toString('hex');
  writeFileSync(users, `ops:${password}\n`);
  const node = await startNode(t, ['--data', tempDir(t), '--log-level', 'info', '--basic-auth-file', users]);
  const { page, scriptErrors } = await openPage(t);
  await page.goto(`${node.url}#/things/thermostat`);
  await page.locator('#connection[data-state="open"]').waitFor();
  const mode = page.locator('[data-thing="thermostat"] [data-property="mode"]');
  await mode.locator('select').selectOption('cool');
  await mode.locator('.error:not(:empty)').waitFor();
  t.equal(await mode.locator('.error').textContent(), 'Credentials required: enter this node\'s access token (user:password) at the top of the page');
  await page.fill('#token', `ops:${password}`);
  await page.press('#token', 'Enter');
  await page.locator('#connection[data-state="open"]').waitFor();
  await mode.locator('select').selectOption('auto');
  await page.locator('.write').first().locator('[data-step="stored"][data-state="done"]').waitFor();
  t.equal(await (await fetch(`${node.url}things/thermostat/properties/mode`)).json(), 'auto', 'with the credentials, the write goes through');
  t.same(scriptErrors.filter((e) => !e.includes('status of 401')), [], 'the page logged no script error');
  t.equal(await node.stop(), 0);
});

t.test('over HTTPS the page and its live stream (wss:) work, within its Content-Security-Policy', async (t) => {
  const dir = tempDir(t);
  // Browsers take no Ed25519 server certificate: this one is ECDSA P-256.
  const { cert, key } = selfSignedCertificate('ecdsa');
  writeFileSync(join(dir, 'cert.pem'), cert);
  writeFileSync(join(dir, 'key.pem'), key);
  const node = await startNode(t, ['--data', join(dir, 'data'), '--log-level', 'info', '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')]);
  t.match(node.url, /^https:/);
  const { page, scriptErrors } = await openPage(t, true);
  await page.goto(`${node.url}#/things/environment-sensor`);
  await page.locator('#connection[data-state="open"]').waitFor();
  t.pass('the WebSocket, at the wss: URL the TDs name, is open');
  const first = await updatedAt(page, 'environment-sensor', 'temperature');
  await nextUpdate(page, 'environment-sensor', 'temperature', first);
  t.pass('live values arrive over it');
  t.same(scriptErrors, [], 'no script error and no CSP violation');
  t.equal(await node.stop(), 0);
});

t.test('a dropped connection is resumed: a change made while the page was away is shown after the reconnect', async (t) => {
  const node = await startNode(t, ['--data', tempDir(t), '--log-level', 'info']);
  // The page talks to the node through a proxy that can drop its WebSocket as a network would.
  const proxy = await TcpProxy.start(t, Number(new URL(node.url).port));
  const { page, scriptErrors } = await openPage(t);
  await page.goto(`http://127.0.0.1:${proxy.port}/#/things/thermostat`);
  await page.locator('#connection[data-state="open"]').waitFor();
  await page.click('nav a[data-view="events"]');
  await page.check('#log-properties');
  const mode = page.locator('[data-thing="thermostat"] [data-property="mode"] select');
  // The select's values are option indexes; its options show the enum values.
  const shown = async () => mode.locator(`option[value="${await mode.inputValue()}"]`).textContent();
  t.equal(await shown(), 'heat');

  proxy.holdWebSockets();
  proxy.cutWebSockets();
  await page.locator('#connection:not([data-state="open"])').waitFor();
  t.pass('the page noticed it lost its stream');
  const write = await fetch(`${node.url}things/thermostat/properties/mode`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '"cool"' });
  t.equal(write.status, 204, 'someone else writes while the page is away');
  proxy.releaseWebSockets();
  await page.locator('#connection[data-state="open"]').waitFor({ timeout: 30_000 });

  const change = page.locator('#log li.log-property', { hasText: 'Thermostat' }).filter({ hasText: /mode\s*cool/ });
  await change.waitFor({ state: 'attached' });
  t.pass('the change itself is in the event log: replayed, not just read again');
  const progress = page.locator('#ledger-log li.log-event', { hasText: 'transaction' }).filter({ hasText: '· Thermostat · mode' });
  await progress.first().waitFor({ state: 'attached' });
  t.pass('and so is the ledger event it caused while the page was away');
  t.equal(await shown(), 'cool', 'the control shows the new value');
  t.same(scriptErrors.filter((e) => !e.includes('WebSocket')), [], 'the page logged no script error');
  t.equal(await node.stop(), 0);
});

t.test('a Thing an application produces while the page is open appears on it, live, and leaves it when destroyed', async (t) => {
  const { servient } = await createServient(t, { things: tempDir(t) });
  const { url } = await servient.start();
  const { page, scriptErrors } = await openPage(t);
  await page.goto(`${url}#/things`);
  await page.locator('#connection[data-state="open"]').waitFor();
  const greenhouse = await servient.produce({ title: 'Greenhouse', '@type': 'saref:Sensor', properties: { vent: { type: 'boolean', observable: true } } } as ThingFragment);
  await greenhouse.expose();
  await page.locator('[data-thing-link="greenhouse"]').waitFor();
  t.pass('listed after the next refresh of the list');
  await page.click('[data-thing-link="greenhouse"]');
  const write = await fetch(`${url}things/greenhouse/properties/vent`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: 'true' });
  t.equal(write.status, 204);
  await page.locator('[data-thing="greenhouse"] [data-property="vent"] output[data-updated-at]').waitFor({ state: 'attached' });
  t.pass('its change arrives over the page\'s live stream');
  await greenhouse.destroy();
  await page.locator('[data-thing-link="greenhouse"]').waitFor({ state: 'detached' });
  t.pass('and it leaves the list once destroyed');
  t.same(scriptErrors, [], 'the page logged no script error');
});

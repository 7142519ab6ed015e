/**
 * The dashboard as people use it every day, in a real browser against a real `flowchain start`
 * process: an alert rule created from the page fires on a real change, shows its badge (and a
 * browser notification, once allowed) and is acknowledged from the page; the Events page keeps
 * the devices' events apart from the ledger's traffic, and opens with the events' history; a ledger row leads to its block, its
 * transactions and a receipt, and the lookup box finds a transaction by id; and the phone
 * layout at 390x844 keeps the validity badge on one line and puts a chosen Thing before the list.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { openPage, requireBrowser } from '../helpers/browser.js';
import { startNode } from '../helpers/node-process.js';
import { tempDir } from '../helpers/test-servient.js';

t.before(requireBrowser);

const LEDGER_EVENTS = ['transaction', 'block', 'anchor'];
const SCREENSHOTS = join(process.cwd(), '.tap', 'test-results', 'test', 'dashboard');

t.test('alerts, events apart from ledger traffic, ledger rows and the lookup box, on one node', async (t) => {
  const node = await startNode(t, ['--data', tempDir(t), '--log-level', 'info']);
  const { page, scriptErrors } = await openPage(t);
  // The browser's notifications are allowed for the page; each one shown is recorded.
  await page.context().grantPermissions(['notifications'], { origin: new URL(node.url).origin });
  await page.addInitScript(`{
    const shown = (window.shownNotifications = []);
    const Original = window.Notification;
    window.Notification = class extends Original {
      constructor(title, options) {
        super(title, options);
        shown.push(title);
      }
    };
  }`);
  await page.goto(`${node.url}#/alerts`);
  await page.locator('#connection[data-state="open"]').waitFor();
  t.equal(await page.locator('#alert-badge').isHidden(), true, 'no badge while no alert is active');
  t.equal(await page.locator('#notify-state').textContent(), 'new alerts are also shown as browser notifications', 'the page says notifications are on');

  // A rule made on the page: the thermostat's target above 25 °C.
  await page.locator('#rule-thing').selectOption({ label: 'Thermostat' });
  await page.locator('#rule-property').selectOption('targetTemperature');
  await page.locator('#rule-comparison').selectOption('>');
  await page.fill('#rule-threshold', '25');
  await page.fill('#rule-title', 'Too warm');
  await page.locator('#rule-form button[type="submit"]').click();
  await page.locator('#rules tbody tr[data-rule]').waitFor();
  t.match(await page.locator('#rules tbody tr').textContent(), /Thermostat.*targetTemperature.*> 25/, 'the rule is listed');
  const rules = (await (await fetch(`${node.url}things/alerts/properties/rules`)).json()) as { property: string; threshold: unknown; comparison: string }[];
  t.match(rules, [{ property: 'targetTemperature', comparison: '>', threshold: 25 }], 'and the node has it');

  // A real change fires it.
  const write = await fetch(`${node.url}things/thermostat/properties/targetTemperature`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '27' });
  t.equal(write.status, 204);
  const txId = write.headers.get('flowchain-tx-id')!;
  await page.locator('#alert-badge[data-count="1"]:not([hidden])').waitFor();
  t.equal(await page.locator('#alert-badge').textContent(), '1', 'the badge counts the alert');
  const alert = page.locator('#active-alerts [data-alert]');
  t.match(await alert.textContent(), /Too warm.*Thermostat · targetTemperature > 25.0 °C \(now 27.0 °C\)/, 'the alert says what fired it');
  t.same(await page.evaluate('window.shownNotifications'), ['Too warm'], 'and it was announced as a browser notification');
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'alerts.png'), fullPage: true });
  await alert.locator('button.acknowledge').click();
  await page.locator('#active-alerts [data-alert][data-acknowledged="true"]').waitFor();
  await page.locator('#alert-badge[hidden]').waitFor({ state: 'attached' });
  t.pass('acknowledged from the page: the badge is gone');
  const active = (await (await fetch(`${node.url}things/alerts/properties/activeAlerts`)).json()) as { acknowledged: boolean }[];
  t.match(active, [{ acknowledged: true }], 'the node has it acknowledged');

  // The Events page: the alert is a device event; the write's ledger traffic is kept apart.
  await page.click('nav a[data-view="events"]');
  await page.locator('#log li', { hasText: 'alert' }).first().waitFor();
  const deviceNames = await page.locator('#log li .name').allTextContents();
  t.notOk(deviceNames.some((name) => LEDGER_EVENTS.includes(name)), `the device events (${deviceNames.join(', ')}) hold no ledger traffic`);
  await page.locator('#ledger-log li', { hasText: 'transaction' }).first().waitFor({ state: 'attached' });
  const ledgerNames = await page.locator('#ledger-log li .name').allTextContents();
  t.ok(ledgerNames.length > 0 && ledgerNames.every((name) => LEDGER_EVENTS.includes(name)), 'the ledger traffic is in its own log');
  await page.locator('#ledger-traffic summary').click();
  t.match(await page.locator('#ledger-log li', { hasText: 'targetTemperature' }).first().textContent(), /transaction(queued|stored) · Thermostat · targetTemperature/, 'each transaction step is told in words, not raw JSON');

  // Opened again, the page shows the events of before from their history.
  await page.reload();
  await page.locator('#connection[data-state="open"]').waitFor();
  await page.locator('#log li', { hasText: 'Too warm' }).first().waitFor();
  const reloaded = await page.locator('#log li .name').allTextContents();
  t.ok(reloaded.includes('alert'), `a reloaded Events page starts from the events' history (${reloaded.join(', ')})`);
  t.notOk(reloaded.some((name) => LEDGER_EVENTS.includes(name)), 'still without ledger traffic');

  // The write's block: wait until it is mined, then follow it from the ledger view.
  let height: number | undefined;
  for (let i = 0; i < 600 && height === undefined; i++) {
    const receipt = (await (await fetch(`${node.url}ledger/tx/${txId}`)).json()) as { status: string; minedIn?: { header: { height: number } } };
    if (receipt.minedIn !== undefined) height = receipt.minedIn.header.height;
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.type(height, 'number', `the write was mined in block #${height}`);
  await page.click('nav a[data-view="ledger"]');
  await page.locator(`#ledger tr[data-block="${height}"] td:nth-child(2)`).click();
  const detail = page.locator('#ledger-detail');
  await detail.locator('[data-detail="block"]').waitFor();
  t.equal(await detail.locator('h3').textContent(), `Block #${height}`, 'a row leads to its block');
  t.equal(page.url().endsWith(`#/ledger/block/${height}`), true, 'at an address of its own');
  await detail.locator(`a[data-tx="${txId}"]`).click();
  await detail.locator('[data-detail="receipt"]').waitFor();
  await page.screenshot({ path: join(SCREENSHOTS, 'ledger-receipt.png'), fullPage: true });
  await detail.locator('[data-detail="receipt"]').waitFor();
  t.equal(await detail.locator('[data-field="txId"]').textContent(), txId, 'a transaction leads to its receipt');
  t.equal(await detail.locator('[data-field="value"]').textContent(), '27', 'which shows the value written');
  t.equal(await detail.locator('[data-field="thing"]').textContent(), 'Thermostat', 'to which Thing, by its title');
  t.equal(await detail.locator('[data-field="block"]').textContent(), `#${height}`);
  t.equal(await detail.locator('[data-check="proofs"]').textContent(), 'Proofs checked in this browser ✓ (block hash, puzzle, Merkle path)', 'its proofs checked in the browser');

  // The lookup box.
  await page.goto(`${node.url}#/ledger`);
  await page.locator('#ledger [data-ledger="height"]').waitFor();
  t.equal(await detail.isHidden(), true, 'no detail until something is chosen');
  await page.fill('#tx-id', txId.toUpperCase());
  await page.press('#tx-id', 'Enter');
  await detail.locator('[data-detail="receipt"]').waitFor();
  t.equal(await detail.locator('[data-field="txId"]').textContent(), txId, 'the lookup box finds a transaction by its id');
  const unknown = 'f'.repeat(64);
  await page.fill('#tx-id', unknown);
  await page.press('#tx-id', 'Enter');
  await detail.locator('[data-detail="error"]').waitFor();
  t.match(await detail.locator('[data-detail="error"]').textContent(), new RegExp(`^Transaction ${unknown}: `), 'an unknown id is explained');

  t.same(scriptErrors.filter((e) => !e.includes('404')), [], 'the page logged no script error (beyond the unknown id)');
  t.equal(await node.stop(), 0);
});

t.test('the phone layout at 390x844: the validity badge stays on one line, and a chosen Thing comes before the list', async (t) => {
  const node = await startNode(t, ['--data', tempDir(t), '--log-level', 'info']);
  const { page, scriptErrors } = await openPage(t);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${node.url}#/things`);
  await page.locator('#connection[data-state="open"]').waitFor();
  const top = async (selector: string) => (await page.locator(selector).boundingBox())!.y;
  t.ok((await top('#thing-list')) < (await top('#thing-detail')), 'with no Thing chosen, the list comes first');

  await page.click('[data-thing-link="thermostat"]');
  const thermostat = '[data-thing="thermostat"]';
  await page.locator(`${thermostat} [data-validation="valid"]`).waitFor();
  t.ok((await top(thermostat)) < (await top('#thing-list')), 'the chosen Thing comes before the list');
  const badge = (await page.locator(`${thermostat} [data-validation="valid"]`).evaluate((el) => {
    const style = el.ownerDocument.defaultView!.getComputedStyle(el);
    return { whiteSpace: style.whiteSpace, lines: el.getClientRects().length, height: el.getBoundingClientRect().height, lineHeight: parseFloat(style.fontSize) * 1.45, right: el.getBoundingClientRect().right };
  })) as { whiteSpace: string; lines: number; height: number; lineHeight: number; right: number };
  t.equal(badge.whiteSpace, 'nowrap', 'the badge does not wrap');
  t.equal(badge.lines, 1, 'it is one box');
  t.ok(badge.height < 2 * badge.lineHeight, `one line high (${badge.height} px)`);
  t.ok(badge.right <= 390, 'and within the screen');
  t.ok(await page.evaluate('document.documentElement.scrollWidth <= 390'), 'the page needs no sideways scrolling');
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'phone-thing.png') });
  for (const view of ['events', 'ledger', 'alerts']) {
    await page.click(`nav a[data-view="${view}"]`);
    await page.locator(`#${view}-view`).waitFor();
    t.ok(await page.evaluate('document.documentElement.scrollWidth <= 390'), `nor on the ${view} page`);
  }
  t.same(scriptErrors, [], 'the page logged no script error');
  t.equal(await node.stop(), 0);
});

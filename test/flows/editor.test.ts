/**
 * The Node-RED editor of a node started with `--flows`, in a real browser (Debian's chromium
 * driven by playwright-core) against a real `flowchain start` process: the editor loads with
 * Flowchain's nodes in the palette, a node's dialog adds a flowchain-server and then suggests
 * the ring's Things and the chosen Thing's properties, and the example flow
 * (examples/flows/temperature-rule.json) imports and deploys. A screenshot of it goes next to
 * the test's results (.tap/test-results/test/flows/editor.png), and to docs/flows-editor.png
 * when FLOWCHAIN_UPDATE_SCREENSHOTS=1.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Page } from 'playwright-core';
import { openPage, requireBrowser } from '../helpers/browser.js';
import { startNode } from '../helpers/node-process.js';
import { tempDir } from '../helpers/test-servient.js';
import { exampleFlow } from './fixtures.js';

const SCREENSHOTS = join(process.cwd(), '.tap', 'test-results', 'test', 'flows');
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../docs/flows-editor.png', import.meta.url));

/** The palette's Flowchain entries: every type but the config node, which the Server field adds. */
const PALETTE = ['flowchain-directory', 'flowchain-event', 'flowchain-invoke', 'flowchain-observe', 'flowchain-read', 'flowchain-receipt', 'flowchain-write'];

/** The suggestions a datalist offers: value and label. */
const suggestions = (page: Page, list: string) =>
  page.locator(`#${list} option`).evaluateAll((options) => options.map((o) => ({ value: o.getAttribute('value') ?? '', label: o.textContent ?? '' })));

/** As much of the editor's `RED` as the test calls, in the page (where it is a global). */
interface EditorRed {
  readonly nodes: { getType(type: string): { category: string } | undefined; node(id: string): unknown };
  readonly workspaces: { active(): string; show(id: string): void };
  readonly view: { importNodes(nodes: object[], options: object): void };
  readonly editor: { edit(node: unknown): void };
}
type EditorGlobal = typeof globalThis & { RED: EditorRed };

/** The status text under the node `id` in the workspace. */
const statusOf = (page: Page, id: string) => page.locator(`[id="${id}"] .red-ui-flow-node-status-label`);

t.before(requireBrowser);

t.test('the flow editor of a node started with --flows, in a real browser', async (t) => {
  const node = await startNode(t, ['--data', tempDir(t), '--flows', '--mqtt', 'off', '--coap-port', 'off', '--log-level', 'info']);
  const { page, scriptErrors } = await openPage(t);

  await page.goto(`${node.url}flows/`);
  await page.locator('.red-ui-palette-node[data-palette-type="flowchain-read"]').waitFor({ timeout: 30_000 });
  t.pass('the editor loads, with its palette');
  const category = page.locator('#red-ui-palette-container-flowchain');
  const types = await category.locator('.red-ui-palette-node').evaluateAll((entries) => entries.map((e) => e.getAttribute('data-palette-type')));
  t.same([...types].sort(), PALETTE, 'the flowchain category holds the seven Flowchain nodes');
  t.equal(await page.evaluate(() => (globalThis as EditorGlobal).RED.nodes.getType('flowchain-server')?.category), 'config', 'and flowchain-server is a configuration node type');

  // The ring's Things as the node's own API lists them.
  const tdOf = async (slug: string) => (await (await fetch(`${node.url}things/${slug}`)).json()) as { id: string; title: string; properties: Record<string, unknown> };
  const [sensor, plug, thermostat] = await Promise.all(['environment-sensor', 'smart-plug', 'thermostat'].map(tdOf));

  // A read node dropped into the workspace (through the editor's import, as a paste does), then its dialog.
  const READ = 'f1e2d3c4b5a69788';
  await page.evaluate((id) => {
    const { RED } = globalThis as EditorGlobal;
    RED.view.importNodes([{ id, type: 'flowchain-read', z: RED.workspaces.active(), name: '', server: '', thing: '', affordance: '', x: 160, y: 80, wires: [[]] }], { generateIds: false });
    RED.editor.edit(RED.nodes.node(id));
  }, READ);
  const server = page.locator('#node-input-server');
  await server.waitFor();
  t.equal(await server.inputValue(), '_ADD_', 'no server yet: the Server field offers to add one');
  t.equal(await page.locator('#node-input-flowchain-note').textContent(), 'Choose or add a Flowchain server to list its ring\'s Things.', 'and the dialog says what to do');
  await page.locator('#node-input-btn-server-add').click();
  const url = page.locator('#node-config-input-url');
  await url.waitFor();
  t.equal(await url.inputValue(), 'http://localhost:8080/', 'a new flowchain-server starts at the URL of npm start\'s node');
  await url.fill(node.url);
  await page.locator('#node-config-dialog-ok').click();
  await page.locator('#node-input-flowchain-note', { hasText: /Things in the ring\.$/ }).waitFor();
  t.not(await server.inputValue(), '_ADD_', 'the new server is chosen');
  const things = await suggestions(page, 'node-input-flowchain-things');
  for (const td of [sensor, plug, thermostat]) t.ok(things.some((s) => s.value === td!.id && s.label === td!.title), `the Thing field suggests ${td!.title} (${td!.id})`);

  // Choosing a suggestion puts its value in the field, as fill() does.
  await page.locator('#node-input-thing').fill(thermostat!.id);
  const properties = (await suggestions(page, 'node-input-flowchain-affordances')).map((s) => s.value);
  t.same(properties, Object.keys(thermostat!.properties), 'choosing the thermostat, the Property field suggests its properties');
  await page.locator('#node-input-affordance').fill('targetTemperature');
  await page.locator('#node-dialog-ok').click();
  await page.locator(`[id="${READ}"]`, { hasText: 'read targetTemperature' }).waitFor();
  t.pass('the read node is labelled with its property');

  // The example flow, through the editor's import (what Import does with the file), then deployed.
  const flow = exampleFlow('temperature-rule.json', node.url);
  const tab = flow.find((n) => n.type === 'tab')!.id as string;
  await page.evaluate(
    ({ nodes, tab }) => {
      const { RED } = globalThis as EditorGlobal;
      RED.view.importNodes(nodes, { generateIds: false });
      RED.workspaces.show(tab);
    },
    { nodes: flow, tab },
  );
  const observe = flow.find((n) => n.type === 'flowchain-observe')!.id as string;
  const write = flow.find((n) => n.type === 'flowchain-write')!.id as string;
  await page.locator(`[id="${observe}"]`).waitFor();
  t.equal((await page.locator(`#red-ui-tab-${tab}`).textContent())?.trim(), 'Temperature rule', 'the example imports as its own tab');
  await page.locator('#red-ui-header-button-deploy').click();
  await statusOf(page, observe).filter({ hasText: 'observing' }).waitFor();
  t.pass('deployed, the observe node observes the sensor');
  await statusOf(page, write).filter({ hasText: /^(connected|sent|stored|queued|waiting for the receipt)$/ }).waitFor();
  t.pass('and the write node found the plug');
  const deployed = (await (await fetch(`${node.url}flows/flows`, { headers: { 'node-red-api-version': 'v1' } })).json()) as { id: string }[];
  t.ok(flow.every((n) => deployed.some((d) => d.id === n.id)), 'the node runs every node of the example');

  // The write node's dialog: the same rows as the read node's, its property named by the slug
  // TD URL the example uses (suggested by asking for that one Thing), and its own checkbox.
  await page.evaluate((id) => {
    const { RED } = globalThis as EditorGlobal;
    RED.editor.edit(RED.nodes.node(id));
  }, write);
  t.equal(await page.locator('label[for="node-input-affordance"]').textContent(), ' Property', 'the dialog asks for a property');
  t.ok(await page.locator('#node-input-waitReceipt').isChecked(), 'its "wait for the receipt" is on, as the example sets it');
  await page.locator('#node-input-flowchain-affordances option[value="on"]').waitFor({ state: 'attached' });
  t.same((await suggestions(page, 'node-input-flowchain-affordances')).map((o) => o.value), ['on', 'power'], 'the plug\'s properties are suggested for its slug TD URL');
  await page.locator('#node-dialog-cancel').click();
  // The tray slides away and hands the keyboard back to the workspace: type only once it is gone.
  await page.locator('#node-dialog-cancel').waitFor({ state: 'hidden' });

  // For the picture: room for the whole flow beside the sidebar, the palette narrowed to
  // Flowchain's nodes, and the editor's notices gone. Keys typed while the editor moves focus
  // can be lost (CI on Node 24 once saw the filter never apply), so the search is typed again
  // until the palette shows only Flowchain's nodes.
  await page.setViewportSize({ width: 1600, height: 900 });
  const search = page.locator('#red-ui-palette-search input');
  const inject = page.locator('.red-ui-palette-node[data-palette-type="inject"]');
  for (let attempt = 1; ; attempt++) {
    await search.fill('');
    await search.pressSequentially('flowchain');
    try {
      await inject.waitFor({ state: 'hidden', timeout: 5_000 });
      break;
    } catch (err) {
      if (attempt === 4) throw err;
    }
  }
  await page.waitForFunction('document.querySelectorAll(".red-ui-notification").length === 0', undefined, { timeout: 30_000 });
  mkdirSync(SCREENSHOTS, { recursive: true });
  const screenshot = join(SCREENSHOTS, 'editor.png');
  await page.screenshot({ path: screenshot });
  if (process.env.FLOWCHAIN_UPDATE_SCREENSHOTS === '1') copyFileSync(screenshot, DOCS_SCREENSHOT);

  // Nothing is fetched from outside either: the palette manager is given no catalogue.
  t.same(scriptErrors, [], 'the page logged no script error');
  t.equal(await node.stop(), 0, 'the node stops');
});

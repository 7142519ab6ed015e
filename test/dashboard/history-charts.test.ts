/**
 * The dashboard's charts in a real browser against an in-process node on a manual clock, the
 * page's clock fixed to the same instant: values written at known times are on the charts as
 * soon as the page loads (read from their history, before any live value), the range picker
 * changes what they cover, setpoints draw as steps and readings as lines, a value written
 * later joins the chart live, the CSV export holds exactly the range's values with their
 * transaction ids, and a point leads to its transaction's receipt. Assertions read the data-* attributes the charts expose, never pixels.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Page } from 'playwright-core';
import { openPage, requireBrowser } from '../helpers/browser.js';
import { createServient, tempDir } from '../helpers/test-servient.js';
import type { ThingFragment } from '../../src/td/thing-description.js';

t.before(requireBrowser);

const MINUTE = 60_000;
const SCREENSHOTS = join(process.cwd(), '.tap', 'test-results', 'test', 'dashboard');

interface ChartData {
  state: string | undefined;
  range: string | undefined;
  every: number;
  points: number;
  historyPoints: number;
  values: (number | null)[];
  steps: string | undefined;
}

/** What the chart of `property` holds, once it has settled (read its history, or failed to). */
async function chartOf(page: Page, property: string): Promise<ChartData> {
  const box = page.locator(`[data-thing="greenhouse"] [data-property="${property}"] .chart`);
  await box.and(page.locator('[data-state="ready"], [data-state="failed"], [data-state="no-history"]')).waitFor({ state: 'attached' });
  const data = (await box.evaluate((el) => ({ ...el.dataset }))) as Record<string, string | undefined>;
  return {
    state: data.state,
    range: data.range,
    every: Number(data.every),
    points: Number(data.points),
    historyPoints: Number(data.historyPoints),
    values: JSON.parse(data.values ?? '[]') as (number | null)[],
    steps: data.steps,
  };
}

t.test('charts are filled from history on load, follow the range picker, go on live, and export their range as CSV', async (t) => {
  const { servient, clock } = await createServient(t, { things: tempDir(t) });
  const { url } = await servient.start();
  const greenhouse = await servient.produce({
    title: 'Greenhouse',
    properties: {
      setpoint: { type: 'number', minimum: 0, maximum: 40, observable: true },
      vent: { type: 'boolean', observable: true },
    },
  } as ThingFragment);
  await greenhouse.expose();
  const put = async (name: string, value: unknown): Promise<string | null> => {
    const response = await fetch(`${url}things/greenhouse/properties/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
    t.equal(response.status, 204, `${name} = ${JSON.stringify(value)} written`);
    return response.headers.get('flowchain-tx-id');
  };

  // Three setpoints 50, 30 and 5 minutes before "now", and the vent opened 20 minutes before.
  const start = clock.now();
  const txIds = [await put('setpoint', 18)];
  clock.advance(20 * MINUTE);
  txIds.push(await put('setpoint', 19.5));
  clock.advance(10 * MINUTE);
  await put('vent', true);
  clock.advance(15 * MINUTE);
  txIds.push(await put('setpoint', 21));
  clock.advance(5 * MINUTE);
  const now = clock.now();
  t.equal(now - start, 50 * MINUTE);

  const { page, scriptErrors } = await openPage(t);
  // The page's clock is the node's: "the last hour" is the same hour on both.
  await page.clock.setFixedTime(now);
  await page.goto(`${url}#/things/greenhouse`);

  const loaded = await chartOf(page, 'setpoint');
  t.equal(loaded.range, '1h', 'the page opens on the last hour');
  t.equal(loaded.state, 'ready');
  t.equal(loaded.historyPoints, 3, 'the three setpoints of the hour are read from the history');
  t.same(loaded.values.slice(0, 3), [18, 19.5, 21], 'in order, before any live value arrived');
  t.equal(loaded.steps, 'true', 'a writable number (a setpoint) draws as steps');
  const vent = await chartOf(page, 'vent');
  t.same(vent.values.slice(0, 1), [1], 'the vent, a boolean, is charted as on');
  t.equal(vent.steps, 'true', 'and as steps');

  // 15 minutes: only the newest setpoint; the buckets are narrower.
  await page.locator('#range-picker input[value="15m"]').check();
  await page.locator('[data-property="setpoint"] .chart[data-range="15m"]').waitFor();
  const quarter = await chartOf(page, 'setpoint');
  t.equal(quarter.historyPoints, 1, 'the last 15 minutes hold one setpoint');
  t.same(quarter.values.slice(0, 2), [19.5, 21], 'after the setpoint that held when the range began');
  t.ok(quarter.every < loaded.every, `its buckets are narrower (${quarter.every} ms against ${loaded.every} ms)`);

  // 7 days: wider buckets over everything.
  await page.locator('#range-picker input[value="7d"]').check();
  await page.locator('[data-property="setpoint"] .chart[data-range="7d"]').waitFor();
  const week = await chartOf(page, 'setpoint');
  t.ok(week.every > loaded.every, `a week has wider buckets (${week.every} ms)`);
  t.ok(week.historyPoints >= 1 && week.values.includes(21), 'and still ends on the newest setpoint');

  // A custom range: the first half hour holds the first two setpoints.
  await page.locator('#range-picker input[value="custom"]').check();
  // datetime-local takes the page's local time, without a zone.
  const local = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
  await page.fill('#range-since', await page.evaluate(local, start - MINUTE));
  await page.fill('#range-until', await page.evaluate(local, start + 25 * MINUTE));
  await page.locator('#custom-range button[type="submit"]').click();
  await page.locator('[data-property="setpoint"] .chart[data-range="custom"]').waitFor();
  const custom = await chartOf(page, 'setpoint');
  t.same(custom.values.filter((v) => v !== null).slice(0, 2), [18, 19.5], 'a custom range shows the values inside it');
  t.equal(custom.historyPoints, 2);
  await page.fill('#range-until', await page.evaluate(local, start - 30 * MINUTE));
  await page.locator('#custom-range button[type="submit"]').click();
  t.equal(await page.locator('#range-error').textContent(), 'choose a start before the end', 'an end before the start is explained, not sent');

  // Back to the last hour; a new setpoint joins the chart live.
  await page.locator('#range-picker input[value="1h"]').check();
  await page.locator('[data-property="setpoint"] .chart[data-range="1h"][data-state="ready"]').waitFor();
  const tx4 = await put('setpoint', 25);
  await page.locator('[data-property="setpoint"] .chart[data-history-points="3"]').and(page.locator('[data-values*="25"]')).waitFor({ state: 'attached' });
  const live = await chartOf(page, 'setpoint');
  t.same(live.values.filter((v) => v !== null).slice(0, 4), [18, 19.5, 21, 25], 'the live value is added after the history (not read again)');

  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'history-charts.png'), fullPage: true });

  // The CSV of the shown hour: every value, oldest first, with its time and transaction.
  const download = page.waitForEvent('download');
  await page.locator('[data-property="setpoint"] button.export').click();
  const file = await download;
  t.match(file.suggestedFilename(), /^greenhouse-setpoint-.*\.csv$/, 'the file is named after the Thing and property');
  let text = '';
  for await (const chunk of await file.createReadStream()) text += String(chunk);
  const at = (ms: number) => new Date(ms).toISOString();
  t.equal(
    text,
    ['timestamp,value,txId', `${at(start)},18,${txIds[0]}`, `${at(start + 20 * MINUTE)},19.5,${txIds[1]}`, `${at(start + 45 * MINUTE)},21,${txIds[2]}`, `${at(now)},25,${tx4}`, ''].join('\r\n'),
    'the CSV holds each value of the range with its time and transaction id',
  );
  t.ok(txIds.every((id) => /^[0-9a-f]{64}$/.test(id ?? '')), 'each one recorded in the ledger');

  // A point leads to the transaction that recorded it: the second setpoint's.
  const over = (await page.locator('[data-property="setpoint"] .chart .u-over').boundingBox())!;
  const shown = await page.locator('[data-property="setpoint"] .chart').evaluate((el) => ({ since: Number(el.dataset.since), until: Number(el.dataset.until) }));
  const second = Math.floor((start + 20 * MINUTE) / live.every) * live.every;
  await page.mouse.click(over.x + ((second - shown.since) / (shown.until - shown.since)) * over.width, over.y + over.height / 2);
  await page.locator('#ledger-detail [data-detail="receipt"]').waitFor();
  t.equal(page.url().endsWith(`#/ledger/tx/${txIds[1]}`), true, 'a click on a point opens its receipt');
  t.equal(await page.locator('#ledger-detail [data-field="txId"]').textContent(), txIds[1]);
  t.equal(await page.locator('#ledger-detail [data-field="value"]').textContent(), '19.5');
  t.same(scriptErrors, [], 'the page logged no script error');
});

/**
 * The overview in a real browser against an in-process node on a manual clock, the page's
 * clock fixed to the same instant: a page without a route opens on it, with a card for every
 * charted property of the node's devices (not the ledger's or the alerts Thing's), each chart
 * on the picker's range and filled from its history before any live value; 24 h shows the
 * last day of every sensor at once; a live change reaches its card; a card's title opens its
 * Thing; on a phone the cards stack in one column. Assertions read the data-* attributes the
 * charts expose and the cards' boxes, never pixels.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Page } from 'playwright-core';
import { openPage, requireBrowser } from '../helpers/browser.js';
import { createServient } from '../helpers/test-servient.js';

t.before(requireBrowser);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SCREENSHOTS = join(process.cwd(), '.tap', 'test-results', 'test', 'dashboard');

/** Every charted property of the bundled devices, as `{thing}/{property}`. */
const CARDS = ['environment-sensor/humidity', 'environment-sensor/temperature', 'smart-plug/on', 'smart-plug/power', 'thermostat/currentTemperature', 'thermostat/mode', 'thermostat/targetTemperature'];

interface CardChart {
  card: string;
  range: string | undefined;
  since: number;
  until: number;
  state: string | undefined;
  historyPoints: number;
  values: (number | null)[];
}

/** Every card's chart once all of them show `range` and have settled (read their history, or failed to). */
async function cardCharts(page: Page, range: string): Promise<CardChart[]> {
  await page.locator('#overview [data-card] .chart').first().waitFor({ state: 'attached' });
  await page.locator(`#overview [data-card] .chart:not([data-range="${range}"]), #overview [data-card] .chart[data-state="loading"]`).first().waitFor({ state: 'detached' });
  const charts: CardChart[] = [];
  for (const card of await page.locator('#overview [data-card]').all()) {
    const { thing, property } = await card.evaluate((el) => ({ thing: el.dataset.card, property: el.dataset.cardProperty }));
    const data = await card.locator('.chart').evaluate((el) => ({ ...el.dataset }));
    charts.push({
      card: `${thing}/${property}`,
      range: data.range,
      since: Number(data.since),
      until: Number(data.until),
      state: data.state,
      historyPoints: Number(data.historyPoints),
      values: JSON.parse(data.values ?? '[]') as (number | null)[],
    });
  }
  return charts;
}

t.test('the overview: every device property charted at once over the chosen range, live, linked to its Thing, one column on a phone', async (t) => {
  const { servient, clock } = await createServient(t);
  // The sensor's readings over a day, written before the node starts (its own sampling never
  // runs: the clock moves only here). Temperatures and humidities at 0, 5, 12 and 23 hours.
  const sensor = servient.registry.get('environment-sensor');
  const start = clock.now();
  const readings = [
    { at: 0, temperature: 21.5, humidity: 40 },
    { at: 5 * HOUR, temperature: 22, humidity: 42 },
    { at: 12 * HOUR, temperature: 23.25, humidity: 47 },
    { at: 23 * HOUR, temperature: 24, humidity: 50 },
  ];
  for (const { at, temperature, humidity } of readings) {
    clock.advance(start + at - clock.now());
    await sensor.emitPropertyChange('temperature', temperature);
    await sensor.emitPropertyChange('humidity', humidity);
  }
  clock.advance(30 * 60_000);
  const now = clock.now();
  const { url } = await servient.start();
  /** How many values the node's history holds for a property in [since, until]. */
  const inHistory = async (card: string, since: number, until: number): Promise<number> => {
    const [thing, property] = card.split('/');
    const response = await fetch(`${url}things/${thing}/properties/${property}/history?since=${since}&until=${until}&limit=1000`);
    t.equal(response.status, 200, `the history of ${card} is read`);
    return ((await response.json()) as unknown[]).length;
  };

  const { page, scriptErrors } = await openPage(t);
  await page.clock.setFixedTime(now);
  await page.goto(url);
  await page.locator('#overview-view').waitFor();
  t.equal(await page.locator('nav a.active').getAttribute('data-view'), 'overview', 'a page without a route opens on the overview');
  t.ok(await page.locator('#overview-view #range-picker').isVisible(), 'with the range picker above its cards');

  const hour = await cardCharts(page, '1h');
  t.same(hour.map((c) => c.card).sort(), CARDS, 'one card per charted property of the devices, none of the ledger or the alerts Thing');
  const titles = await page.locator('#overview [data-card="environment-sensor"] h3').allTextContents();
  t.same(titles, ['Environment sensor · Temperature', 'Environment sensor · Relative humidity'], 'each card titled "Thing · property"');
  const temperatureCard = page.locator('#overview [data-card="environment-sensor"][data-card-property="temperature"]');
  const current = (await (await fetch(`${url}things/environment-sensor/properties/temperature`)).json()) as number;
  t.equal(await temperatureCard.locator('output').textContent(), `${current.toFixed(2)} °C`, 'with its current value, as the node reads it');
  const sensorHour = hour.find((c) => c.card === 'environment-sensor/temperature')!;
  t.equal(sensorHour.until - sensorHour.since, HOUR, 'the overview opens on the picker\'s default range, one hour');
  t.equal(sensorHour.historyPoints, 1, 'which holds the newest reading only');

  // 24 hours: every chart covers the last day, filled from its history.
  await page.locator('#range-picker input[value="24h"]').check();
  const day = await cardCharts(page, '24h');
  t.equal(day.length, CARDS.length);
  for (const chart of day) {
    t.same({ since: chart.since, until: chart.until }, { since: now - DAY, until: now }, `${chart.card} shows the last 24 hours`);
    t.not(chart.state, 'failed', `${chart.card} read its history`);
    const stored = await inHistory(chart.card, chart.since, chart.until);
    t.equal(chart.historyPoints > 0, stored > 0, `${chart.card} has points from history exactly when the node holds values of the day (${stored})`);
  }
  const ofSensor = (name: string) => day.find((c) => c.card === `environment-sensor/${name}`)!;
  t.equal(ofSensor('temperature').historyPoints, 4, 'the sensor\'s four readings of the day are read, before any live value');
  t.same(ofSensor('temperature').values.filter((v) => v !== null), readings.map((r) => r.temperature), 'its temperatures in order');
  t.same(ofSensor('humidity').values.filter((v) => v !== null), readings.map((r) => r.humidity), 'and its humidities');

  // Live: a reading and a setpoint reach their cards over the page's connection.
  await sensor.emitPropertyChange('temperature', 25.5);
  await temperatureCard.locator('output[data-updated-at]').waitFor();
  t.equal(await temperatureCard.locator('output').textContent(), '25.50 °C', 'a live reading shows in its card');
  const liveTemperature = (await cardCharts(page, '24h')).find((c) => c.card === 'environment-sensor/temperature')!;
  t.same(liveTemperature.values.filter((v) => v !== null), [...readings.map((r) => r.temperature), 25.5], 'and joins its chart after the history');
  t.equal(liveTemperature.historyPoints, 4, 'which is not read again');
  const put = await fetch(`${url}things/thermostat/properties/targetTemperature`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '23.5' });
  t.equal(put.status, 204);
  const target = page.locator('#overview [data-card="thermostat"][data-card-property="targetTemperature"]');
  await target.locator('output', { hasText: '23.5' }).waitFor();
  t.match(await target.locator('.chart').getAttribute('data-values'), /23\.5/, 'a setpoint written elsewhere shows in its card and chart');

  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'overview.png'), fullPage: true });

  // A card's title opens its Thing.
  await temperatureCard.locator('h3 a').click();
  await page.locator('[data-thing="environment-sensor"]').waitFor();
  t.ok(page.url().endsWith('#/things/environment-sensor'), 'a card\'s title opens its Thing\'s view');
  t.equal(await page.locator('nav a.active').getAttribute('data-view'), 'things');
  t.ok(await page.locator('#things-view #range-picker').isVisible(), 'the range picker goes with the charts');
  await page.locator('[data-thing="environment-sensor"] [data-property="temperature"] .chart[data-range="24h"]').waitFor();
  t.pass('the Thing\'s charts show the range chosen on the overview');

  // A phone: the cards stack in one column, and nothing scrolls sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.click('nav a[data-view="overview"]');
  await page.locator('#overview-view').waitFor();
  const boxes = await Promise.all((await page.locator('#overview [data-card]').all()).map(async (card) => (await card.boundingBox())!));
  t.equal(boxes.length, CARDS.length);
  t.ok(boxes.every((box) => box.x === boxes[0]!.x && box.width === boxes[0]!.width), 'every card starts at the same x, as wide as the others');
  t.ok(boxes.every((box, i) => i === 0 || box.y >= boxes[i - 1]!.y + boxes[i - 1]!.height), 'each below the one before: one column');
  t.ok(boxes.every((box) => box.x >= 0 && box.x + box.width <= 390), 'within the screen');
  t.ok(await page.evaluate('document.documentElement.scrollWidth <= 390'), 'the page needs no sideways scrolling');
  await page.screenshot({ path: join(SCREENSHOTS, 'phone-overview.png') });
  t.same(scriptErrors, [], 'the page logged no script error');
});

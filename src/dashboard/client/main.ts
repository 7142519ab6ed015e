/**
 * The dashboard's entry point: loads the node's Things, builds their views, opens the live
 * connection and routes between the six views (Overview, Things, Events, Ring, Ledger, Alerts)
 * by the URL hash (`#/overview`, `#/things/{key}`, `#/ledger/block/{height}`,
 * `#/ledger/tx/{id}`, …); a page without one opens on the overview, every chart of this node's
 * devices at once. The Things are listed grouped by the node that hosts them; the charts (the
 * overview's, a Thing's) show the range the picker chooses; the devices' events and the
 * ledger's traffic go to two separate logs.
 */
import { ALERTS_THING, AlertsView } from './alerts-view.js';
import { accessToken, bearerForUrl, getJson, useCredentialScheme } from './api.js';
import { LiveConnection, type ConnectionState, type Notification } from './connection.js';
import { ago, byId, el, replace } from './dom.js';
import { EventLog, type LogEntry } from './event-log.js';
import { WriteFollower } from './follow.js';
import { eventHistoryUrl, readEvents } from './history.js';
import { blockHref, showBlock, showLedger, showReceipt, showRing, txHref } from './node-views.js';
import { OverviewView } from './overview-view.js';
import { RangePicker } from './range-picker.js';
import { formUrl, slugOf, typesOf, WS_SUBPROTOCOL, type ServedTd } from './td.js';
import { ThingView } from './thing-view.js';

/** A Thing counts as live while values or events arrived from it within this window. */
const LIVE_WINDOW_MS = 30_000;
/** The ring and ledger views are read again at most this often. */
const NODE_VIEW_REFRESH_MS = 2000;
/** The Events page opens with the events of this node's Things of the last day, this many of each. */
const EVENT_HISTORY_MS = 86_400_000;
const EVENT_HISTORY_LIMIT = 20;
/** The list of Things is read again this often (Things come and go while a node runs). */
const THING_LIST_REFRESH_MS = 5000;
const VIEWS = ['overview', 'things', 'events', 'ring', 'ledger', 'alerts'] as const;
/** The view of a page opened without a route (or with one it does not know). */
const LANDING_VIEW = 'overview';
/** The ledger Thing's slug on every node: its events are ledger traffic, not a device's. */
const LEDGER_THING = 'ledger';
type View = (typeof VIEWS)[number];
/** Charts a range applies to: the Thing view shown, or the overview. */
type Charts = Pick<ThingView, 'range' | 'showRange' | 'advance'>;

const views = new Map<string, ThingView>();
/** The ids of this node's own Things; the others in the list are hosted by other members of the ring. */
let localIds = new Set<string>();
/** Where a Thing is routed to and marked by: its slug on this node, its id elsewhere (slugs repeat across nodes). */
const keyOf = (td: ServedTd): string => (localIds.has(td.id) ? slugOf(td) : td.id);
/** The live connections by WebSocket URL: this node's, and one per other node whose Things are shown. */
const connections = new Map<string, LiveConnection>();
/** The states of the other nodes' connections (this node's drives the indicator). */
const remoteStates = new Map<LiveConnection, ConnectionState>();
const listItems = new Map<ThingView, { item: HTMLElement; link: HTMLAnchorElement; dot: HTMLElement; state: HTMLElement }>();
const follower = new WriteFollower(byId('writes'));
const log = new EventLog(byId('log'), byId<HTMLInputElement>('log-filter'), byId<HTMLButtonElement>('log-pause'), byId<HTMLInputElement>('log-properties'));
const ledgerLog = new EventLog(byId('ledger-log'), byId<HTMLInputElement>('ledger-log-filter'), byId<HTMLButtonElement>('ledger-log-pause'), undefined, ledgerEntry);
let alerts: AlertsView | undefined;
let overview: OverviewView | undefined;
let connectionState: ConnectionState = 'connecting';
/** The range the charts show (set up at start, when the page's views exist). */
let rangePicker: RangePicker | undefined;
/** The charts shown last, the overview's or a Thing's (they are read again when others were shown). */
let shownCharts: Charts | undefined;

const shortId = (id: string): string => `${id.slice(0, 10)}…`;

/** A ledger event in words: a transaction's step (with its receipt), a block (with its page), an anchor. */
function ledgerEntry(entry: LogEntry): Node | undefined {
  const data = (entry.data ?? {}) as Record<string, unknown>;
  const raw = JSON.stringify(entry.data);
  if (entry.name === 'transaction') {
    const thing = [...views.values()].find((v) => v.td.id === data.thing)?.td.title ?? String(data.thing ?? '');
    const txId = typeof data.txId === 'string' ? data.txId : undefined;
    return el('span', { title: raw }, `${String(data.status ?? '')} · ${thing} · ${String(data.property ?? '')}`, txId === undefined ? '' : ' · ', txId === undefined ? null : el('a', { href: txHref(txId) }, `tx ${shortId(txId)}`), typeof data.error === 'string' ? ` · ${data.error}` : '');
  }
  if (entry.name === 'block' && typeof data.height === 'number') return el('span', { title: raw }, el('a', { href: blockHref(data.height) }, `block #${data.height}`), ` · ${String(data.txCount ?? '?')} transactions`);
  return undefined;
}

function showError(message: string): void {
  replace(byId('page-error'), message);
  byId('page-error').hidden = message === '';
}

function currentRoute(): { view: View; thing?: string; ref?: string } {
  const [, view, thing, ref] = location.hash.split('/');
  const known = (VIEWS as readonly string[]).includes(view ?? '') ? (view as View) : LANDING_VIEW;
  return { view: known, ...(thing === undefined ? {} : { thing: decodeURIComponent(thing) }), ...(ref === undefined ? {} : { ref: decodeURIComponent(ref) }) };
}

/** Updates the list in place (search, @type, live-only filter, each Thing's state). */
function renderList(): void {
  const needle = byId<HTMLInputElement>('search').value.trim().toLowerCase();
  const type = byId<HTMLSelectElement>('type-filter').value;
  const liveOnly = byId<HTMLInputElement>('live-only').checked;
  const first = [...views.values()][0];
  const selected = currentRoute().thing ?? (first === undefined ? undefined : keyOf(first.td));
  const now = Date.now();
  let shown = 0;
  for (const [view, { item, link, dot, state }] of listItems) {
    // A Thing of another node is as reachable as its node's socket; one of this node, as this page's.
    const remote = remoteStates.get(connectionOf(view.td)!);
    const reachable = (remote ?? connectionState) === 'open';
    const live = reachable && view.lastUpdate !== undefined && now - view.lastUpdate < LIVE_WINDOW_MS;
    const status = live ? 'live' : reachable ? 'quiet' : remote !== undefined ? 'unreachable' : 'offline';
    dot.className = `dot ${status}`;
    dot.dataset.live = status;
    state.textContent = `${status} · ${view.lastUpdate === undefined ? 'no update yet' : `updated ${ago(view.lastUpdate, now)}`}`;
    link.classList.toggle('selected', keyOf(view.td) === selected);
    const text = `${view.td.title} ${view.td.description ?? ''} ${keyOf(view.td)} ${hostOf(view.td) ?? ''}`.toLowerCase();
    item.hidden = !((type === '' || typesOf(view.td).includes(type)) && (needle === '' || text.includes(needle)) && (!liveOnly || live));
    if (!item.hidden) shown++;
  }
  // A node's heading goes when none of its Things is shown.
  for (const group of byId('thing-list').querySelectorAll<HTMLElement>('[data-host-group]')) group.hidden = [...group.querySelectorAll<HTMLElement>('li')].every((li) => li.hidden);
  byId('no-match').hidden = shown > 0;
}

let nodeViewShown = 0;
let nodeViewRequest = 0;
/** Shows the ring or ledger view, at most every NODE_VIEW_REFRESH_MS unless `now`; a slower answer never replaces a newer one. */
async function refreshNodeView(view: View, now: boolean): Promise<void> {
  if ((view !== 'ring' && view !== 'ledger') || (!now && Date.now() - nodeViewShown < NODE_VIEW_REFRESH_MS)) return;
  nodeViewShown = Date.now();
  const request = ++nodeViewRequest;
  const target = el('div');
  try {
    await (view === 'ring' ? showRing(target) : showLedger(target));
    if (request === nodeViewRequest && currentRoute().view === view) replace(byId(view), ...target.childNodes);
  } catch (err) {
    showError((err as Error).message);
  }
}

let ledgerDetailRequest = 0;
/** The block or receipt the ledger route names (`#/ledger/block/{ref}`, `#/ledger/tx/{id}`), under the lookup box. */
async function showLedgerDetail(kind: string | undefined, ref: string | undefined): Promise<void> {
  const detail = byId('ledger-detail');
  const request = ++ledgerDetailRequest;
  if (ref === undefined || (kind !== 'block' && kind !== 'tx')) {
    detail.hidden = true;
    replace(detail);
    return;
  }
  const target = el('div');
  try {
    await (kind === 'block' ? showBlock(target, ref) : showReceipt(target, ref, (id) => views.get(id)?.td.title));
  } catch (err) {
    replace(target, el('p', { class: 'error', 'data-detail': 'error' }, `${kind === 'block' ? `Block ${ref}` : `Transaction ${ref}`}: ${(err as Error).message}`));
  }
  if (request !== ledgerDetailRequest) return;
  replace(detail, ...target.childNodes);
  detail.hidden = false;
}

/** Shows the chosen range on `charts`, read from their history, unless they are the ones shown last and showing one. */
function showCharts(charts: Charts | undefined): void {
  if (charts !== undefined && rangePicker !== undefined && (charts !== shownCharts || charts.range === undefined)) void charts.showRange(rangePicker.current());
  shownCharts = charts;
}

/** The one range picker goes above the charts of the view shown: the overview's or the Thing's. */
function placeRangePicker(view: View): void {
  if (view === 'overview') byId('overview').before(byId('range-picker'));
  if (view === 'things') byId('thing-detail').before(byId('range-picker'));
}

function route(): void {
  const { view, thing, ref } = currentRoute();
  showError('');
  for (const name of VIEWS) byId(`${name}-view`).hidden = name !== view;
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a')) link.classList.toggle('active', link.dataset.view === view);
  void refreshNodeView(view, true);
  if (view === 'ledger') void showLedgerDetail(thing, ref);
  placeRangePicker(view);
  if (view === 'overview') showCharts(overview);
  if (view !== 'things') return;
  const shown = [...views.values()].find((v) => keyOf(v.td) === thing) ?? views.values().next().value;
  // On a narrow screen the detail of a chosen Thing comes before the list.
  byId('things-view').classList.toggle('thing-chosen', thing !== undefined && shown !== undefined && keyOf(shown.td) === thing);
  for (const v of views.values()) v.element.hidden = v !== shown;
  showCharts(shown);
  renderList();
}

function connectionIndicator(state: ConnectionState, retryInMs?: number): void {
  connectionState = state;
  const indicator = byId('connection');
  indicator.dataset.state = state;
  indicator.textContent = state === 'open' ? 'live' : state === 'connecting' ? 'connecting…' : `offline, retrying in ${Math.round((retryInMs ?? 0) / 1000)} s`;
  renderList();
}

/** The host (and port) of the node that serves a Thing of another node; undefined for this node's. */
function hostOf(td: ServedTd): string | undefined {
  if (localIds.has(td.id) || td.base === undefined) return undefined;
  return new URL(td.base).host;
}

/** A Thing's view and its entry in the list (with the node that hosts it, when that is another). */
function addThing(td: ServedTd): ThingView {
  const view = new ThingView(td, follower, keyOf(td));
  view.element.hidden = true;
  views.set(td.id, view);
  byId('thing-detail').append(view.element);
  const dot = el('span', { class: 'dot' });
  const state = el('small');
  const host = hostOf(td);
  const link = el(
    'a',
    { href: `#/things/${encodeURIComponent(keyOf(td))}`, 'data-thing-link': keyOf(td) },
    dot,
    el('span', { class: 'title' }, td.title),
    host === undefined ? null : el('span', { class: 'host', 'data-host': host }, `on ${host}`),
    state,
    ...typesOf(td).map((t) => el('span', { class: 'tag' }, t)),
  );
  const item = el('li', {}, link);
  listItems.set(view, { item, link, dot, state });
  hostGroup(td).append(item);
  return view;
}

/** The list of a Thing's node under its heading (this node's first; the others in the order they appear). */
function hostGroup(td: ServedTd): HTMLElement {
  const host = hostOf(td);
  const key = host ?? location.host;
  const list = byId('thing-list');
  let group = [...list.querySelectorAll<HTMLElement>('[data-host-group]')].find((g) => g.dataset.hostGroup === key);
  if (group === undefined) {
    const label = host === undefined ? `This node · ${location.host}` : `Node ${host}`;
    group = el('li', { class: 'host-group', 'data-host-group': key, 'data-local': String(host === undefined) }, el('h3', { title: td.base ?? location.href }, label), el('ul', { class: 'thing-list' }));
    if (host === undefined) list.prepend(group);
    else list.append(group);
  }
  return group.querySelector('ul')!;
}

function removeThing(id: string): void {
  const view = views.get(id);
  if (view === undefined) return;
  view.element.remove();
  const group = listItems.get(view)?.item.closest<HTMLElement>('[data-host-group]');
  listItems.get(view)?.item.remove();
  if (group !== undefined && group !== null && group.querySelector('li') === null) group.remove();
  listItems.delete(view);
  views.delete(id);
}

/** The @type filter offers the types of the Things listed now. */
function showTypes(): void {
  const filter = byId<HTMLSelectElement>('type-filter');
  const chosen = filter.value;
  const types = [...new Set([...views.values()].flatMap((view) => typesOf(view.td)))].sort();
  replace(filter, el('option', { value: '' }, filter.options[0]?.textContent ?? 'Every @type'), ...types.map((t) => el('option', { value: t }, t)));
  filter.value = types.includes(chosen) ? chosen : '';
}

/** The WebSocket URL a Thing's forms name for observing it (every Flowchain node offers one). */
function wsUrlOf(td: ServedTd): string | undefined {
  const forms = [...Object.values(td.properties ?? {}).map((p) => p.forms), ...Object.values(td.events ?? {}).map((e) => e.forms)];
  for (const form of forms) {
    const url = formUrl(td, form, 'observeproperty', WS_SUBPROTOCOL) ?? formUrl(td, form, 'subscribeevent', WS_SUBPROTOCOL);
    if (url !== undefined) return url.href;
  }
  return undefined;
}

/** The live connection a Thing is observed over, opened for its node on first use. */
function connectionOf(td: ServedTd): LiveConnection | undefined {
  const url = wsUrlOf(td);
  if (url === undefined) return undefined;
  let connection = connections.get(url);
  if (connection === undefined) {
    connection = liveConnection(url, false);
    connections.set(url, connection);
    connection.connect();
  }
  return connection;
}

/** Observes what a Thing offers over its node's live connection: its observable properties and its events. */
function follow(td: ServedTd): void {
  const connection = connectionOf(td);
  if (connection === undefined) return;
  for (const [name, p] of Object.entries(td.properties ?? {})) if (p.observable) connection.subscribe('observeproperty', td.id, name);
  for (const name of Object.keys(td.events ?? {})) connection.subscribe('subscribeevent', td.id, name);
}

/**
 * A live connection to a node's WebSocket: this node's carries the entered token (and drives
 * the indicator and the page's errors); another node's carries none (the token is this
 * node's), and its state only marks its Things reachable or not.
 */
function liveConnection(wsUrl: string, own: boolean): LiveConnection {
  const connection = new LiveConnection(() => {
    const url = new URL(wsUrl);
    const bearer = own ? bearerForUrl() : undefined;
    if (bearer) url.searchParams.set('access_token', bearer);
    return url.href;
  });
  if (own) {
    connection.onState(connectionIndicator);
    connection.onProblem(showError);
  } else {
    remoteStates.set(connection, 'connecting');
    connection.onState((state) => {
      remoteStates.set(connection, state);
      renderList();
    });
  }
  connection.onNotification(notified);
  return connection;
}

/** A value or an event from any node's connection, to its Thing's view and the event log. */
function notified(message: Notification): void {
  const view = views.get(message.thingID);
  const at = Date.parse(message.timestamp) || Date.now();
  // The ledger Thing's traffic has a log of its own: it would bury the devices' events.
  const ledger = view !== undefined && slugOf(view.td) === LEDGER_THING;
  if (message.type === 'propertyChange') {
    view?.update(message.name, message.value, at, message.current !== true);
    overview?.update(message.thingID, message.name, message.value, at, message.current !== true);
    if (message.thingID === alerts?.thingId) alerts.update(message.name, message.value);
    if (message.current !== true && !ledger) log.add({ at, thing: view?.td.title ?? message.thingID, name: message.name, kind: 'property', data: message.value });
    return;
  }
  if (view) view.lastUpdate = at;
  const entry: LogEntry = { at, thing: view?.td.title ?? message.thingID, name: message.name, kind: 'event', data: message.data };
  if (ledger) {
    ledgerLog.add(entry);
    byId('ledger-log-count').textContent = `(${ledgerLog.added})`;
  } else log.add(entry);
  if (message.name === 'block' || message.name === 'anchor') void refreshNodeView(currentRoute().view, false);
}

/** This node's devices: its own Things but the ledger and alerts Things (which report on the others). */
function devicesOf(tds: readonly ServedTd[]): ServedTd[] {
  return tds.filter((td) => localIds.has(td.id) && slugOf(td) !== LEDGER_THING && slugOf(td) !== ALERTS_THING);
}

/** Reads a Thing's values over HTTP into its view and its overview cards. */
async function readValues(view: ThingView): Promise<void> {
  const values = await view.read();
  const now = Date.now();
  for (const [name, value] of Object.entries(values)) overview?.update(view.td.id, name, value, now, false);
}

/** Every Thing of the ring (this node's first), and which are this node's. */
async function listThings(): Promise<ServedTd[]> {
  const [local, ring] = await Promise.all([getJson<ServedTd[]>('things?scope=local'), getJson<ServedTd[]>('things')]);
  localIds = new Set(local.map((td) => td.id));
  return [...local, ...ring.filter((td) => !localIds.has(td.id))];
}

/**
 * Things come and go while a node runs (an application produces and destroys them): the list
 * is read again and the views of new Things are added, those of Things gone removed.
 */
async function syncThings(): Promise<void> {
  const tds = await listThings();
  const ids = new Set(tds.map((td) => td.id));
  for (const [id, view] of [...views]) {
    if (ids.has(id)) continue;
    connectionOf(view.td)?.forget(id);
    removeThing(id);
  }
  const added = tds.filter((td) => !views.has(td.id)).map(addThing);
  if (added.length === 0 && ids.size === views.size) return;
  // A Thing of a node that does not answer is listed all the same (and marked unreachable).
  await Promise.all(added.map((view) => readValues(view).catch(() => undefined)));
  for (const view of added) follow(view.td);
  showTypes();
  const tdsShown = [...views.values()].map((v) => v.td);
  alerts?.setThings(tdsShown.filter((td) => localIds.has(td.id) && slugOf(td) !== LEDGER_THING));
  overview?.setThings(devicesOf(tdsShown), keyOf);
  route();
}

/**
 * The device events of this node's Things from their history, oldest first into the log, so
 * the Events page does not open empty. Read before the live connection opens, so that what
 * arrives live comes after them.
 */
async function loadEventHistory(tds: readonly ServedTd[]): Promise<void> {
  const since = Date.now() - EVENT_HISTORY_MS;
  const reads = tds
    .filter((td) => slugOf(td) !== LEDGER_THING)
    .flatMap((td) => Object.keys(td.events ?? {}).map((name) => ({ td, name, url: eventHistoryUrl(td, name) })))
    .filter((read) => read.url !== undefined)
    .map(async ({ td, name, url }) => (await readEvents(url!, since, EVENT_HISTORY_LIMIT)).map((e) => ({ at: e.timestamp, thing: td.title, name, kind: 'event' as const, data: e.data })));
  const entries = (await Promise.all(reads.map((read) => read.catch(() => [])))).flat();
  for (const entry of entries.sort((a, b) => a.at - b.at)) log.add(entry);
}

/** The lookup box: a transaction id leads to its receipt. */
function setUpTxLookup(): void {
  byId('tx-lookup').addEventListener('submit', (e) => {
    e.preventDefault();
    const id = byId<HTMLInputElement>('tx-id').value.trim().toLowerCase();
    if (id === '') return;
    const href = txHref(id);
    if (location.hash === href) void showLedgerDetail('tx', id);
    else location.hash = href;
  });
}

async function start(): Promise<void> {
  const tds = await listThings();
  const own = tds.filter((td) => localIds.has(td.id));
  useCredentialScheme(own.map((td) => td.securityDefinitions ?? {}));
  for (const td of tds) addThing(td);
  showTypes();
  const picker = new RangePicker(() => shownCharts?.range);
  rangePicker = picker;
  picker.onChange((range) => void shownCharts?.showRange(range));
  overview = new OverviewView(byId('overview'), byId('overview-empty'), () => picker.current());
  overview.setThings(devicesOf(own), keyOf);
  setUpTxLookup();
  alerts = new AlertsView(own.find((td) => slugOf(td) === ALERTS_THING));
  alerts.setThings(own.filter((td) => slugOf(td) !== LEDGER_THING));
  void alerts.read().catch((err: Error) => showError(`The alerts could not be read: ${err.message}`));
  for (const id of ['search', 'type-filter', 'live-only']) byId(id).addEventListener('input', renderList);
  // Every value once over HTTP (properties that are not observable are never pushed); the
  // observations below then bring each observable one's current value and every change.
  await Promise.all([...views.values()].map((view) => readValues(view).catch((err: Error) => (localIds.has(view.td.id) ? Promise.reject(err) : undefined))));

  await loadEventHistory(own);

  // This node's socket: its address comes from the TDs' forms, like any WoT consumer's.
  const wsUrl = own.map(wsUrlOf).find((url) => url !== undefined);
  if (wsUrl === undefined) throw new Error('no TD offers a WebSocket form');
  const connection = liveConnection(wsUrl, true);
  connections.set(wsUrl, connection);
  for (const td of tds) follow(td);
  connection.connect();

  const token = byId<HTMLInputElement>('token');
  token.value = accessToken.get();
  token.addEventListener('change', () => {
    accessToken.set(token.value);
    connection.reconnect();
  });
  window.addEventListener('hashchange', route);
  window.setInterval(() => {
    renderList();
    shownCharts?.advance(Date.now());
    if (currentRoute().view === 'ring') void refreshNodeView('ring', false);
    syncThings().catch((err: Error) => showError(`The list of Things could not be read again: ${err.message}`));
  }, THING_LIST_REFRESH_MS);
  route();
}

start().catch((err: Error) => showError(`The dashboard could not load this node's Things: ${err.message}`));

/**
 * The dashboard's entry point: loads the node's Things, builds their views, opens the live
 * connection and routes between the four views (Things, Events, Ring, Ledger) by the URL hash.
 */
import { accessToken, bearerForUrl, getJson, useCredentialScheme } from './api.js';
import { LiveConnection, type ConnectionState } from './connection.js';
import { ago, byId, el, replace } from './dom.js';
import { EventLog } from './event-log.js';
import { WriteFollower } from './follow.js';
import { showLedger, showRing } from './node-views.js';
import { formUrl, slugOf, typesOf, WS_SUBPROTOCOL, type ServedTd } from './td.js';
import { ThingView } from './thing-view.js';

/** A Thing counts as live while values or events arrived from it within this window. */
const LIVE_WINDOW_MS = 30_000;
/** The ring and ledger views are read again at most this often. */
const NODE_VIEW_REFRESH_MS = 2000;
/** The list of Things is read again this often (Things come and go while a node runs). */
const THING_LIST_REFRESH_MS = 5000;
const VIEWS = ['things', 'events', 'ring', 'ledger'] as const;
type View = (typeof VIEWS)[number];

const views = new Map<string, ThingView>();
const listItems = new Map<ThingView, { item: HTMLElement; link: HTMLAnchorElement; dot: HTMLElement; state: HTMLElement }>();
const follower = new WriteFollower(byId('writes'));
const log = new EventLog(byId('log'), byId<HTMLInputElement>('log-filter'), byId<HTMLButtonElement>('log-pause'), byId<HTMLInputElement>('log-properties'));
let connectionState: ConnectionState = 'connecting';

function showError(message: string): void {
  replace(byId('page-error'), message);
  byId('page-error').hidden = message === '';
}

function currentRoute(): { view: View; thing?: string } {
  const [, view, thing] = location.hash.split('/');
  const known = (VIEWS as readonly string[]).includes(view ?? '') ? (view as View) : 'things';
  return thing === undefined ? { view: known } : { view: known, thing: decodeURIComponent(thing) };
}

/** Updates the list in place (search, @type, live-only filter, each Thing's state). */
function renderList(): void {
  const needle = byId<HTMLInputElement>('search').value.trim().toLowerCase();
  const type = byId<HTMLSelectElement>('type-filter').value;
  const liveOnly = byId<HTMLInputElement>('live-only').checked;
  const selected = currentRoute().thing ?? slugOf([...views.values()][0]!.td);
  const now = Date.now();
  let shown = 0;
  for (const [view, { item, link, dot, state }] of listItems) {
    const live = connectionState === 'open' && view.lastUpdate !== undefined && now - view.lastUpdate < LIVE_WINDOW_MS;
    const status = live ? 'live' : connectionState === 'open' ? 'quiet' : 'offline';
    dot.className = `dot ${status}`;
    dot.dataset.live = status;
    state.textContent = `${status} · ${view.lastUpdate === undefined ? 'no update yet' : `updated ${ago(view.lastUpdate, now)}`}`;
    link.classList.toggle('selected', slugOf(view.td) === selected);
    const text = `${view.td.title} ${view.td.description ?? ''} ${slugOf(view.td)}`.toLowerCase();
    item.hidden = !((type === '' || typesOf(view.td).includes(type)) && (needle === '' || text.includes(needle)) && (!liveOnly || live));
    if (!item.hidden) shown++;
  }
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

function route(): void {
  const { view, thing } = currentRoute();
  showError('');
  for (const name of VIEWS) byId(`${name}-view`).hidden = name !== view;
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a')) link.classList.toggle('active', link.dataset.view === view);
  void refreshNodeView(view, true);
  if (view !== 'things') return;
  const shown = [...views.values()].find((v) => slugOf(v.td) === thing) ?? views.values().next().value;
  for (const v of views.values()) v.element.hidden = v !== shown;
  renderList();
}

function connectionIndicator(state: ConnectionState, retryInMs?: number): void {
  connectionState = state;
  const indicator = byId('connection');
  indicator.dataset.state = state;
  indicator.textContent = state === 'open' ? 'live' : state === 'connecting' ? 'connecting…' : `offline, retrying in ${Math.round((retryInMs ?? 0) / 1000)} s`;
  renderList();
}

/** A Thing's view and its entry in the list. */
function addThing(td: ServedTd): ThingView {
  const view = new ThingView(td, follower);
  view.element.hidden = true;
  views.set(td.id, view);
  byId('thing-detail').append(view.element);
  const dot = el('span', { class: 'dot' });
  const state = el('small');
  const link = el('a', { href: `#/things/${encodeURIComponent(slugOf(td))}`, 'data-thing-link': slugOf(td) }, dot, el('span', { class: 'title' }, td.title), state, ...typesOf(td).map((t) => el('span', { class: 'tag' }, t)));
  const item = el('li', {}, link);
  listItems.set(view, { item, link, dot, state });
  byId('thing-list').append(item);
  return view;
}

function removeThing(id: string): void {
  const view = views.get(id);
  if (view === undefined) return;
  view.element.remove();
  listItems.get(view)?.item.remove();
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

/** Observes what a Thing offers over the live connection: its observable properties and its events. */
function follow(connection: LiveConnection, td: ServedTd): void {
  for (const [name, p] of Object.entries(td.properties ?? {})) if (p.observable) connection.subscribe('observeproperty', td.id, name);
  for (const name of Object.keys(td.events ?? {})) connection.subscribe('subscribeevent', td.id, name);
}

/**
 * Things come and go while a node runs (an application produces and destroys them): the list
 * is read again and the views of new Things are added, those of Things gone removed.
 */
async function syncThings(connection: LiveConnection): Promise<void> {
  // This node's Things only: the views drive them over this node's WebSocket (browsing the
  // Things of other nodes, through their own forms, is not built yet).
  const tds = await getJson<ServedTd[]>('things?scope=local');
  const ids = new Set(tds.map((td) => td.id));
  for (const id of [...views.keys()]) {
    if (ids.has(id)) continue;
    removeThing(id);
    connection.forget(id);
  }
  const added = tds.filter((td) => !views.has(td.id)).map(addThing);
  if (added.length === 0 && ids.size === views.size) return;
  await Promise.all(added.map((view) => view.read()));
  for (const view of added) follow(connection, view.td);
  showTypes();
  route();
}

async function start(): Promise<void> {
  const tds = await getJson<ServedTd[]>('things?scope=local');
  useCredentialScheme(tds.map((td) => td.securityDefinitions ?? {}));
  for (const td of tds) addThing(td);
  showTypes();
  for (const id of ['search', 'type-filter', 'live-only']) byId(id).addEventListener('input', renderList);
  // Every value once over HTTP (properties that are not observable are never pushed); the
  // observations below then bring each observable one's current value and every change.
  await Promise.all([...views.values()].map((view) => view.read()));

  // The socket's address comes from the TDs' forms, like any WoT consumer's.
  const wsUrl = tds.flatMap((td) => Object.values(td.properties ?? {}).map((p) => formUrl(td, p.forms, 'observeproperty', WS_SUBPROTOCOL))).find((url) => url !== undefined);
  if (wsUrl === undefined) throw new Error('no TD offers a WebSocket form');
  const connection = new LiveConnection(() => {
    const url = new URL(wsUrl);
    const bearer = bearerForUrl();
    if (bearer) url.searchParams.set('access_token', bearer);
    return url.href;
  });
  connection.onState(connectionIndicator);
  connection.onProblem(showError);
  connection.onNotification((message) => {
    const view = views.get(message.thingID);
    const at = Date.parse(message.timestamp) || Date.now();
    if (message.type === 'propertyChange') {
      view?.update(message.name, message.value, at, message.current !== true);
      if (message.current !== true) log.add({ at, thing: view?.td.title ?? message.thingID, name: message.name, kind: 'property', data: message.value });
      return;
    }
    if (view) view.lastUpdate = at;
    log.add({ at, thing: view?.td.title ?? message.thingID, name: message.name, kind: 'event', data: message.data });
    if (message.name === 'block' || message.name === 'anchor') void refreshNodeView(currentRoute().view, false);
  });
  for (const td of tds) follow(connection, td);
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
    if (currentRoute().view === 'ring') void refreshNodeView('ring', false);
    syncThings(connection).catch((err: Error) => showError(`The list of Things could not be read again: ${err.message}`));
  }, THING_LIST_REFRESH_MS);
  route();
}

start().catch((err: Error) => showError(`The dashboard could not load this node's Things: ${err.message}`));

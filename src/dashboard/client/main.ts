/**
 * The dashboard's entry point: loads the node's Things, builds their views, opens the live
 * connection and routes between the four views (Things, Events, Ring, Ledger) by the URL hash.
 */
import { accessToken, bearerForUrl, getJson, useCredentialScheme } from './api.js';
import { LiveConnection, type ConnectionState, type Notification } from './connection.js';
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
  const shown = [...views.values()].find((v) => keyOf(v.td) === thing) ?? views.values().next().value;
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
  if (message.type === 'propertyChange') {
    view?.update(message.name, message.value, at, message.current !== true);
    if (message.current !== true) log.add({ at, thing: view?.td.title ?? message.thingID, name: message.name, kind: 'property', data: message.value });
    return;
  }
  if (view) view.lastUpdate = at;
  log.add({ at, thing: view?.td.title ?? message.thingID, name: message.name, kind: 'event', data: message.data });
  if (message.name === 'block' || message.name === 'anchor') void refreshNodeView(currentRoute().view, false);
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
  await Promise.all(added.map((view) => view.read().catch(() => undefined)));
  for (const view of added) follow(view.td);
  showTypes();
  route();
}

async function start(): Promise<void> {
  const tds = await listThings();
  const own = tds.filter((td) => localIds.has(td.id));
  useCredentialScheme(own.map((td) => td.securityDefinitions ?? {}));
  for (const td of tds) addThing(td);
  showTypes();
  for (const id of ['search', 'type-filter', 'live-only']) byId(id).addEventListener('input', renderList);
  // Every value once over HTTP (properties that are not observable are never pushed); the
  // observations below then bring each observable one's current value and every change.
  await Promise.all([...views.values()].map((view) => view.read().catch((err: Error) => (localIds.has(view.td.id) ? Promise.reject(err) : undefined))));

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
    if (currentRoute().view === 'ring') void refreshNodeView('ring', false);
    syncThings().catch((err: Error) => showError(`The list of Things could not be read again: ${err.message}`));
  }, THING_LIST_REFRESH_MS);
  route();
}

start().catch((err: Error) => showError(`The dashboard could not load this node's Things: ${err.message}`));

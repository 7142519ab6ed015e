/**
 * The dashboard's entry point: loads the node's Things, builds their views, opens the live
 * connection and routes between the four views (Things, Events, Ring, Ledger) by the URL hash.
 */
import { accessToken, getJson } from './api.js';
import { LiveConnection, type ConnectionState } from './connection.js';
import { ago, byId, el, replace } from './dom.js';
import { EventLog } from './event-log.js';
import { WriteFollower } from './follow.js';
import { showLedger, showRing } from './node-views.js';
import { formUrl, slugOf, typesOf, WS_SUBPROTOCOL, type ServedTd } from './td.js';
import { ThingView } from './thing-view.js';

/** A Thing counts as live while values or events arrived from it within this window. */
const LIVE_WINDOW_MS = 30_000;
const VIEWS = ['things', 'events', 'ring', 'ledger'] as const;
type View = (typeof VIEWS)[number];

const views = new Map<string, ThingView>();
const follower = new WriteFollower(byId('writes'));
const log = new EventLog(byId('log'), byId<HTMLInputElement>('log-filter'), byId<HTMLButtonElement>('log-pause'), byId<HTMLInputElement>('log-properties'));
let connectionState: ConnectionState = 'connecting';

function showError(message: string): void {
  replace(byId('page-error'), message);
  byId('page-error').hidden = message === '';
}

/** The Thing view for a pushed message's thingID (the TD id or the slug). */
const viewFor = (thingID: string): ThingView | undefined => views.get(thingID) ?? [...views.values()].find((v) => slugOf(v.td) === thingID);

function renderList(): void {
  const needle = byId<HTMLInputElement>('search').value.trim().toLowerCase();
  const type = byId<HTMLSelectElement>('type-filter').value;
  const selected = currentRoute().thing;
  const now = Date.now();
  const items = [...views.values()]
    .filter((v) => type === '' || typesOf(v.td).includes(type))
    .filter((v) => needle === '' || `${v.td.title} ${v.td.description ?? ''} ${slugOf(v.td)}`.toLowerCase().includes(needle))
    .map((v) => {
      const live = connectionState === 'open' && v.lastUpdate !== undefined && now - v.lastUpdate < LIVE_WINDOW_MS;
      const state = live ? 'live' : connectionState === 'open' ? 'quiet' : 'offline';
      const detail = v.lastUpdate === undefined ? 'no update yet' : `updated ${ago(v.lastUpdate, now)}`;
      return el(
        'li',
        {},
        el(
          'a',
          { href: `#/things/${encodeURIComponent(slugOf(v.td))}`, class: slugOf(v.td) === selected ? 'selected' : undefined, 'data-thing-link': slugOf(v.td) },
          el('span', { class: `dot ${state}`, title: state, 'data-live': state }),
          el('span', { class: 'title' }, v.td.title),
          el('small', {}, `${state} · ${detail}`),
          ...typesOf(v.td).map((t) => el('span', { class: 'tag' }, t)),
        ),
      );
    });
  replace(byId('thing-list'), ...(items.length > 0 ? items : [el('li', { class: 'empty' }, 'No Thing matches.')]));
}

function currentRoute(): { view: View; thing?: string } {
  const [, view, thing] = location.hash.split('/');
  const known = (VIEWS as readonly string[]).includes(view ?? '') ? (view as View) : 'things';
  return thing === undefined ? { view: known } : { view: known, thing: decodeURIComponent(thing) };
}

async function route(): Promise<void> {
  const { view, thing } = currentRoute();
  for (const name of VIEWS) byId(`${name}-view`).hidden = name !== view;
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a')) link.classList.toggle('active', link.dataset.view === view);
  try {
    if (view === 'ring') await showRing(byId('ring'));
    if (view === 'ledger') await showLedger(byId('ledger'));
  } catch (err) {
    showError((err as Error).message);
  }
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

async function start(): Promise<void> {
  const tds = await getJson<ServedTd[]>('things');
  const detail = byId('thing-detail');
  for (const td of tds) {
    const view = new ThingView(td, follower);
    view.element.hidden = true;
    views.set(td.id, view);
    detail.append(view.element);
  }
  const types = [...new Set(tds.flatMap(typesOf))].sort();
  byId('type-filter').append(...types.map((t) => el('option', { value: t }, t)));
  byId('search').addEventListener('input', renderList);
  byId('type-filter').addEventListener('change', renderList);

  // The socket's address comes from the TDs' forms, like any WoT consumer's.
  const wsUrl = tds.flatMap((td) => Object.values(td.properties ?? {}).map((p) => formUrl(td, p.forms, 'observeproperty', WS_SUBPROTOCOL))).find((url) => url !== undefined);
  const connection = new LiveConnection(() => {
    const url = new URL(wsUrl ?? 'ws', location.href);
    if (url.protocol.startsWith('http')) url.protocol = url.protocol.replace('http', 'ws');
    if (accessToken.get()) url.searchParams.set('access_token', accessToken.get());
    return url.href;
  });
  connection.onState((state, retryInMs) => {
    connectionIndicator(state, retryInMs);
    if (state === 'open') for (const view of views.values()) view.refresh().catch((err: Error) => showError(err.message));
  });
  connection.onNotification((message) => {
    const view = viewFor(message.thingID);
    const at = Date.parse(message.timestamp) || Date.now();
    const thing = view?.td.title ?? message.thingID;
    if (message.type === 'propertyChange') {
      view?.update(message.name, message.value, at);
      log.add({ at, thing, name: message.name, kind: 'property', data: message.value });
      return;
    }
    if (view) view.lastUpdate = at;
    log.add({ at, thing, name: message.name, kind: 'event', data: message.data });
    if ((message.name === 'block' || message.name === 'anchor') && currentRoute().view === 'ledger') void showLedger(byId('ledger')).catch(() => undefined);
  });
  for (const td of tds) {
    for (const [name, p] of Object.entries(td.properties ?? {})) if (p.observable) connection.subscribe('observeproperty', td.id, name);
    for (const name of Object.keys(td.events ?? {})) connection.subscribe('subscribeevent', td.id, name);
  }
  connection.connect();

  const token = byId<HTMLInputElement>('token');
  token.value = accessToken.get();
  token.addEventListener('change', () => {
    accessToken.set(token.value);
    connection.reconnect();
  });
  window.addEventListener('hashchange', () => void route());
  window.setInterval(renderList, 5000);
  await route();
}

start().catch((err: Error) => showError(`The dashboard could not load this node's Things: ${err.message}`));

/**
 * Files that ship with Flowchain: the JSON-LD contexts (contexts/), the TD 1.1 JSON Schema
 * (schemas/), the sample Things (things/) and the dashboard, found relative to the installed
 * package.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DashboardFiles } from './bindings/http/routes/dashboard-routes.js';
import type { ContextDocuments } from './td/json-ld.js';

/** The package root: one level above src/ (in a checkout) or dist/ (when built). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The bundled sample Things. */
export const BUNDLED_THINGS = join(PACKAGE_ROOT, 'things');

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

/** Every bundled JSON-LD context, by URL (contexts/index.json). */
export function loadBundledContexts(): ContextDocuments {
  const directory = join(PACKAGE_ROOT, 'contexts');
  const index = readJson(join(directory, 'index.json')) as Record<string, string>;
  return new Map(Object.entries(index).map(([url, file]) => [url, readJson(join(directory, file))]));
}

/**
 * The W3C contexts among `contexts` (those published under https://www.w3.org/): what a served
 * TD may name, since any JSON-LD processor can dereference them.
 */
export function w3cContexts(contexts: ContextDocuments): ContextDocuments {
  return new Map([...contexts].filter(([url]) => url.startsWith('https://www.w3.org/')));
}

/** The W3C TD 1.1 JSON Schema. */
export function loadTdSchema(): object {
  return readJson(join(PACKAGE_ROOT, 'schemas', 'td-1.1-json-schema.json')) as object;
}

const packageFile = createRequire(import.meta.url).resolve;

/**
 * The dashboard: its page (src/dashboard/public), its browser modules (compiled into
 * dist/browser/ by the build) and the browser builds of the libraries it imports.
 */
export const DASHBOARD_FILES: DashboardFiles = {
  page: join(PACKAGE_ROOT, 'src', 'dashboard', 'public'),
  modules: join(PACKAGE_ROOT, 'dist', 'browser'),
  vendor: {
    uplot: dirname(packageFile('uplot')),
    'noble-hashes': dirname(packageFile('@noble/hashes/sha2.js')),
  },
};

/**
 * The dashboard: its page at `/`, and under `/dashboard/` its styles, its browser modules
 * (compiled from src/dashboard/client into dist/, plus the ledger's Merkle module they share)
 * and the browser builds of uPlot and @noble/hashes from the installed packages. Nothing
 * comes from a CDN: devices are often offline.
 *
 * The page gets a Content-Security-Policy that allows scripts from this origin only, plus the
 * page's one inline script (its import map), by hash.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Where the dashboard's files are on disk. */
export interface DashboardFiles {
  /** index.html and the stylesheet. */
  readonly page: string;
  /** The compiled output folder (dist/); only the browser modules are served from it. */
  readonly modules: string;
  /** Folders of browser-ready library files, by the name they are served under. */
  readonly vendor: Readonly<Record<string, string>>;
}

/** The compiled files the browser may load: the dashboard's modules and the shared Merkle module. */
const BROWSER_MODULES = /^\/(?:dashboard\/client\/[\w-]+|ledger\/merkle)\.js$/;

/** The CSP of a page: scripts from this origin and the page's inline scripts by SHA-256. */
export function contentSecurityPolicy(html: string): string {
  const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
  return [
    "default-src 'self'",
    `script-src 'self' ${inline.join(' ')}`.trim(),
    // uPlot positions its parts with inline styles.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Registers GET / and the /dashboard/ files. */
export async function dashboardRoutes(app: FastifyInstance, files: DashboardFiles): Promise<void> {
  const page = await readFile(join(files.page, 'index.html'), 'utf8');
  const csp = contentSecurityPolicy(page);
  app.get('/', async (_request, reply) => reply.header('content-security-policy', csp).type('text/html; charset=utf-8').send(page));

  // The page itself only at /, where its relative links resolve.
  await app.register(fastifyStatic, { root: files.page, prefix: '/dashboard/', index: false, allowedPath: (path: string) => path !== '/index.html' });
  await app.register(fastifyStatic, {
    root: files.modules,
    prefix: '/dashboard/modules/',
    decorateReply: false,
    index: false,
    allowedPath: (path: string) => BROWSER_MODULES.test(path),
  });
  for (const [name, root] of Object.entries(files.vendor)) {
    await app.register(fastifyStatic, { root, prefix: `/dashboard/vendor/${name}/`, decorateReply: false, index: false });
  }
}

/**
 * The dashboard: its page at `/`, and under `/dashboard/` its styles, its browser modules
 * (compiled from src/dashboard/client into dist/browser/, with the ledger's pure modules
 * they share) and the browser builds of uPlot and @noble/hashes from the installed
 * packages. Nothing comes from a CDN: devices are often offline.
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
  /** The browser build (dist/browser/): the dashboard's modules and the node modules they import. */
  readonly modules: string;
  /** Folders of browser-ready library files, by the name they are served under. */
  readonly vendor: Readonly<Record<string, string>>;
}

/** Only scripts and styles are served from the module and library folders (no sources, maps or manifests). */
const ASSET = /\.(?:js|css)$/;

/**
 * The CSP of a page: scripts from this origin and the page's inline scripts by SHA-256;
 * connections to this origin and, when the node's TDs name another (`publicUrl`), to that one,
 * and to the other members of the ring (`ringOrigins`: the page drives their Things through
 * their forms), each over HTTP and WebSocket.
 */
export function contentSecurityPolicy(html: string, publicUrl?: string, ringOrigins: Iterable<string> = []): string {
  const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
  const origins = [...(publicUrl === undefined ? [] : [publicUrl]), ...ringOrigins].map((url) => new URL(url));
  const connect = [...new Set(origins.flatMap((origin) => [origin.origin, `${origin.protocol === 'https:' ? 'wss' : 'ws'}://${origin.host}`]))];
  return [
    "default-src 'self'",
    `script-src 'self' ${inline.join(' ')}`.trim(),
    "img-src 'self' data: blob:",
    ["connect-src 'self'", ...connect].join(' '),
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Registers GET / and the /dashboard/ files; `ringOrigins` are the origins of the ring's other members, if any. */
export async function dashboardRoutes(app: FastifyInstance, files: DashboardFiles, publicUrl: string | undefined, ringOrigins: () => Promise<ReadonlySet<string>> = async () => new Set()): Promise<void> {
  const page = await readFile(join(files.page, 'index.html'), 'utf8');
  app.get('/', async (_request, reply) => {
    // The ring's members as this node knows them now (a member it cannot list yet: none).
    const members = await ringOrigins().catch(() => new Set<string>());
    return reply.header('content-security-policy', contentSecurityPolicy(page, publicUrl, members)).type('text/html; charset=utf-8').send(page);
  });

  // Scripts and styles only: the page itself is served at /, where its relative links resolve.
  const assets = { index: false, allowedPath: (path: string) => ASSET.test(path) } as const;
  await app.register(fastifyStatic, { root: files.page, prefix: '/dashboard/', ...assets });
  await app.register(fastifyStatic, { root: files.modules, prefix: '/dashboard/modules/', decorateReply: false, ...assets });
  for (const [name, root] of Object.entries(files.vendor)) await app.register(fastifyStatic, { root, prefix: `/dashboard/vendor/${name}/`, decorateReply: false, ...assets });
}

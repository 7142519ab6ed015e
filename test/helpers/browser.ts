/**
 * A real browser for the dashboard tests: Debian's chromium (or FLOWCHAIN_CHROMIUM) driven by
 * playwright-core, which brings no browser of its own.
 */
import { existsSync } from 'node:fs';
import type { Test } from 'tap';
import { chromium, type Page } from 'playwright-core';

const CHROMIUM = process.env.FLOWCHAIN_CHROMIUM ?? '/usr/bin/chromium';
/** The flags the machine needs: no sandbox as root, no GPU, no calls to Google's hosts. */
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

/** Fails (never skips) when the browser is missing: CI installs it. */
export function requireBrowser(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium), as .ci/run does`);
}

/** A browser page, closed at teardown, and the script errors it logs; `trustAnyCertificate` for a node's self-signed one. */
export async function openPage(t: Test, trustAnyCertificate = false): Promise<{ page: Page; scriptErrors: string[] }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, ignoreHTTPSErrors: trustAnyCertificate });
  const scriptErrors: string[] = [];
  page.on('pageerror', (err) => scriptErrors.push(err.message));
  page.on('console', (message) => {
    if (message.type() === 'error') scriptErrors.push(message.text());
  });
  page.setDefaultTimeout(20_000);
  return { page, scriptErrors };
}

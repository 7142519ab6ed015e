/**
 * The bundled sample Things as the tests run them: the same TD files, with every device reading
 * once a second instead of every 15 (as shipped), so a test sees a reading within a second (of
 * real time, or of one manual clock step) rather than waiting fifteen. Written once per test process
 * into a temporary directory, removed when the process exits.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLED_THINGS } from '../../src/bundled.js';

/** How often the tests' sample devices read (ms). */
export const SAMPLE_INTERVAL_MS = 1000;

function writeSampleThings(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowchain-samples-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (const name of readdirSync(BUNDLED_THINGS)) {
    const file = JSON.parse(readFileSync(join(BUNDLED_THINGS, name), 'utf8')) as { driver?: { options?: Record<string, unknown> } };
    if (file.driver?.options?.intervalMs !== undefined) file.driver.options.intervalMs = SAMPLE_INTERVAL_MS;
    writeFileSync(join(dir, name), `${JSON.stringify(file, null, 2)}\n`);
  }
  return dir;
}

/** The directory of the tests' sample Things. */
export const SAMPLE_THINGS = writeSampleThings();

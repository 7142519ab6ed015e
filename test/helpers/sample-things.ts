/**
 * The bundled sample Things as the tests run them: the same TD files, with every device reading
 * once a second instead of every 15 (as shipped), so a test sees a reading within a second (of
 * real time, or of one manual clock step) rather than waiting fifteen. Written into a directory
 * named after its contents, so every test process shares one and a killed process leaves no
 * other behind; each file is written whole (a temporary name, then a rename).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLED_THINGS } from '../../src/bundled.js';

/** How often the tests' sample devices read (ms). */
export const SAMPLE_INTERVAL_MS = 1000;

function writeSampleThings(): string {
  const files = readdirSync(BUNDLED_THINGS)
    .sort()
    .map((name) => {
      const file = JSON.parse(readFileSync(join(BUNDLED_THINGS, name), 'utf8')) as { driver?: { options?: Record<string, unknown> } };
      if (file.driver?.options?.intervalMs !== undefined) file.driver.options.intervalMs = SAMPLE_INTERVAL_MS;
      return { name, text: `${JSON.stringify(file, null, 2)}\n` };
    });
  const digest = createHash('sha256');
  for (const { name, text } of files) digest.update(name).update(text);
  const dir = join(tmpdir(), `flowchain-samples-${digest.digest('hex').slice(0, 16)}`);
  mkdirSync(dir, { recursive: true });
  for (const { name, text } of files) {
    if (existsSync(join(dir, name))) continue;
    const partial = join(dir, `.${name}.${process.pid}`);
    writeFileSync(partial, text);
    renameSync(partial, join(dir, name));
  }
  return dir;
}

/** The directory of the tests' sample Things. */
export const SAMPLE_THINGS = writeSampleThings();

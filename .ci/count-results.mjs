// Counts tap's per-file results (.tap/test-results/**/*.tap): every top-level subtest is one
// test. A file that ended without its plan (it crashed) counts as one more failure, and a
// non-zero exit with nothing counted as failed counts as one failure, so a broken run can
// never print "0 failed".
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const exitStatus = Number(process.argv[2] ?? 0);
const root = '.tap/test-results';
let passed = 0;
let failed = 0;
let skipped = 0;

function* files(dir) {
  let entries = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.name.endsWith('.tap')) yield path;
  }
}

for (const file of files(root)) {
  const lines = readFileSync(file, 'utf8').split('\n');
  for (const line of lines) {
    const match = /^(not )?ok \d+( - .*)?$/.exec(line);
    if (!match) continue;
    if (/# (SKIP|TODO)\b/i.test(line)) skipped++;
    else if (match[1]) failed++;
    else passed++;
  }
  if (!lines.some((line) => /^1\.\.\d+/.test(line))) {
    console.log(`incomplete (crashed?): ${file}`);
    failed++;
  }
}
if (exitStatus !== 0 && failed === 0) failed = 1;

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);

// Counts tap's per-file results (<dir>/**/*.tap) of each run directory given: every top-level
// subtest is one test. A file that ended without its plan (it crashed) counts as one more
// failure, and a non-zero exit with nothing counted as failed counts as one failure, so a
// broken run can never print "0 failed". Prints a line per run, then the plain total line
// "N passed, N failed" last.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const [status, ...roots] = process.argv.slice(2);
const exitStatus = Number(status ?? 0);

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

let passed = 0;
let failed = 0;
for (const root of roots.length > 0 ? roots : ['.tap/test-results']) {
  let runPassed = 0;
  let runFailed = 0;
  let skipped = 0;
  let counted = 0;
  for (const file of files(root)) {
    counted++;
    const lines = readFileSync(file, 'utf8').split('\n');
    for (const line of lines) {
      const match = /^(not )?ok \d+( - .*)?$/.exec(line);
      if (!match) continue;
      if (/# (SKIP|TODO)\b/i.test(line)) skipped++;
      else if (match[1]) runFailed++;
      else runPassed++;
    }
    if (!lines.some((line) => /^1\.\.\d+/.test(line))) {
      console.log(`incomplete (crashed?): ${file}`);
      runFailed++;
    }
  }
  if (counted === 0) {
    console.log(`no results in ${root}`);
    runFailed++;
  }
  console.log(`${basename(root)}: ${runPassed} passed, ${runFailed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  passed += runPassed;
  failed += runFailed;
}
if (exitStatus !== 0 && failed === 0) failed = 1;

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);

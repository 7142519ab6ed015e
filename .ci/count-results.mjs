// Counts tap's per-file results (<dir>/**/*.tap) of each run directory given: every top-level
// subtest is one test. A file that ended without its plan (it crashed) counts as one more
// failure, and a non-zero exit with nothing counted as failed counts as one failure, so a
// broken run can never print "0 failed". Names every failed test with the first lines of its
// diagnostics (CI shows only the end of the log), prints a line per run, then the plain total
// line "N passed, N failed" last.
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

// The failed top-level test, its failed assertions (indented "not ok" lines above it) and the
// first lines of their YAML diagnostics.
function reportFailure(file, lines, index) {
  console.log(`FAILED ${file}: ${lines[index]}`);
  let start = index;
  while (start > 0 && !/^(not )?ok \d+/.test(lines[start - 1])) start--;
  let shown = 0;
  let inDiagnostics = false;
  for (let i = start; i < index && shown < 40; i++) {
    const failedAssertion = /^\s+not ok /.test(lines[i]);
    if (!failedAssertion && !inDiagnostics) continue;
    console.log(`  ${lines[i].trimEnd()}`);
    shown++;
    if (failedAssertion) inDiagnostics = /^\s+---$/.test(lines[i + 1] ?? '');
    else if (/^\s+\.\.\.$/.test(lines[i])) inDiagnostics = false;
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
    lines.forEach((line, index) => {
      const match = /^(not )?ok \d+( - .*)?$/.exec(line);
      if (!match) return;
      if (/# (SKIP|TODO)\b/i.test(line)) skipped++;
      else if (match[1]) {
        runFailed++;
        reportFailure(file, lines, index);
      } else runPassed++;
    });
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

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { W3C_FILES } from './helpers/w3c-spec.js';

t.test('every vendored W3C file is byte for byte the original its digest names', async (t) => {
  t.ok(W3C_FILES.length >= 5, 'the manifest lists the W3C files');
  for (const file of W3C_FILES) {
    const digest = createHash('sha256').update(readFileSync(new URL(`../${file.path}`, import.meta.url))).digest('hex');
    t.equal(digest, file.sha256, `${file.path} (${file.source})`);
  }
});


/**
 * The W3C files the tests check against, read from the one copy this repository ships
 * (contexts/ and schemas/, listed with the SHA-256 of each W3C original in
 * schemas/w3c-sources.json). A copy whose bytes are not the original's fails the read, so a
 * test can never pass against an edited file.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** One vendored W3C file: where it is in the repository, where it came from, its original's digest. */
export interface W3cFile {
  readonly path: string;
  readonly source: string;
  readonly sha256: string;
}

/** Every vendored W3C file. */
export const W3C_FILES = (JSON.parse(readFileSync(`${ROOT}schemas/w3c-sources.json`, 'utf8')) as { files: W3cFile[] }).files;

/** The text of a vendored W3C file (by its repository path), checked against its original's digest. */
export function readSpecText(path: string): string {
  const entry = W3C_FILES.find((file) => file.path === path);
  if (entry === undefined) throw new Error(`${path} is not a vendored W3C file`);
  const text = readFileSync(ROOT + path, 'utf8');
  const digest = createHash('sha256').update(text).digest('hex');
  if (digest !== entry.sha256) throw new Error(`${path} is not the W3C original (sha256 ${digest}, expected ${entry.sha256})`);
  return text;
}

export const readSpecJson = (path: string): unknown => JSON.parse(readSpecText(path));

/** The TD 1.1 Recommendation's JSON Schema. */
export const W3C_TD_SCHEMA = (): object => readSpecJson('schemas/td-1.1-json-schema.json') as object;

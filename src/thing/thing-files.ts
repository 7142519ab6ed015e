/**
 * Reads Thing Description files from a directory: every `*.td.json` file is one device, its
 * name without `.td.json` becomes the Thing's URL slug.
 *
 * Throws FLOWCHAIN_ERR_TD_INVALID naming the file and the failing field.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FlowchainError } from '../errors.js';
import type { ThingDescription } from '../td/thing-description.js';

/** One parsed TD file. */
export interface ThingFile {
  readonly path: string;
  readonly slug: string;
  readonly td: ThingDescription;
}

const SUFFIX = '.td.json';
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Parses every TD file in `directory`, in file-name order. */
export async function readThingFiles(directory: string): Promise<ThingFile[]> {
  let names: string[];
  try {
    names = (await readdir(directory)).filter((name) => name.endsWith(SUFFIX)).sort();
  } catch (err) {
    throw new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', `cannot read the things directory ${directory}`, { field: 'things', cause: err });
  }
  return Promise.all(names.map((name) => readThingFile(join(directory, name), name.slice(0, -SUFFIX.length))));
}

async function readThingFile(path: string, slug: string): Promise<ThingFile> {
  const invalid = (field: string, reason: string, cause?: unknown): FlowchainError =>
    new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', `${path}: ${field} ${reason}`, { field, cause });
  if (!SLUG.test(slug)) throw invalid('(file name)', 'must be lower-case letters, digits and dashes before .td.json');
  let td: unknown;
  try {
    td = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw invalid('/', `is not valid JSON: ${(err as Error).message}`, err);
  }
  if (typeof td !== 'object' || td === null || Array.isArray(td)) throw invalid('/', 'must be a JSON object');
  const driver = (td as { driver?: unknown }).driver;
  if (typeof driver !== 'object' || driver === null || typeof (driver as { type?: unknown }).type !== 'string') {
    throw invalid('/driver', 'must be an object naming its driver, as {"type": "environment-sensor"}');
  }
  const options = (driver as { options?: unknown }).options;
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw invalid('/driver/options', 'must be an object');
  }
  return { path, slug, td: td as ThingDescription };
}

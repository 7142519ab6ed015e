/**
 * Reads Thing Description files from a directory: every `*.td.json` file is one device, its
 * name without `.td.json` becomes the Thing's URL slug, and its Flowchain `driver` member (if
 * any) names the device behind it: a built-in one (`{"type": "thermostat"}`) or a module
 * (`{"module": "./drivers/greenhouse.js"}`), with `options`.
 *
 * Throws FLOWCHAIN_ERR_TD_INVALID naming the file and the failing field, and
 * FLOWCHAIN_ERR_CONFIG_INVALID when the directory cannot be read.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FlowchainError } from '../errors.js';
import type { ThingDescription } from '../td/thing-description.js';

/** The device a TD file names. */
export type DriverSpec = { readonly type: string; readonly module?: undefined; readonly options: Readonly<Record<string, unknown>> } | { readonly module: string; readonly type?: undefined; readonly options: Readonly<Record<string, unknown>> };

/** One parsed TD file. */
export interface ThingFile {
  readonly path: string;
  readonly slug: string;
  /** The TD fragment, without the Flowchain `driver` member. */
  readonly td: ThingDescription;
  readonly driver: DriverSpec | undefined;
}

const SUFFIX = '.td.json';
/** A Thing's URL slug: lower-case letters, digits and dashes. */
export const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

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
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw invalid('/', `is not valid JSON: ${(err as Error).message}`, err);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('/', 'must be a JSON object');
  const { driver, ...td } = parsed as { driver?: unknown };
  if (driver === undefined) return { path, slug, td: td as ThingDescription, driver: undefined };
  const spec = driver as { type?: unknown; module?: unknown; options?: unknown } | null;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec) || (typeof spec.type === 'string') === (typeof spec.module === 'string')) {
    throw invalid('/driver', 'must be an object naming its device: {"type": "environment-sensor"} or {"module": "./drivers/my-device.js"}');
  }
  const options = spec.options ?? {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalid('/driver/options', 'must be an object');
  const common = { options: options as Record<string, unknown> };
  return { path, slug, td: td as ThingDescription, driver: typeof spec.type === 'string' ? { type: spec.type, ...common } : { module: spec.module as string, ...common } };
}

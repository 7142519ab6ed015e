/**
 * Exploring a Thing Description Directory (W3C WoT Scripting API, `exploreDirectory`; WoT
 * Discovery §7.3): the directory's own TD is fetched and consumed, and the Things it lists come
 * through its affordances alone: the `things` property, or the `searchJSONPath` action when a
 * JSONPath query narrows them. A Flowchain node's directory lists the whole ring's Things; any
 * other directory whose TD follows the Discovery Thing Model works the same way.
 *
 * Rejects with the consumer's codes (FLOWCHAIN_ERR_REMOTE_UNREACHABLE, FLOWCHAIN_ERR_FORM_NOT_FOUND,
 * FLOWCHAIN_ERR_DIRECTORY_QUERY_INVALID from the directory, say) through the iteration.
 */
import type { ThingDescription } from '../td/thing-description.js';
import { consumeThing, fetchThingDescription, type ConsumeOptions } from './consumed-thing.js';

/** Which Things a discovery yields. */
export interface ThingFilter {
  /** A JSONPath expression (RFC 9535) over the directory's listing: the TDs it selects. */
  readonly query?: string;
  /** Only TDs whose `@type` is or includes this term. */
  readonly type?: string;
}

/**
 * One discovery (Scripting API §6.3, ThingDiscoveryProcess): an async iterator of TDs that
 * stops early on {@link stop}; `done` once it has nothing more, `error` if it failed.
 */
export class ThingDiscoveryProcess implements AsyncIterable<ThingDescription> {
  done = false;
  error: Error | undefined;
  #stopped = false;
  readonly #found: () => Promise<readonly ThingDescription[]>;

  constructor(
    readonly filter: ThingFilter,
    found: () => Promise<readonly ThingDescription[]>,
  ) {
    this.#found = found;
  }

  /** Ends the discovery: the iteration yields nothing more. */
  stop(): void {
    this.#stopped = true;
    this.done = true;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ThingDescription> {
    try {
      for (const td of this.#stopped ? [] : await this.#found()) {
        if (this.#stopped) break;
        if (matches(td, this.filter)) yield td;
      }
    } catch (err) {
      this.error = err as Error;
      throw err;
    } finally {
      this.done = true;
    }
  }
}

/** The Things the directory whose TD is at `url` lists, narrowed by `filter`. */
export function exploreDirectory(url: string, filter: ThingFilter = {}, options: ConsumeOptions = {}): ThingDiscoveryProcess {
  return new ThingDiscoveryProcess(filter, async () => {
    const directory = await consumeThing(await fetchThingDescription(url, options), options);
    const listed =
      filter.query === undefined
        ? await (await directory.readProperty('things')).value()
        : await (await directory.invokeAction('searchJSONPath', undefined, { uriVariables: { query: filter.query } }))?.value();
    // A query selects any values: the TDs among them are what a discovery yields.
    return (Array.isArray(listed) ? listed : []).filter(isThingDescription);
  });
}

function isThingDescription(value: unknown): value is ThingDescription {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { title?: unknown }).title === 'string';
}

function matches(td: ThingDescription, filter: ThingFilter): boolean {
  if (filter.type === undefined) return true;
  const types = td['@type'];
  return Array.isArray(types) ? types.includes(filter.type) : types === filter.type;
}

/**
 * The `@context` of the Thing Descriptions a node serves. Pure: no I/O.
 *
 * A served TD names the TD 1.0 context URI first and the TD 1.1 one second, then its other
 * entries: the form TD 1.1 keeps for TDs that TD 1.0 consumers must also read (TD 1.1 §5.3.1.1,
 * `@context`; the third branch of the `thing-context` definition of the TD 1.1 JSON Schema,
 * "Old context URI, followed by the new one and possibly other vocabularies"). A TD 1.0
 * consumer, node-wot 0.9 among them, checks the first entry against the 1.0 URI and refuses a
 * TD that names 1.1 alone. Both URIs dereference to the TD 1.1 context (contexts/README.md), so
 * the JSON-LD meaning of the TD does not change.
 */
import { FLOWCHAIN_CONTEXT_URL, FLOWCHAIN_INLINE_CONTEXT } from './flowchain-context.js';
import type { Json } from './thing-description.js';

/** The TD 1.0 context URI (TD 1.0 §5.3.1.1). */
export const TD_CONTEXT_V1 = 'https://www.w3.org/2019/wot/td/v1';

/** The TD 1.1 context URI (TD 1.1 §5.3.1.1). */
export const TD_CONTEXT_V11 = 'https://www.w3.org/2022/wot/td/v1.1';

/** The context entries every served TD starts with, in this order. */
export const SERVED_TD_CONTEXTS: readonly [typeof TD_CONTEXT_V1, typeof TD_CONTEXT_V11] = [TD_CONTEXT_V1, TD_CONTEXT_V11];

const isTdContext = (entry: Json): boolean => entry === TD_CONTEXT_V1 || entry === TD_CONTEXT_V11;

/**
 * A TD's `@context` as served: the TD 1.0 and 1.1 URIs first, then its other entries in their
 * order, with {@link FLOWCHAIN_CONTEXT_URL} replaced by Flowchain's terms inline (see
 * flowchain-context.ts). A context that names no TD context is returned as it was (its entries
 * still inlined), so the TD 1.1 JSON Schema check still refuses it rather than this function
 * quietly making it a TD.
 */
export function servedContext(context: Json): Json {
  const entries = Array.isArray(context) ? context : [context];
  const others = entries.filter((entry) => !isTdContext(entry)).map((entry) => (entry === FLOWCHAIN_CONTEXT_URL ? { ...FLOWCHAIN_INLINE_CONTEXT } : entry));
  if (!entries.some(isTdContext)) return Array.isArray(context) ? others : context;
  return [...SERVED_TD_CONTEXTS, ...others];
}

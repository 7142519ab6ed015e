/**
 * Flowchain's own JSON-LD terms as served Thing Descriptions carry them. Pure: no I/O.
 *
 * TD files name Flowchain's context by its URL, {@link FLOWCHAIN_CONTEXT_URL} (bundled as
 * contexts/flowchain-v1.jsonld, which documents every term). That URL is resolved only by
 * Flowchain's own document loader, so a JSON-LD processor that dereferences contexts (an RDF
 * tool, a triple store, the TD Playground) could not process a TD naming it. A served TD
 * therefore carries the terms inline, and names no context URL but the W3C ones
 * (td-context.ts builds a served TD's `@context`).
 *
 * The inline object holds string values only, because the TD 1.1 JSON Schema allows nothing
 * else in an inline context (its `thing-context` definition). That is enough: `recorded`
 * holds a JSON boolean, which JSON-LD already turns into an xsd:boolean literal (JSON-LD 1.1
 * Processing Algorithms and API §8.6.2, object to RDF conversion), and `driver`, the one term
 * that needs a JSON literal type, is never served.
 */

/** The context URL TD files use for Flowchain's terms. */
export const FLOWCHAIN_CONTEXT_URL = 'https://w3id.org/flowchain/v1';

/** The namespace of Flowchain's terms (term IRIs are identifiers, never fetched). */
export const FLOWCHAIN_NAMESPACE = 'https://w3id.org/flowchain#';

/** Flowchain's served terms, as an inline context of simple term definitions. */
export const FLOWCHAIN_INLINE_CONTEXT: Readonly<Record<string, string>> = Object.freeze({
  flowchain: FLOWCHAIN_NAMESPACE,
  recorded: 'flowchain:recorded',
});

/**
 * Offline JSON-LD processing of Thing Descriptions. The document loader answers only from the
 * bundled contexts (see contexts/README.md) and never touches the network.
 *
 * Throws FLOWCHAIN_ERR_TD_CONTEXT_UNKNOWN for a context that is not bundled and
 * FLOWCHAIN_ERR_TD_INVALID when a TD does not expand.
 */
import jsonld from 'jsonld';
import { FlowchainError, isFlowchainError } from '../errors.js';

/** Context URL → the parsed context document. */
export type ContextDocuments = ReadonlyMap<string, unknown>;

/** A JSON-LD remote document, as the `jsonld` package expects from a loader. */
export interface RemoteDocument {
  readonly contextUrl: null;
  readonly documentUrl: string;
  readonly document: unknown;
}

/** A `jsonld` document loader that serves only `contexts`. */
export function createDocumentLoader(contexts: ContextDocuments): (url: string) => Promise<RemoteDocument> {
  return async (url: string) => {
    const document = contexts.get(url);
    if (document === undefined) {
      throw new FlowchainError('FLOWCHAIN_ERR_TD_CONTEXT_UNKNOWN', `JSON-LD context ${url} is not bundled with Flowchain`, { field: '@context' });
    }
    return { contextUrl: null, documentUrl: url, document };
  };
}

/**
 * Expands a TD (JSON-LD 1.1 expansion algorithm) using only the bundled contexts.
 * Returns the expanded document.
 */
export async function expandThingDescription(td: object, contexts: ContextDocuments): Promise<unknown[]> {
  const documentLoader = createDocumentLoader(contexts);
  try {
    // safe mode makes constructs that would be silently dropped (undefined terms) an error.
    const options = { documentLoader, safe: true } as unknown as jsonld.Options.Expand;
    return (await jsonld.expand(td as jsonld.JsonLdDocument, options)) as unknown as unknown[];
  } catch (err) {
    const known = findFlowchainCause(err);
    if (known) throw known;
    throw new FlowchainError('FLOWCHAIN_ERR_TD_INVALID', `TD does not expand as JSON-LD: ${(err as Error).message}`, { field: '@context', cause: err });
  }
}

/** jsonld wraps loader failures; dig the loader's own error back out. */
function findFlowchainCause(err: unknown): FlowchainError | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    if (isFlowchainError(e)) return e;
    const next = e as { cause?: unknown; details?: { cause?: unknown } };
    e = next.details?.cause ?? next.cause;
  }
  return undefined;
}

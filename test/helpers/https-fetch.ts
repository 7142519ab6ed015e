/**
 * A `fetch` that trusts one certificate: what a consumer configured with a node's self-signed
 * certificate does. Node's global fetch takes no CA per call, so this one is node:https under
 * the same interface (method, headers, string body, abort signal; a streamed body).
 */
import { Agent, request } from 'node:https';
import { Readable } from 'node:stream';

/** Statuses whose responses have no body (Fetch standard: null body status). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * A fetch for https: URLs that accepts servers presenting `ca` (or a certificate it signed).
 * Connections are kept alive and reused, as the global fetch does (idle ones hold no process
 * open, and a node's shutdown closes them).
 */
export function fetchTrusting(ca: string): typeof fetch {
  const agent = new Agent({ ca, keepAlive: true });
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const method = init.method ?? 'GET';
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    return new Promise<Response>((resolve, reject) => {
      const req = request(url, { method, headers, agent }, (res) => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) for (const v of [value ?? []].flat()) responseHeaders.append(name, v);
        const status = res.statusCode ?? 0;
        if (method === 'HEAD' || NULL_BODY.has(status)) {
          res.resume();
          resolve(new Response(null, { status, headers: responseHeaders }));
          return;
        }
        resolve(new Response(Readable.toWeb(res) as ReadableStream, { status, headers: responseHeaders }));
      });
      req.once('error', reject);
      init.signal?.addEventListener('abort', () => req.destroy(new Error('aborted')), { once: true });
      req.end(typeof init.body === 'string' ? init.body : undefined);
    });
  }) as typeof fetch;
}

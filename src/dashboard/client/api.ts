/**
 * HTTP calls of the dashboard. A failed call throws `ProblemError`, which turns the node's RFC
 * 9457 problem+json into a sentence for a person, keeping the stable `code` for reference.
 */

export interface Problem {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly code?: string;
  readonly field?: string;
}

/** A request the node (or the network) refused. */
export class ProblemError extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(describeProblem(problem));
    this.problem = problem;
  }
}

/** "Value does not match the data schema: /value must be <= 30" (or the title alone). */
export function describeProblem(problem: Problem): string {
  if (problem.code === 'FLOWCHAIN_ERR_AUTH_REQUIRED' || problem.code === 'FLOWCHAIN_ERR_AUTH_INVALID') {
    return `${problem.title ?? 'Not allowed'}: enter this node's access token${credentialScheme === 'basic' ? ' (user:password)' : ''} at the top of the page`;
  }
  const title = problem.title ?? `Request failed (${problem.status ?? 'no answer'})`;
  return problem.detail && problem.detail !== title ? `${title}: ${problem.detail}` : title;
}

let token = sessionStorage.getItem('flowchain-token') ?? '';
/** How writes present the token: as a bearer token, or as `user:password` for HTTP Basic. */
let credentialScheme: 'bearer' | 'basic' = 'bearer';

/**
 * Chooses the scheme from what the node's TDs declare: bearer where it is accepted, HTTP Basic
 * on a node that accepts only that.
 */
export function useCredentialScheme(securityDefinitions: readonly Readonly<Record<string, { readonly scheme?: string }>>[]): void {
  const schemes = new Set(securityDefinitions.flatMap((defs) => Object.values(defs).map((d) => d.scheme)));
  credentialScheme = !schemes.has('bearer') && schemes.has('basic') ? 'basic' : 'bearer';
}

/** The Authorization header value for the entered token, or undefined when none is entered. */
function authorization(): string | undefined {
  if (!token) return undefined;
  if (credentialScheme === 'bearer') return `Bearer ${token}`;
  // RFC 7617: base64 of the UTF-8 bytes of user:password.
  return `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(token)))}`;
}

/** The token a WebSocket URL may carry as access_token (bearer only: Basic travels in no URL). */
export function bearerForUrl(): string | undefined {
  return credentialScheme === 'bearer' && token ? token : undefined;
}

/** The credentials writes carry (kept for this browser tab only). */
export const accessToken = {
  get: (): string => token,
  set(value: string): void {
    token = value.trim();
    if (token) sessionStorage.setItem('flowchain-token', token);
    else sessionStorage.removeItem('flowchain-token');
  },
};

/**
 * Sends a request and resolves with the response; throws ProblemError unless it is 2xx. The
 * entered credentials go to this page's origin only (a Thing of another node gets none).
 */
export async function call(url: string | URL, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const value = authorization();
  // The token is this node's: it never goes to another member of the ring.
  if (value && new URL(url, location.href).origin === location.origin) headers.set('authorization', value);
  let response: Response;
  try {
    // No browser-held credentials: the page sends its own Authorization, and with credentials
    // omitted a 401 challenging for Basic does not open the browser's login dialog (Fetch
    // standard, HTTP-network-or-cache fetch: the prompt needs credentials included).
    response = await fetch(url, { ...init, headers, credentials: 'omit' });
  } catch {
    throw new ProblemError({ title: 'The node did not answer', detail: 'check the connection and try again' });
  }
  if (response.ok) return response;
  const type = response.headers.get('content-type') ?? '';
  const problem = type.includes('json') ? ((await response.json().catch(() => ({}))) as Problem) : { title: response.statusText };
  throw new ProblemError({ status: response.status, ...problem });
}

/** GET as JSON. */
export async function getJson<T>(url: string | URL): Promise<T> {
  return (await call(url)).json() as Promise<T>;
}

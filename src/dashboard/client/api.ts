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
    return `${problem.title ?? 'Not allowed'}: enter this node's access token at the top of the page`;
  }
  const title = problem.title ?? `Request failed (${problem.status ?? 'no answer'})`;
  return problem.detail && problem.detail !== title ? `${title}: ${problem.detail}` : title;
}

let token = sessionStorage.getItem('flowchain-token') ?? '';

/** The bearer token writes carry (kept for this browser tab only). */
export const accessToken = {
  get: (): string => token,
  set(value: string): void {
    token = value.trim();
    if (token) sessionStorage.setItem('flowchain-token', token);
    else sessionStorage.removeItem('flowchain-token');
  },
};

/** Sends a request and resolves with the response; throws ProblemError unless it is 2xx. */
export async function call(url: string | URL, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  let response: Response;
  try {
    response = await fetch(url, { ...init, headers });
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

/**
 * The authority a request names in its Host header (RFC 9110 §7.2, RFC 9112 §3.2). The TD
 * forms a client receives are built from it, so every request must carry exactly one valid
 * Host: a host name or IP literal and an optional port from 1 to 65535. It is checked before
 * any route runs, so a route never fails on it after changing something.
 *
 * Throws FLOWCHAIN_ERR_REQUEST_MALFORMED with field `host`.
 */
import { FlowchainError } from '../../errors.js';

/** A host name (letters, digits, `-`, `_`, `.`), an IPv4 address or a bracketed IPv6 literal; then an optional port. */
const AUTHORITY = /^(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;
/** RFC 1035 §2.3.4: a name is at most 253 characters; with brackets and a port, 262. */
const MAX_LENGTH = 262;

/** What a request carries: its parsed headers and, where the transport keeps them, the raw ones. */
export interface HostSource {
  readonly headers: { readonly host?: string | undefined };
  readonly rawHeaders?: readonly string[];
}

/**
 * Authorities already checked, by protocol and Host: clients send the same few Hosts on every
 * request, and checking one through the URL parser costs a microsecond. Emptied when full, so
 * a client sending many made-up Hosts costs only itself the checks.
 */
const checked = new Map<string, string>();
const CHECKED_MAX = 256;

const invalid = (detail: string): FlowchainError => new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', detail, { field: 'host' });

/**
 * The normalised authority (`host` or `host:port`, lower case, default port dropped) of a
 * request. Throws FLOWCHAIN_ERR_REQUEST_MALFORMED (field `host`) when the Host header is
 * missing, repeated, malformed or names a port outside 1-65535.
 */
export function requestAuthority(request: HostSource, protocol: string): string {
  // Node keeps only the first of repeated Host headers; RFC 9112 §3.2 says to refuse them.
  const raw = request.rawHeaders;
  if (raw !== undefined) {
    let count = 0;
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') count++;
    if (count > 1) throw invalid('send exactly one Host header');
  }
  const host = request.headers.host;
  if (host === undefined || host === '') throw invalid('the Host header is required');
  const key = `${protocol}:${host}`;
  const known = checked.get(key);
  if (known !== undefined) return known;
  const match = host.length <= MAX_LENGTH ? AUTHORITY.exec(host) : null;
  if (match === null) throw invalid('Host must be a host name or IP literal with an optional port');
  const port = match[1];
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535)) throw invalid('the Host port must be from 1 to 65535');
  let url: URL;
  try {
    url = new URL(`${protocol}://${host}/`);
  } catch (err) {
    throw new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', 'Host is not a valid authority', { field: 'host', cause: err });
  }
  if (checked.size >= CHECKED_MAX) checked.clear();
  checked.set(key, url.host);
  return url.host;
}

/**
 * The CoAP binding's one mapping point for errors: a catalogue error becomes a CoAP response
 * code (RFC 7252 §5.9 and §12.1.2; 4.09 and 4.22 from RFC 8132, 4.29 from RFC 8516) with a
 * diagnostic payload (RFC 7252 §5.5.2: UTF-8 text, no Content-Format) that starts with the
 * error's code, so a client tells the problems apart without parsing prose. Pure.
 */
import { ERRORS, FlowchainError, isFlowchainError, type ErrorCode } from '../../errors.js';

/** The CoAP response codes the catalogue's HTTP statuses have counterparts of. */
const CODES: Readonly<Record<number, string>> = {
  400: '4.00', 401: '4.01', 402: '4.02', 403: '4.03', 404: '4.04', 405: '4.05', 406: '4.06', 409: '4.09', 412: '4.12', 413: '4.13', 415: '4.15', 422: '4.22', 429: '4.29',
  500: '5.00', 501: '5.01', 502: '5.02', 503: '5.03', 504: '5.04',
};

/** A diagnostic payload is meant for a person reading a log: kept short (RFC 7252 §5.5.2). */
const MAX_DIAGNOSTIC_BYTES = 256;

/** The CoAP answer to a failure: its response code and diagnostic payload. */
export interface CoapProblem {
  readonly code: string;
  readonly diagnostic: Buffer;
}

/** The CoAP answer to `err`; anything that is not a catalogue error is 5.00 FLOWCHAIN_ERR_INTERNAL (its message is not shown). */
export function coapProblem(err: unknown): CoapProblem {
  const error = isFlowchainError(err) ? err : new FlowchainError('FLOWCHAIN_ERR_INTERNAL', 'internal error');
  const code = CODES[error.status] ?? (error.status >= 500 ? '5.00' : '4.00');
  let text = Buffer.from(`${error.code}: ${error.message}`);
  if (text.length > MAX_DIAGNOSTIC_BYTES) text = Buffer.from(`${text.subarray(0, MAX_DIAGNOSTIC_BYTES - 3).toString('utf8').replace(/\uFFFD$/, '')}...`);
  return { code, diagnostic: text };
}

/** The catalogue code a diagnostic payload starts with, if it starts with one. */
export function codeOfDiagnostic(diagnostic: string): ErrorCode | undefined {
  const code = /^(FLOWCHAIN_ERR_[A-Z0-9_]+)/.exec(diagnostic)?.[1];
  return code !== undefined && isErrorCode(code) ? code : undefined;
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}

/**
 * The one catalogue of Flowchain errors. Every failure a user or peer can see is a
 * {@link FlowchainError} with a stable `code` from {@link ERRORS}; transports map it in exactly
 * one place each (HTTP: RFC 9457 problem+json, WebSocket: an `error` message).
 *
 * Leaf module: imports nothing from the project.
 */

/** How one error code presents itself: the HTTP status it maps to and a short title. */
export interface ErrorSpec {
  readonly status: number;
  readonly title: string;
}

/** Every error code, its HTTP status and its title. Codes never change once published. */
export const ERRORS = {
  // Things and their affordances
  FLOWCHAIN_ERR_THING_NOT_FOUND: { status: 404, title: 'Unknown Thing' },
  FLOWCHAIN_ERR_AFFORDANCE_NOT_FOUND: { status: 404, title: 'Unknown interaction affordance' },
  FLOWCHAIN_ERR_VALUE_INVALID: { status: 400, title: 'Value does not match the data schema' },
  FLOWCHAIN_ERR_PROPERTY_READ_ONLY: { status: 405, title: 'Property is read-only' },
  FLOWCHAIN_ERR_PROPERTY_WRITE_ONLY: { status: 405, title: 'Property is write-only' },
  FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED: { status: 405, title: 'Operation not supported by this affordance' },
  FLOWCHAIN_ERR_DEVICE_FAILED: { status: 502, title: 'The device failed to carry out the request' },
  FLOWCHAIN_ERR_HANDLER_FAILED: { status: 500, title: 'The Thing\'s handler failed' },
  FLOWCHAIN_ERR_HANDLER_TIMEOUT: { status: 504, title: 'The Thing\'s handler did not answer in time' },
  FLOWCHAIN_ERR_HANDLER_OUTPUT_INVALID: { status: 500, title: 'The Thing produced a value its TD does not allow' },
  FLOWCHAIN_ERR_NOT_IMPLEMENTED: { status: 501, title: 'The Thing does not implement this interaction' },
  FLOWCHAIN_ERR_ACTION_NOT_FOUND: { status: 404, title: 'No such action invocation' },
  FLOWCHAIN_ERR_ACTION_FINISHED: { status: 409, title: 'The action has already finished' },
  FLOWCHAIN_ERR_ACTION_CANCELLED: { status: 409, title: 'The action was cancelled' },
  FLOWCHAIN_ERR_ACTION_INTERRUPTED: { status: 503, title: 'The node stopped while the action ran' },
  FLOWCHAIN_ERR_OUTPUT_NOT_READABLE: { status: 500, title: 'The interaction output was already read through its data stream' },
  // Consuming other Things
  FLOWCHAIN_ERR_FORM_NOT_FOUND: { status: 400, title: 'The TD has no form this client can use for the interaction' },
  FLOWCHAIN_ERR_REMOTE_FAILED: { status: 502, title: 'The consumed Thing answered with an error' },
  FLOWCHAIN_ERR_REMOTE_UNREACHABLE: { status: 504, title: 'The consumed Thing cannot be reached' },
  FLOWCHAIN_ERR_OUTCOME_UNKNOWN: { status: 504, title: 'The request reached the consumed Thing but no answer came back: it may or may not have taken effect, and was not repeated' },
  FLOWCHAIN_ERR_FORM_INDEX_INVALID: { status: 400, title: 'formIndex names no form this client can follow for the interaction' },
  FLOWCHAIN_ERR_URI_VARIABLE_INVALID: { status: 400, title: 'A URI variable is not declared or does not match its data schema' },
  FLOWCHAIN_ERR_URI_VARIABLE_MISSING: { status: 400, title: 'A URI variable the form needs has no value' },
  // Requests, whatever the transport
  FLOWCHAIN_ERR_REQUEST_MALFORMED: { status: 400, title: 'Malformed request' },
  FLOWCHAIN_ERR_REQUEST_TOO_LARGE: { status: 413, title: 'Request body too large' },
  FLOWCHAIN_ERR_URI_TOO_LONG: { status: 414, title: 'Request target too long' },
  FLOWCHAIN_ERR_HEADERS_TOO_LARGE: { status: 431, title: 'Request header fields too large' },
  FLOWCHAIN_ERR_REQUEST_TIMEOUT: { status: 408, title: 'Request not received in time' },
  FLOWCHAIN_ERR_EXPECTATION_FAILED: { status: 417, title: 'Expectation not supported' },
  FLOWCHAIN_ERR_RANGE_NOT_SATISFIABLE: { status: 416, title: 'Range not satisfiable' },
  FLOWCHAIN_ERR_PRECONDITION_FAILED: { status: 412, title: 'Precondition failed' },
  FLOWCHAIN_ERR_SHUTTING_DOWN: { status: 503, title: 'Node is shutting down' },
  FLOWCHAIN_ERR_MEDIA_TYPE_UNSUPPORTED: { status: 415, title: 'Unsupported media type' },
  FLOWCHAIN_ERR_ROUTE_NOT_FOUND: { status: 404, title: 'No such resource' },
  FLOWCHAIN_ERR_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed on this resource' },
  FLOWCHAIN_ERR_UPGRADE_REQUIRED: { status: 426, title: 'WebSocket upgrade required' },
  FLOWCHAIN_ERR_OPERATION_UNKNOWN: { status: 400, title: 'Unknown operation' },
  FLOWCHAIN_ERR_AUTH_REQUIRED: { status: 401, title: 'Credentials required' },
  FLOWCHAIN_ERR_AUTH_INVALID: { status: 401, title: 'Credentials rejected' },
  FLOWCHAIN_ERR_WS_SLOW_CONSUMER: { status: 503, title: 'Consumer too slow, send buffer full' },
  FLOWCHAIN_ERR_WS_TOO_MANY_REQUESTS: { status: 429, title: 'Too many requests waiting on one socket' },
  // Start-up: configuration and Thing Description files
  FLOWCHAIN_ERR_CONFIG_INVALID: { status: 500, title: 'Invalid configuration' },
  FLOWCHAIN_ERR_TD_INVALID: { status: 500, title: 'Invalid Thing Description' },
  FLOWCHAIN_ERR_TD_CONTEXT_UNKNOWN: { status: 500, title: 'JSON-LD context not bundled' },
  FLOWCHAIN_ERR_TD_TERM_UNKNOWN: { status: 500, title: 'Thing Description member is not a term of its vocabulary' },
  FLOWCHAIN_ERR_DRIVER_UNKNOWN: { status: 500, title: 'Unknown device driver' },
  FLOWCHAIN_ERR_DRIVER_FAILED: { status: 500, title: 'Device module cannot be loaded' },
  // The Thing Description Directory (WoT Discovery §7.3)
  FLOWCHAIN_ERR_DIRECTORY_TD_INVALID: { status: 400, title: 'The Thing Description is not valid' },
  FLOWCHAIN_ERR_DIRECTORY_FORBIDDEN: { status: 403, title: 'This node may not change that Thing Description' },
  FLOWCHAIN_ERR_DIRECTORY_QUERY_INVALID: { status: 400, title: 'Malformed search query' },
  FLOWCHAIN_ERR_HISTORY_QUERY_INVALID: { status: 400, title: 'Malformed history query' },
  FLOWCHAIN_ERR_HISTORY_NOT_KEPT: { status: 404, title: 'The node keeps no history of this Thing' },
  // The peer-to-peer ring
  FLOWCHAIN_ERR_PEER_UNREACHABLE: { status: 503, title: 'Peer unreachable' },
  FLOWCHAIN_ERR_PEER_MESSAGE_INVALID: { status: 400, title: 'Invalid peer message' },
  FLOWCHAIN_ERR_PEER_SIGNATURE_INVALID: { status: 401, title: 'Peer message signature or identity rejected' },
  FLOWCHAIN_ERR_PEER_MESSAGE_REPLAYED: { status: 409, title: 'Peer message replayed or outside the time window' },
  FLOWCHAIN_ERR_PEER_NOT_MEMBER: { status: 403, title: 'Peer holds no valid membership of this ring' },
  FLOWCHAIN_ERR_LOOKUP_FAILED: { status: 503, title: 'Ring lookup failed' },
  FLOWCHAIN_ERR_RING_NOT_OWNER: { status: 421, title: 'This node does not own that key' },
  FLOWCHAIN_ERR_RING_VALUE_TOO_LARGE: { status: 413, title: 'Value too large for the ring store' },
  FLOWCHAIN_ERR_RING_RECORD_INVALID: { status: 422, title: 'Ring record fails verification' },
  FLOWCHAIN_ERR_RING_RECORD_CONFLICT: { status: 409, title: 'The key holds a record another member vouches for' },
  FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED: { status: 429, title: 'Peer exceeded what it may make this node store' },
  // Data transactions (the broker)
  FLOWCHAIN_ERR_TX_MALFORMED: { status: 400, title: 'Malformed data transaction' },
  FLOWCHAIN_ERR_TX_HASH_MISMATCH: { status: 400, title: 'H_DATA does not match the transaction' },
  FLOWCHAIN_ERR_TX_SIGNATURE_INVALID: { status: 401, title: 'Data transaction signature rejected' },
  FLOWCHAIN_ERR_TX_NOT_FOUND: { status: 404, title: 'No such transaction' },
  FLOWCHAIN_ERR_TX_PRUNED: { status: 410, title: 'The transaction is past the ledger\'s retention: its body was pruned (its block header stays, and receipts already handed out still verify)' },
  FLOWCHAIN_ERR_TX_CLOCK_SKEW: { status: 400, title: 'The transaction\'s time is outside the window its owner accepts' },
  FLOWCHAIN_ERR_TX_UNAUTHORIZED: { status: 403, title: 'The sender may not record this transaction' },
  FLOWCHAIN_ERR_TX_HOST_UNKNOWN: { status: 503, title: 'The ring does not know the Thing\'s host yet' },
  FLOWCHAIN_ERR_TX_UNDER_REPLICATED: { status: 503, title: 'Too few members proved they hold the transaction yet' },
  FLOWCHAIN_ERR_TX_REFUSED: { status: 502, title: 'The ring refused to record the change; it was undone' },
  FLOWCHAIN_ERR_BUSY: { status: 503, title: 'Too much is waiting to be recorded: try again shortly' },
  // The ledger: blocks, receipts, anchors
  FLOWCHAIN_ERR_BLOCK_NOT_FOUND: { status: 404, title: 'No such block' },
  FLOWCHAIN_ERR_LEDGER_CORRUPT: { status: 500, title: 'Stored ledger fails verification' },
  FLOWCHAIN_ERR_RECEIPT_INVALID: { status: 422, title: 'Receipt fails verification' },
  FLOWCHAIN_ERR_RECEIPT_NOT_MINED: { status: 504, title: 'The transaction was not mined in time' },
  FLOWCHAIN_ERR_ANCHOR_FAILED: { status: 502, title: 'Anchoring onto the public chain failed' },
  // The MQTT binding
  FLOWCHAIN_ERR_MQTT_BROKER_UNREACHABLE: { status: 503, title: 'The MQTT broker cannot be reached' },
  FLOWCHAIN_ERR_MQTT_PORT_IN_USE: { status: 500, title: 'The embedded MQTT broker cannot listen on its port' },
  // Flows (Node-RED inside the node)
  FLOWCHAIN_ERR_FLOWS_UNAVAILABLE: { status: 503, title: 'The flow editor is not running' },
  // Alerts (the node's `alerts` Thing)
  FLOWCHAIN_ERR_ALERT_THING_UNKNOWN: { status: 400, title: 'The alert rule names no Thing this node hosts' },
  FLOWCHAIN_ERR_ALERT_PROPERTY_UNKNOWN: { status: 400, title: 'The alert rule names no property of that Thing' },
  FLOWCHAIN_ERR_ALERT_PROPERTY_UNWATCHABLE: { status: 400, title: 'The alert rule\'s property cannot be read and observed' },
  FLOWCHAIN_ERR_ALERT_THRESHOLD_INVALID: { status: 400, title: 'The alert rule\'s threshold does not fit its property or its comparison' },
  FLOWCHAIN_ERR_ALERT_RULE_NOT_FOUND: { status: 404, title: 'No such alert rule' },
  FLOWCHAIN_ERR_ALERT_NOT_FOUND: { status: 404, title: 'No such active alert' },
  // Storage and everything else
  FLOWCHAIN_ERR_STORE_FAILED: { status: 503, title: 'Storage unavailable' },
  FLOWCHAIN_ERR_STORE_LOCKED: { status: 503, title: 'The database is open in another process' },
  FLOWCHAIN_ERR_STORE_ACCESS_DENIED: { status: 500, title: 'No permission to open the database' },
  FLOWCHAIN_ERR_STORE_NOT_DIRECTORY: { status: 500, title: 'The database path is not a directory' },
  FLOWCHAIN_ERR_INTERNAL: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, ErrorSpec>;

/** A stable error code. */
export type ErrorCode = keyof typeof ERRORS;

/** Optional details attached to a {@link FlowchainError}. */
export interface ErrorDetails {
  /** JSON Pointer (RFC 6901) or name of the failing field, file or option. */
  readonly field?: string;
  /** The underlying error, when a library failed. */
  readonly cause?: unknown;
  /** Every fault of a rejected document (WoT Discovery §7.3.2.1.1: `validationErrors`). */
  readonly validationErrors?: readonly ValidationFault[];
}

/** One fault of a rejected document: where (a JSON Pointer) and what. */
export interface ValidationFault {
  readonly field: string;
  readonly description: string;
}

/** The only error type Flowchain throws on purpose. */
export class FlowchainError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly field: string | undefined;
  readonly validationErrors: readonly ValidationFault[] | undefined;

  constructor(code: ErrorCode, detail: string, details: ErrorDetails = {}) {
    super(detail, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'FlowchainError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.title = ERRORS[code].title;
    this.field = details.field;
    this.validationErrors = details.validationErrors;
  }
}

/** True when `err` is a {@link FlowchainError}, optionally with the given code. */
export function isFlowchainError(err: unknown, code?: ErrorCode): err is FlowchainError {
  return err instanceof FlowchainError && (code === undefined || err.code === code);
}

/** The serialisable description of an error, shared by every transport's error message. */
export interface ErrorBody {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly field?: string;
  readonly validationErrors?: readonly ValidationFault[];
}

/**
 * Describes any thrown value as an {@link ErrorBody}. Unknown errors become
 * FLOWCHAIN_ERR_INTERNAL without leaking their message.
 */
export function describeError(err: unknown): ErrorBody {
  if (err instanceof FlowchainError) {
    const body: ErrorBody = { code: err.code, status: err.status, title: err.title, detail: err.message };
    return { ...body, ...(err.field === undefined ? {} : { field: err.field }), ...(err.validationErrors === undefined ? {} : { validationErrors: err.validationErrors }) };
  }
  const spec = ERRORS.FLOWCHAIN_ERR_INTERNAL;
  return { code: 'FLOWCHAIN_ERR_INTERNAL', status: spec.status, title: spec.title, detail: 'Unexpected internal error' };
}

/**
 * The error another node described with an {@link ErrorBody}, as a FlowchainError of the same
 * code; a body that names no catalogue code becomes FLOWCHAIN_ERR_PEER_MESSAGE_INVALID.
 * `origin` prefixes the detail (the peer's URL, say).
 */
export function errorFromBody(body: unknown, origin: string): FlowchainError {
  const e = body as Partial<ErrorBody> | null;
  const code: ErrorCode = typeof e?.code === 'string' && Object.hasOwn(ERRORS, e.code) ? e.code : 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID';
  const field = typeof e?.field === 'string' ? { field: e.field } : {};
  return new FlowchainError(code, `${origin}: ${typeof e?.detail === 'string' ? e.detail : 'error reply'}`, field);
}

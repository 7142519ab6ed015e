/**
 * The Flowchain WebSocket protocol, `flowchain.v1` (docs/websocket-protocol.md): JSON text
 * messages whose operations are the WoT operation types of TD 1.1 §5.3.4.2, with request ids so
 * one socket carries many Things. Modelled on the W3C Web Thing Protocol draft, simplified.
 * Pure: parsing and message shapes only.
 *
 * Throws FLOWCHAIN_ERR_REQUEST_MALFORMED and FLOWCHAIN_ERR_OPERATION_UNKNOWN.
 */
import type { ActionStatus } from '../../../thing/action-store.js';
import type { JournalReceipt } from '../../../thing/change-journal.js';
import { FlowchainError, type ErrorBody } from '../../../errors.js';

/** Operations a client may request, by what they carry. */
const OPERATIONS = {
  readproperty: 'name',
  writeproperty: 'name',
  observeproperty: 'name',
  unobserveproperty: 'name',
  invokeaction: 'name',
  queryaction: 'name',
  cancelaction: 'name',
  subscribeevent: 'name',
  unsubscribeevent: 'name',
  readallproperties: 'thing',
  readmultipleproperties: 'thing',
  writemultipleproperties: 'thing',
} as const;

export type Operation = keyof typeof OPERATIONS;

/** A client request. `thingID` is the TD `id` (or the Thing's URL slug). */
export interface WsRequest {
  readonly id: string | number;
  readonly op: Operation;
  readonly thingID: string;
  readonly name?: string;
  /** writeproperty */
  readonly value?: unknown;
  /** invokeaction */
  readonly input?: unknown;
  /** queryaction, cancelaction: the invocation's id (from the ActionStatus invokeaction answered). */
  readonly actionID?: string;
  /** readmultipleproperties */
  readonly names?: readonly string[];
  /** writemultipleproperties */
  readonly values?: Readonly<Record<string, unknown>>;
  /**
   * observeproperty, subscribeevent: the id of the last notification the client saw, to have
   * what it missed since then replayed first. Anything that is not an id the node issued is
   * ignored (the observation starts live), as SSE ignores such a Last-Event-ID.
   */
  readonly since?: unknown;
}

/**
 * The reply to one request; `value` is the value read, the action output, or absent. A write's
 * reply lists the transactions it became (`transactions`, as in the HTTP Link header).
 */
export interface WsResult {
  readonly type: 'result';
  readonly id: string | number;
  readonly value?: unknown;
  readonly transactions?: readonly JournalReceipt[];
  /**
   * observeproperty, subscribeevent: the id of the node's newest notification when following
   * began, a `since` to resume from if the socket drops before a notification arrives.
   */
  readonly position?: string;
}

/** A property of an observed Thing changed. */
export interface WsPropertyChange {
  readonly type: 'propertyChange';
  readonly thingID: string;
  readonly name: string;
  readonly value: unknown;
  /** RFC 3339 */
  readonly timestamp: string;
  /** The notification's id, the same its SSE streams carry: a `since` to resume after it. */
  readonly notificationId: string;
}

/** A subscribed event happened. */
export interface WsEvent {
  readonly type: 'event';
  readonly thingID: string;
  readonly name: string;
  readonly data: unknown;
  readonly timestamp: string;
  /** As for {@link WsPropertyChange}. */
  readonly notificationId: string;
}

/**
 * An invocation of an asynchronous action that this socket started has a new status (it is
 * sent until the invocation finishes).
 */
export interface WsActionStatus {
  readonly type: 'actionStatus';
  readonly thingID: string;
  readonly name: string;
  readonly status: ActionStatus;
}

/** A request failed (`id` null when the message could not be read at all). */
export interface WsError {
  readonly type: 'error';
  readonly id: string | number | null;
  readonly error: ErrorBody;
}

export type WsServerMessage = WsResult | WsPropertyChange | WsEvent | WsActionStatus | WsError;

const malformed = (detail: string, field: string): FlowchainError => new FlowchainError('FLOWCHAIN_ERR_REQUEST_MALFORMED', detail, { field });

/** The request id of a message that may be malformed, so even its error can be correlated. */
export function requestIdOf(message: unknown): string | number | null {
  const id = (message as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** Parses one text frame into a request, checking the envelope (not the data schemas). */
export function parseRequest(text: string): WsRequest {
  return toRequest(decodeFrame(text));
}

/** The JSON value of a text frame. */
export function decodeFrame(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw malformed('message is not valid JSON', '/');
  }
}

/** Checks that a decoded message is a well-formed request. */
export function toRequest(message: unknown): WsRequest {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) throw malformed('message must be a JSON object', '/');
  const m = message as Record<string, unknown>;
  if (requestIdOf(m) === null) throw malformed('id must be a string or a number', '/id');
  if (typeof m.op !== 'string') throw malformed('op must be a string', '/op');
  if (!Object.hasOwn(OPERATIONS, m.op)) {
    throw new FlowchainError('FLOWCHAIN_ERR_OPERATION_UNKNOWN', `unknown op ${m.op}`, { field: '/op' });
  }
  if (typeof m.thingID !== 'string') throw malformed('thingID must be a string', '/thingID');
  const op = m.op as Operation;
  if (OPERATIONS[op] === 'name' && typeof m.name !== 'string') throw malformed(`${op} needs the affordance name`, '/name');
  if ((op === 'queryaction' || op === 'cancelaction') && typeof m.actionID !== 'string') throw malformed(`${op} needs the invocation's actionID`, '/actionID');
  if (op === 'readmultipleproperties' && !(Array.isArray(m.names) && m.names.every((n) => typeof n === 'string'))) {
    throw malformed('names must be an array of property names', '/names');
  }
  if (op === 'writemultipleproperties' && (typeof m.values !== 'object' || m.values === null || Array.isArray(m.values))) {
    throw malformed('values must be an object of property values', '/values');
  }
  return m as unknown as WsRequest;
}

/** True for operations that change state and so need credentials when auth is on. */
export function isProtected(op: Operation): boolean {
  return op === 'writeproperty' || op === 'writemultipleproperties' || op === 'invokeaction' || op === 'cancelaction';
}

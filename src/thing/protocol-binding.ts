/**
 * The seam between the Thing runtime and the protocols it is reached over (W3C WoT
 * Architecture §6.7, "Protocol Bindings"; node-wot's ProtocolServer / ProtocolClient split is
 * the shape). A binding is one folder under src/bindings/ holding both sides:
 *
 * - a {@link ServerBinding} adds its forms to every exposed Thing's TD and serves them: it
 *   starts and stops like any long-lived part of the node, and is handed what it serves (the
 *   node's Things, the rule for credentials, a logger) as a {@link BindingHost};
 * - a {@link ClientBinding} says which forms it can follow ({@link ClientBinding.accepts}) and
 *   carries the operations a ConsumedThing sends over them.
 *
 * The servient composes the bindings (src/servient.ts); a user passes more as the `bindings`
 * component. Nothing here names a protocol.
 *
 * Throws nothing itself; {@link actionStatus} and {@link answered} throw
 * FLOWCHAIN_ERR_REMOTE_FAILED and FLOWCHAIN_ERR_REMOTE_UNREACHABLE for the bindings that use them.
 */
import { FlowchainError, isFlowchainError } from '../errors.js';
import type { FormSource } from '../td/td-builder.js';
import type { Form, ThingDescription } from '../td/thing-description.js';
import type { JournalReceipt } from './change-journal.js';
import type { ExposedThing, Unsubscribe } from './exposed-thing.js';

export type { BindingForms, DescribedThing, FormExposure, FormSource } from '../td/td-builder.js';

/** The name of a client binding, as ConsumeOptions' `bindings` preference names it. Flowchain's own: http, sse, longpoll, ws. */
export type BindingName = 'http' | 'sse' | 'longpoll' | 'ws' | (string & {});

// ---------------------------------------------------------------- server side

/** The node's Things as a server binding serves them. */
export interface BindingThings {
  /** Every exposed Thing, in the order they were exposed. */
  list(): ExposedThing[];
  /** The exposed Thing with this slug (or id); FLOWCHAIN_ERR_THING_NOT_FOUND otherwise. */
  get(ref: string): ExposedThing;
  /** Calls `listener` when a Thing is exposed or withdrawn; returns the unsubscribe. */
  onChange(listener: (thing: ExposedThing, change: 'added' | 'removed') => void): Unsubscribe;
}

/** A credential a request presented, as a binding reads it off its protocol. */
export interface PresentedCredentials {
  /** An Authorization value (RFC 9110 §11.6.2): `Bearer …` or `Basic …`. */
  readonly authorization?: string | undefined;
  /** A bearer token sent outside the header (RFC 6750 §2.3), where the protocol cannot set one. */
  readonly token?: string | undefined;
}

/**
 * The node's rule for credentials: operations that change state (writes, invocations,
 * cancellations: td-builder's PROTECTED_OPS) need them when the node requires any; reads and
 * streams are open.
 */
export interface CredentialRule {
  /** Whether protected operations need credentials on this node. */
  readonly required: boolean;
  /** The security scheme protected forms name (TD `security`), undefined on an open node. */
  readonly scheme: string | undefined;
  /** `valid`, `invalid` or `none` for what a request presented. */
  check(presented: PresentedCredentials): 'valid' | 'invalid' | 'none';
}

/** A pino-compatible logger, as much of it as a binding needs. */
export interface BindingLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** What the node hands a server binding when it starts it. */
export interface BindingHost {
  readonly things: BindingThings;
  readonly credentials: CredentialRule;
  readonly log: BindingLog;
}

/**
 * The server side of a protocol binding. Its forms (from {@link FormSource.formsFor}) are
 * asked for every time a TD is built: TDs are built per request, with the requester's base,
 * so `formsFor` is pure and cheap. `start` opens what the binding listens on (it serves the
 * host's Things from then on, following them as they come and go); `stop` closes it, ending
 * its streams.
 */
export interface ServerBinding extends FormSource {
  /** A short name, unique among the node's bindings (`http`, `mqtt`, `coap`). */
  readonly name: string;
  start(host: BindingHost): Promise<void>;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------- client side

/** A form chosen for an operation, with everything needed to follow it. */
export interface ResolvedForm {
  readonly form: Form;
  /** Its position in the affordance's (or the Thing's) `forms`. */
  readonly index: number;
  /** The name of the client binding that accepted it. */
  readonly binding: BindingName;
  /** Its `href` with the URI variables filled in, resolved against `base`. */
  readonly url: URL;
  /** `htv:methodName`, or TD 1.1 §8.3.1's default for the operation (HTTP-shaped bindings read it; others ignore it). */
  readonly method: string;
  readonly contentType: string;
  /** Whether the input travels in the message (else it went into the URI variables). */
  readonly sendsBody: boolean;
}

/** What became of a write's data transactions, when the Thing is a Flowchain one. */
export interface WriteResult {
  /** `stored` (every owner has them), `queued` (the sender still holds some); undefined for a Thing that is not Flowchain's. */
  readonly status: string | undefined;
  readonly transactions: readonly { readonly property: string; readonly receipt: string; readonly txId?: string }[];
}

/** An invocation's status as the remote Thing tells it (WoT Profile, ActionStatus). */
export interface RemoteActionStatus {
  readonly id: string;
  readonly status: 'pending' | 'running' | 'completed' | 'failed';
  readonly output?: unknown;
  readonly error?: { readonly code?: string; readonly detail?: string };
  readonly href?: string;
  readonly [other: string]: unknown;
}

/** An asynchronous action a binding started: its first status and how to query and cancel it. */
export interface StartedAction {
  readonly status: RemoteActionStatus;
  query(): Promise<RemoteActionStatus>;
  cancel(): Promise<void>;
}

/** A stream of values a binding follows; resolved once the Thing took it. */
export interface BindingSubscription {
  stop(): void;
}

/** Something a binding keeps open for one consumed Thing (a socket), closed with it. */
export interface Closable {
  close(): void;
}

/** What a client binding is handed for each operation of one consumed Thing. */
export interface ClientContext {
  readonly td: ThingDescription;
  /** How long one exchange may take, in milliseconds. */
  readonly timeoutMs: number;
  /** The credentials `form`'s security asks for, as an Authorization header value (none: empty). */
  headers(form: ResolvedForm): Record<string, string>;
  /** The resource under `key` for this consumed Thing, opened by `open` on first use, closed when the Thing is closed. */
  keep<T extends Closable>(key: string, open: () => T): T;
}

/**
 * The client side of a protocol binding. A ConsumedThing asks every client binding whether it
 * `accepts` a form (by its href scheme, subprotocol and content type), and follows the form
 * with the first that does, in the order of the consumer's preference. An operation a binding
 * leaves out is one it does not carry: forms it accepts are then not used for it.
 *
 * Every method rejects with FLOWCHAIN_ERR_REMOTE_UNREACHABLE when nothing was sent (the
 * consumer may try the next form), FLOWCHAIN_ERR_OUTCOME_UNKNOWN when the request went out
 * unanswered, and the remote node's own codes.
 */
export interface ClientBinding {
  readonly name: BindingName;
  /** Whether this binding follows `form`, whose `href` resolves to `url` (its URI variables not yet filled in). */
  accepts(form: Form, url: URL): boolean;
  /** Whether the input travels in the message for a form of this method (else in URI variables). */
  sendsBody(method: string): boolean;
  readProperty?(ctx: ClientContext, form: ResolvedForm, name: string): Promise<unknown>;
  writeProperty?(ctx: ClientContext, form: ResolvedForm, name: string, value: unknown): Promise<WriteResult>;
  readMultipleProperties?(ctx: ClientContext, form: ResolvedForm, names: readonly string[]): Promise<Record<string, unknown>>;
  writeMultipleProperties?(ctx: ClientContext, form: ResolvedForm, values: Readonly<Record<string, unknown>>): Promise<WriteResult>;
  /** invokeaction of a synchronous action: its output (undefined without one). */
  invokeAction?(ctx: ClientContext, form: ResolvedForm, name: string, input: unknown): Promise<unknown>;
  /** invokeaction of an asynchronous one, answered with its invocation to query and cancel. */
  startAction?(ctx: ClientContext, form: ResolvedForm, name: string, input: unknown): Promise<StartedAction>;
  /** observeproperty: resolves once the Thing took it, each value to `onValue`, later failures to `onError`. */
  observeProperty?(ctx: ClientContext, form: ResolvedForm, name: string, onValue: (value: unknown) => void, onError: (err: unknown) => void): Promise<BindingSubscription>;
  /** subscribeevent, as observeProperty. */
  subscribeEvent?(ctx: ClientContext, form: ResolvedForm, name: string, onValue: (value: unknown) => void, onError: (err: unknown) => void): Promise<BindingSubscription>;
}

/** The operations of ClientBinding a consumer may call, by the TD operation name they carry. */
export type ClientOperation = 'readProperty' | 'writeProperty' | 'readMultipleProperties' | 'writeMultipleProperties' | 'invokeAction' | 'startAction' | 'observeProperty' | 'subscribeEvent';

/** An answer that must be an ActionStatus (FLOWCHAIN_ERR_REMOTE_FAILED otherwise). */
export function actionStatus(body: unknown, url: URL): RemoteActionStatus {
  const status = body as Partial<RemoteActionStatus> | undefined;
  if (typeof status?.id !== 'string' || !['pending', 'running', 'completed', 'failed'].includes(status.status as string)) {
    throw new FlowchainError('FLOWCHAIN_ERR_REMOTE_FAILED', `${url.href}: the answer is not an action status`, { field: 'status' });
  }
  return status as RemoteActionStatus;
}

/** A query that went unanswered only failed to reach the Thing: it changes nothing, so there is no outcome to be unsure of. */
export async function answered<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (err) {
    if (!isFlowchainError(err, 'FLOWCHAIN_ERR_OUTCOME_UNKNOWN')) throw err;
    throw new FlowchainError('FLOWCHAIN_ERR_REMOTE_UNREACHABLE', err.message, { field: 'url', cause: err });
  }
}

/**
 * How a binding without headers of its own (MQTT, CoAP) answers a write, as JSON: `status`, the
 * worst of its transactions' (`refused`, `queued`, `stored`), and per transaction its property,
 * H_DATA `key`, status, `txId` once stored, and its receipt URL on the node's HTTP side (by id,
 * or by H_DATA while queued) when `receiptUrl` knows one.
 */
export function writeAnswer(receipts: readonly JournalReceipt[], receiptUrl: (ref: string) => string | undefined): Record<string, unknown> {
  const worst = (['refused', 'queued', 'stored'] as const).find((status) => receipts.some((r) => r.status === status));
  const transactions = receipts.map((r) => {
    const receipt = receiptUrl(r.txId ?? r.key);
    return { property: r.property, key: r.key, status: r.status, ...(r.txId === undefined ? {} : { txId: r.txId }), ...(receipt === undefined ? {} : { receipt }) };
  });
  return { ...(worst === undefined ? {} : { status: worst }), transactions };
}

/**
 * What a {@link writeAnswer} says, read by a client binding: entries without a property, or
 * without a receipt URL or H_DATA key to name it by, are left out.
 */
export function writeResultOf(body: unknown): WriteResult {
  const answer = (typeof body === 'object' && body !== null ? body : {}) as { status?: unknown; transactions?: unknown };
  const list = Array.isArray(answer.transactions) ? (answer.transactions as { property?: unknown; receipt?: unknown; txId?: unknown; key?: unknown }[]) : [];
  return {
    status: typeof answer.status === 'string' ? answer.status : undefined,
    transactions: list.flatMap((t) => {
      if (typeof t !== 'object' || t === null) return [];
      const receipt = typeof t.receipt === 'string' ? t.receipt : typeof t.key === 'string' ? t.key : undefined;
      if (typeof t.property !== 'string' || receipt === undefined) return [];
      return [{ property: t.property, receipt, ...(typeof t.txId === 'string' ? { txId: t.txId } : {}) }];
    }),
  };
}

/**
 * What the MQTT binding answers a request with, on the request's MQTT 5 Response Topic with
 * its Correlation Data (MQTT 5.0 §4.10): the payload and its MQTT 5 Content Type. A failure
 * is the error's catalogue body (the fields of an RFC 9457 problem with its `code`,
 * `application/problem+json`); a write, what became of its transactions, as the HTTP binding
 * tells it in headers; an invocation, the action's output. Both sides of the binding use this
 * module, so what one writes the other reads. Pure.
 */
import { describeError, errorFromBody } from '../../errors.js';
import type { JournalReceipt } from '../../thing/change-journal.js';
import type { WriteResult } from '../../thing/protocol-binding.js';

/** An answer's payload and content type. */
export interface MqttAnswer {
  readonly payload: string;
  readonly contentType: 'application/json' | 'application/problem+json';
}

/** A failure, as its catalogue code and body. */
export function problemAnswer(err: unknown): MqttAnswer {
  return { payload: JSON.stringify(describeError(err)), contentType: 'application/problem+json' };
}

/**
 * A write's answer: `status` the worst of its transactions' (`refused`, `queued`, `stored`),
 * and per transaction its property, H_DATA `key`, `txId` once stored, and its receipt URL on
 * the node's HTTP side (by id, or by H_DATA while queued) when `receiptUrl` knows one.
 */
export function writeAnswer(receipts: readonly JournalReceipt[], receiptUrl: (ref: string) => string | undefined): MqttAnswer {
  const worst = (['refused', 'queued', 'stored'] as const).find((status) => receipts.some((r) => r.status === status));
  const transactions = receipts.map((r) => {
    const receipt = receiptUrl(r.txId ?? r.key);
    return { property: r.property, key: r.key, status: r.status, ...(r.txId === undefined ? {} : { txId: r.txId }), ...(receipt === undefined ? {} : { receipt }) };
  });
  return { payload: JSON.stringify({ ...(worst === undefined ? {} : { status: worst }), transactions }), contentType: 'application/json' };
}

/** An invocation's answer: its output (an empty payload for none). */
export function outputAnswer(output: unknown): MqttAnswer {
  return { payload: output === undefined ? '' : JSON.stringify(output), contentType: 'application/json' };
}

/**
 * Reads an answer: the value it carries, or throws the remote node's error (its code) for a
 * problem. Without an MQTT 5 Content Type, a body with a catalogue `code` and a numeric
 * `status` is taken for a problem. `origin` names the request in errors.
 */
export function readAnswer(payload: Buffer, contentType: string | undefined, origin: string): unknown {
  const text = payload.toString('utf8');
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  const looksLikeProblem = typeof (body as { code?: unknown } | undefined)?.code === 'string' && typeof (body as { status?: unknown }).status === 'number';
  if (contentType === 'application/problem+json' || (contentType === undefined && looksLikeProblem)) throw errorFromBody(body, origin);
  return body;
}

/** What a write's answer says of its transactions. */
export function writeResultOf(body: unknown): WriteResult {
  const answer = (body ?? {}) as { status?: unknown; transactions?: unknown };
  const list = Array.isArray(answer.transactions) ? (answer.transactions as { property?: unknown; receipt?: unknown; txId?: unknown; key?: unknown }[]) : [];
  return {
    status: typeof answer.status === 'string' ? answer.status : undefined,
    transactions: list.map((t) => ({ property: String(t.property), receipt: typeof t.receipt === 'string' ? t.receipt : String(t.key ?? ''), ...(typeof t.txId === 'string' ? { txId: t.txId } : {}) })),
  };
}

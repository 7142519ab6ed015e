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
import { writeAnswer } from '../../thing/protocol-binding.js';

/** An answer's payload and content type. */
export interface MqttAnswer {
  readonly payload: string;
  readonly contentType: 'application/json' | 'application/problem+json';
}

/** A failure, as its catalogue code and body. */
export function problemAnswer(err: unknown): MqttAnswer {
  return { payload: JSON.stringify(describeError(err)), contentType: 'application/problem+json' };
}

/** A write's answer: what became of its transactions ({@link writeAnswer}), as JSON. */
export function writeAnswerOf(receipts: readonly JournalReceipt[], receiptUrl: (ref: string) => string | undefined): MqttAnswer {
  return { payload: JSON.stringify(writeAnswer(receipts, receiptUrl)), contentType: 'application/json' };
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

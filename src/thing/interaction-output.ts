/**
 * The value that crosses a handler or comes back from a consumed Thing, shaped as the W3C WoT
 * Scripting API's InteractionOutput (§7.2): the schema it was checked against, the form it
 * came through, and the value itself. Flowchain's interactions carry JSON, so `value()` is the
 * parsed value and `arrayBuffer()` its UTF-8 JSON text. Pure.
 */
import type { DataSchema, Form } from '../td/thing-description.js';

/** A JSON value, as Flowchain's interactions carry it. */
export type InteractionInput = unknown;

/** One value of an interaction (Scripting API §7.2, for JSON content). */
export interface InteractionOutput {
  /** Whether `value()` or `arrayBuffer()` has been called. */
  readonly dataUsed: boolean;
  readonly form?: Form;
  readonly schema?: DataSchema;
  /** The value, checked against `schema` where there is one. */
  value(): Promise<unknown>;
  /** The value as UTF-8 JSON bytes. */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** An InteractionOutput holding `value` (already checked by whoever made it). */
export function interactionOutput(value: unknown, schema?: DataSchema, form?: Form): InteractionOutput {
  return new JsonOutput(value, schema, form);
}

/** One is made for every value that crosses a handler, so it is a plain class. */
class JsonOutput implements InteractionOutput {
  #used = false;
  readonly #value: unknown;
  readonly form?: Form;
  readonly schema?: DataSchema;

  constructor(value: unknown, schema: DataSchema | undefined, form: Form | undefined) {
    this.#value = value;
    this.form = form;
    this.schema = schema;
  }

  get dataUsed(): boolean {
    return this.#used;
  }

  async value(): Promise<unknown> {
    this.#used = true;
    return this.#value;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    this.#used = true;
    const bytes = new TextEncoder().encode(JSON.stringify(this.#value ?? null));
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
}

/**
 * The value that crosses a handler or comes back from a consumed Thing, shaped as the W3C WoT
 * Scripting API's InteractionOutput (§7.2): the schema it was checked against, the form it
 * came through, and the value itself. Flowchain's interactions carry JSON, so `value()` is the
 * parsed value, `arrayBuffer()` its UTF-8 JSON text and `data` a stream of those bytes. Pure.
 *
 * `value()` and `arrayBuffer()` reject with FLOWCHAIN_ERR_OUTPUT_NOT_READABLE once `data` has
 * been read (or is locked to a reader): the Scripting API's NotReadableError.
 */
import { FlowchainError } from '../errors.js';
import type { DataSchema, Form } from '../td/thing-description.js';

/** A JSON value, as Flowchain's interactions carry it. */
export type InteractionInput = unknown;

/** One value of an interaction (Scripting API §7.2, for JSON content). */
export interface InteractionOutput {
  /**
   * The payload's bytes (UTF-8 JSON) as a web stream, made on first use. Once it is read (or a
   * reader holds it), `value()` and `arrayBuffer()` fail with FLOWCHAIN_ERR_OUTPUT_NOT_READABLE.
   */
  readonly data: ReadableStream<Uint8Array>;
  /** Whether the payload has been read: by `value()`, `arrayBuffer()` or through `data`. */
  readonly dataUsed: boolean;
  readonly form?: Form;
  readonly schema?: DataSchema;
  /** The value, checked against `schema` where there is one. Rejects with FLOWCHAIN_ERR_OUTPUT_NOT_READABLE after `data` was read. */
  value(): Promise<unknown>;
  /** The value as UTF-8 JSON bytes. Rejects with FLOWCHAIN_ERR_OUTPUT_NOT_READABLE after `data` was read. */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** An InteractionOutput holding `value` (already checked by whoever made it). */
export function interactionOutput(value: unknown, schema?: DataSchema, form?: Form): InteractionOutput {
  return new JsonOutput(value, schema, form);
}

/** One is made for every value that crosses a handler, so it is a plain class; its stream is made only when asked for. */
class JsonOutput implements InteractionOutput {
  #used = false;
  #stream: ReadableStream<Uint8Array> | undefined;
  #streamRead = false;
  readonly #value: unknown;
  readonly form?: Form;
  readonly schema?: DataSchema;

  constructor(value: unknown, schema: DataSchema | undefined, form: Form | undefined) {
    this.#value = value;
    this.form = form;
    this.schema = schema;
  }

  get data(): ReadableStream<Uint8Array> {
    this.#stream ??= new ReadableStream<Uint8Array>(
      {
        // Called on the first read only (high-water mark 0): the stream is then disturbed.
        pull: (controller) => {
          this.#used = true;
          this.#streamRead = true;
          controller.enqueue(this.#bytes());
          controller.close();
        },
      },
      { highWaterMark: 0 },
    );
    return this.#stream;
  }

  get dataUsed(): boolean {
    return this.#used;
  }

  async value(): Promise<unknown> {
    this.#readable('value()');
    this.#used = true;
    return this.#value;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    this.#readable('arrayBuffer()');
    this.#used = true;
    const bytes = this.#bytes();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  /** Scripting API §7.2 value(): a stream that was read or is locked cannot be read again. */
  #readable(what: string): void {
    if (this.#streamRead || this.#stream?.locked === true) {
      throw new FlowchainError('FLOWCHAIN_ERR_OUTPUT_NOT_READABLE', `${what}: the payload was already read through data (or a reader holds it)`, { field: 'data' });
    }
  }

  #bytes(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.#value ?? null));
  }
}

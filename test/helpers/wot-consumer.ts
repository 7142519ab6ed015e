/**
 * A deliberately generic WoT consumer for conformance tests. It knows the TD 1.1 specification
 * and the WoT Profile, and nothing about Flowchain: it picks forms by `op` (with the TD 1.1
 * §5.3.4.2 defaults), resolves `href` against `base`, takes the method from `htv:methodName` or
 * the HTTP binding defaults (TD 1.1 §8.3.1; GET for the observe and subscribe operations, as
 * the HTTP SSE Profile says), sends `contentType` (default application/json), asks for
 * text/event-stream on `sse` forms (HTTP SSE Profile), and presents credentials only where the
 * form's (or Thing's) security asks for them: Basic (RFC 7617) or a bearer token, and for a
 * combo with oneOf (TD 1.1 §5.3.3.2) the first of its schemes it holds credentials for.
 */
import type { DataSchema, Form, InteractionAffordance, ThingDescription } from '../../src/td/thing-description.js';

/** TD 1.1 §5.3.4.2: default `op` of forms by affordance kind. */
const DEFAULT_OPS = {
  property: (a: InteractionAffordance & { readOnly?: boolean; writeOnly?: boolean }) =>
    a.readOnly ? ['readproperty'] : a.writeOnly ? ['writeproperty'] : ['readproperty', 'writeproperty'],
  action: () => ['invokeaction'],
  event: () => ['subscribeevent', 'unsubscribeevent'],
  thing: () => [] as string[],
};

/** TD 1.1 §8.3.1: default HTTP methods per operation. */
const DEFAULT_METHOD: Record<string, string> = {
  readproperty: 'GET',
  writeproperty: 'PUT',
  invokeaction: 'POST',
  readallproperties: 'GET',
  writeallproperties: 'PUT',
  readmultipleproperties: 'GET',
  writemultipleproperties: 'PUT',
  observeproperty: 'GET',
  subscribeevent: 'GET',
  observeallproperties: 'GET',
  subscribeallevents: 'GET',
  queryaction: 'GET',
  cancelaction: 'DELETE',
  queryallactions: 'GET',
};

/** What a consumer was given to present, and how it reaches the network. */
export interface ConsumerOptions {
  readonly bearer?: string;
  readonly basic?: { readonly user: string; readonly password: string };
  /** The fetch to use (one that trusts a node's certificate, say); the global one by default. */
  readonly fetch?: typeof fetch;
}

type Kind = keyof typeof DEFAULT_OPS;

export class GenericConsumer {
  readonly #options: ConsumerOptions;

  constructor(
    readonly td: ThingDescription,
    options: ConsumerOptions = {},
  ) {
    this.#options = options;
  }

  /** The first HTTP form offering `op` with the given sub-protocol (none by default). */
  form(kind: Kind, affordance: InteractionAffordance | undefined, op: string, subprotocol?: string): Form {
    const forms = kind === 'thing' ? (this.td.forms ?? []) : (affordance?.forms ?? []);
    const found = forms.find((form) => {
      const ops = form.op === undefined ? DEFAULT_OPS[kind](affordance as never) : [form.op].flat();
      const url = new URL(form.href, this.td.base);
      return ops.includes(op) && form.subprotocol === subprotocol && (url.protocol === 'http:' || url.protocol === 'https:');
    });
    if (!found) throw new Error(`no HTTP form for ${op} (subprotocol ${subprotocol ?? 'none'})`);
    return found;
  }

  /** The URL a form names. */
  url(form: Form): URL {
    return new URL(form.href, this.td.base);
  }

  /**
   * Performs one request as the form describes; returns the Response. `headers` adds fields
   * (a Last-Event-ID); `method` overrides the operation's (a HEAD to probe the form); `url`
   * the form's target (the status URL an asynchronous action answered, WoT Profile).
   */
  async request(form: Form, op: string, body?: unknown, signal?: AbortSignal, extra: { readonly headers?: Record<string, string>; readonly method?: string; readonly url?: URL } = {}): Promise<Response> {
    const method = extra.method ?? (form['htv:methodName'] as string | undefined) ?? DEFAULT_METHOD[op];
    const headers: Record<string, string> = { accept: form.subprotocol === 'sse' ? 'text/event-stream' : (form.contentType ?? 'application/json'), ...this.#credentials(form, op), ...extra.headers };
    if (body !== undefined) headers['content-type'] = form.contentType ?? 'application/json';
    return (this.#options.fetch ?? fetch)(extra.url ?? this.url(form), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  }

  /** The Authorization the form's security asks for (TD 1.1 §5.3.3), from what the consumer holds. */
  #credentials(form: Form, op: string): Record<string, string> {
    const names = [form.security ?? this.td.security ?? []].flat() as string[];
    for (const name of names) {
      const header = this.#authorization(name);
      if (header === null) throw new Error(`${op} needs credentials for ${name}, which this consumer does not hold`);
      if (header !== undefined) return { authorization: header };
    }
    return {};
  }

  /** The header value for scheme `name`: undefined for nosec, null when the consumer holds nothing for it. */
  #authorization(name: string): string | undefined | null {
    const scheme = this.td.securityDefinitions?.[name] as { scheme?: string; oneOf?: string[]; in?: string } | undefined;
    switch (scheme?.scheme) {
      case 'nosec':
        return undefined;
      case 'basic': {
        const basic = this.#options.basic;
        return basic === undefined ? null : `Basic ${Buffer.from(`${basic.user}:${basic.password}`, 'utf8').toString('base64')}`;
      }
      case 'bearer':
        return this.#options.bearer === undefined ? null : `Bearer ${this.#options.bearer}`;
      case 'combo':
        for (const member of scheme.oneOf ?? []) {
          const header = this.#authorization(member);
          if (header !== null) return header;
        }
        return null;
      default:
        return null;
    }
  }
}

/** A value that conforms to `schema` (and differs from `avoid` where the schema allows). */
export function sampleValue(schema: DataSchema, avoid?: unknown): unknown {
  if (schema.enum) return schema.enum.find((v) => v !== avoid) ?? schema.enum[0];
  switch (schema.type) {
    case 'boolean':
      return avoid === true ? false : true;
    case 'integer':
    case 'number': {
      const low = schema.minimum ?? 0;
      const high = schema.maximum ?? low + 10;
      const step = schema.multipleOf ?? (schema.type === 'integer' ? 1 : 0.5);
      const candidate = Math.ceil((low + (high - low) / 3) / step) * step;
      return candidate === avoid ? candidate + step : candidate;
    }
    case 'string':
      return 'sample';
    case 'object':
      return Object.fromEntries((schema.required ?? []).map((name) => [name, sampleValue(schema.properties?.[name] ?? {})]));
    case 'array':
      return [];
    default:
      return null;
  }
}

/** Reads Server-Sent Events from a response body (WHATWG HTML §9.2.6, the parts we need). */
export async function* readSse(response: Response): AsyncGenerator<{ event: string; data: string; id?: string }> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        else if (line.startsWith('id:')) id = line.slice(3).trim();
      }
      if (data.length > 0) yield { event, data: data.join('\n'), ...(id === undefined ? {} : { id }) };
    }
  }
}

/**
 * Repeats `step` (advance a clock, write a value) and yields to the event loop until `pending`
 * settles: the way to meet a request that the server registers at some unknown later tick.
 * Bounded by `maxSteps`.
 */
export async function stepUntilSettled<T>(pending: Promise<T>, step: () => unknown, maxSteps = 1_000): Promise<T> {
  let settled = false;
  void pending.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < maxSteps && !settled; i++) {
    await step();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return pending;
}

/**
 * A deliberately generic WoT consumer for conformance tests. It knows the TD 1.1 specification
 * and nothing about Flowchain: it picks forms by `op` (with the TD 1.1 §5.3.4.2 defaults),
 * resolves `href` against `base`, takes the method from `htv:methodName` or the HTTP binding
 * defaults (TD 1.1 §8.3.1), sends `contentType` (default application/json), and presents a
 * bearer token only where the form's (or Thing's) security asks for one.
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
};

type Kind = keyof typeof DEFAULT_OPS;

export class GenericConsumer {
  constructor(
    readonly td: ThingDescription,
    private readonly token?: string,
  ) {}

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

  /** Performs one request as the form describes; returns the Response. */
  async request(form: Form, op: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const method = (form['htv:methodName'] as string | undefined) ?? DEFAULT_METHOD[op];
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = form.contentType ?? 'application/json';
    if (this.#needsBearer(form)) {
      if (this.token === undefined) throw new Error(`${op} needs a bearer token`);
      headers.authorization = `Bearer ${this.token}`;
    }
    return fetch(new URL(form.href, this.td.base), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  }

  #needsBearer(form: Form): boolean {
    const names = [form.security ?? this.td.security ?? []].flat() as string[];
    return names.some((name) => this.td.securityDefinitions?.[name]?.scheme === 'bearer');
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
export async function* readSse(response: Response): AsyncGenerator<{ event: string; data: string }> {
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
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length > 0) yield { event, data: data.join('\n') };
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

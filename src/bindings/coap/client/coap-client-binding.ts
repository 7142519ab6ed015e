/**
 * The CoAP binding's client side: the `coap` client binding follows `coap:` forms (RFC 7252,
 * with the `coap` library): reads (GET), writes (PUT), synchronous invocations (POST),
 * observations and subscriptions (GET with Observe, RFC 7641; `stop` deregisters with
 * Observe: 1). The method is the form's `cov:method`, else TD 1.1's default for the operation.
 * Large answers (a TD) arrive block-wise (RFC 7959), reassembled by the library. Each consumed
 * Thing has its own UDP endpoint (an Agent), closed with it.
 *
 * A write to a Flowchain node answers a JSON payload naming its transactions
 * (coap-server-binding.ts), read into a WriteResult.
 *
 * Rejects with the remote node's code (the diagnostic payload of a 4.xx or 5.xx answer starts
 * with it), FLOWCHAIN_ERR_REMOTE_FAILED for another failure answer or an answer that is not
 * JSON, FLOWCHAIN_ERR_OUTCOME_UNKNOWN when no answer came in time (reads: _REMOTE_UNREACHABLE).
 */
import { createSocket } from 'node:dgram';
import { Agent, request, type IncomingMessage, type ObserveReadStream, type OutgoingMessage } from 'coap';
import { FlowchainError } from '../../../errors.js';
import { answered, writeResultOf, type BindingSubscription, type ClientBinding, type ClientContext, type ResolvedForm } from '../../../thing/protocol-binding.js';
import { codeOfDiagnostic } from '../coap-codes.js';
import { pathSegments } from '../route-table.js';

interface Answer {
  readonly code: string;
  readonly payload: Buffer;
  readonly response: IncomingMessage;
}

/**
 * The UDP endpoint of one consumed Thing (per address family), closed with it. The socket is
 * ours, not the Agent's: an Agent closes a socket of its own whenever it is idle, which races
 * with the deregistration it sends as an observation ends.
 */
function agentOf(ctx: ClientContext, url: URL): Agent {
  const type = url.hostname.startsWith('[') ? 'udp6' : 'udp4';
  return ctx.keep(`coap ${type}`, () => {
    const socket = createSocket({ type });
    const agent = new Agent({ type, socket });
    // A send failure is an exchange's (its request rejects); the socket itself must not throw.
    agent.on('error', () => undefined);
    // Requests still in flight (a deregistration, say) stop retransmitting before the socket closes.
    return { agent, close: () => void (agent.close(), socket.close()) };
  }).agent;
}

/** One request over `form`; resolves with the first answer (the registration's, when observing). */
function exchange(ctx: ClientContext, form: ResolvedForm, options: { readonly payload?: unknown; readonly observe?: boolean } = {}): Promise<Answer> {
  const url = form.url;
  const method = methodOf(form);
  const agent = agentOf(ctx, url);
  return new Promise<Answer>((resolve, reject) => {
    let req: OutgoingMessage;
    try {
      req = request({
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port === '' ? 5683 : Number(url.port),
        method,
        agent,
        confirmable: true,
        ...(options.observe === true ? { observe: true } : {}),
        // RFC 7252 §6.4: one Uri-Path option per decoded segment (the library would split a decoded `/`).
        options: { 'Uri-Path': pathSegments(url).map((segment) => Buffer.from(segment)), ...(url.search === '' ? {} : { 'Uri-Query': url.search.slice(1).split('&').map((q) => Buffer.from(decodeURIComponent(q))) }) },
        ...(options.payload === undefined ? {} : { contentFormat: 'application/json' }),
        accept: 'application/json',
      });
    } catch (err) {
      reject(new FlowchainError('FLOWCHAIN_ERR_REMOTE_UNREACHABLE', `${url.href}: the request cannot be made (${(err as Error).message})`, { field: 'url', cause: err }));
      return;
    }
    const timer = setTimeout(() => {
      agent.abort(req);
      reject(new FlowchainError('FLOWCHAIN_ERR_OUTCOME_UNKNOWN', `${url.href}: ${method}: no answer within ${ctx.timeoutMs} ms, and the request may have been received`, { field: 'url' }));
    }, ctx.timeoutMs);
    const unanswered = (err: unknown): void => {
      clearTimeout(timer);
      reject(new FlowchainError('FLOWCHAIN_ERR_OUTCOME_UNKNOWN', `${url.href}: ${method} sent, but no answer came (${(err as Error | undefined)?.message ?? 'timed out'})`, { field: 'url', cause: err }));
    };
    req.on('error', unanswered);
    req.on('timeout', unanswered);
    req.on('response', (response: IncomingMessage) => {
      clearTimeout(timer);
      // An observation's first payload is the first item of its stream.
      const payload = options.observe === true ? Buffer.alloc(0) : response.payload;
      resolve({ code: response.code, payload, response });
    });
    req.end(options.payload === undefined ? undefined : Buffer.from(JSON.stringify(options.payload)));
  });
}

/** The form's CoAP method: `cov:method`, else the operation's default (TD 1.1 §8.3.1, which the consumer resolved). */
function methodOf(form: ResolvedForm): 'GET' | 'PUT' | 'POST' | 'DELETE' {
  const method = (typeof form.form['cov:method'] === 'string' ? form.form['cov:method'] : form.method).toUpperCase();
  if (method !== 'GET' && method !== 'PUT' && method !== 'POST' && method !== 'DELETE') {
    throw new FlowchainError('FLOWCHAIN_ERR_FORM_NOT_FOUND', `${form.url.href}: CoAP has no method ${method}`, { field: 'cov:method' });
  }
  return method;
}

/** A success's JSON payload (none: undefined); a failure as the remote code. */
function body(answer: Answer, url: URL): unknown {
  if (!answer.code.startsWith('2.')) throw failure(answer, url);
  if (answer.payload.length === 0) return undefined;
  return parse(answer.payload, url);
}

function parse(payload: Buffer, url: URL): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new FlowchainError('FLOWCHAIN_ERR_REMOTE_FAILED', `${url.href}: the answer is not JSON`, { field: 'payload', cause: err });
  }
}

function failure(answer: Answer, url: URL): FlowchainError {
  const diagnostic = answer.payload.toString('utf8');
  const code = codeOfDiagnostic(diagnostic);
  if (code !== undefined) return new FlowchainError(code, `${url.href}: ${diagnostic.slice(code.length).replace(/^:\s*/, '') || answer.code}`);
  if (answer.code === '4.01') return new FlowchainError('FLOWCHAIN_ERR_AUTH_REQUIRED', `${url.href}: 4.01`);
  return new FlowchainError('FLOWCHAIN_ERR_REMOTE_FAILED', `${url.href}: answered ${answer.code}${diagnostic === '' ? '' : ` (${diagnostic.slice(0, 200)})`}`);
}

/** Follows an observation: resolves once registered, each payload to `onValue` (an event's empty registration answer is none). */
async function follow(ctx: ClientContext, form: ResolvedForm, onValue: (value: unknown) => void, onError: (err: unknown) => void): Promise<BindingSubscription> {
  const answer = await answered(exchange(ctx, form, { observe: true }));
  const stream = answer.response as ObserveReadStream;
  if (!answer.code.startsWith('2.')) {
    const payload = stream.payload;
    stream.close();
    throw failure({ ...answer, payload }, form.url);
  }
  let stopped = false;
  // The registration's answer is the state when it was made (RFC 7641 §3.2), not a change: the consumer hears of changes only.
  let first = true;
  stream.on('data', (payload: Buffer) => {
    if (first) {
      first = false;
      return;
    }
    if (stopped || payload.length === 0) return;
    try {
      onValue(parse(payload, form.url));
    } catch (err) {
      onError(err);
    }
  });
  stream.on('error', (err: unknown) => {
    if (!stopped) onError(err);
  });
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      // RFC 7641 §3.6: deregister with Observe: 1 and the registration's token.
      stream.close(true);
    },
  };
}

/** `coap:` forms. */
export const coapClient: ClientBinding = {
  name: 'coap',
  accepts: (_form, url) => url.protocol === 'coap:',
  sendsBody: (method) => method.toUpperCase() !== 'GET',
  readProperty: async (ctx, form) => body(await answered(exchange(ctx, form)), form.url),
  writeProperty: async (ctx, form, _name, value) => writeResultOf(body(await exchange(ctx, form, { payload: value ?? null }), form.url)),
  invokeAction: async (ctx, form, _name, input) => body(await exchange(ctx, form, input === undefined ? {} : { payload: input }), form.url),
  observeProperty: (ctx, form, _name, onValue, onError) => follow(ctx, form, onValue, onError),
  subscribeEvent: (ctx, form, _name, onValue, onError) => follow(ctx, form, onValue, onError),
};

/** The CoAP binding's client bindings. */
export const COAP_CLIENT_BINDINGS: readonly ClientBinding[] = [coapClient];

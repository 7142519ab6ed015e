/**
 * The binding seam: a server binding a user passes to the servient adds its forms to every
 * served TD and starts and stops with the node; a client binding is chosen for a form by
 * what it accepts, never by name, and the consumer's preference still ranks bindings.
 */
import t from 'tap';
import { consumeThing } from '../../src/client/consumed-thing.js';
import type { Form, ThingDescription } from '../../src/td/thing-description.js';
import type { BindingHost, ClientBinding, ServerBinding } from '../../src/thing/protocol-binding.js';
import { createServient } from '../helpers/test-servient.js';
import { Servient } from '../../src/servient.js';
import { testConfig } from '../helpers/test-servient.js';

/** A binding of a made-up `fake:` scheme, with a `fake:` term as an MQTT or CoAP binding would have. */
function fakeServer(): ServerBinding & { host?: BindingHost; events: string[] } {
  const events: string[] = [];
  const binding: ServerBinding & { host?: BindingHost; events: string[] } = {
    name: 'fake',
    events,
    formsFor: (thing, exposure) => ({
      properties: Object.fromEntries(Object.keys(thing.td.properties ?? {}).map((name) => [name, [{ href: `fake://broker/${thing.slug}/${name}`, op: ['readproperty'], 'fake:retain': true } as Form]])),
      forms: [{ href: `fake://broker/${thing.slug}`, op: ['readallproperties'], ...(exposure.protectedScheme ? { security: [exposure.protectedScheme] } : {}) }],
      context: { fake: 'https://example.org/fake-binding#' },
    }),
    start: async (host) => {
      binding.host = host;
      events.push('start');
    },
    stop: async () => void events.push('stop'),
  };
  return binding;
}

t.test("a user's server binding: its forms follow HTTP's in every served TD, and it starts and stops with the node, handed the node's Things", async (t) => {
  const fake = fakeServer();
  const config = testConfig(t);
  const servient = await Servient.create(config, { bindings: { server: [fake] }, authToken: 'secret-token' });
  t.teardown(() => servient.stop());
  const td = (await servient.app.inject({ url: '/things/smart-plug', headers: { host: 'node.local' } })).json() as ThingDescription;
  const forms = td.properties!.on!.forms!;
  t.equal(forms.at(-1)!.href, 'fake://broker/smart-plug/on', 'the fake form comes last');
  t.equal(forms.at(-2)!.subprotocol, 'flowchain.v1', "after HTTP's own");
  t.same((td['@context'] as unknown[]).at(-1), { fake: 'https://example.org/fake-binding#' }, 'the prefix of its own terms is declared');
  t.same(td.forms!.at(-1), { href: 'fake://broker/smart-plug', op: ['readallproperties'], security: ['bearer_sc'] }, 'Thing-level, with the scheme protected operations carry');
  await servient.start();
  t.same(fake.events, ['start']);
  t.ok(fake.host!.things.list().some((thing) => thing.slug === 'smart-plug'), "the host hands over the node's Things");
  t.equal(fake.host!.credentials.required, true);
  t.equal(fake.host!.credentials.check({ authorization: 'Bearer secret-token' }), 'valid');
  t.equal(fake.host!.credentials.check({ token: 'wrong' }), 'invalid');
  t.equal(fake.host!.credentials.check({}), 'none');
  await servient.stop();
  t.same(fake.events, ['start', 'stop']);
});

const TD: ThingDescription = {
  '@context': 'https://www.w3.org/2022/wot/td/v1.1',
  title: 'Remote',
  id: 'urn:dev:remote',
  base: 'fake://broker/',
  properties: { level: { type: 'number', forms: [{ href: 'fake://broker/remote/level', op: ['readproperty', 'writeproperty'], contentType: 'application/json' }] } },
} as ThingDescription;

/** A client binding for `fake:` forms that answers from memory and records what it was asked. */
function fakeClient(calls: string[]): ClientBinding {
  let level = 3;
  return {
    name: 'fake',
    accepts: (_form, url) => url.protocol === 'fake:',
    sendsBody: () => true,
    readProperty: async (_ctx, form, name) => {
      calls.push(`read ${name} ${form.url.href}`);
      return level;
    },
    writeProperty: async (_ctx, _form, name, value) => {
      calls.push(`write ${name}`);
      level = value as number;
      return { status: undefined, transactions: [] };
    },
  };
}

t.test('a client binding is chosen by the forms it accepts', async (t) => {
  const calls: string[] = [];
  const thing = await consumeThing(TD, { clientBindings: [fakeClient(calls)] });
  t.equal((await (await thing.readProperty('level')).value()), 3);
  t.same(await thing.writeProperty('level', 7), { status: undefined, transactions: [] });
  t.equal((await (await thing.readProperty('level')).value()), 7);
  t.same(calls, ['read level fake://broker/remote/level', 'write level', 'read level fake://broker/remote/level']);
  await t.rejects(thing.observeProperty('level', () => undefined), { code: 'FLOWCHAIN_ERR_FORM_NOT_FOUND' }, 'an operation the binding leaves out has no form to follow');
});

t.test('without a binding that accepts its forms, or when the preference leaves it out, a Thing has no form to follow', async (t) => {
  await t.rejects((await consumeThing(TD)).readProperty('level'), { code: 'FLOWCHAIN_ERR_FORM_NOT_FOUND' }, "the HTTP binding's clients accept no fake: form");
  await t.rejects((await consumeThing(TD, { clientBindings: [fakeClient([])], bindings: ['http'] })).readProperty('level'), { code: 'FLOWCHAIN_ERR_FORM_NOT_FOUND' });
});

t.test("a servient's client bindings follow what HTTP's do not", async (t) => {
  const calls: string[] = [];
  const { servient } = await createServient(t);
  const stopped = Servient.prototype.stop;
  t.ok(stopped);
  const other = await Servient.create(testConfig(t), { bindings: { client: [fakeClient(calls)] } });
  t.teardown(() => other.stop());
  const thing = await other.consume(TD);
  t.equal((await (await thing.readProperty('level')).value()), 3);
  t.same(calls, ['read level fake://broker/remote/level']);
  t.ok(servient);
});

t.test('a write answer is one shape for every binding without headers, and a client reads only what names a transaction', async (t) => {
  const { writeAnswer, writeResultOf } = await import('../../src/thing/protocol-binding.js');
  const receipts = [
    { property: 'on', key: 'a'.repeat(40), status: 'stored', txId: 'b'.repeat(64) },
    { property: 'level', key: 'c'.repeat(40), status: 'queued' },
  ] as const;
  const answer = writeAnswer(receipts as never, (ref) => (ref.length === 64 ? `http://node/ledger/tx/${ref}` : undefined));
  t.same(answer, {
    status: 'queued',
    transactions: [
      { property: 'on', key: 'a'.repeat(40), status: 'stored', txId: 'b'.repeat(64), receipt: `http://node/ledger/tx/${'b'.repeat(64)}` },
      { property: 'level', key: 'c'.repeat(40), status: 'queued' },
    ],
  }, 'the worst status, each transaction with what is known of it');
  t.same(writeResultOf(JSON.parse(JSON.stringify(answer))), {
    status: 'queued',
    transactions: [
      { property: 'on', receipt: `http://node/ledger/tx/${'b'.repeat(64)}`, txId: 'b'.repeat(64) },
      { property: 'level', receipt: 'c'.repeat(40) },
    ],
  }, 'read back: a queued one is named by its H_DATA');
  t.same(writeResultOf({ status: 7, transactions: [{ property: 1, receipt: 'x' }, { property: 'p' }, null, 'x'] }), { status: undefined, transactions: [] }, 'what does not name a transaction is left out');
  t.same(writeResultOf('not an answer'), { status: undefined, transactions: [] });
});

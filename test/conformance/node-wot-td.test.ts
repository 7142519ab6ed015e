/**
 * Eclipse Thingweb node-wot 0.9.2 fetches Flowchain TDs as a TD 1.0 consumer: its
 * `WoT.requestThingDescription` checks `@context` against the TD 1.0 URI and refused TDs that
 * named TD 1.1 alone ("TD validation error: must be equal to one of the allowed values"). On a
 * real node, it fetches every Thing the node hosts (the sample Things and the ledger Thing,
 * found through the directory Thing's links) and the directory Thing itself, consumes each and
 * reads a property through node-wot's own HTTP client. Registered TDs are served as their
 * publisher wrote them: node-wot takes one written with both contexts, and refuses one written
 * with TD 1.1 alone, which the node does not rewrite. Interaction in both directions:
 * node-wot.test.ts.
 */
import bindingHttp from '@node-wot/binding-http';
import wotCore from '@node-wot/core';
import t, { type Test } from 'tap';
import type { PropertyAffordance, ThingDescription } from '../../src/td/thing-description.js';
import { checkValue } from '../../src/thing/data-schema.js';
import { createServient, type TestOptions } from '../helpers/test-servient.js';

// CommonJS packages: their exports are the default export's members.
const { HttpClientFactory } = bindingHttp;
const { Servient: WotServient } = wotCore;

const TD_V1 = 'https://www.w3.org/2019/wot/td/v1';
const TD_V11 = 'https://www.w3.org/2022/wot/td/v1.1';
const DISCOVERY = 'https://www.w3.org/2022/wot/discovery';
const TOKEN = 'node-wot-td-token-0123456789';

/** What the test uses of node-wot's WoT object (its types are the Scripting API's). */
interface Wot {
  requestThingDescription(url: string): Promise<ThingDescription>;
  consume(td: ThingDescription): Promise<{ readProperty(name: string): Promise<{ value(): Promise<unknown> }> }>;
}

/** A node-wot servient with its HTTP client, shut down at teardown. */
async function nodeWot(t: Test): Promise<Wot> {
  const wot = new WotServient();
  wot.addClientFactory(new HttpClientFactory());
  const WoT = (await wot.start()) as unknown as Wot;
  t.teardown(() => wot.shutdown());
  return WoT;
}

/** An open node, and one whose writes take a bearer token (its TDs declare the scheme; reads stay open). */
const SETUPS: readonly { readonly name: string; readonly options: TestOptions }[] = [
  { name: 'open node', options: {} },
  { name: 'bearer auth on', options: { authToken: TOKEN } },
];

for (const setup of SETUPS) {
  t.test(`node-wot requests, consumes and reads every Thing of a node (${setup.name})`, async (t) => {
    const { servient } = await createServient(t, setup.options);
    const { url } = await servient.start();
    const WoT = await nodeWot(t);

    const directory = await WoT.requestThingDescription(`${url}.well-known/wot`);
    t.same(directory['@context'], [TD_V1, TD_V11, DISCOVERY], 'the directory Thing names both TD contexts, then the discovery one');
    const hosted = ((directory.links ?? []) as { rel?: string; href: string }[]).filter((link) => link.rel === 'item');
    t.same(hosted.map((link) => link.href).sort(), ['things/alerts', 'things/environment-sensor', 'things/ledger', 'things/smart-plug', 'things/thermostat'], 'the sample Things, the ledger Thing and the alerts Thing');
    const listing = await (await WoT.consume(directory)).readProperty('things');
    t.equal(((await listing.value()) as unknown[]).length, hosted.length, "node-wot read the directory's things property");

    for (const link of hosted) {
      const td = await WoT.requestThingDescription(new URL(link.href, url).href);
      const slug = link.href.slice('things/'.length);
      t.same((td['@context'] as unknown[]).slice(0, 2), [TD_V1, TD_V11], `${slug}: TD 1.0 URI first, TD 1.1 second`);
      const [name, property] = Object.entries(td.properties ?? {}).find(([, p]) => !p.writeOnly) as [string, PropertyAffordance];
      const thing = await WoT.consume(td);
      const value = await (await thing.readProperty(name)).value();
      t.doesNotThrow(() => checkValue(property, value, name, 'output'), `${slug}.${name}: node-wot read a value its TD allows`);
      t.same(value, await servient.registry.get(slug).readProperty(name), `${slug}.${name}: the value the Thing holds`);
    }
  });
}

t.test('registered TDs are served as their publisher wrote them: node-wot takes one naming both contexts, not one naming TD 1.1 alone', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  const WoT = await nodeWot(t);
  const register = async (id: string, context: string[]): Promise<void> => {
    const td = { '@context': context, id, title: 'Lamp', securityDefinitions: { nosec_sc: { scheme: 'nosec' } }, security: 'nosec_sc', properties: { on: { type: 'boolean', forms: [{ href: 'http://lamp.example/on' }] } } };
    const res = await fetch(`${url}things/${encodeURIComponent(id)}`, { method: 'PUT', headers: { 'content-type': 'application/td+json' }, body: JSON.stringify(td) });
    t.equal(res.status, 201, `${id} registered`);
  };
  await register('urn:example:dual', [TD_V1, TD_V11]);
  await register('urn:example:v11', [TD_V11]);

  const dual = await WoT.requestThingDescription(`${url}things/${encodeURIComponent('urn:example:dual')}`);
  t.same(dual['@context'], [TD_V1, TD_V11, DISCOVERY], 'as written, plus the discovery context of its registration information');
  const v11 = (await (await fetch(`${url}things/${encodeURIComponent('urn:example:v11')}`)).json()) as ThingDescription;
  t.same(v11['@context'], [TD_V11, DISCOVERY], 'not rewritten');
  await t.rejects(WoT.requestThingDescription(`${url}things/${encodeURIComponent('urn:example:v11')}`), /TD validation error/, "node-wot refuses it, as it refused the node's own TDs before");
});

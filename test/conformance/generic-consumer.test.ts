/**
 * Standards conformance: a consumer that knows only the TD 1.1 spec drives every affordance of
 * every Thing the node serves through the forms alone, over plain HTTP, long-poll and SSE.
 */
import t from 'tap';
import type { PropertyAffordance, ThingDescription } from '../../src/td/thing-description.js';
import { checkValue } from '../../src/thing/data-schema.js';
import { createServient } from '../helpers/test-servient.js';
import { GenericConsumer, readSse, sampleValue, stepUntilSettled } from '../helpers/wot-consumer.js';

const TOKEN = 'conformance-token-0123456789';

for (const auth of [false, true]) {
  t.test(`a generic consumer drives every affordance from the TD alone${auth ? ' (bearer auth on)' : ''}`, async (t) => {
    const { servient, clock } = await createServient(t, auth ? { authToken: TOKEN } : {});
    const { url } = await servient.start();
    const listing = (await (await fetch(new URL('things', url))).json()) as ThingDescription[];
    t.same(listing.map((td) => td.title).sort(), ['Environment sensor', 'Ledger', 'Smart plug', 'Thermostat'].sort(), 'the sample Things and the ledger Thing');

    for (const td of listing) {
      const consumer = new GenericConsumer(td, auth ? TOKEN : undefined);
      const properties = Object.entries(td.properties ?? {}) as [string, PropertyAffordance][];

      for (const [name, property] of properties) {
        const read = async (): Promise<unknown> => {
          const response = await consumer.request(consumer.form('property', property, 'readproperty'), 'readproperty');
          t.equal(response.status, 200, `${td.title}.${name} readproperty`);
          const value = await response.json();
          checkValue(property, value, name, 'output');
          return value;
        };
        const before = await read();
        if (!property.readOnly) {
          const value = sampleValue(property, before);
          const response = await consumer.request(consumer.form('property', property, 'writeproperty'), 'writeproperty', value);
          t.equal(response.status, 204, `${td.title}.${name} writeproperty`);
          t.same(await read(), value, `${td.title}.${name} reads back what was written`);
        }
        if (property.observable) {
          // long-poll: the next change answers the pending request
          const poll = consumer.request(consumer.form('property', property, 'observeproperty', 'longpoll'), 'observeproperty');
          const written: unknown[] = [];
          const polled = await stepUntilSettled(poll, async () => {
            if (property.readOnly) return clock.advance(1_000);
            const value = sampleValue(property, written.at(-1) ?? before);
            written.push(value);
            await consumer.request(consumer.form('property', property, 'writeproperty'), 'writeproperty', value);
          });
          t.equal(polled.status, 200, `${td.title}.${name} observe (long-poll)`);
          const value = await polled.json();
          checkValue(property, value, name, 'output');
          if (!property.readOnly) t.ok(written.some((w) => JSON.stringify(w) === JSON.stringify(value)), 'the poll answered a written value');

          // SSE: the stream opens with the current value
          const abort = new AbortController();
          const stream = await consumer.request(consumer.form('property', property, 'observeproperty', 'sse'), 'observeproperty', undefined, abort.signal);
          t.match(stream.headers.get('content-type'), /^text\/event-stream/);
          const first = await readSse(stream).next();
          checkValue(property, JSON.parse(first.value!.data), name, 'output');
          abort.abort();
        }
      }

      for (const [name, action] of Object.entries(td.actions ?? {})) {
        const input = action.input ? sampleValue(action.input) : undefined;
        const response = await consumer.request(consumer.form('action', action, 'invokeaction'), 'invokeaction', input);
        t.equal(response.status, action.output ? 200 : 204, `${td.title}.${name} invokeaction`);
        if (action.output) checkValue(action.output, await response.json(), name, 'output');
      }

      for (const [name, event] of Object.entries(td.events ?? {})) {
        const abort = new AbortController();
        const stream = await consumer.request(consumer.form('event', event, 'subscribeevent', 'sse'), 'subscribeevent', undefined, abort.signal);
        t.equal(stream.status, 200, `${td.title}.${name} subscribeevent (SSE)`);
        // Run the simulated device until it raises the event (bounded: ten simulated hours).
        const next = stepUntilSettled(readSse(stream).next(), () => clock.advance(60_000), 600);
        const { value } = await next;
        t.equal(value?.event, name);
        if (event.data) checkValue(event.data, JSON.parse(value!.data), name, 'output');
        abort.abort();
      }

      // Thing-level operations
      const all = await (await consumer.request(consumer.form('thing', undefined, 'readallproperties'), 'readallproperties')).json();
      t.same(Object.keys(all as object).sort(), properties.filter(([, p]) => !p.writeOnly).map(([n]) => n).sort(), `${td.title} readallproperties`);
      const names = properties.slice(0, 2).map(([n]) => n);
      const multiple = await (await consumer.request(consumer.form('thing', undefined, 'readmultipleproperties'), 'readmultipleproperties', names)).json();
      t.same(Object.keys(multiple as object).sort(), [...names].sort(), `${td.title} readmultipleproperties`);
      const writable = properties.filter(([, p]) => !p.readOnly);
      if (writable.length > 0) {
        const values = Object.fromEntries(writable.map(([n, p]) => [n, sampleValue(p, (all as Record<string, unknown>)[n])]));
        const response = await consumer.request(consumer.form('thing', undefined, 'writemultipleproperties'), 'writemultipleproperties', values);
        t.equal(response.status, 204, `${td.title} writemultipleproperties`);
      }
    }
  });
}

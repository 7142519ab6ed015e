/**
 * Standards conformance, SSE resumption (WoT Profile, HTTP SSE Profile: the id field and
 * Last-Event-ID): a consumer that knows only the specs holds a reference stream open and cuts
 * another off after it saw something; after more happened it reconnects with the
 * Last-Event-ID it saw and must have seen exactly what the reference did. Every SSE form of
 * every Thing on an open node; the Thing-level property streams (which carry every observable
 * property) with bearer auth and over HTTPS with Basic, where auth and TLS are what differs.
 */
import t, { type Test } from 'tap';
import type { ThingDescription } from '../../src/td/thing-description.js';
import { consumedNode, formsOf, SETUPS } from '../helpers/conformance.js';
import { until } from '../bindings/http/fixtures.js';
import type { ManualClock } from '../helpers/manual-clock.js';
import { GenericConsumer, readSse, sampleValue, type ConsumerOptions } from '../helpers/wot-consumer.js';
import { AlertsScript } from '../helpers/alerts-script.js';

/** One SSE message as a consumer sees it. */
interface Message {
  readonly id: string;
  readonly event: string;
  readonly data: string;
}

/** Reads an SSE response in the background into `messages`, until aborted or ended. */
function drain(response: Response): Message[] {
  const messages: Message[] = [];
  void (async () => {
    try {
      for await (const m of readSse(response)) messages.push({ id: m.id ?? '', event: m.event, data: m.data });
    } catch {
      // aborted
    }
  })();
  return messages;
}

/**
 * Takes steps (writing, advancing the node's clock) until `condition` holds; bounded. Steps
 * start at one simulated second (little happens in one, well within what a stream keeps) and
 * grow to a minute for what is rare (a sensor's overheat).
 */
async function stepUntil(condition: () => boolean, step: (ms: number) => Promise<void>, what: string): Promise<void> {
  for (let i = 0; i < 600 && !condition(); i++) {
    await step(i < 30 ? 1_000 : 60_000);
    for (let turn = 0; turn < 50 && !condition(); turn++) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await until(condition, what);
}

for (const setup of SETUPS) {
  t.test(`an SSE stream resumed after a forced disconnect (Last-Event-ID) loses no notification (${setup.name})`, async (t) => {
    const { clock, options, listing } = await consumedNode(t, setup);
    await resumeEveryStream(t, listing, options, clock, setup.name === 'open node' ? 'all' : 'thing');
  });
}

/**
 * For each SSE form (only observeallproperties with `scope` 'thing'): a reference stream that
 * stays connected, and one that is cut off after it saw something and reconnects with the
 * Last-Event-ID it saw, after more happened. After their opening current values, the second
 * must have seen exactly what the first did, up to the newest notification of the reference.
 */
async function resumeEveryStream(t: Test, listing: readonly ThingDescription[], options: ConsumerOptions, clock: ManualClock, scope: 'thing' | 'all'): Promise<void> {
  // Something for every stream: writes (the ledger reports their transactions), the plug
  // toggled, and simulated time for the sensors (an overheat within some simulated hours).
  const thermostat = new GenericConsumer(listing.find((td) => td.title === 'Thermostat')!, options);
  const plug = new GenericConsumer(listing.find((td) => td.title === 'Smart plug')!, options);
  const written = new Map<string, unknown>();
  /** Writes a new value to every writable, observable property of `td` (and so the ledger has transactions), toggles the plug, lets time pass. */
  const stepFor = (td: ThingDescription) => async (ms: number): Promise<void> => {
    // The alerts Thing changes through its actions: a rule fires, its alert is acknowledged and cleared, the rule deleted.
    await AlertsScript.for(td, options)?.cycle();
    for (const consumer of new Set([new GenericConsumer(td, options), thermostat])) {
      for (const [name, property] of Object.entries(consumer.td.properties ?? {})) {
        if (property.readOnly || !property.observable) continue;
        const key = `${consumer.td.id}/${name}`;
        const value = sampleValue(property, written.get(key));
        written.set(key, value);
        await consumer.request(consumer.form('property', property, 'writeproperty'), 'writeproperty', value);
      }
    }
    await plug.request(plug.form('action', plug.td.actions!.toggle, 'invokeaction'), 'invokeaction');
    clock.advance(ms);
  };
  let resumed = 0;
  for (const td of listing) {
    const consumer = new GenericConsumer(td, options);
    const step = stepFor(td);
    for (const { form, ops } of formsOf(td)) {
      const op = ops[0]!;
      if (form.subprotocol !== 'sse' || (scope === 'thing' && op !== 'observeallproperties')) continue;
      const what = `${td.title} ${form.href} ${op}`;
      const open = async (lastEventId?: string) => {
        const abort = new AbortController();
        const response = await consumer.request(form, op, undefined, abort.signal, lastEventId === undefined ? {} : { headers: { 'last-event-id': lastEventId } });
        t.equal(response.status, 200, `${what}: a stream`);
        return { abort, messages: drain(response) };
      };
      // A property stream opens with the current values (one per property it covers).
      const opening = op === 'observeproperty' ? 1 : op === 'observeallproperties' ? Object.values(td.properties ?? {}).filter((p) => p.observable && !p.writeOnly).length : 0;
      const reference = await open();
      const first = await open();
      await until(() => reference.messages.length >= opening && first.messages.length >= opening, `${what}: the current values`);
      const start = { reference: reference.messages.length, first: first.messages.length };
      await stepUntil(() => first.messages.length > start.first && reference.messages.length > start.reference, step, `${what}: a first notification`);
      first.abort.abort();
      const seen = first.messages.at(-1)!.id;
      // More happens while it is away.
      await stepUntil(() => reference.messages.some((m) => m.id > seen), step, `${what}: a notification while away`);
      const away = reference.messages.length;
      const again = await open(seen);
      const last = reference.messages.at(-1)!.id;
      await until(() => again.messages.some((m) => m.id >= last), `${what}: the resumed stream to catch up`);
      // The second stream began later: what the reference got before that (the ledger reports
      // asynchronously) is not the second's to have. A property stream's opening values carry
      // the position it began at; an event stream's first event is after its beginning.
      const upTo = (messages: readonly Message[]) => messages.filter((m) => m.id <= last);
      const mine = first.messages.slice(opening);
      const began = opening > 0 ? first.messages[0]!.id : mine[0]!.id;
      const expected = upTo(reference.messages.slice(opening)).filter((m) => (opening > 0 ? m.id > began : m.id >= began));
      t.same([...upTo(mine), ...upTo(again.messages)], expected, `${what}: nothing lost, nothing twice, in order (${expected.length} notifications)`);
      t.ok(again.messages.some((m) => m.id > seen && m.id <= reference.messages[away - 1]!.id), `${what}: the resumed stream replayed what happened while it was away`);
      t.equal(again.messages.filter((m) => m.id <= seen).length, 0, `${what}: and nothing from before the id it gave`);
      reference.abort.abort();
      again.abort.abort();
      resumed++;
    }
  }
  t.ok(resumed >= (scope === 'thing' ? 4 : 15), `${resumed} streams resumed`);
}

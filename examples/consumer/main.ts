/**
 * Consumes a Thing of another node through its TD alone and prints what it does: its current
 * values, then every change of an observable property and every event, one line each.
 *
 *   npm run example:consumer -- http://127.0.0.1:8080/things/thermostat   (TOKEN for a protected node)
 */
import { consumeThing, fetchThingDescription } from 'flowchain';

const url = process.argv[2];
if (url === undefined) {
  console.error('usage: consumer <URL of a Thing Description>');
  process.exit(2);
}
// Consuming needs no node of its own (a servient's consume() does the same).
const options = process.env.TOKEN ? { credentials: { token: process.env.TOKEN } } : {};
const td = await fetchThingDescription(url, options);
const thing = await consumeThing(td, options);

const print = (what: string, value: unknown): void => console.log(`${new Date().toISOString()} ${td.title} ${what} ${JSON.stringify(value)}`);
// A stream starts with the current value, which the first read printed already: each value is printed once.
const shown = new Map<string, string>();
const show = (name: string, value: unknown): void => {
  if (shown.get(name) === JSON.stringify(value)) return;
  shown.set(name, JSON.stringify(value));
  print(name, value);
};
for (const [name, output] of await thing.readAllProperties()) show(name, await output.value());

const report = (err: unknown): void => console.error(`${td.title}: ${(err as Error).message}`);
for (const [name, property] of Object.entries(td.properties ?? {})) {
  if (property.observable) await thing.observeProperty(name, async (output) => show(name, await output.value()), report);
}
for (const name of Object.keys(td.events ?? {})) await thing.subscribeEvent(name, async (output) => print(`event ${name}`, await output.value()), report);
console.log(`following ${td.title} at ${url}`);

process.once('SIGINT', () => {
  thing.close();
  process.exit(0);
});

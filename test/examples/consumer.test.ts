/** examples/consumer, run as a user runs it, following a Thing of another node. */
import t from 'tap';
import { runScript } from '../helpers/node-process.js';
import { createServient } from '../helpers/test-servient.js';

t.test('the consumer prints a Thing\'s values, then its changes and events', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  const consumer = runScript(t, 'examples/dist/consumer/main.js', [`${url}things/smart-plug`]);
  await consumer.line(/^following Smart plug at /);
  t.ok(consumer.lines.some((line) => / Smart plug on false$/.test(line)), 'the current value first');
  const toggled = await fetch(`${url}things/smart-plug/actions/toggle`, { method: 'POST' });
  t.equal(toggled.status, 200);
  await consumer.line(/ Smart plug on true$/);
  // The streams opened (their first message is the current value) and the change came after them.
  const count = (pattern: RegExp) => consumer.lines.filter((line) => pattern.test(line)).length;
  t.equal(count(/ Smart plug on false$/), 1, 'the current value was printed once, not again when the stream opened');
  t.equal(count(/ Smart plug on true$/), 1, 'the change once');
  t.equal(await consumer.stop('SIGINT'), 0);
});

t.test('the consumer says how to use it', async (t) => {
  const consumer = runScript(t, 'examples/dist/consumer/main.js');
  t.equal(await new Promise((resolve) => consumer.child.once('exit', resolve)), 2);
});

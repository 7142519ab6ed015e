import t from 'tap';
import { exploreDirectory } from '../../src/client/discovery.js';
import { createServient } from '../helpers/test-servient.js';

const titles = async (process: AsyncIterable<{ title: string }>): Promise<string[]> => {
  const found: string[] = [];
  for await (const td of process) found.push(td.title);
  return found.sort();
};

t.test('exploreDirectory lists a directory\'s Things through its TD\'s affordances, narrowed by a JSONPath query or a @type', async (t) => {
  const { servient } = await createServient(t);
  t.throws(() => servient.discover(), { code: 'FLOWCHAIN_ERR_OPERATION_NOT_SUPPORTED' }, 'discover() needs a started node');
  const { url } = await servient.start();
  const directory = `${url}.well-known/wot`;
  const all = await titles(servient.discover());
  t.ok(['Environment sensor', 'Smart plug', 'Thermostat'].every((title) => all.includes(title)), `the ring's Things: ${all.join(', ')}`);
  t.same(await titles(servient.exploreDirectory(directory, { query: "$[?@.title=='Thermostat']" })), ['Thermostat'], 'a JSONPath query goes to the searchJSONPath action (a URI variable)');
  t.same(await titles(exploreDirectory(directory, { query: '$[*].title' })), [], 'values that are not TDs are not yielded');
  t.same(await titles(exploreDirectory(directory, { type: 'saref:Switch' })), ['Smart plug'], 'a @type filter');
  t.same(await titles(exploreDirectory(directory, { type: 'saref:Switch', query: "$[?@.title=='Thermostat']" })), [], 'both at once');

  const stopped = exploreDirectory(directory);
  const first: string[] = [];
  for await (const td of stopped) {
    first.push(td.title);
    stopped.stop();
  }
  t.equal(first.length, 1, 'stop() ends the iteration');
  t.ok(stopped.done, 'and the process is done');

  const bad = exploreDirectory(directory, { query: '$[' });
  await t.rejects(titles(bad), { code: 'FLOWCHAIN_ERR_DIRECTORY_QUERY_INVALID' }, 'the directory\'s refusal comes through with its code');
  t.match(bad.error, { code: 'FLOWCHAIN_ERR_DIRECTORY_QUERY_INVALID' }, 'and is kept as the process\'s error');
});

import t from 'tap';
import type { DataTransaction } from '../../src/broker/data-transaction.js';
import { History } from '../../src/broker/history.js';
import { ThingHistory } from '../../src/history/thing-history.js';
import { MemorySection } from '../helpers/memory-section.js';

const tx = (value: number, timestamp: number, hData: string) => ({ hData, timestamp, data: { thing: 'urn:thing', property: 'temperature', value, origin: 'device' } }) as unknown as DataTransaction;

t.test('recorded values enter the history with their transaction, and get its id once stored', async (t) => {
  const section = new MemorySection();
  const history = new History(section);
  const query = new ThingHistory({ properties: section, events: new MemorySection() });
  const [a, b] = [tx(20, 1_000, 'a'.repeat(40)), tx(21, 2_000, 'b'.repeat(40))];
  await history.prepare([a, b]).commit();
  t.same((await query.query('properties', 'urn:thing', 'temperature', { limit: 10 })).items, [
    { value: 21, timestamp: 2_000, origin: 'device', hData: 'b'.repeat(40) },
    { value: 20, timestamp: 1_000, origin: 'device', hData: 'a'.repeat(40) },
  ]);
  await (await history.settle([[a, 'f'.repeat(64)]])).commit();
  t.match((await query.query('properties', 'urn:thing', 'temperature', { limit: 10 })).items, [{ value: 21 }, { value: 20, txId: 'f'.repeat(64) }]);
});

t.test('an entry retention pruned while its transaction waited does not come back when it is stored', async (t) => {
  const section = new MemorySection();
  const history = new History(section);
  const query = new ThingHistory({ properties: section, events: new MemorySection() });
  const old = tx(20, 1_000, 'a'.repeat(40));
  await history.prepare([old]).commit();
  await query.prune(1_500);
  await (await history.settle([[old, 'f'.repeat(64)]])).commit();
  t.same((await query.query('properties', 'urn:thing', 'temperature', { limit: 10 })).items, []);
});

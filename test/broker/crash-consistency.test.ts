/**
 * A crash never separates a value from its transaction: a real node is SIGKILLed in the middle
 * of a burst of writes, again and again on the same data. After every restart the stored value
 * is the value of the newest recorded transaction, every acknowledged write still has its
 * transaction, and at the end the chain verifies.
 */
import t from 'tap';
import { createRandom } from '../../src/common/random.js';
import { runCli, startNode } from '../helpers/node-process.js';
import { getJson } from '../helpers/ring-processes.js';
import { tempDir } from '../helpers/test-servient.js';

const PROPERTY = 'things/thermostat/properties/targetTemperature';
const ROUNDS = 8;

t.test(`SIGKILL during a write burst, ${ROUNDS} rounds: no acknowledged write is lost and the value always has its transaction`, async (t) => {
  const data = tempDir(t);
  const random = createRandom(2026);
  const acknowledged: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const node = await startNode(t, ['--data', data, '--ack', 'local', '--log-level', 'info']);
    // The state the last crash left: the value and the newest transactions that recorded it.
    const value = await getJson<number>(`${node.url}${PROPERTY}`);
    const history = await getJson<{ value: number; timestamp: number; hData: string }[]>(`${node.url}${PROPERTY}/history`);
    if (round > 0) {
      const newest = history.filter((entry) => entry.timestamp === history[0]?.timestamp);
      t.ok(newest.some((entry) => entry.value === value), `round ${round}: the stored value ${value} is the newest recorded transaction's (${newest.map((e) => e.value).join(' or ')})`);
      for (const entry of newest) t.equal((await fetch(`${node.url}ledger/tx/${entry.hData}`)).status, 200, `round ${round}: its transaction exists`);
    }
    // A burst from 16 clients, killed after a random 150-900 ms.
    let stop = false;
    const burst = Array.from({ length: 16 }, async (_, client) => {
      for (let k = 0; !stop; k++) {
        const res = await fetch(`${node.url}${PROPERTY}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(5 + ((client * 7 + k) % 51) / 2) }).catch(() => undefined);
        const key = res?.status === 204 ? /ledger\/tx\/([0-9a-f]{40})>/.exec(res.headers.get('link') ?? '')?.[1] : undefined;
        if (key !== undefined) acknowledged.push(key);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 150 + Math.floor(random.next() * 750)));
    await node.stop('SIGKILL');
    stop = true;
    await Promise.all(burst);
  }
  t.ok(acknowledged.length > ROUNDS * 10, `${acknowledged.length} writes were acknowledged across the rounds`);
  const node = await startNode(t, ['--data', data, '--log-level', 'info']);
  const lost: string[] = [];
  for (let i = 0; i < acknowledged.length; i += 50) {
    const answers = await Promise.all(acknowledged.slice(i, i + 50).map(async (key) => ({ key, status: (await fetch(`${node.url}ledger/tx/${key}`)).status })));
    lost.push(...answers.filter((a) => a.status !== 200).map((a) => a.key));
  }
  t.same(lost, [], 'every acknowledged write has its transaction');
  t.equal(await node.stop(), 0);
  const verified = await runCli(['verify', '--data', data]);
  t.equal(verified.code, 0, verified.stdout.trim());
  t.match(verified.stdout, /^chain OK/);
});

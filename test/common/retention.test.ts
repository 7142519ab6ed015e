import t from 'tap';
import { Retention, RETENTION_INTERVAL_MS } from '../../src/common/retention.js';
import { ManualClock } from '../helpers/manual-clock.js';

t.test('a pass runs at start and every interval, with each task cut at now minus its retention; stop ends them', async (t) => {
  const clock = new ManualClock();
  const cuts: [string, number][] = [];
  const retention = new Retention(
    { clock },
    {
      tasks: [
        { name: 'ledger', retainMs: 60_000, prune: async (before) => void cuts.push(['ledger', before]) },
        { name: 'history', retainMs: 1_000, prune: async (before) => void cuts.push(['history', before]) },
        { name: 'forever', retainMs: Infinity, prune: async (before) => void cuts.push(['forever', before]) },
      ],
    },
  );
  const start = clock.now();
  retention.start();
  await retention.run();
  t.same(cuts, [['ledger', start - 60_000], ['history', start - 1_000]], 'once at start; a task kept forever never runs');
  clock.advance(RETENTION_INTERVAL_MS);
  await retention.run();
  t.same(cuts.slice(2, 4), [['ledger', start + RETENTION_INTERVAL_MS - 60_000], ['history', start + RETENTION_INTERVAL_MS - 1_000]], 'again after ten minutes');
  await retention.stop();
  const before = cuts.length;
  clock.advance(3 * RETENTION_INTERVAL_MS);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(cuts.length, before, 'nothing after stop');
  t.equal(clock.pending, 0, 'its timer is cancelled');
});

t.test('a failing task is logged and does not keep the others from running; the next pass tries again', async (t) => {
  const clock = new ManualClock();
  const warnings: unknown[] = [];
  let calls = 0;
  const ran: number[] = [];
  const retention = new Retention(
    { clock, log: { warn: (object) => void warnings.push(object) } },
    {
      tasks: [
        { name: 'broken', retainMs: 1, prune: async () => { calls++; throw new Error('disk'); } },
        { name: 'fine', retainMs: 1, prune: async (before) => void ran.push(before) },
      ],
    },
  );
  await retention.run();
  await retention.run();
  t.equal(calls, 2);
  t.equal(ran.length, 2);
  t.match(warnings, [{ task: 'broken' }, { task: 'broken' }]);
});

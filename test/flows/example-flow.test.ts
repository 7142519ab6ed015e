/**
 * The example flow users import (examples/flows/temperature-rule.json), exactly as shipped but
 * for the node's URL, in the real Node-RED runtime against a real node: a reading above 26 °C
 * switches the smart plug on, one below 24 °C switches it off, and each write's receipt is
 * mined and verified. The sensor holds still here (a device that reads 25 °C until the test
 * pushes a change), so only the test's readings cross the thresholds.
 */
import { createRequire } from 'node:module';
import t from 'tap';
import type { DeviceFactory } from '../../src/devices/device.js';
import type { NodeMessage } from '../../src/flows/node-red-api.js';
import { createServient } from '../helpers/test-servient.js';
import { coreNodes, exampleFlow, flowchainNodes, helper, statusOf } from './fixtures.js';

const require = createRequire(import.meta.url);
const core = (path: string): unknown => require(require.resolve(`@node-red/nodes/core/${path}`, { paths: [require.resolve('node-red')] }));

/** The example's nodes, by the ids its file gives them. */
const ID = {
  observe: '97db818cfd472dbe',
  filter: 'fb3976e6d0f206c1',
  write: 'e33539591615f624',
  receiptCheck: '00ce0f5523b52791',
  errors: '9aca3877057b860a',
};

/** An environment sensor that reads 25 °C and 45 % and samples nothing by itself. */
const steadySensor: DeviceFactory = (thing) => {
  thing.setPropertyReadHandler('temperature', () => 25);
  thing.setPropertyReadHandler('humidity', () => 45);
};

type Checked = NodeMessage & {
  payload: { ok: boolean; status?: string };
  status: string;
  transactions: { txId: string }[];
  receipt: { txId: string; status: string; tx: { data: { value: unknown } } };
};

t.test('the example temperature rule switches the plug on above 26 °C and off below 24 °C, each write with a verified receipt', async (t) => {
  const { servient, clock } = await createServient(t, { difficulty: 16, devices: { 'environment-sensor': steadySensor } });
  const { url } = await servient.start();
  const plug = servient.registry.get('smart-plug');
  const sensor = servient.registry.get('environment-sensor');
  t.equal(await plug.readProperty('on'), false, 'the plug starts off');

  const flow = exampleFlow('temperature-rule.json', url);
  t.ok(flow.some((node) => node.type === 'tab'), 'the file is a flow export with its tab');
  t.teardown(() => helper.unload());
  await helper.load(
    [flowchainNodes({ receiptPoll: { baseMs: 20, maxMs: 200 } }), coreNodes.switch, coreNodes.change, core('function/rbe.js'), core('common/21-debug.js'), core('common/90-comment.js')],
    flow,
  );
  await statusOf(ID.observe, (s) => s.text === 'observing');

  const checked: Checked[] = [];
  const errors: NodeMessage[] = [];
  const writes: unknown[] = [];
  helper.getNode(ID.receiptCheck).on('input', (msg) => checked.push(msg as Checked));
  helper.getNode(ID.errors).on('input', (msg) => errors.push(msg));
  helper.getNode(ID.write).on('input', (msg) => writes.push(msg.payload));

  /** Pushes a reading, waits for the write to wait for its receipt, seals the node's open block, and answers the checked receipt. */
  const reading = async (celsius: number): Promise<Checked> => {
    const mining = statusOf(ID.write, (s) => s.text === 'waiting for the receipt');
    const before = checked.length;
    await sensor.emitPropertyChange('temperature', celsius);
    await mining;
    // The write is in the node's open block; a block interval on the node's clock seals it.
    clock.advance(1_000);
    await new Promise<void>((resolve) => {
      const poll = (): void => void (checked.length > before ? resolve() : setTimeout(poll, 10));
      poll();
    });
    return checked[before]!;
  };

  const on = await reading(27);
  t.equal(await plug.readProperty('on'), true, '27 °C: the plug is on');
  t.equal(on.status, 'stored', 'the write was stored at its owner');
  t.equal(on.receipt.txId, on.transactions[0]!.txId, 'msg.receipt is the write\'s receipt');
  t.equal(on.receipt.tx.data.value, true, 'of the value true');
  t.match(on.payload, { ok: true, status: 'mined', height: Number }, 'mined, and it verifies');

  const off = await reading(23);
  t.equal(await plug.readProperty('on'), false, '23 °C: the plug is off');
  t.equal(off.receipt.tx.data.value, false, 'the second receipt is of the value false');
  t.not(off.receipt.txId, on.receipt.txId, 'a transaction of its own');
  t.match(off.payload, { ok: true, status: 'mined', height: Number }, 'mined, and it verifies');

  // Between the thresholds nothing is sent on; below 24 °C again, the filter holds back the repeated "off".
  const filtered = new Promise<void>((resolve) => helper.getNode(ID.filter).on('input', () => resolve()));
  await sensor.emitPropertyChange('temperature', 25);
  await sensor.emitPropertyChange('temperature', 22);
  await filtered;
  // Had the filter sent it on, the write node would have it within a turn or two of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.same(writes, [true, false], 'one write per crossing: 25 °C and a second reading below 24 °C wrote nothing');
  t.same(errors, [], 'no Flowchain node reported an error');
});

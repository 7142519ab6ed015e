import t from 'tap';
import { Fanout, type Receiver } from '../../../../src/bindings/http/ws/fanout.js';

/** A receiver that records the frames it is given. */
class Recorder implements Receiver {
  readonly frames: Buffer[] = [];
  deliver(frame: Buffer): void {
    this.frames.push(frame);
  }
}

/** A topic source whose opening and closing the test can count. */
function source() {
  const state = { opened: 0, closed: 0, broadcast: undefined as ((message: object) => void) | undefined };
  const open = (broadcast: (message: object) => void) => {
    state.opened++;
    state.broadcast = broadcast;
    return () => void state.closed++;
  };
  return { state, open };
}

t.test('the first receiver opens the topic; later receivers share it', async (t) => {
  const fanout = new Fanout();
  const { state, open } = source();
  const a = new Recorder();
  const b = new Recorder();
  fanout.add('thermostat/property/mode', a, open);
  fanout.add('thermostat/property/mode', b, open);
  t.equal(state.opened, 1, 'one subscription on the Thing');
  t.equal(fanout.size, 1);
});

t.test('one notification is serialised once and the same frame goes to every receiver', async (t) => {
  const fanout = new Fanout();
  const { state, open } = source();
  const receivers = [new Recorder(), new Recorder(), new Recorder()];
  for (const r of receivers) fanout.add('k', r, open);
  let serialised = 0;
  const message = {
    type: 'propertyChange',
    value: 21.5,
    toJSON() {
      serialised++;
      return { type: this.type, value: this.value };
    },
  };
  state.broadcast?.(message);
  t.equal(serialised, 1, 'JSON.stringify ran once for three receivers');
  const [first] = receivers[0]?.frames ?? [];
  t.ok(first);
  for (const r of receivers) {
    t.equal(r.frames.length, 1);
    t.equal(r.frames[0], first, 'the very same buffer');
  }
  t.same(JSON.parse(first?.toString() ?? ''), { type: 'propertyChange', value: 21.5 });
});

t.test('adding the same receiver twice delivers once', async (t) => {
  const fanout = new Fanout();
  const { state, open } = source();
  const a = new Recorder();
  fanout.add('k', a, open);
  fanout.add('k', a, open);
  state.broadcast?.({ n: 1 });
  t.equal(a.frames.length, 1);
});

t.test('topics are independent: a notification reaches only its own receivers', async (t) => {
  const fanout = new Fanout();
  const mode = source();
  const target = source();
  const a = new Recorder();
  const b = new Recorder();
  fanout.add('mode', a, mode.open);
  fanout.add('target', b, target.open);
  t.equal(fanout.size, 2);
  mode.state.broadcast?.({ name: 'mode' });
  t.equal(a.frames.length, 1);
  t.equal(b.frames.length, 0);
});

t.test('the last receiver out unsubscribes from the Thing, and not before', async (t) => {
  const fanout = new Fanout();
  const { state, open } = source();
  const a = new Recorder();
  const b = new Recorder();
  fanout.add('k', a, open);
  fanout.add('k', b, open);
  t.equal(fanout.remove('k', a), true);
  t.equal(state.closed, 0, 'b still listens');
  t.equal(fanout.size, 1);
  state.broadcast?.({ n: 1 });
  t.equal(a.frames.length, 0, 'a removed receiver gets nothing');
  t.equal(b.frames.length, 1);
  t.equal(fanout.remove('k', b), true);
  t.equal(state.closed, 1, 'the last one out closed the topic');
  t.equal(fanout.size, 0);
});

t.test('removing a receiver that is not there changes nothing and says so', async (t) => {
  const fanout = new Fanout();
  const { state, open } = source();
  const a = new Recorder();
  t.equal(fanout.remove('k', a), false, 'unknown topic');
  fanout.add('k', a, open);
  t.equal(fanout.remove('k', new Recorder()), false, 'unknown receiver');
  t.equal(fanout.remove('k', a), true);
  t.equal(fanout.remove('k', a), false, 'already removed');
  t.equal(state.closed, 1, 'closed exactly once');
});

t.test('a topic can be reopened after it closed', async (t) => {
  const fanout = new Fanout();
  const { state, open } = source();
  const a = new Recorder();
  fanout.add('k', a, open);
  fanout.remove('k', a);
  fanout.add('k', a, open);
  t.equal(state.opened, 2);
  state.broadcast?.({ n: 2 });
  t.equal(a.frames.length, 1);
});

t.test('a topic whose opening throws is not registered, and the next add tries again', async (t) => {
  const fanout = new Fanout();
  const a = new Recorder();
  t.throws(() =>
    fanout.add('k', a, () => {
      throw new Error('no such property');
    }),
  );
  t.equal(fanout.size, 0);
  t.equal(fanout.remove('k', a), false);
  const { state, open } = source();
  fanout.add('k', a, open);
  t.equal(state.opened, 1);
});

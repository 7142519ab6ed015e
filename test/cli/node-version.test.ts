import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import t from 'tap';
import { isNodeAtLeast, OLDEST_NODE, unsupportedNodeMessage } from '../../src/cli/node-version.js';

t.test('versions compare by major, minor and patch as numbers, with or without a leading v', async (t) => {
  t.ok(isNodeAtLeast('22.9.0', '22.9.0'), 'the oldest itself');
  t.ok(isNodeAtLeast('22.10.0', '22.9.0'), '22.10 is after 22.9, not before it');
  t.ok(isNodeAtLeast('22.23.5', '22.9.0'));
  t.ok(isNodeAtLeast('24.0.0', '22.9.0'));
  t.ok(isNodeAtLeast('v100.0.0', '22.9.0'));
  t.ok(isNodeAtLeast('22.9.1', '22.9'), 'a missing patch is 0');
  t.notOk(isNodeAtLeast('22.8.9', '22.9.0'));
  t.notOk(isNodeAtLeast('v20.20.2', '22.9.0'));
  t.notOk(isNodeAtLeast('9.99.99', '22.9.0'), 'not compared as text');
  t.notOk(isNodeAtLeast('22.9.0', '22.9.1'));
  t.ok(isNodeAtLeast('23.0.0-pre', '22.9.0'), 'a pre-release counts as its release');
});

t.test('a version that cannot be read is not refused', async (t) => {
  t.ok(isNodeAtLeast('', '22.9.0'));
  t.ok(isNodeAtLeast('unknown', '22.9.0'));
});

t.test('comparison is a total order: of two versions, one is at least the other, and both only when equal', async () => {
  const version = fc.tuple(fc.nat(40), fc.nat(40), fc.nat(40));
  fc.assert(
    fc.property(version, version, (a, b) => {
      const [x, y] = [a.join('.'), b.join('.')];
      const forward = isNodeAtLeast(x, y);
      const backward = isNodeAtLeast(y, x);
      return (forward || backward) && (forward && backward) === (x === y);
    }),
  );
});

t.test('an older Node.js gets one line naming the oldest supported version, its own and where to get another', async (t) => {
  t.equal(unsupportedNodeMessage('20.20.2', '22.9.0'), 'flowchain needs Node.js 22.9 or later (this is v20.20.2): https://nodejs.org');
  t.equal(unsupportedNodeMessage('v22.9.0', '22.9.1'), 'flowchain needs Node.js 22.9.1 or later (this is v22.9.0): https://nodejs.org');
  t.equal(unsupportedNodeMessage('22.9.0'), undefined, 'the oldest supported runs');
  t.equal(unsupportedNodeMessage(process.versions.node), undefined, 'the Node.js running the tests runs');
  t.notMatch(unsupportedNodeMessage('18.0.0') ?? '', /\n/, 'one line');
});

t.test("the oldest supported Node.js is the one package.json's engines names", async (t) => {
  const { engines } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
  t.equal(engines.node, `>=${OLDEST_NODE.replace(/\.0$/, '')}`);
});

/**
 * The package's Node-RED entry, node-red/flowchain.cjs (what package.json's "node-red" names):
 * Node-RED require()s it and awaits it, and it registers every Flowchain node type from the
 * built dist/flows (npm test builds first).
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { helper, loadFlow } from './fixtures.js';

const require = createRequire(import.meta.url);
const TYPES = ['flowchain-server', 'flowchain-read', 'flowchain-write', 'flowchain-observe', 'flowchain-invoke', 'flowchain-event', 'flowchain-receipt', 'flowchain-directory'];

t.test('package.json names the entry, and loading it registers every node type', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { 'node-red': { nodes: Record<string, string> }; files: string[] };
  t.same(pkg['node-red'].nodes, { flowchain: 'node-red/flowchain.cjs' });
  t.ok(pkg.files.includes('node-red'), 'the package carries it');
  const entry = require('../../node-red/flowchain.cjs') as unknown;
  // A flow using every type loads only when each one is registered (an unknown type stops the flow).
  await loadFlow(t, [entry], [
    { id: 'server', type: 'flowchain-server', url: 'http://127.0.0.1:9/' },
    ...TYPES.slice(1).map((type) => ({ id: type, type, server: 'server', thing: '', affordance: '', wires: [] })),
  ]);
  for (const type of TYPES) t.ok(helper.getNode(type === 'flowchain-server' ? 'server' : type), `${type} is running`);
});

const AFFORDANCE_TYPES = ['flowchain-read', 'flowchain-write', 'flowchain-invoke', 'flowchain-observe', 'flowchain-event'];

t.test('the editor file defines every node type', async (t) => {
  const html = readFileSync(new URL('../../node-red/flowchain.html', import.meta.url), 'utf8');
  for (const type of TYPES) {
    // The five affordance nodes share one dialog, built by affordanceNode() (editor.test.ts opens two in a browser).
    t.match(html, AFFORDANCE_TYPES.includes(type) ? `affordanceNode('${type}'` : `data-template-name="${type}"`, `${type} has an edit dialog`);
    t.match(html, `data-help-name="${type}"`, `${type} has help`);
  }
});

/**
 * `flowchain` as a Node-RED node module: a Node-RED of its own (not Flowchain's --flows) whose
 * user directory has `flowchain` in its node_modules, as `npm install` into ~/.node-red leaves
 * it (a local install is a link), finds the package's `node-red` key and registers every
 * Flowchain node type; the packed package carries what that needs.
 */
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { tempDir } from '../helpers/test-servient.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TYPES = ['flowchain-server', 'flowchain-read', 'flowchain-write', 'flowchain-observe', 'flowchain-invoke', 'flowchain-event', 'flowchain-receipt', 'flowchain-directory'];

interface NodeRedModule {
  init(server: EventEmitter, settings: object): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly nodes: { getModuleInfo(name: string): { nodes: { types: string[]; enabled: boolean; err?: string }[] } | null };
}

t.test('the packed package holds the node module: its key, its files and the code they load', async (t) => {
  const listing = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' })) as [{ files: { path: string }[] }];
  const files = new Set(listing[0].files.map((f) => f.path));
  for (const path of ['package.json', 'node-red/flowchain.cjs', 'node-red/flowchain.html', 'dist/flows/register.js']) t.ok(files.has(path), `${path} is in the package`);
});

t.test("a Node-RED with flowchain in its user directory's node_modules registers every Flowchain node type", async (t) => {
  const userDir = tempDir(t);
  mkdirSync(join(userDir, 'node_modules'));
  writeFileSync(join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true, dependencies: { flowchain: `file:${ROOT}` } }));
  symlinkSync(ROOT, join(userDir, 'node_modules', 'flowchain'), 'dir');
  const red = createRequire(import.meta.url)('node-red') as NodeRedModule;
  red.init(new EventEmitter(), { userDir, httpAdminRoot: false, httpNodeRoot: false, logging: { console: { level: 'off' } }, telemetry: { enabled: false } });
  await red.start();
  t.teardown(() => red.stop());
  const info = red.nodes.getModuleInfo('flowchain');
  t.ok(info, 'Node-RED knows the flowchain module');
  const types = info!.nodes.flatMap((set) => set.types);
  t.same([...types].sort(), [...TYPES].sort(), 'with every node type');
  t.same(info!.nodes.map((set) => [set.enabled, set.err]), [[true, undefined]], 'loaded, without error');
});

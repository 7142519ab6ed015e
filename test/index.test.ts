/**
 * The public package as a user gets it: `npm pack`, installed into an empty project, a
 * TypeScript user script compiled against the published types (library types checked too, so
 * a type that leaks an unpublished module fails) and run against another node.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createServient, tempDir } from './helpers/test-servient.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = join(ROOT, 'test', 'fixtures', 'newcomer');
const npm = (args: string[], cwd: string): string => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

t.test('a project that installs the packed tarball compiles a typed user script and runs it', { timeout: 600_000 }, async (t) => {
  const work = tempDir(t);
  // dist/ is built by the pretest step; packing it again would rebuild it under the running tests.
  const [packed] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT)) as { filename: string; files: { path: string }[] }[];
  const files = packed!.files.map((file) => file.path);
  t.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'), 'the entry and its types are packed');
  t.notOk(files.some((path) => path.startsWith('test/') || (path.startsWith('src/') && !path.startsWith('src/dashboard/public/'))), 'no tests and no TypeScript sources');

  const project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'newcomer', private: true, type: 'module' }));
  const typesNode = (JSON.parse(readFileSync(join(ROOT, 'node_modules/@types/node/package.json'), 'utf8')) as { version: string }).version;
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=optional', '--ignore-scripts', join(work, packed!.filename), `@types/node@${typesNode}`], project);
  for (const file of ['newcomer.ts', 'tsconfig.json']) copyFileSync(join(FIXTURE, file), join(project, file));
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], { encoding: 'utf8' });

  const { servient } = await createServient(t);
  const other = await servient.start();
  const script = spawn(process.execPath, [join(project, 'out', 'newcomer.js')], { cwd: project, env: { ...process.env, DATA: join(work, 'data'), OTHER: `${other.url}things/smart-plug` }, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void script.kill('SIGKILL'));
  const exited = new Promise<number | null>((resolve) => script.once('exit', resolve));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    script.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    void exited.then((code) => reject(new Error(`the script exited with ${code}`)));
  });
  const report = JSON.parse(line) as { url: string; on: boolean; receipts: string[] };
  t.equal(report.on, true, 'it wrote the other node\'s plug and read it back');
  t.equal(await servient.registry.get('smart-plug').readProperty('on'), true, 'the plug is on at its own node');
  t.equal(report.receipts.length, 1);
  t.equal((await fetch(report.receipts[0]!)).status, 200, 'the write\'s receipt answers');
  const td = (await (await fetch(report.url)).json()) as { title: string };
  t.equal(td.title, 'Server room', 'its own Thing is served');
  const load = (await (await fetch(`${report.url}/properties/load`)).json()) as number;
  t.ok(typeof load === 'number' && load >= 0, `the load is the machine's (${load})`);
  script.kill('SIGTERM');
  t.equal(await exited, 0, 'it stops cleanly');
});

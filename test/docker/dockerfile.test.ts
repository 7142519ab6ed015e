/**
 * docker/Dockerfile without a container engine: its build stage's RUN runs on exactly the files
 * its COPY lines take from the build context (after .dockerignore), its runtime stage is put
 * together from what its COPY lines name, and the node starts from that with the image's ENV and
 * CMD and passes the image's HEALTHCHECK. A build step that needs a file the Dockerfile does not
 * copy fails here. The image itself, and a three-node ring of it, are checked by
 * docker/test-image.sh (README, "Docker").
 *
 * npm ci runs against the npm registry as the image build does, with prefer-offline so that
 * what the npm cache holds (everything, after the repository's own npm ci) is not fetched again.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { command, copies, copyFromContext, environment, finalWorkdir, healthcheck, ignoredBy, parseDockerfile, runCommands, type Stage } from './dockerfile.js';

const CONTEXT = fileURLToPath(new URL('../..', import.meta.url));
const DOCKERFILE = readFileSync(join(CONTEXT, 'docker', 'Dockerfile'), 'utf8');

/**
 * A directory of its own, removed at teardown. (Not the helpers' tempDir: this test loads none of
 * Flowchain's modules, only the files it builds.)
 */
function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowchain-docker-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The environment a command in the image gets: this test's node first on PATH; none of the
 * variables `npm test` sets about the repository's own package and prefix, so that npm in the
 * copy takes the copy for its project; and none of tap's, which would load tap's process and
 * coverage recorder into npm, tsc and the node.
 */
function imageEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const unwanted = /^(npm_lifecycle_|npm_package_|npm_config_(local_prefix|prefix|global_prefix|call)$|INIT_CWD$|NODE_OPTIONS$|NODE_V8_COVERAGE$|TAP|_TAPJS_)/i;
  for (const [key, value] of Object.entries(process.env)) {
    if (!unwanted.test(key)) env[key] = value;
  }
  return { ...env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false', ...extra };
}

/** Runs a shell command line; resolves with its exit code and the end of its output. */
function sh(line: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', line], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** Starts the image's CMD in `cwd`; resolves with the URL it logged once listening. Killed at teardown. */
async function startCmd(t: Test, argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv) {
  const [program, ...args] = argv;
  const child = spawn(program === 'node' ? process.execPath : program!, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const entry = (line.startsWith('{') ? JSON.parse(line) : {}) as { msg?: string; url?: string };
        if (typeof entry.url === 'string' && String(entry.msg).startsWith('Flowchain node listening')) resolve(entry.url);
      }
    });
    void exited.then((code) => reject(new Error(`the node exited with ${code} before listening: ${stderr}`)));
  });
  return { url, stop: () => (child.kill('SIGTERM'), exited) };
}

t.test('the Dockerfile reader joins continued lines, reads flags and both COPY forms, and skips comments', async (t) => {
  const [build, runtime] = parseDockerfile(
    ['ARG BASE=x', 'FROM ${BASE} AS build', 'WORKDIR /app', '# a comment', 'COPY a b ./', 'RUN one \\', '  # dropped', '  two', 'FROM ${BASE}', 'WORKDIR /srv', 'COPY --from=build /app/out ./out', 'COPY ["c d", "/etc/"]', 'ENV A=1 \\', '    B="two words"', 'CMD ["node", "x.js"]'].join('\n'),
  ) as [Stage, Stage];
  t.match(build, { name: 'build', base: '${BASE}' });
  t.same(runCommands(build), ['one  two']);
  t.same(copies(build), [{ from: undefined, sources: ['a', 'b'], destination: '/app', intoDirectory: true }]);
  t.same(copies(runtime), [
    { from: 'build', sources: ['/app/out'], destination: '/srv/out', intoDirectory: false },
    { from: undefined, sources: ['c d'], destination: '/etc', intoDirectory: true },
  ]);
  t.same(environment(runtime), { A: '1', B: 'two words' });
  t.same(command(runtime), ['node', 'x.js']);
  t.throws(() => copies(parseDockerfile('FROM x\nCOPY src/*.ts ./')[0]!), /wildcards/);
});

t.test('.dockerignore patterns leave out a path or its parents; ! brings one back', async (t) => {
  const patterns = ['node_modules', 'dist', '*.log', 'bench/out', '**/cache', 'docs/*', '!docs/keep.md'];
  t.ok(ignoredBy(patterns, 'node_modules/x/index.js'));
  t.notOk(ignoredBy(patterns, 'examples/dist/main.js'), 'a plain pattern matches from the context root only');
  t.ok(ignoredBy(patterns, 'server.log'));
  t.notOk(ignoredBy(patterns, 'logs/server.log'), '* stays within a segment');
  t.ok(ignoredBy(patterns, 'bench/out/r.json'));
  t.ok(ignoredBy(patterns, 'a/b/cache/file'), '** spans segments');
  t.ok(ignoredBy(patterns, 'docs/other.md'));
  t.notOk(ignoredBy(patterns, 'docs/keep.md'));
});

t.test('the image builds from exactly the files the Dockerfile copies, leaves anvil out, and its runtime stage starts a healthy node', async (t) => {
  const stages = parseDockerfile(DOCKERFILE);
  const build = stages.find((s) => s.name === 'build');
  const runtime = stages.at(-1)!;
  if (build === undefined) return void t.fail('docker/Dockerfile has no stage named build');
  t.match(DOCKERFILE, /^ARG NODE_IMAGE=node:24-bookworm-slim$/m, 'the base image is a build argument, the official image by default');
  t.same(
    stages.map((s) => s.base),
    stages.map(() => '${NODE_IMAGE}'),
    'every stage builds on NODE_IMAGE',
  );

  // The build stage, in a directory standing for the image's /.
  const buildRoot = tempDir(t);
  for (const copy of copies(build)) {
    if (copy.from !== undefined) return void t.fail(`the build stage copies from ${copy.from}: this test reads only the build context`);
    copyFromContext(CONTEXT, copy, buildRoot);
  }
  const app = join(buildRoot, finalWorkdir(build));
  const buildEnv = imageEnv(environment(build));
  for (const line of runCommands(build)) {
    const { code, output } = await sh(line, app, buildEnv);
    if (code !== 0) return void t.fail(`RUN ${line} failed with ${code}`, { output });
  }
  t.ok(existsSync(join(app, 'dist', 'cli.js')), 'the build made dist/cli.js');
  t.notOk(existsSync(join(app, 'node_modules', '@foundry-rs')), 'the anvil binary (an optional dependency) is not installed');
  t.notOk(existsSync(join(app, 'node_modules', 'typescript')), 'the dev dependencies are pruned');

  // The runtime stage: every source it copies must exist, from the build stage or the context.
  const runtimeRoot = tempDir(t);
  for (const copy of copies(runtime)) {
    if (copy.from === undefined) {
      t.doesNotThrow(() => copyFromContext(CONTEXT, copy, runtimeRoot), `COPY ${copy.sources.join(' ')} from the context`);
      continue;
    }
    if (copy.from !== build.name) return void t.fail(`COPY --from=${copy.from}: not the build stage`);
    for (const source of copy.sources) {
      const from = join(buildRoot, source);
      if (!t.ok(existsSync(from), `COPY --from=${copy.from} ${source}: the build stage made it`)) continue;
      mkdirSync(dirname(join(runtimeRoot, copy.destination)), { recursive: true });
      renameSync(from, join(runtimeRoot, copy.destination));
    }
  }

  // The image's CMD with its ENV, but on loopback, free ports and a data directory of its own.
  const workdir = join(runtimeRoot, finalWorkdir(runtime));
  const env = imageEnv({ ...environment(runtime), FLOWCHAIN_HOST: '127.0.0.1', FLOWCHAIN_PORT: '0', FLOWCHAIN_PEER_PORT: '0', FLOWCHAIN_DATA: tempDir(t) });
  const help = await sh(`"${process.execPath}" dist/cli.js --help`, workdir, env);
  t.equal(help.code, 0, 'dist/cli.js --help');
  const node = await startCmd(t, command(runtime), workdir, env);
  t.match(await (await fetch(`${node.url}health`)).json(), { status: 'ok', things: 5 }, 'the bundled Things are loaded');
  t.equal((await fetch(node.url)).status, 200, 'the dashboard page is served');
  t.equal((await fetch(`${node.url}dashboard/modules/dashboard/client/main.js`)).status, 200, 'the dashboard modules are built');
  t.equal((await fetch(`${node.url}dashboard/vendor/uplot/uPlot.esm.js`)).status, 200, 'the dashboard libraries are installed');
  const check = healthcheck(runtime);
  if (t.ok(check, 'the image has a HEALTHCHECK')) {
    const { code } = await sh(check!, workdir, { ...env, FLOWCHAIN_PORT: new URL(node.url).port });
    t.equal(code, 0, 'the HEALTHCHECK passes');
  }
  t.equal(await node.stop(), 0, 'the node stops cleanly on SIGTERM');
});

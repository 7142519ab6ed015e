/**
 * Runs the real `flowchain` command (dist/cli.js, built by `npm test`'s pretest) as a child
 * process, and reads its JSON log lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { SAMPLE_THINGS } from './sample-things.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** The environment of every child: the caller's, serving the tests' sample Things (sample-things.ts) unless `env` or a flag says otherwise. */
const childEnv = (env: Record<string, string>): NodeJS.ProcessEnv => ({ ...process.env, FLOWCHAIN_THINGS: SAMPLE_THINGS, ...env });

export interface NodeProcess {
  readonly child: ChildProcess;
  /** Base URL, once the node said it is listening. */
  readonly url: string;
  readonly logs: Record<string, unknown>[];
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `flowchain start ...args` (on 127.0.0.1, port 0, unless `env` sets them) and waits for
 * its "listening" log line, so the node must log at info. `wrap` runs it through another
 * command (`ip netns exec NS`). Killed at teardown.
 */
export async function startNode(t: Test, args: string[], env: Record<string, string> = {}, wrap: readonly string[] = []): Promise<NodeProcess> {
  const address = env.FLOWCHAIN_PORT === undefined ? ['--host', '127.0.0.1', '--port', '0', '--peer-port', '0'] : [];
  const command = [...wrap, process.execPath, CLI, 'start', ...address, ...args];
  const child = spawn(command[0]!, command.slice(1), {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (typeof entry.url === 'string' && String(entry.msg).startsWith('Flowchain node listening')) resolve(entry.url);
      }
    });
    void exited.then((code) => reject(new Error(`node exited with ${code} before listening: ${stderr}`)));
  });
  return {
    child,
    url,
    logs,
    stop: (signal = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}

/** Runs the command to completion and returns its exit code and output. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // 'close', not 'exit': a process can exit before its last output is read.
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A script run as a child process, its stdout read line by line. */
export interface ScriptProcess {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** The first line (already printed or still to come) matching `pattern`. */
  line(pattern: RegExp): Promise<RegExpExecArray>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `node script ...args` from the repository root; killed at teardown. */
export function runScript(t: Test, script: string, args: readonly string[] = [], env: Record<string, string> = {}): ScriptProcess {
  const child = spawn(process.execPath, [fileURLToPath(new URL(`../../${script}`, import.meta.url)), ...args], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const lines: string[] = [];
  const waiting = new Set<() => void>();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      lines.push(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
    for (const check of [...waiting]) check();
  });
  return {
    child,
    lines,
    line: (pattern) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          for (const line of lines) {
            const match = pattern.exec(line);
            if (match !== null) {
              waiting.delete(check);
              return resolve(match);
            }
          }
        };
        waiting.add(check);
        check();
        void exited.then((code) => reject(new Error(`${script} exited with ${code} before printing ${pattern}: ${stderr}`)));
      }),
    stop: (signal = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}

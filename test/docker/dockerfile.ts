/**
 * Reads a Dockerfile the way its builder does, as far as docker/Dockerfile needs: stages, their
 * COPY, RUN, ENV, WORKDIR, CMD and HEALTHCHECK instructions, and the build context that
 * .dockerignore leaves. What it cannot read (wildcard or remote sources, a parser directive) it
 * throws on, so a Dockerfile it would misread fails the test instead of passing it.
 * Reference: the Dockerfile reference (docs.docker.com/reference/dockerfile/) and its
 * .dockerignore section.
 */
import { cpSync, existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, posix, relative } from 'node:path';

/** One instruction: its keyword in upper case, its flags (`--from=build`) and the rest. */
export interface Instruction {
  readonly keyword: string;
  readonly flags: ReadonlyMap<string, string>;
  readonly rest: string;
  readonly line: number;
}

/** A stage: from `FROM base [AS name]` to the next FROM. */
export interface Stage {
  readonly name: string | undefined;
  readonly base: string;
  readonly instructions: readonly Instruction[];
}

/** A COPY (or ADD) resolved against its stage: sources as written, and where they land. */
export interface Copy {
  /** The stage copied from (`--from`), or undefined for the build context. */
  readonly from: string | undefined;
  readonly sources: readonly string[];
  /** The destination as an absolute path in the image. */
  readonly destination: string;
  /** Whether the destination is a directory the sources go into (`./`, or several sources). */
  readonly intoDirectory: boolean;
}

/** Splits a Dockerfile into stages. Throws on a parser directive (`# syntax=`, `# escape=`). */
export function parseDockerfile(text: string): Stage[] {
  const stages: { name: string | undefined; base: string; instructions: Instruction[] }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let logical = lines[i]!.trim();
    if (/^#\s*(syntax|escape|check)\s*=/i.test(logical) && stages.length === 0) throw new Error(`line ${first}: parser directives are not read by this test`);
    if (logical === '' || logical.startsWith('#')) continue;
    // A trailing backslash continues the instruction; comment lines inside it are dropped.
    while (logical.endsWith('\\') && i + 1 < lines.length) {
      let next = lines[++i]!.trim();
      while (next.startsWith('#') && i + 1 < lines.length) next = lines[++i]!.trim();
      logical = `${logical.slice(0, -1)} ${next}`;
    }
    const instruction = splitInstruction(logical, first);
    if (instruction.keyword === 'FROM') {
      const [base, as, name] = instruction.rest.split(/\s+/);
      stages.push({ name: as?.toUpperCase() === 'AS' ? name : undefined, base: base!, instructions: [] });
    } else if (stages.length > 0) stages.at(-1)!.instructions.push(instruction);
  }
  return stages;
}

function splitInstruction(logical: string, line: number): Instruction {
  const [, keyword, afterKeyword] = /^(\S+)\s*(.*)$/s.exec(logical)!;
  let rest = afterKeyword!;
  const flags = new Map<string, string>();
  for (let flag = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest); flag !== null; flag = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest)) {
    flags.set(flag[1]!, flag[2] ?? '');
    rest = rest.slice(flag[0].length);
  }
  return { keyword: keyword!.toUpperCase(), flags, rest, line };
}

/** The stage's instructions with one keyword. */
export const instructions = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);

/** The working directory in force at each instruction of the stage, `/` before any WORKDIR. */
function workdirAt(stage: Stage, instruction: Instruction): string {
  let workdir = '/';
  for (const i of stage.instructions) {
    if (i === instruction) break;
    if (i.keyword === 'WORKDIR') workdir = posix.resolve(workdir, i.rest);
  }
  return workdir;
}

/** The stage's WORKDIR when its last instruction runs. */
export const finalWorkdir = (stage: Stage): string => stage.instructions.reduce((dir, i) => (i.keyword === 'WORKDIR' ? posix.resolve(dir, i.rest) : dir), '/');

/** Words of a JSON array form (`["a", "b"]`) or of a plain whitespace-separated form. */
function words(rest: string): string[] {
  if (rest.startsWith('[')) return JSON.parse(rest) as string[];
  return rest.split(/\s+/).filter((w) => w !== '');
}

/** The stage's COPY and ADD instructions, resolved. Throws on sources this test cannot copy. */
export function copies(stage: Stage): Copy[] {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
    .map((i) => {
      const all = words(i.rest);
      const sources = all.slice(0, -1);
      const target = all.at(-1)!;
      for (const source of sources) {
        if (/[*?[]/.test(source) || /^[a-z]+:\/\//i.test(source) || source.startsWith('<<')) {
          throw new Error(`line ${i.line}: ${i.keyword} ${source}: wildcards, URLs and here-documents are not read by this test`);
        }
      }
      return {
        from: i.flags.get('from'),
        sources,
        destination: posix.resolve(workdirAt(stage, i), target),
        intoDirectory: target.endsWith('/') || sources.length > 1,
      };
    });
}

/** The stage's ENV, in order (`KEY=value` pairs; quotes around a value are removed). */
export function environment(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of instructions(stage, 'ENV')) {
    for (const [, key, quoted, plain] of i.rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|(\S*))/g)) env[key!] = quoted ?? plain ?? '';
  }
  return env;
}

/** The stage's RUN commands as shell command lines (the exec form joined with spaces). */
export const runCommands = (stage: Stage): string[] => instructions(stage, 'RUN').map((i) => (i.rest.startsWith('[') ? words(i.rest).join(' ') : i.rest));

/** The stage's CMD in exec form. Throws when it is in shell form. */
export function command(stage: Stage): string[] {
  const cmd = instructions(stage, 'CMD').at(-1);
  if (cmd === undefined || !cmd.rest.startsWith('[')) throw new Error('the stage has no CMD in exec form');
  return words(cmd.rest);
}

/** The HEALTHCHECK's command as a shell command line, or undefined without one. */
export function healthcheck(stage: Stage): string | undefined {
  const check = instructions(stage, 'HEALTHCHECK').at(-1);
  const match = check === undefined ? null : /^CMD\s+(.*)$/s.exec(check.rest);
  if (match === null) return undefined;
  return match[1]!.startsWith('[') ? words(match[1]!).join(' ') : match[1]!;
}

/**
 * Whether `path` (relative to the context, `/`-separated) is left out of the build context by
 * the .dockerignore `patterns`: the last pattern matching it or one of its parent directories
 * decides, and a `!` pattern brings back what an earlier one left out. `*` and `?` stay within
 * one path segment, `**` spans any number of them.
 */
export function ignoredBy(patterns: readonly string[], path: string): boolean {
  const parents = path.split('/').map((_, index, segments) => segments.slice(0, index + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const exception = raw.startsWith('!');
    const pattern = posix.normalize((exception ? raw.slice(1) : raw).trim()).replace(/^\/+|\/+$/g, '');
    const regex = patternRegex(pattern);
    if (parents.some((p) => regex.test(p))) ignored = !exception;
  }
  return ignored;
}

function patternRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        source += '(?:.*/)?';
      } else source += '.*';
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** The .dockerignore patterns of a build context (none without the file). */
export function dockerignore(context: string): string[] {
  const file = join(context, '.dockerignore');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/**
 * Copies one COPY's context sources into `root` (the image's `/`), as the builder would:
 * what .dockerignore leaves out of the context is not there to copy. Throws when a source is
 * not in the context.
 */
export function copyFromContext(context: string, copy: Copy, root: string): void {
  const patterns = dockerignore(context);
  for (const source of copy.sources) {
    const from = join(context, source);
    const inContext = posix.normalize(source).replace(/^\.\/|\/$/g, '');
    if (!existsSync(from) || (inContext !== '.' && ignoredBy(patterns, inContext))) throw new Error(`COPY ${source}: not in the build context`);
    const directory = statSync(from).isDirectory();
    // A directory's contents go into the destination; a file goes into it only when it is a directory.
    const to = join(root, copy.destination, directory || !copy.intoDirectory ? '' : basename(from));
    cpSync(from, to, {
      recursive: true,
      filter: (path) => {
        const rel = relative(context, path).split(/[\\/]/).join('/');
        return rel === '' || !ignoredBy(patterns, rel);
      },
    });
  }
}

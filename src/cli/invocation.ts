/**
 * What a `flowchain` command line asks for: help, the version, a command to run, or nothing
 * sensible, in which case a message saying what is wrong and, where a name was mistyped, the
 * nearest one that exists. Only the shape of the line is checked here (commands, option names,
 * whether an option has a value, how many arguments); the values themselves are config.ts's.
 *
 * Pure; throws nothing.
 */
import { parseArgs } from 'node:util';
import { COMMANDS, findCommand, type CommandSpec } from './commands.js';
import { commandHelp, globalHelp, optionsOf } from './help.js';
import { nearest } from './nearest.js';
import { OPTIONS } from './options.js';

/** What the command line asks for. Help and the version exit 0, a usage error 2. */
export type Invocation =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'usage-error'; readonly message: string; readonly hint: string }
  | { readonly kind: 'run'; readonly command: CommandSpec; readonly arguments: readonly string[] };

/** The commands named by one word (`ring`, not `ring admit`). */
const TOP_LEVEL = COMMANDS.filter((command) => !command.name.includes(' '));

/** Every option, typed as parseArgs needs to tell an option's value from an argument. */
const PARSE_OPTIONS = Object.fromEntries(
  [...OPTIONS.values()].map((option) => [option.flag, { type: option.argument === undefined ? ('boolean' as const) : ('string' as const), ...(option.short === undefined ? {} : { short: option.short }) }]),
);

/** The command that words name, and the words after it; or the unknown name and its nearest. */
function resolveCommand(words: readonly string[]): { command: CommandSpec; rest: readonly string[] } | { unknown: string; suggestion: string | undefined } {
  const [first = '', second] = words;
  const top = TOP_LEVEL.find((command) => command.name === first);
  if (top === undefined) return { unknown: first, suggestion: nearest(first, TOP_LEVEL.map((command) => command.name)) };
  const subcommands = COMMANDS.filter((command) => command.name.startsWith(`${top.name} `));
  if (subcommands.length === 0 || second === undefined) return { command: top, rest: words.slice(1) };
  const sub = findCommand(`${top.name} ${second}`);
  if (sub !== undefined) return { command: sub, rest: words.slice(2) };
  const near = nearest(second, subcommands.map((command) => command.name.slice(top.name.length + 1)));
  return { unknown: `${top.name} ${second}`, suggestion: near === undefined ? undefined : `${top.name} ${near}` };
}

const HELP_HINT = "Run 'flowchain help' for the commands.";
const helpHint = (command: CommandSpec): string => `Run 'flowchain help ${command.name}' for what it takes.`;
const unknownCommand = (unknown: string, suggestion: string | undefined): Invocation => ({
  kind: 'usage-error',
  message: `flowchain: unknown command ${unknown}${suggestion === undefined ? '' : `; did you mean ${suggestion}?`}`,
  hint: HELP_HINT,
});
/** A usage error about `command` (or the whole line), its message prefixed as the command's own. */
const usageError = (command: CommandSpec | undefined, message: string): Invocation => ({
  kind: 'usage-error',
  message: `flowchain${command === undefined ? '' : ` ${command.name}`}: ${message}`,
  hint: command === undefined ? HELP_HINT : helpHint(command),
});

/** Which commands take option `flag`, as `flowchain start and flowchain ring take it`. */
function takenBy(flag: string): string {
  const names = COMMANDS.filter((command) => optionsOf(command).some((option) => option.flag === flag)).map((command) => `flowchain ${command.name}`);
  if (names.length === 0) return 'no command takes it';
  return names.length === 1 ? `${names[0]} takes it` : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]} take it`;
}

/** Reads `argv` (the words after `flowchain`). */
export function resolveInvocation(argv: readonly string[]): Invocation {
  // Not strict: an unknown option is reported below with a suggestion, not as parseArgs words it.
  const { tokens } = parseArgs({ args: [...argv], options: PARSE_OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const words = tokens.flatMap((token) => (token.kind === 'positional' ? [token.value] : []));
  const options = tokens.flatMap((token) => (token.kind === 'option' ? [token] : []));
  const resolved = words.length === 0 ? undefined : resolveCommand(words);
  const command = resolved !== undefined && 'command' in resolved ? resolved.command : undefined;

  if (options.some((option) => option.name === 'version')) return { kind: 'version' };
  if (options.some((option) => option.name === 'help')) {
    if (resolved === undefined) return { kind: 'help', text: globalHelp() };
    if (command === undefined) return unknownCommand((resolved as { unknown: string }).unknown, (resolved as { suggestion?: string }).suggestion);
    return { kind: 'help', text: commandHelp(command) };
  }

  const takes = new Map((command === undefined ? [] : optionsOf(command)).map((option) => [option.flag, option]));
  // An option no command knows: the nearest the command takes, else the nearest any command takes.
  for (const option of options) {
    if (OPTIONS.has(option.name)) continue;
    const near = nearest(option.name, takes.keys()) ?? nearest(option.name, OPTIONS.keys());
    const elsewhere = near === undefined || takes.has(near) ? '' : ` (${takenBy(near)})`;
    return usageError(command, `unknown option ${option.rawName}${near === undefined ? '' : `; did you mean --${near}?${elsewhere}`}`);
  }
  if (resolved === undefined) return { kind: 'usage-error', message: 'flowchain: name a command', hint: globalHelp() };
  if (command === undefined) return unknownCommand((resolved as { unknown: string }).unknown, (resolved as { suggestion?: string }).suggestion);

  for (const option of options) {
    const spec = takes.get(option.name);
    if (spec === undefined) return usageError(command, `${option.rawName} is not one of its options (${takenBy(option.name)})`);
    if (spec.argument === undefined && option.value !== undefined) return usageError(command, `${option.rawName} takes no value (it is a switch: give it or leave it out)`);
    if (spec.argument !== undefined && option.value === undefined) return usageError(command, `${option.rawName} needs a value (${spec.argument})`);
    // Node's parser would take an option as the value; a value that starts with - goes after =.
    if (spec.argument !== undefined && !option.inlineValue && option.value!.startsWith('-') && option.value !== '-') {
      return usageError(command, `${option.rawName} needs a value (${spec.argument}), not the option ${option.value}; write ${option.rawName}=${option.value} if that is the value`);
    }
  }

  const rest = (resolved as { rest: readonly string[] }).rest;
  if (command.name === 'help') {
    if (rest.length === 0) return { kind: 'help', text: globalHelp() };
    const described = resolveCommand(rest);
    if ('unknown' in described) return unknownCommand(described.unknown, described.suggestion);
    if (described.rest.length > 0) return usageError(command, `takes one command; ${described.rest.join(' ')} is not part of flowchain ${described.command.name}`);
    return { kind: 'help', text: commandHelp(described.command) };
  }
  const { min, max, names } = command.arguments;
  if (rest.length < min) return usageError(command, `needs ${names}`);
  if (rest.length > max) {
    const extra = rest.slice(max).join(' ');
    return usageError(command, max === 0 ? `takes no arguments, got ${extra}` : `takes ${names} only, got ${extra} too`);
  }
  return { kind: 'run', command, arguments: rest };
}

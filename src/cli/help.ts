/**
 * The text of `flowchain help` and `flowchain help COMMAND` (`flowchain COMMAND --help`), built
 * from the command table and the option table: one line per command, and per option its name,
 * argument, description, default and variable.
 *
 * Pure; throws nothing (a command naming an option options.ts lacks is a test failure, see
 * {@link optionsOf}).
 */
import { COMMANDS, type CommandSpec } from './commands.js';
import { OPTIONS, type OptionHelp } from './options.js';

/** The options --help and --version, which every command takes. */
const ALWAYS = ['help', 'version'] as const;

/** The options `command` takes, with its own wording applied, --help and --version last. */
export function optionsOf(command: CommandSpec): OptionHelp[] {
  const own = command.options.map((option) => {
    const { flag, ...wording } = typeof option === 'string' ? { flag: option } : option;
    const base = OPTIONS.get(flag);
    if (base === undefined) throw new TypeError(`flowchain ${command.name} lists an option options.ts does not define: --${flag}`);
    return { ...base, ...wording };
  });
  return [...own, ...ALWAYS.map((flag) => OPTIONS.get(flag)!)];
}

/** `--port PORT`, `-h, --help`. */
const nameOf = (option: OptionHelp): string => `${option.short === undefined ? '' : `-${option.short}, `}--${option.flag}${option.argument === undefined ? '' : ` ${option.argument}`}`;

/** One line per option: name and argument, then description, default and variable. */
function optionLines(options: readonly OptionHelp[]): string[] {
  const width = Math.max(...options.map((option) => nameOf(option).length)) + 2;
  return options.map((option) => {
    const notes = [...(option.default === undefined ? [] : [`default: ${option.default}`]), ...(option.env === undefined ? [] : [`env: ${option.env}`])];
    return `  ${nameOf(option).padEnd(width)}${option.description}${notes.length === 0 ? '' : ` [${notes.join('; ')}]`}`;
  });
}

/** One line per command: its name and summary. */
function commandLines(commands: readonly CommandSpec[]): string[] {
  const width = Math.max(...commands.map((command) => command.name.length)) + 2;
  return commands.map((command) => `  ${command.name.padEnd(width)}${command.summary}`);
}

/** `text` broken into lines of at most `width` characters, between words. */
function wrap(text: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return line === '' ? lines : [...lines, line];
}

/** What `flowchain help` prints: every command, and where to read more. */
export function globalHelp(): string {
  return [
    'Usage: flowchain COMMAND [options]',
    '',
    'Commands:',
    ...commandLines(COMMANDS),
    '',
    'Options of every command:',
    ...optionLines(ALWAYS.map((flag) => OPTIONS.get(flag)!)),
    '',
    "Run 'flowchain help COMMAND' (or 'flowchain COMMAND --help') for the options of a command.",
    'Configuration comes from defaults < a --config JSON file < FLOWCHAIN_* variables < flags.',
    ...wrap('Exit status: 0 on success (help and --version included), 1 when the command fails, 2 when the command line is wrong.'),
  ].join('\n');
}

/** What `flowchain help COMMAND` prints: its synopsis, description, sub-commands and options. */
export function commandHelp(command: CommandSpec): string {
  const subcommands = COMMANDS.filter((other) => other.name.startsWith(`${command.name} `));
  return [
    ...command.usage.map((usage, i) => `${i === 0 ? 'Usage:' : '      '} flowchain ${command.name} ${usage}`),
    '',
    ...command.description.flatMap((paragraph) => wrap(paragraph)),
    ...(subcommands.length === 0 ? [] : ['', 'Commands:', ...commandLines(subcommands)]),
    '',
    'Options:',
    ...optionLines(optionsOf(command)),
  ].join('\n');
}

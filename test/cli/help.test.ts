import t from 'tap';
import { COMMANDS, findCommand } from '../../src/cli/commands.js';
import { commandHelp, globalHelp, optionsOf } from '../../src/cli/help.js';

t.test('the command list has one line per command with its summary', async (t) => {
  const text = globalHelp();
  for (const command of COMMANDS) t.match(text, new RegExp(`^ {2}${command.name} +${command.summary.replace(/[()]/g, '\\$&')}$`, 'm'), command.name);
  t.match(text, /^ {2}-h, --help +print this help/m);
  t.match(text, /^ {2}--version +print flowchain's version/m);
});

t.test("a command's help has a line per option: name, argument, description, default and variable", async (t) => {
  const start = commandHelp(findCommand('start')!);
  t.match(start, /^Usage: flowchain start \[options\]$/m);
  t.match(start, /^ {2}--port PORT +TCP port of the HTTP API.* \[default: 8080; env: FLOWCHAIN_PORT\]$/m);
  t.match(start, /^ {2}--discover +announce this node .* \[default: off; env: FLOWCHAIN_DISCOVER\]$/m);
  t.match(start, /^ {2}--config FILE +JSON file .*\[env: FLOWCHAIN_CONFIG\]$/m);
  t.notMatch(start, /--nodes/, 'an option of another command is not listed');
  t.notMatch(start, /--authority/);
});

t.test('a command may word an option its own way', async (t) => {
  const ring = commandHelp(findCommand('ring')!);
  t.match(ring, /^ {2}--port PORT +the first node's HTTP port; node I listens on PORT\+I/m);
  t.match(ring, /^ {2}ring admit +admit a node/m, 'its sub-commands are listed');
  t.match(commandHelp(findCommand('ring admit')!), /^ {2}--days N +how many days .*\[default: 365\]$/m);
  t.match(commandHelp(findCommand('verify-receipt')!), /^Usage: flowchain verify-receipt FILE/m);
});

t.test('every option a command lists is defined, once, and every command takes --help and --version', async (t) => {
  for (const command of COMMANDS) {
    const flags = optionsOf(command).map((option) => option.flag);
    t.equal(new Set(flags).size, flags.length, `${command.name} lists each option once`);
    t.ok(flags.includes('help') && flags.includes('version'), command.name);
  }
});

t.test('help text lines stay readable: descriptions are wrapped, option lines are one per option', async (t) => {
  for (const command of COMMANDS) {
    const text = commandHelp(command);
    const [, options = ''] = text.split('\nOptions:\n');
    const prose = text.slice(0, text.indexOf('\nOptions:\n')).split('\n');
    t.ok(prose.every((line) => line.length <= 100), `${command.name}: prose within 100 columns`);
    t.equal(options.split('\n').length, optionsOf(command).length, `${command.name}: one line per option`);
  }
});

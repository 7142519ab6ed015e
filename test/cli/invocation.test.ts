import t, { type Test } from 'tap';
import { resolveInvocation, type Invocation } from '../../src/cli/invocation.js';

/** The usage error's message (and hint), or a failure when the line resolved to something else. */
function usageError(t: Test, argv: string[]): { message: string; hint: string } {
  const invocation: Invocation = resolveInvocation(argv);
  if (invocation.kind !== 'usage-error') {
    t.fail(`${argv.join(' ')}: expected a usage error, got ${invocation.kind}`);
    return { message: '', hint: '' };
  }
  return invocation;
}

t.test('--help, -h and help print the commands, or the help of the command named', async (t) => {
  for (const argv of [['--help'], ['-h'], ['help']]) t.match(resolveInvocation(argv), { kind: 'help', text: /^Usage: flowchain COMMAND/ }, argv.join(' '));
  for (const argv of [['start', '--help'], ['help', 'start'], ['start', '--prot', '-h']]) {
    t.match(resolveInvocation(argv), { kind: 'help', text: /^Usage: flowchain start \[options\]/ }, argv.join(' '));
  }
  t.match(resolveInvocation(['ring', 'admit', '--help']), { kind: 'help', text: /^Usage: flowchain ring admit/ });
  t.match(resolveInvocation(['help', 'ring', 'admit']), { kind: 'help', text: /^Usage: flowchain ring admit/ });
  t.match(resolveInvocation(['help', 'ring']), { kind: 'help', text: /^Usage: flowchain ring \[--nodes N\]/ });
});

t.test('--version asks for the version, with or without a command', async (t) => {
  t.same(resolveInvocation(['--version']), { kind: 'version' });
  t.same(resolveInvocation(['start', '--version']), { kind: 'version' });
});

t.test('an unknown option names the nearest option of the command', async (t) => {
  t.match(usageError(t, ['start', '--prot', '8080']), { message: 'flowchain start: unknown option --prot; did you mean --port?', hint: "Run 'flowchain help start' for what it takes." });
  t.equal(usageError(t, ['--prot']).message, 'flowchain: unknown option --prot; did you mean --port? (flowchain start and flowchain ring take it)');
  t.equal(usageError(t, ['verify', '--dat', 'x']).message, 'flowchain verify: unknown option --dat; did you mean --data?');
  t.equal(usageError(t, ['start', '--frobnicate']).message, 'flowchain start: unknown option --frobnicate');
  t.equal(usageError(t, ['start', '-x']).message, 'flowchain start: unknown option -x');
});

t.test('an unknown command or sub-command names the nearest command', async (t) => {
  t.match(usageError(t, ['strat']), { message: 'flowchain: unknown command strat; did you mean start?', hint: "Run 'flowchain help' for the commands." });
  t.equal(usageError(t, ['verify-reciept', 'r.json']).message, 'flowchain: unknown command verify-reciept; did you mean verify-receipt?');
  t.equal(usageError(t, ['ring', 'admitt']).message, 'flowchain: unknown command ring admitt; did you mean ring admit?');
  t.equal(usageError(t, ['frobnicate']).message, 'flowchain: unknown command frobnicate');
  t.equal(usageError(t, ['help', 'strat']).message, 'flowchain: unknown command strat; did you mean start?');
  t.equal(usageError(t, ['strat', '--help']).message, 'flowchain: unknown command strat; did you mean start?');
});

t.test('no command prints the commands as a usage error', async (t) => {
  const { message, hint } = usageError(t, []);
  t.equal(message, 'flowchain: name a command');
  t.match(hint, /^Usage: flowchain COMMAND/);
});

t.test("an option another command takes, a switch with a value and an option without one are usage errors", async (t) => {
  t.equal(usageError(t, ['verify', '--port', '1']).message, 'flowchain verify: --port is not one of its options (flowchain start and flowchain ring take it)');
  t.equal(usageError(t, ['start', '--nodes', '3']).message, 'flowchain start: --nodes is not one of its options (flowchain ring takes it)');
  t.equal(usageError(t, ['start', '--discover=yes']).message, 'flowchain start: --discover takes no value (it is a switch: give it or leave it out)');
  t.equal(usageError(t, ['start', '--port']).message, 'flowchain start: --port needs a value (PORT)');
  t.match(usageError(t, ['start', '--join', '--port', '1']).message, /^flowchain start: --join needs a value \(URL\), not the option --port; write --join=--port/);
});

t.test('arguments are counted: verify-receipt takes one (a file or -), the others none', async (t) => {
  t.equal(usageError(t, ['verify-receipt']).message, 'flowchain verify-receipt: needs FILE (or - for stdin)');
  t.equal(usageError(t, ['verify-receipt', 'a.json', 'b.json']).message, 'flowchain verify-receipt: takes FILE (or - for stdin) only, got b.json too');
  t.equal(usageError(t, ['start', 'now']).message, 'flowchain start: takes no arguments, got now');
  t.match(resolveInvocation(['verify-receipt', '-', '--anchor-rpc', 'http://127.0.0.1:8545']), { kind: 'run', command: { name: 'verify-receipt' }, arguments: ['-'] });
  t.match(resolveInvocation(['verify-receipt', '--anchor-rpc=http://x', 'r.json']), { kind: 'run', arguments: ['r.json'] });
});

t.test('a well-formed line runs its command with the arguments after its name', async (t) => {
  t.match(resolveInvocation(['start', '--port', '0', '--discover']), { kind: 'run', command: { name: 'start' }, arguments: [] });
  t.match(resolveInvocation(['ring', '--nodes', '3']), { kind: 'run', command: { name: 'ring' }, arguments: [] });
  t.match(resolveInvocation(['ring', 'admit', '--authority', 'a', '--data', 'd']), { kind: 'run', command: { name: 'ring admit' }, arguments: [] });
  t.match(resolveInvocation(['--data', 'd', 'verify']), { kind: 'run', command: { name: 'verify' } }, 'options may come first');
});

t.test('flowchain start takes every node setting config.ts parses, each with a value or as a switch', async (t) => {
  const { usage } = await import('../../src/config.js');
  const flags = [...usage().matchAll(/--([a-z0-9-]+)/g)].map((match) => match[1]!).filter((flag) => !['nodes', 'help', 'version', 'authority', 'days', 'key', 'out', 'node'].includes(flag)); // ring's count and the authority commands' own
  t.ok(flags.includes('handler-timeout') && flags.includes('mqtt-port') && flags.includes('coap-port'), 'the newest settings among them');
  for (const flag of new Set(flags)) {
    const { OPTIONS } = await import('../../src/cli/options.js');
    const argv = OPTIONS.get(flag)?.argument === undefined ? ['start', `--${flag}`] : ['start', `--${flag}`, '1'];
    t.equal(resolveInvocation(argv).kind, 'run', argv.join(' '));
  }
});

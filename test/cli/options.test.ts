import t from 'tap';
import { COMMAND_FLAGS, parseCommandLine, usage } from '../../src/config.js';
import { OPTIONS } from '../../src/cli/options.js';

/** The rows of config.ts's own option list: flag and variable. */
const configRows = () => [...usage().matchAll(/^ {2}--(\S+)\s+(FLOWCHAIN_\S+)/gm)].map(([, flag, env]) => ({ flag: flag!, env: env! }));

t.test('the help table has every option config.ts parses, with the same variable', async (t) => {
  const rows = configRows();
  t.ok(rows.length > 40, `config.ts lists ${rows.length} options`);
  for (const { flag, env } of rows) t.equal(OPTIONS.get(flag)?.env, env, `--${flag} is ${env}`);
  for (const flag of COMMAND_FLAGS) t.ok(OPTIONS.get(flag)?.argument, `--${flag} takes a value`);
});

t.test('every option in the help table is one the configuration parser accepts, as a switch or with a value', async (t) => {
  const parse = (argv: string[]) => parseCommandLine({ argv, env: {}, readFile: () => '{}', defaultThings: 'things' });
  for (const option of OPTIONS.values()) {
    if (option.flag === 'version') continue; // answered by the CLI before configuration is read
    const argv = option.argument === undefined ? ['start', `--${option.flag}`] : ['start', `--${option.flag}=x`];
    // A value the option refuses is fine (FLOWCHAIN_ERR_CONFIG_INVALID naming it); an unknown option is not.
    let field: string | undefined;
    try {
      parse(argv);
    } catch (err) {
      field = (err as { field?: string }).field;
    }
    t.not(field, 'command line', `--${option.flag} is known to the parser`);
  }
});

t.test('defaults come from config.ts, and every option has a description', async (t) => {
  t.equal(OPTIONS.get('port')?.default, '8080');
  t.equal(OPTIONS.get('discover')?.default, 'off');
  t.equal(OPTIONS.get('cors-origins')?.default, 'none: same origin only');
  t.equal(OPTIONS.get('mining-share')?.default, '0.1');
  for (const option of OPTIONS.values()) t.ok(option.description.length > 10, `--${option.flag} is described`);
});

t.test('the retention options state their defaults as durations', async (t) => {
  t.match(OPTIONS.get('retain-history'), { argument: 'DURATION', default: '30d', env: 'FLOWCHAIN_RETAIN_HISTORY' });
  t.match(OPTIONS.get('retain-ledger'), { argument: 'DURATION', default: '90d', env: 'FLOWCHAIN_RETAIN_LEDGER' });
});

import t from 'tap';
import { selfSignedCertificate } from './helpers/self-signed.js';
import { DEFAULTS, minimumLedgerRetention, parseCommandLine, readAnchorKey, readAuthToken, readBasicCredentials, readTlsFiles, usage, type ConfigSources } from '../src/config.js';

const files: Record<string, string> = {
  'good.json': JSON.stringify({ port: 9000, host: '127.0.0.1', logLevel: 'debug' }),
  'typo.json': JSON.stringify({ prot: 9000 }),
  'bad-port.json': JSON.stringify({ port: 'eighty' }),
  'broken.json': '{ port: ',
  'array.json': '[]',
};
const sources = (argv: string[], env: Record<string, string> = {}): ConfigSources => ({
  argv,
  env,
  defaultThings: '/bundled/things',
  readFile: (path) => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: ${path}`);
    return text;
  },
});

t.test('defaults apply when nothing is given', async (t) => {
  const { command, config } = parseCommandLine(sources(['start']));
  t.equal(command, 'start');
  t.same(config, { ...DEFAULTS, things: '/bundled/things' });
});

t.test('flags beat environment, environment beats the config file, the file beats defaults', async (t) => {
  const { config } = parseCommandLine(
    sources(['start', '--config', 'good.json', '--port', '7000'], { FLOWCHAIN_PORT: '8000', FLOWCHAIN_HOST: '::1', FLOWCHAIN_SEED: '5' }),
  );
  t.equal(config.port, 7000, 'flag');
  t.equal(config.host, '::1', 'environment over file');
  t.equal(config.logLevel, 'debug', 'file over default');
  t.equal(config.seed, 5);
  t.equal(config.data, './data', 'default');
});

t.test('FLOWCHAIN_CONFIG names the config file too', async (t) => {
  t.equal(parseCommandLine(sources(['start'], { FLOWCHAIN_CONFIG: 'good.json' })).config.port, 9000);
});

t.test('the npm start form works: --port P --host 127.0.0.1 --data DIR', async (t) => {
  const { config } = parseCommandLine(sources(['start', '--port', '0', '--host', '127.0.0.1', '--data', '/tmp/x']));
  t.match(config, { port: 0, host: '127.0.0.1', data: '/tmp/x' });
});

t.test('a public URL gets a trailing slash', async (t) => {
  t.equal(parseCommandLine(sources(['start', '--public-url', 'https://plant.example/fc'])).config.publicUrl, 'https://plant.example/fc/');
});

t.test('bad values fail with FLOWCHAIN_ERR_CONFIG_INVALID naming where they came from', async (t) => {
  const cases: [string[], Record<string, string>, string][] = [
    [['start', '--port', '70000'], {}, '--port'],
    [['start', '--port', '80a'], {}, '--port'],
    [['start'], { FLOWCHAIN_PORT: '-1' }, 'FLOWCHAIN_PORT'],
    [['start', '--log-level', 'loud'], {}, '--log-level'],
    [['start', '--public-url', 'ftp://x'], {}, '--public-url'],
    [['start', '--public-url', 'not a url'], {}, '--public-url'],
    [['start', '--body-limit', '10'], {}, '--body-limit'],
    [['start', '--host', ' '], {}, '--host'],
    [['start', '--config', 'typo.json'], {}, 'typo.json: prot'],
    [['start', '--config', 'bad-port.json'], {}, 'bad-port.json: port'],
    [['start', '--config', 'broken.json'], {}, 'broken.json'],
    [['start', '--config', 'array.json'], {}, 'array.json'],
    [['start', '--config', 'missing.json'], {}, 'missing.json'],
    [['start', '--no-such-flag'], {}, 'command line'],
    [['start', '--anchor', 'bitcoin'], {}, '--anchor'],
    [['start', '--anchor', 'ethereum', '--anchor-rpc', 'http://127.0.0.1:8545'], {}, '--anchor'],
    [['start', '--difficulty', '0'], {}, '--difficulty'],
    [['start', '--block-interval', '5'], {}, '--block-interval'],
    [['start', '--headers-timeout', '0'], {}, '--headers-timeout'],
    [['start', '--request-timeout', 'soon'], {}, '--request-timeout'],
    [['start'], { FLOWCHAIN_KEEP_ALIVE_TIMEOUT: '0' }, 'FLOWCHAIN_KEEP_ALIVE_TIMEOUT'],
    [['start', '--max-connections', '0'], {}, '--max-connections'],
  ];
  for (const [argv, env, field] of cases) {
    t.throws(() => parseCommandLine(sources(argv, env)), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field }, argv.join(' '));
  }
});

t.test('a public URL must be an http(s) URL with a port from 1 to 65535, and no credentials, query or fragment', async (t) => {
  for (const bad of ['http://x:99999/', 'http://x:65536/', 'http://x:0/', 'http://user:secret@x/', 'http://x/?a=1', 'http://x/#top']) {
    t.throws(() => parseCommandLine(sources(['start', '--public-url', bad])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--public-url' }, bad);
  }
  t.throws(() => parseCommandLine(sources(['start'], { FLOWCHAIN_PUBLIC_URL: 'http://x:99999/' })), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'FLOWCHAIN_PUBLIC_URL' });
  t.equal(parseCommandLine(sources(['start', '--public-url', 'http://x:65535'])).config.publicUrl, 'http://x:65535/');
  t.equal(parseCommandLine(sources(['start', '--public-url', 'http://x:1/fc'])).config.publicUrl, 'http://x:1/fc/');
});

t.test('the HTTP timeouts and the connection cap have defaults and take flags and environment variables', async (t) => {
  t.match(DEFAULTS, { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, maxConnections: 1_024 });
  const { config } = parseCommandLine(
    sources(['start', '--headers-timeout', '2000', '--request-timeout', '4000', '--keep-alive-timeout', '1000'], { FLOWCHAIN_MAX_CONNECTIONS: '64' }),
  );
  t.match(config, { headersTimeoutMs: 2_000, requestTimeoutMs: 4_000, keepAliveTimeoutMs: 1_000, maxConnections: 64 });
});

t.test('CORS origins: none by default; a comma-separated flag or environment variable, or *; anything but an origin fails with FLOWCHAIN_ERR_CONFIG_INVALID', async (t) => {
  t.same(DEFAULTS.corsOrigins, []);
  t.same(parseCommandLine(sources(['start', '--cors-origins', 'https://playground.example, http://localhost:8081'])).config.corsOrigins, ['https://playground.example', 'http://localhost:8081']);
  t.same(parseCommandLine(sources(['start'], { FLOWCHAIN_CORS_ORIGINS: '*' })).config.corsOrigins, ['*']);
  t.same(parseCommandLine(sources(['start', '--cors-origins', 'https://a.example:443'])).config.corsOrigins, ['https://a.example'], 'the default port is the origin\'s');
  for (const bad of ['ftp://a.example', 'https://a.example/path', 'https://a.example/', 'not a url']) {
    t.throws(() => parseCommandLine(sources(['start', '--cors-origins', bad])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--cors-origins' }, bad);
  }
  t.match(usage(), '--cors-origins');
});

t.test('a headers timeout longer than the request timeout fails with FLOWCHAIN_ERR_CONFIG_INVALID', async (t) => {
  t.throws(() => parseCommandLine(sources(['start', '--headers-timeout', '20000', '--request-timeout', '10000'])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--headers-timeout' });
});

t.test('--help is recognised and the usage lists every option', async (t) => {
  t.equal(parseCommandLine(sources(['--help'])).help, true);
  for (const flag of ['--port', '--host', '--data', '--things', '--config', '--auth-token-file', '--basic-auth-file', '--tls-cert', '--tls-key', 'FLOWCHAIN_PORT']) t.match(usage(), flag);
});

t.test('the auth token is read from its file, trimmed, and must be long enough', async (t) => {
  t.equal(readAuthToken('f', () => '  0123456789abcdef0123\n'), '0123456789abcdef0123');
  t.throws(() => readAuthToken('f', () => 'short'), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'auth-token-file' });
  t.throws(() => readAuthToken('f', () => 'two tokens-of-some-length'), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' });
  t.throws(() => readAuthToken('f', () => { throw new Error('EACCES'); }), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' });
});

t.test('Basic credentials are read from their file: user:password lines, passwords as long as a token', async (t) => {
  const password = 'a-basic-password-of-length';
  t.same(readBasicCredentials('b', () => `# operators\nops:${password}\n\n  élodie:${password}:with:colons  \r\n`), [
    { user: 'ops', password },
    { user: 'élodie', password: `${password}:with:colons` },
  ], 'comments and blank lines skipped, surrounding whitespace trimmed, a password may hold colons');
  t.equal(parseCommandLine(sources(['start', '--basic-auth-file', '/etc/fc/users'])).config.basicAuthFile, '/etc/fc/users');
  t.equal(parseCommandLine(sources(['start'], { FLOWCHAIN_BASIC_AUTH_FILE: '/etc/fc/users' })).config.basicAuthFile, '/etc/fc/users');
  for (const [text, why] of [
    ['ops:short', 'a short password'],
    [`:${password}`, 'no user'],
    [password, 'no colon'],
    [`ops:${password}\nops:${password}x`, 'a user twice'],
    [`ops:${password}\u0007`, 'a control character'],
    ['# nothing\n\n', 'no line at all'],
  ] as const) {
    t.throws(() => readBasicCredentials('users.txt', () => text), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'basic-auth-file' }, why);
    try {
      readBasicCredentials('users.txt', () => text);
    } catch (err) {
      t.match((err as Error).message, /^basic-auth-file: users\.txt/, `${why}: the message names the file`);
      t.notMatch((err as Error).message, password, `${why}: and never the password`);
    }
  }
  t.throws(() => readBasicCredentials('missing', () => { throw new Error('ENOENT'); }), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'basic-auth-file', message: /missing/ });
});

t.test('--tls-cert and --tls-key: files read and checked before anything listens', async (t) => {
  const { cert, key } = selfSignedCertificate();
  const other = selfSignedCertificate();
  const files: Record<string, string> = { 'cert.pem': cert, 'key.pem': key, 'other-key.pem': other.key, 'junk.pem': 'not PEM at all' };
  const read = (path: string) => {
    if (!(path in files)) throw new Error(`ENOENT: no such file, open '${path}'`);
    return files[path]!;
  };
  t.same(readTlsFiles('cert.pem', 'key.pem', read), { cert, key });
  for (const [certPath, keyPath, field, message] of [
    ['missing.pem', 'key.pem', 'tls-cert', /cannot read missing\.pem/],
    ['cert.pem', 'missing.pem', 'tls-key', /cannot read missing\.pem/],
    ['junk.pem', 'key.pem', 'tls-cert', /junk\.pem is not a PEM certificate/],
    ['cert.pem', 'junk.pem', 'tls-key', /junk\.pem is not a PEM private key/],
    ['key.pem', 'key.pem', 'tls-cert', /key\.pem is not a PEM certificate/],
    ['cert.pem', 'other-key.pem', 'tls-key', /other-key\.pem is not the private key of the certificate in cert\.pem/],
  ] as const) {
    t.throws(() => readTlsFiles(certPath, keyPath, read), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field, message }, `${certPath} ${keyPath}`);
  }
  t.match(parseCommandLine(sources(['start', '--tls-cert', 'c', '--tls-key', 'k'])).config, { tlsCert: 'c', tlsKey: 'k' });
  t.match(parseCommandLine(sources(['start'], { FLOWCHAIN_TLS_CERT: 'c', FLOWCHAIN_TLS_KEY: 'k' })).config, { tlsCert: 'c', tlsKey: 'k' });
  t.throws(() => parseCommandLine(sources(['start', '--tls-cert', 'c'])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--tls-key' }, 'one without the other');
  t.throws(() => parseCommandLine(sources(['start', '--tls-key', 'k'])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--tls-cert' });
  t.throws(() => parseCommandLine(sources(['start', '--tls-cert', 'c', '--tls-key', 'k', '--public-url', 'http://node.local:8080'])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--public-url' }, 'HTTPS on the port, http:// in the TDs');
  t.equal(parseCommandLine(sources(['start', '--tls-cert', 'c', '--tls-key', 'k', '--public-url', 'https://node.local:8443'])).config.publicUrl, 'https://node.local:8443/');
});

t.test('the ledger options: positionals after the command, and the anchoring key from its file', async (t) => {
  const line = parseCommandLine(sources(['verify-receipt', 'r.json', '--anchor-rpc', 'http://127.0.0.1:8545']));
  t.same(line.positionals, ['r.json']);
  t.equal(line.config.anchorRpc, 'http://127.0.0.1:8545/');
  t.match(parseCommandLine(sources(['start'])).config, { anchor: 'none', blockIntervalMs: 1_000, maxBlockTx: 4_096, difficulty: 1_024, stake: 1, miningShare: 0.1 });
  const key = `0x${'ab'.repeat(32)}`;
  t.equal(readAnchorKey('k', () => `${key}\n`), key);
  t.throws(() => readAnchorKey('k', () => 'ab'.repeat(32)), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'anchor-key-file' }, 'without 0x');
  t.throws(() => readAnchorKey('k', () => { throw new Error('ENOENT'); }), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' });
});

t.test('the ring options: peer port and URL, membership directory, join URLs, mining share', async (t) => {
  const line = parseCommandLine(sources(['start', '--peer-port', '0', '--peer-url', 'wss://node.local:9443', '--membership', '/etc/flowchain/ring', '--join', 'http://10.0.0.2:8080', '--mining-share', '0.05']));
  t.match(line.config, { peerPort: 0, peerUrl: 'wss://node.local:9443/', membership: '/etc/flowchain/ring', join: 'http://10.0.0.2:8080/', miningShare: 0.05 });
  t.match(parseCommandLine(sources(['start'])).config, { peerPort: 9080, peerUrl: undefined, membership: undefined });
  t.throws(() => parseCommandLine(sources(['start', '--peer-url', 'http://node.local:9443'])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--peer-url' });
  t.throws(() => parseCommandLine(sources(['start', '--peer-port', '70000'])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--peer-port' });
  t.throws(() => parseCommandLine(sources(['start', '--mining-share', '2'])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--mining-share' });
  t.throws(() => parseCommandLine(sources(['start', '--join', 'ftp://x'])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--join' });
  const ring = parseCommandLine(sources(['ring', 'admit', '--authority', 'auth', '--key', 'ab'.repeat(32), '--out', 'm', '--days', '30']));
  t.same(ring.positionals, ['admit']);
  t.same(ring.commandFlags, { authority: 'auth', key: 'ab'.repeat(32), out: 'm', days: '30' });
});

t.test('--discover takes no value; FLOWCHAIN_DISCOVER is true/false or 1/0; --discover-wait is milliseconds', async (t) => {
  t.match(DEFAULTS, { discover: false, discoverWaitMs: 3_000 });
  t.match(parseCommandLine(sources(['start', '--discover', '--discover-wait', '500'])).config, { discover: true, discoverWaitMs: 500 });
  t.match(parseCommandLine(sources(['start'], { FLOWCHAIN_DISCOVER: '1' })).config, { discover: true });
  t.match(parseCommandLine(sources(['start'], { FLOWCHAIN_DISCOVER: 'false' })).config, { discover: false });
  t.throws(() => parseCommandLine(sources(['start'], { FLOWCHAIN_DISCOVER: 'yes please' })), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'FLOWCHAIN_DISCOVER' });
  t.throws(() => parseCommandLine(sources(['start', '--discover-wait', '5'])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--discover-wait' });
});

t.test('the node\'s default handler timeout is the Thing runtime\'s own', async (t) => {
  const { DEFAULT_HANDLER_TIMEOUT_MS } = await import('../src/thing/exposed-thing.js');
  t.equal(DEFAULTS.handlerTimeoutMs, DEFAULT_HANDLER_TIMEOUT_MS);
});

t.test('retention: 30 days of history and 90 of ledger by default; durations or forever from flags, variables and files', async (t) => {
  t.match(parseCommandLine(sources(['start'])).config, { retainHistory: 30 * 86_400_000, retainLedger: 90 * 86_400_000 });
  t.match(parseCommandLine(sources(['start', '--retain-history', '12h', '--retain-ledger', 'P7D'])).config, { retainHistory: 12 * 3_600_000, retainLedger: 7 * 86_400_000 });
  t.match(parseCommandLine(sources(['start'], { FLOWCHAIN_RETAIN_HISTORY: '2w', FLOWCHAIN_RETAIN_LEDGER: 'forever' })).config, { retainHistory: 14 * 86_400_000, retainLedger: Infinity });
  files['retain.json'] = JSON.stringify({ retainLedger: 60_000, retainHistory: '1d' });
  t.match(parseCommandLine(sources(['start', '--config', 'retain.json'])).config, { retainHistory: 86_400_000, retainLedger: 60_000 });
  t.match(usage(), /--retain-ledger +FLOWCHAIN_RETAIN_LEDGER +default 90d$/m);
  for (const bad of ['0d', '-1d', '30', 'soon', 'P1M', '']) {
    t.throws(() => parseCommandLine(sources(['start', `--retain-history=${bad}`])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--retain-history' }, `--retain-history ${bad}`);
  }
  t.throws(() => parseCommandLine(sources(['start'], { FLOWCHAIN_RETAIN_LEDGER: 'off' })), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'FLOWCHAIN_RETAIN_LEDGER' });
  files['retain-zero.json'] = JSON.stringify({ retainHistory: 0 });
  t.throws(() => parseCommandLine(sources(['start', '--config', 'retain-zero.json'])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: 'retain-zero.json: retainHistory' });
});

t.test('with anchoring, a ledger retention shorter than two anchor intervals and --anchor-every blocks is refused naming --retain-ledger', async (t) => {
  const anchored = ['start', '--anchor', 'ethereum', '--anchor-rpc', 'http://127.0.0.1:8545', '--anchor-key-file', 'k'];
  t.equal(minimumLedgerRetention(DEFAULTS), 2 * 60_000 + 10 * 1_000);
  // Defaults: 2 × 60 s + 10 × 1 s = 130 s.
  t.throws(() => parseCommandLine(sources([...anchored, '--retain-ledger', '129s'])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--retain-ledger' });
  t.equal(parseCommandLine(sources([...anchored, '--retain-ledger', '130s'])).config.retainLedger, 130_000);
  // The rule follows the anchoring settings.
  t.throws(() => parseCommandLine(sources([...anchored, '--retain-ledger', '1h', '--anchor-interval', '1800000', '--anchor-every', '100'])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID', field: '--retain-ledger' });
  t.equal(parseCommandLine(sources([...anchored, '--retain-ledger', 'forever'])).config.retainLedger, Infinity);
  // Without anchoring, age alone decides: any positive retention will do.
  t.equal(parseCommandLine(sources(['start', '--retain-ledger', '1s'])).config.retainLedger, 1_000);
});

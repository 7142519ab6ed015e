/**
 * HTTP property benchmarks: GET and PUT of thermostat/targetTemperature on the real servient,
 * each against a bare fastify route at the same URL, measured in the same run. The thermostat
 * is a device written on the public API (src/devices/thermostat.ts): the GET is answered by its
 * read handler and the PUT goes through its write handler, as a user's own Thing would.
 *
 * Both servers run in child processes at the same time (one idles while the other is
 * measured); autocannon runs here, so server and load generator each get a core. The two
 * sides are measured in alternating windows (ABBA ABBA) so machine noise hits both alike.
 */
import autocannon from 'autocannon';
import { alternatingPairs, HOST, INITIAL_TARGET, interleave, machineBusyUs, PLAIN_PROPERTY_PATH, problemsOf, PROPERTY_PATH, ServerProcess, totals, windowFigures } from './lib/common.mjs';
import { median } from './lib/format.mjs';

const CONNECTIONS = 50;
const PIPELINING = 1;

/** Bodies the PUT benchmark alternates between: both valid (5..30, multipleOf 0.5). */
const PUT_BODIES = ['21.5', '22'];

function cannon(options) {
  return autocannon({ connections: CONNECTIONS, pipelining: PIPELINING, timeout: 10, ...options });
}

async function expectResponse(url, init, status, body) {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  if (response.status !== status || (body !== undefined && text !== body)) {
    throw new Error(`${init.method ?? 'GET'} ${url} answered ${response.status} ${JSON.stringify(text)}, expected ${status} ${JSON.stringify(body ?? '')}`);
  }
}

/**
 * Eight pairs: this machine's speed moves by up to 2x within a minute (the host's load, which
 * /proc/stat does not show), and a ratio over eight short pairs moves less than over four.
 */
const HTTP_PAIRS = alternatingPairs(8);

/**
 * Starts both servers, checks each answers correctly, warms each up, measures them in
 * interleaved windows, stops them and checks what they left behind.
 */
async function compare({ name, target, sides, request, expectedStatus, warmupS, durationS, log }) {
  const running = sides.map((spec) => ({ ...spec, server: new ServerProcess(), problems: [] }));
  try {
    for (const side of running) {
      side.url = `http://${HOST}:${await side.server.start(side.kind)}${side.path ?? PROPERTY_PATH}`;
      await side.check(side.url);
    }
    for (const side of running) {
      log(`  ${side.label}: warm-up ${warmupS}s`);
      const warm = await cannon({ url: side.url, duration: warmupS, ...request });
      side.problems.push(...problemsOf(warm, expectedStatus).map((p) => `warm-up: ${p}`));
    }
    const windowS = durationS / HTTP_PAIRS.length;
    const { windows, pairRatios, pairs, clean } = await interleave(
      running,
      windowS,
      async (side, seconds) => {
        await side.server.request('cpuMark');
        const loadBefore = process.cpuUsage();
        const machineBefore = machineBusyUs();
        const result = await cannon({ url: side.url, duration: seconds, ...request });
        const machineUs = machineBusyUs() - machineBefore;
        const load = process.cpuUsage(loadBefore);
        const cpu = await side.server.request('cpuRead');
        side.problems.push(...problemsOf(result, expectedStatus));
        const serverCpuUs = cpu.userUs + cpu.systemUs;
        const loadCpuUs = load.user + load.system;
        return {
          ...windowFigures(result, { serverCpuUs, loadCpuUs, machineUs }),
          statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count])),
        };
      },
      log,
      { plan: HTTP_PAIRS },
    );
    const reports = [];
    for (const [i, side] of running.entries()) {
      const stopped = await side.server.stop();
      side.problems.push(...(side.verifyStopped?.(stopped) ?? []));
      const statusCodes = {};
      for (const w of windows[i]) for (const [code, count] of Object.entries(w.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + count;
      reports.push({
        label: side.label,
        ...totals(windows[i]),
        p50Ms: median(windows[i].map((w) => w.p50)),
        p99Ms: Math.max(...windows[i].map((w) => w.p99)),
        statusCodes,
        afterStop: stopped,
        windows: windows[i],
        problems: [...new Set(side.problems)],
      });
    }
    const [baseline, subject] = reports;
    return { name, unit: 'req/s', baseline, subject, ratio: subject.rate / baseline.rate, pairRatios, pairs, clean, target };
  } finally {
    await Promise.all(running.map((side) => side.server.stop()));
  }
}

/** Benchmark 1: property GET, servient vs bare fastify. */
export async function propertyGet({ warmupS, durationS, log }) {
  const body = JSON.stringify(INITIAL_TARGET);
  const check = (url) => expectResponse(url, { method: 'GET' }, 200, body);
  return compare({
    name: 'Property GET (a read handler)',
    target: 0.9,
    sides: [
      { label: 'bare fastify', kind: 'bare-http', check },
      { label: 'flowchain', kind: 'flowchain', check },
    ],
    // Every response body is compared with the expected one (counted as mismatches).
    request: { method: 'GET', expectBody: body },
    expectedStatus: 200,
    warmupS,
    durationS,
    log,
  });
}

/**
 * Benchmark 2: property PUT with validation and LevelDB persistence, servient vs bare fastify.
 * The servient side writes thermostat-plain, whose property is not recorded: the cost of data
 * transactions is measured against this figure by the broker benchmark (broker-bench.mjs).
 */
export async function propertyPut({ warmupS, durationS, log }) {
  const put = async (url) => {
    for (const body of PUT_BODIES) await expectResponse(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body }, 204, '');
  };
  return compare({
    name: 'Property PUT (a write handler, not recorded)',
    target: 0.6,
    sides: [
      { label: 'bare fastify', kind: 'bare-http', check: put },
      {
        label: 'flowchain',
        kind: 'flowchain',
        path: PLAIN_PROPERTY_PATH,
        check: async (url) => {
          await put(url);
          // The write took: the servient reads back the last value written.
          await expectResponse(url, { method: 'GET' }, 200, PUT_BODIES.at(-1));
        },
        // After stopping, its LevelDB is reopened: it must hold one of the written values.
        verifyStopped: ({ persisted }) =>
          PUT_BODIES.map(Number).includes(persisted?.plain) ? [] : [`LevelDB holds ${JSON.stringify(persisted?.plain)} after the run, not one of the written values`],
      },
    ],
    request: {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      // Each connection cycles through these, so consecutive writes alternate values.
      requests: PUT_BODIES.map((body) => ({ method: 'PUT', body })),
    },
    expectedStatus: 204,
    warmupS,
    durationS,
    log,
  });
}

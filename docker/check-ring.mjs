// Checks a running Flowchain ring from outside, over each node's published HTTP API:
//   node docker/check-ring.mjs http://127.0.0.1:8081/ http://127.0.0.1:8082/ http://127.0.0.1:8083/
// docker/test-image.sh runs it against docker/compose.yaml's three nodes. Every node must be
// healthy and list every node's Things (the ring's directory), and a property written on the
// first node must be recorded: its receipt, read from each other node, names the value written.
// Prints one line per check; exits 1 at the first that fails within the time allowed (2 min).
const urls = process.argv.slice(2).map((url) => new URL(url));
if (urls.length < 2) {
  console.error('usage: node docker/check-ring.mjs URL URL...');
  process.exit(2);
}
const deadline = Date.now() + 120_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Retries `probe` until it returns something other than undefined, or fails at the deadline. */
async function until(what, probe) {
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const result = await probe();
      if (result !== undefined) {
        console.log(`ok - ${what}`);
        return result;
      }
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(1000);
  }
  console.error(`not ok - ${what} (last: ${last})`);
  process.exit(1);
}

async function json(url, init) {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${response.status}`);
  return response.json();
}

for (const url of urls) {
  await until(`${url} is healthy`, async () => ((await json(new URL('health', url))).status === 'ok' ? true : undefined));
}

// Each node's own Things, then the ring-wide listing on every node.
const hosted = new Map();
for (const url of urls) {
  const things = await until(`${url} hosts its Things`, async () => {
    const local = await json(new URL('things?scope=local', url));
    return local.length > 0 ? local : undefined;
  });
  hosted.set(url.href, things.map((td) => td.id));
}
const everyId = [...hosted.values()].flat();
for (const url of urls) {
  await until(`${url} lists all ${everyId.length} Things of the ${urls.length} nodes`, async () => {
    const listed = new Set((await json(new URL('things', url))).map((td) => td.id));
    return everyId.every((id) => listed.has(id)) ? true : undefined;
  });
}

// A write on the first node, its receipt read from every other node.
const [first, ...others] = urls;
const thermostat = await json(new URL('things/thermostat', first));
const value = 5 + Math.round(Math.random() * 50) / 2;
const property = new URL('things/thermostat/properties/targetTemperature', first);
const txId = await until(`PUT targetTemperature ${value} on ${first} is stored`, async () => {
  const response = await fetch(property, { method: 'PUT', body: JSON.stringify(value), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(30_000) });
  if (response.status !== 204) throw new Error(`PUT: ${response.status} ${await response.text()}`);
  return response.headers.get('flowchain-tx-status') === 'stored' ? response.headers.get('flowchain-tx-id') : undefined;
});
await until(`${first} reads back ${value}`, async () => ((await json(property)) === value ? true : undefined));
for (const url of others) {
  await until(`${url} serves the receipt of ${txId.slice(0, 12)}… naming ${value}`, async () => {
    const receipt = await json(new URL(`ledger/tx/${txId}`, url));
    const data = receipt.tx?.data;
    return data?.thing === thermostat.id && data.property === 'targetTemperature' && data.value === value ? true : undefined;
  });
}
await until(`${first} serves the dashboard`, async () => ((await fetch(first, { signal: AbortSignal.timeout(10_000) })).ok ? true : undefined));
console.log('ring check passed');

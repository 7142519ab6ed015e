/**
 * The broker benchmarks (`node bench/run.mjs --only=broker`): property PUT with owner
 * acknowledgement, where every write becomes a signed data transaction stored at
 * SUCCESSOR(H_DATA) before the PUT is answered, against the bare servient PUT (validation and
 * LevelDB persistence only) on the same node in the same run. The baseline is the same
 * thermostat loaded a second time as `thermostat-plain`, its targetTemperature marked
 * `"recorded": false`, so both sides run the same code up to the broker.
 *
 * Run on a ring of 1 process and of 4 (`flowchain start` children on 127.0.0.1, the default
 * `--ack owner`), load on the first node. With owner acknowledgement a PUT is answered once
 * its owner stored the transaction, so its latency is the time from PUT to stored at the
 * owner; every answer's Flowchain-Tx-Status header is counted to show it was `stored`.
 * Rendered as its own section of bench/RESULTS.md by {@link renderBrokerSection}.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransaction, prepareTransaction, signBatch, verifyTransaction } from '../dist/broker/data-transaction.js';
import { NodeIdentity } from '../dist/node-identity.js';
import { Database } from '../dist/storage.js';
import { Cluster, CONNECTIONS, pairedThroughput, waitConsistent } from './ring-cluster.mjs';
import autocannon from 'autocannon';
import { delay, getJson, openSse, PLAIN_PROPERTY_PATH, PROPERTY_PATH, writeThings } from './lib/common.mjs';
import { fmt, median, readNotes, sideCells, table } from './lib/format.mjs';

const PLANS = {
  full: { warmupS: 2, durationS: 12, burstS: 5 },
  quick: { warmupS: 1, durationS: 4, burstS: 2 },
};
/** The outbox bound of the backpressure run (the default is 20,000). */
const BURST_OUTBOX_LIMIT = 1_000;
const RECORDED = PROPERTY_PATH;
/** The project's targets for the ratio recorded / bare, by ring size. */
const RATIO_TARGETS = { 1: 0.35, 4: 0.15 };
const PLAIN = PLAIN_PROPERTY_PATH;
/** Bodies each connection alternates between: both valid (5..30, multipleOf 0.5). */
const BODIES = ['21.5', '22'];

/** PUT requests on `path`, alternating bodies; `onStatus` hears each answer's Flowchain-Tx-Status. */
function puts(path, onStatus) {
  return BODIES.map((body) => ({
    method: 'PUT',
    path,
    headers: { 'content-type': 'application/json' },
    body,
    onResponse: (status, _body, _context, headers) => {
      const key = Object.keys(headers).find((name) => name.toLowerCase() === 'flowchain-tx-status');
      onStatus(key === undefined ? 'none' : String(headers[key]));
    },
  }));
}

/** One ring of `processes`: both sides measured on its first node, then checked. */
async function measureRing(processes, plan, log) {
  const problems = [];
  const cluster = await Cluster.create();
  try {
    const things = await writeThings(join(cluster.root, 'things'));
    cluster.extraArgs = ['--things', things];
    const target = await cluster.start();
    for (let i = 1; i < processes; i++) await cluster.start(target);
    if (processes > 1) {
      const formed = await waitConsistent(cluster.live, performance.now(), 4);
      if (Number.isNaN(formed.consistent)) problems.push(`the ${processes} processes did not form a consistent ring`);
    }
    const statuses = { plain: {}, recorded: {} };
    const count = (side) => (status) => void (statuses[side][status] = (statuses[side][status] ?? 0) + 1);
    log(`  ring of ${processes}: PUT, not recorded vs recorded with owner ack`);
    const minedBefore = await Promise.all(cluster.live.map((node) => getJson(new URL('ledger', node.url))));
    const measuredFrom = performance.now();
    const throughput = await pairedThroughput({
      nodes: cluster.live,
      target,
      sides: [
        { label: 'bare servient PUT (not recorded)', requests: puts(PLAIN, count('plain')), expectedStatus: 204 },
        { label: 'PUT with owner ack (recorded)', requests: puts(RECORDED, count('recorded')), expectedStatus: 204 },
      ],
      ...plan,
      log,
    });
    if (Object.keys(statuses.plain).some((s) => s !== 'none')) problems.push(`unrecorded writes reported transactions: ${JSON.stringify(statuses.plain)}`);
    const notStored = Object.entries(statuses.recorded).filter(([s]) => s !== 'stored');
    if (notStored.length > 0) problems.push(`recorded writes not answered as stored: ${JSON.stringify(Object.fromEntries(notStored))}`);
    const minedAfter = await Promise.all(cluster.live.map((node) => getJson(new URL('ledger', node.url))));
    const mining = minedAfter.map((after, i) => ((after.body.mining?.cpuMs ?? 0) - (minedBefore[i].body.mining?.cpuMs ?? 0)) / (performance.now() - measuredFrom));
    // Afterwards: nothing waits in any outbox, and the last write's receipt reads from the last
    // node. The sample sensors' readings keep flowing, so an outbox holds one now and then for
    // a few milliseconds: it must empty within 10 s, not be empty at one instant.
    const last = cluster.live.at(-1);
    for (const node of cluster.live) {
      let pending;
      for (let i = 0; i < 40 && pending?.body !== 0; i++) {
        pending = await getJson(new URL('things/ledger/properties/outbox', node.url));
        if (pending.body !== 0) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      if (pending.body !== 0) problems.push(`node ${node.url} still has ${JSON.stringify(pending.body)} transactions in its outbox 10 s after the load`);
    }
    const history = await getJson(new URL(`${RECORDED.slice(1)}/history?limit=1`, target.url));
    const entry = Array.isArray(history.body) ? history.body[0] : undefined;
    const receipt = entry?.txId === undefined ? undefined : await getJson(new URL(`ledger/tx/${entry.txId}`, last.url));
    if (receipt?.status !== 200 || receipt.body.txId !== entry.txId) problems.push(`the last write's receipt did not read from another node (${receipt?.status ?? 'no txId in the history'})`);
    return { processes, throughput, statuses, mining: { shareMax: Math.max(...mining), shareSum: mining.reduce((a, b) => a + b, 0), configured: minedAfter[0].body.mining?.share }, problems: [...problems, ...throughput.baseline.problems, ...throughput.subject.problems] };
  } finally {
    await cluster.close();
  }
}

/**
 * What a client sees when the write path's bound is reached. One node with `--ack local` (a
 * write is answered once its transaction is in the outbox, so writers can outrun delivery to
 * the owner) and `--outbox-limit` of {@link BURST_OUTBOX_LIMIT}, 50 connections of recorded
 * PUTs for `burstS`. Every answer must be 204 (`queued`) or 503 FLOWCHAIN_ERR_BUSY with
 * Retry-After; the outbox, polled through the ledger Thing, must stay within its bound and
 * empty afterwards; and every accepted write must reach its owner, as the ledger Thing's
 * `transaction` events (status `stored`) show, with none refused.
 */
async function burst(plan, log) {
  const problems = [];
  const cluster = await Cluster.create();
  let sse;
  try {
    cluster.extraArgs = ['--things', await writeThings(join(cluster.root, 'things')), '--ack', 'local', '--outbox-limit', String(BURST_OUTBOX_LIMIT)];
    const node = await cluster.start();
    const thingId = (await getJson(new URL(RECORDED.slice(1).split('/properties/')[0], node.url))).body.id;
    const td = (await getJson(new URL('things/ledger', node.url))).body;
    const form = td?.events?.transaction?.forms?.find((f) => f.subprotocol === 'sse' || f.contentType === 'text/event-stream');
    if (form === undefined) throw new Error('the ledger Thing has no SSE form for its transaction event');
    const steps = { queued: 0, stored: 0, refused: 0 };
    sse = await openSse(new URL(form.href, td.base ?? node.url).href, (name, data) => {
      if (name === 'transaction' && data.thing === thingId && data.property === 'targetTemperature') steps[data.status] = (steps[data.status] ?? 0) + 1;
    });
    const answers = {};
    const busy = { retryAfter: {}, codes: {} };
    const count = (into, key) => void (into[key] = (into[key] ?? 0) + 1);
    let outboxMax = 0;
    let loading = true;
    const polling = (async () => {
      while (loading) {
        const outbox = await getJson(new URL('things/ledger/properties/outbox', node.url));
        if (typeof outbox.body === 'number') outboxMax = Math.max(outboxMax, outbox.body);
        await delay(100);
      }
    })();
    log(`  burst: ${plan.burstS} s of recorded PUTs with --ack local and --outbox-limit ${BURST_OUTBOX_LIMIT}`);
    const result = await autocannon({
      url: node.url,
      connections: CONNECTIONS,
      duration: plan.burstS,
      requests: BODIES.map((body) => ({
        method: 'PUT',
        path: RECORDED,
        headers: { 'content-type': 'application/json' },
        body,
        onResponse: (status, text, _context, headers) => {
          count(answers, status === 204 ? `204 ${headers['flowchain-tx-status'] ?? 'without a status'}` : String(status));
          if (status !== 503) return;
          count(busy.retryAfter, headers['retry-after'] ?? 'none');
          let code;
          try {
            code = JSON.parse(text).code;
          } catch {
            code = 'no problem body';
          }
          count(busy.codes, code);
        },
      })),
    });
    loading = false;
    await polling;
    const accepted = answers['204 queued'] ?? 0;
    const drainFrom = performance.now();
    let drainedMs;
    for (let i = 0; i < 100 && drainedMs === undefined; i++) {
      const outbox = await getJson(new URL('things/ledger/properties/outbox', node.url));
      if (outbox.body === 0 && steps.stored + steps.refused >= Math.max(steps.queued, accepted)) drainedMs = performance.now() - drainFrom;
      else await delay(100);
    }
    if (sse.ended) problems.push('the transaction event stream ended before the run did');
    if (drainedMs === undefined) problems.push(`the outbox did not empty within 10 s of the burst (${steps.stored} of ${accepted} accepted writes stored)`);
    // Writes in flight when the load generator stops are applied but not counted as answered:
    // up to one per connection.
    if (steps.stored !== steps.queued || steps.queued < accepted || steps.queued > accepted + CONNECTIONS) problems.push(`${accepted} writes answered as accepted, ${steps.queued} queued and ${steps.stored} stored at the owner`);
    if (steps.refused > 0) problems.push(`${steps.refused} accepted writes refused by the owner`);
    if (outboxMax > BURST_OUTBOX_LIMIT) problems.push(`the outbox held ${outboxMax} transactions, above its bound of ${BURST_OUTBOX_LIMIT}`);
    const unexpected = Object.keys(answers).filter((a) => a !== '204 queued' && a !== '503');
    if (unexpected.length > 0) problems.push(`answers other than 204 queued and 503: ${JSON.stringify(answers)}`);
    if (Object.keys(busy.codes).some((c) => c !== 'FLOWCHAIN_ERR_BUSY') || Object.keys(busy.retryAfter).some((r) => !/^[0-9]+$/.test(r))) problems.push(`503 answers without FLOWCHAIN_ERR_BUSY and Retry-After: ${JSON.stringify(busy)}`);
    if ((answers['503'] ?? 0) === 0) problems.push('the bound was never reached: no 503 answers');
    return { seconds: plan.burstS, limit: BURST_OUTBOX_LIMIT, answers, busy, accepted, steps, outboxMax, drainedMs, latency: { p50: result.latency.p50, p99: result.latency.p99 }, problems };
  } finally {
    await sse?.close();
    await cluster.close();
  }
}

/**
 * What one recorded write costs in cryptography and storage alone, measured here: its share of
 * one Ed25519 signature per batch of 50 and of the verification of that batch (the path and
 * the root signature, checked once), beside one signature and one verification per write (how
 * transactions were signed before batches), and the LevelDB work the write path does for
 * a write in batches of 50 (as under this load): the owner's (the value, history and outbox
 * entry; the ledger's admission; the ring record and its index entry, each read first; the
 * history's id and the outbox removal; the block's placements) and a replica's (the record
 * and the index entry, each read first).
 */
async function physics(log) {
  log('  measuring the cryptography and storage one write needs');
  const data = { thing: 'urn:uuid:00000000-0000-5000-8000-000000000000', property: 'targetTemperature', value: 21.5, origin: 'consumer' };
  const lambda = (i) => Uint8Array.from({ length: 16 }, (_, j) => (i >> (8 * (j % 4))) & 0xff);
  const perWrite = (work) => {
    const from = performance.now();
    work();
    return ((performance.now() - from) * 1000) / 2_000;
  };
  // Each round with a key of its own (a batch signature once verified is not checked again);
  // the first round warms the JIT up and is not counted.
  const crypto = () => {
    const identity = NodeIdentity.generate();
    const unsigned = Array.from({ length: 2_000 }, (_, i) => prepareTransaction(data, identity, 1_700_000_000_000 + i, lambda(i)));
    const txs = [];
    const signUs = perWrite(() => {
      for (let i = 0; i < unsigned.length; i += 50) txs.push(...signBatch(unsigned.slice(i, i + 50), identity));
    });
    const verifyUs = perWrite(() => txs.forEach((tx) => verifyTransaction(tx, true)));
    const alone = [];
    const signAloneUs = perWrite(() => {
      for (let i = 0; i < 2_000; i++) alone.push(createTransaction(data, identity, 1_700_000_000_000 + i, lambda(i + 2_000)));
    });
    const verifyAloneUs = perWrite(() => alone.forEach((tx) => verifyTransaction(tx, true)));
    return { txs, signUs, verifyUs, signAloneUs, verifyAloneUs };
  };
  crypto();
  const { txs, signUs, verifyUs, signAloneUs, verifyAloneUs } = crypto();
  const dir = await mkdtemp(join(tmpdir(), 'flowchain-physics-'));
  const db = await Database.open(dir);
  try {
    const [values, outbox, ledger, ring] = ['properties', 'outbox', 'ledger', 'ring'].map((name) => db.section(name));
    const record = (tx) => ({ kind: 'tx', txId: 'a'.repeat(64), hBlock: 'b'.repeat(64), block: { number: 1, openedAt: 1, nonce: 'c'.repeat(32) }, owner: { id: 'd'.repeat(40), url: 'wss://127.0.0.1:9080/' }, storedAt: 1, status: 'pending', tx });
    const index = (tx) => ({ kind: 'tx-index', txId: tx.hData.padEnd(64, '0'), hData: tx.hData, hBlock: 'b'.repeat(64) });
    const puts = (section, entries) => section.batch(entries.map(([key, value]) => ({ type: 'put', key, value })));
    const timed = async (work) => {
      const started = performance.now();
      for (let i = 0; i < txs.length; i += 50) await work(txs.slice(i, i + 50), i);
      return ((performance.now() - started) * 1000) / txs.length;
    };
    const ownerUs = await timed(async (batch, i) => {
      await outbox.batch(batch.map((tx, j) => ({ type: 'put', key: `o${i + j}`, value: tx })), [ledger.prepare(batch.map((tx) => ({ type: 'put', key: `h/${tx.hData}`, value: { value: 21.5, hData: tx.hData } }))), values.prepare([{ type: 'put', key: 'thermostat/targetTemperature', value: 21.5 }])]);
      await ledger.getMany(batch.map((tx) => `r/${tx.hData}`));
      await ledger.batch([{ type: 'put', key: 'm/open', value: { number: 1 } }, ...batch.flatMap((tx) => [{ type: 'put', key: `r/${tx.hData}`, value: record(tx) }, { type: 'put', key: `p/${tx.hData}`, value: 1 }])]);
      await Promise.all([ring.getMany(batch.map((tx) => tx.hData)).then(() => puts(ring, batch.map((tx) => [tx.hData, record(tx)]))), ring.getMany(batch.map((tx) => `x${tx.hData}`)).then(() => puts(ring, batch.map((tx) => [`x${tx.hData}`, index(tx)])))]);
      await outbox.batch(batch.map((_, j) => ({ type: 'del', key: `o${i + j}` })), [ledger.prepare(batch.map((tx) => ({ type: 'put', key: `h/${tx.hData}`, value: { value: 21.5, hData: tx.hData, txId: 'a'.repeat(64) } })))]);
      await ledger.batch(batch.flatMap((tx, j) => [{ type: 'put', key: `x/${tx.hData}`, value: { hData: tx.hData, height: 1, index: j } }, { type: 'del', key: `p/${tx.hData}` }]));
    });
    const replicaUs = await timed(async (batch) => {
      await Promise.all([ring.getMany(batch.map((tx) => `y${tx.hData}`)).then(() => puts(ring, batch.map((tx) => [`y${tx.hData}`, record(tx)]))), ring.getMany(batch.map((tx) => `z${tx.hData}`)).then(() => puts(ring, batch.map((tx) => [`z${tx.hData}`, index(tx)])))]);
    });
    return { signUs, verifyUs, signAloneUs, verifyAloneUs, ownerUs, replicaUs };
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The writes per second that cryptography and storage alone allow a ring of `processes`: one
 * node has one main thread; four share two cores, and every write is signed once, verified by
 * its owner when the owner is another node (3 in 4) and by each of its three replicas, and
 * stored by its owner and its replicas.
 */
function limitOf(processes, cost) {
  if (processes === 1) return { perWriteUs: cost.signUs + cost.ownerUs, cores: 1 };
  const replicas = Math.min(processes - 1, 4);
  return { perWriteUs: cost.signUs + cost.verifyUs * ((processes - 1) / processes + replicas) + cost.ownerUs + replicas * cost.replicaUs, cores: 2 };
}

/** Runs the broker benchmarks; `problems` lists whatever makes the figures invalid. */
export async function brokerBenchmarks({ quick, log }) {
  const plan = quick ? PLANS.quick : PLANS.full;
  const started = performance.now();
  const cost = await physics(log);
  const rings = [];
  for (const processes of [1, 4]) {
    const ring = await measureRing(processes, plan, log);
    const limit = limitOf(processes, cost);
    rings.push({ ...ring, limit: { ...limit, writesPerS: (limit.cores * 1e6) / limit.perWriteUs } });
  }
  const bound = await burst(plan, log);
  const problems = [...rings.flatMap((r) => r.problems.map((p) => `ring of ${r.processes}: ${p}`)), ...bound.problems.map((p) => `burst: ${p}`)];
  return { key: 'broker', name: 'Broker (PUT with data transactions)', plan, cost, rings, burst: bound, totalS: (performance.now() - started) / 1000, problems };
}

/** What a client saw when the outbox's bound was reached (the burst run). */
function renderBurst(b) {
  const busy = b.answers['503'] ?? 0;
  const total = b.accepted + busy;
  return `**When the bound is reached** (one node, \`--ack local\`, \`--outbox-limit ${fmt(b.limit)}\`, ${CONNECTIONS} connections of recorded PUTs for ${b.seconds} s):

${table(
    ['Answers', 'Accepted (204, queued)', 'Refused (503)', '503 carried', 'Latency p50 / p99', 'Outbox at most', 'Accepted writes stored at the owner', 'Outbox empty'],
    [[fmt(total), `${fmt(b.accepted)} (${fmt(b.accepted / b.seconds)}/s)`, `${fmt(busy)} (${fmt((100 * busy) / Math.max(total, 1), 1)} %)`, `${Object.entries(b.busy.codes).map(([c, n]) => `${c} x ${fmt(n)}`).join(', ')}; Retry-After ${Object.keys(b.busy.retryAfter).join(', ')}`, `${b.latency.p50} / ${b.latency.p99} ms`, `${fmt(b.outboxMax)} of ${fmt(b.limit)}`, `${fmt(b.steps.stored)} of ${fmt(b.steps.queued)} queued (refused ${fmt(b.steps.refused)})`, b.drainedMs === undefined ? 'not within 10 s' : `${fmt(b.drainedMs / 1000, 1)} s after the burst`]],
  )}

With \`--ack local\` a write is answered once its transaction is in the outbox, so writers can
run ahead of delivery to the owner. Once the outbox holds its bound, a write is refused before
anything is applied; the client sees 503 with the problem's code and Retry-After, and its
accepted writes are all delivered (counted from the ledger Thing's \`transaction\` events:
every transaction \`queued\` is \`stored\`; a few more are queued than answered, the writes
still in flight when the load generator stopped). The outbox is polled every 100 ms, so its
peak may be missed by a little.
`;
}

/** The broker section of bench/RESULTS.md, from one run's record (`bench/out/broker.json`). */
export function renderBrokerSection(run) {
  const notes = readNotes('broker-notes.md');
  const rows = run.rings.flatMap((ring) => [ring.throughput.baseline, ring.throughput.subject].map((side) => [ring.processes, ...sideCells(side, { loadCpu: false })]));
  const ratios = run.rings.map((ring) => {
    const t = ring.throughput;
    return [
      ring.processes,
      fmt(t.ratio, 3),
      fmt(median(t.pairRatios), 3),
      `${fmt(Math.min(...t.pairRatios), 3)} - ${fmt(Math.max(...t.pairRatios), 3)}`,
      `${fmt(t.subject.serverCpuUsPerOp / t.baseline.serverCpuUsPerOp, 1)} x`,
      Object.entries(ring.statuses.recorded).map(([s, n]) => `${s}: ${fmt(n)}`).join(', '),
      `${t.pairRatios.length} of ${t.pairs.length} (${t.pairs.filter((p) => p.disturbed).length})${t.clean ? '' : ' - NOISY'}`,
    ];
  });
  const limits = run.rings.map((ring) => [
    ring.processes,
    `${fmt(ring.limit.writesPerS)} writes/s`,
    `${fmt(ring.limit.perWriteUs)} µs of CPU per write on ${ring.limit.cores} core${ring.limit.cores > 1 ? 's' : ''}`,
    `${fmt(ring.throughput.subject.rate)} writes/s`,
    fmt(ring.throughput.subject.rate / ring.limit.writesPerS, 3),
    `${fmt(ring.limit.writesPerS / ring.throughput.baseline.rate, 3)}${RATIO_TARGETS[ring.processes] === undefined ? '' : ` (target >= ${RATIO_TARGETS[ring.processes]})`}`,
    `${fmt(ring.mining.shareMax * 100, 1)} % of a core (the most of any node; the share allowed is ${fmt((ring.mining.configured ?? 0) * 100)} %)`,
  ]);
  const problems = run.problems.length === 0 ? 'none: every recorded write was answered `stored`, every outbox emptied afterwards, the last write\'s receipt read from another node, and in the burst every write was answered 204 or 503 and every accepted one reached its owner' : run.problems.map((p) => `**${p}**`).join('; ');
  return `## Broker (property PUT with data transactions)

${run.quick ? '> **Quick run (`--quick`): short windows; harness check only.**\n\n' : ''}- Date: ${new Date(run.startedAt).toISOString()}
- Command: \`${run.command}\` (the default \`npm run bench\` runs it too)
- Code: commit ${run.machine.revision} (dist/ compiled by the same command)
- Machine: nproc ${run.machine.nproc}, ${run.machine.cpuModel}; Node ${run.machine.node}, autocannon ${run.machine.packages.autocannon}
- Broker bench time: ${fmt(run.totalS)} s
- Validity: ${problems}

${table(['Ring of', `Variant (load on node 1, ${CONNECTIONS} connections)`, 'Throughput', 'Range over windows', 'p50 / p99 latency', 'Counted', 'CPU of all nodes', 'Node CPU µs/op', 'Validity'], rows)}

${table(['Ring of', 'Ratio recorded / bare', 'Median pair ratio', 'Per-pair ratios (min - max)', 'Node CPU µs/op, recorded / bare', 'Flowchain-Tx-Status of recorded writes', 'Pairs used (disturbed, re-measured)'], ratios)}

**The limit the physics sets** (measured in the same run, in the benchmark's own process):
Ed25519 signing ${fmt(run.cost.signUs, 1)} µs and verification ${fmt(run.cost.verifyUs, 1)} µs per transaction, signed in batches of 50
(one signature per batch, a Merkle path per transaction)${run.cost.signAloneUs === undefined ? '' : `, against ${fmt(run.cost.signAloneUs, 1)} µs and ${fmt(run.cost.verifyAloneUs, 1)} µs for a transaction signed alone (a lone write still is)`}; the
owner's LevelDB work for one write ${fmt(run.cost.ownerUs, 1)} µs and a replica's ${fmt(run.cost.replicaUs, 1)} µs
(batches of 50, as under this load). The limit counts only these, nothing of HTTP, JSON, the
ring's messages or the event loop.

${table(['Ring of', 'Writes/s cryptography and storage alone allow', 'From', 'Recorded writes achieved', 'Achieved / limit', 'Highest ratio recorded / bare the limit leaves', 'Mining CPU under this load'], limits)}

"Highest ratio the limit leaves" divides the limit by the bare PUT's throughput: even a
recorded write that cost nothing beyond its cryptography and storage (not even the bare PUT's
own HTTP work) could not reach a higher ratio on this machine.

${run.burst === undefined ? '' : renderBurst(run.burst)}
- **Bare servient PUT**: \`PUT ${PLAIN}\`, the bundled thermostat loaded again with
  \`"recorded": false\` on targetTemperature: schema check, LevelDB write, 204. **Recorded**: \`PUT ${RECORDED}\`
  with the default \`--ack owner\`: the same, plus the signed data transaction, the history entry and
  the outbox entry, delivery to SUCCESSOR(H_DATA) (this node, or another over the peer WebSocket),
  the owner's checks, store, replication to its successors and index, then the 204 with
  \`Flowchain-Tx-Status: stored\`. Its latency is therefore the time from PUT to stored at the owner.
- Both Things live on the same node; the two request mixes alternate in windows of
  ${fmt(run.rings[0]?.throughput.windowS ?? 0, 1)} s (ABBA ABBA) after a ${run.plan.warmupS} s warm-up each. "CPU of all nodes" sums every node
  process's CPU time from /proc, as a share of one core.
${notes ? `\n${notes}\n` : ''}`;
}

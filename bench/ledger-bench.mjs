/**
 * The ledger benchmarks (`node bench/run.mjs --only=ledger`): the default ledger plugin (a
 * node's private chain of mined virtual blocks, src/ledger/) measured against a same-run
 * baseline each, four figures:
 *
 *   1. Sealing throughput on one node, in process: N pre-signed transactions admitted into a
 *      `VirtualChain` (real LevelDB in a temp dir, the real mining worker, the system clock,
 *      the default settings of src/config.ts) in batches of 64, as the broker's owner files
 *      them, timed until every one is in a mined block. Baseline: the same transactions
 *      written as plain records in batches of 64 through the same `Database`/`Section.batch`.
 *   2. PUT -> mined latency on one real `flowchain start` process: sequential PUTs at a fixed
 *      rate, each timed to its answer (stored at the owner: the baseline) and to the arrival
 *      of the ledger Thing's `block` event (SSE) for the block its receipt names.
 *   3. Receipt verification: `checkReceipt` on receipts from the chain of benchmark 1, against
 *      `verifyTransaction` alone on the same transactions.
 *   4. Reopen and verify a chain of 100k transactions: `VirtualChain.start()` (structure,
 *      hashes and block signatures; no transaction signatures) and `verifyChain(store, true)`
 *      (what `flowchain verify` runs), against a plain scan of every key of the section.
 *
 * Measurements alternate between the sides (AB BA ..., or ABC CBA ... for three), wait for a
 * quiet machine first, and record the CPU other programs used meanwhile; a disturbed round is
 * measured again (at most twice) and left out when two undisturbed ones exist, as in the
 * other benchmarks. Rendered as its own section of bench/RESULTS.md by
 * {@link renderLedgerSection}.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTransaction, verifyTransaction } from '../dist/broker/data-transaction.js';
import { ChainStore } from '../dist/ledger/chain-store.js';
import { Miner } from '../dist/ledger/miner.js';
import { checkReceipt } from '../dist/ledger/receipt.js';
import { verifyChain, VirtualChain } from '../dist/ledger/virtual-chain.js';
import { NodeIdentity } from '../dist/node-identity.js';
import { Database } from '../dist/storage.js';
import { systemClock } from '../dist/common/clock.js';
import { createRandom } from '../dist/common/random.js';
import { Cluster } from './ring-cluster.mjs';
import { delay, FOREIGN_LIMIT, foreignCores, getJson, machineBusyUs, measureRounds, openSse, ownCpuUs, phaseTimer, PROPERTY_PATH, waitForQuiet } from './lib/common.mjs';
import { fmt, median, readNotes, table } from './lib/format.mjs';
import { ManualClock } from './lib/manual-clock.mjs';
import { DEFAULTS } from '../dist/config.js';

// DEFAULTS: the settings `flowchain start` runs with (src/config.ts).
/** Transactions per admission: MAX_SUBMISSION of src/broker/transaction-owner.ts. */
const BATCH = 64;

const PLANS = {
  full: {
    sealing: { transactions: 50_000, storePasses: 4, rounds: 4 },
    receipts: { sample: 1_000, passes: 4, rounds: 4 },
    latency: { rate: 20, warmupS: 2, durationS: 20 },
    reopen: { transactions: 100_000, rounds: 3 },
  },
  quick: {
    sealing: { transactions: 5_000, storePasses: 1, rounds: 2 },
    receipts: { sample: 500, passes: 2, rounds: 2 },
    latency: { rate: 20, warmupS: 1, durationS: 5 },
    reopen: { transactions: 10_000, rounds: 2 },
  },
};

/** Bound on waiting for the last block of a run to be mined. */
const MINE_TIMEOUT_MS = 180_000;

/** The node whose chain these are; it signs the transactions and owns them (one node). */
const identity = NodeIdentity.fromSecretKey(Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + 11) & 0xff));
const minerHex = identity.id.toString(16).padStart(40, '0');
const owner = { id: minerHex, url: 'ws://127.0.0.1:1/peer' };

/** `n` signed transactions of the thermostat's targetTemperature (10..30 °C, seeded λ). */
function signTransactions(n) {
  const random = createRandom(42);
  const txs = [];
  const start = Date.now();
  for (let i = 0; i < n; i++) {
    const lambda = Uint8Array.from({ length: 16 }, () => Math.floor(random.next() * 256));
    const data = { thing: 'urn:flowchain:bench:thermostat', property: 'targetTemperature', value: 10 + (i % 41) * 0.5, origin: 'consumer' };
    txs.push(createTransaction(data, identity, start + Math.floor(i / 100), lambda));
  }
  return txs;
}

/**
 * Runs `fn` and measures it: wall seconds, this process's CPU (every thread, so the mining
 * worker counts) or `ownCpu`, and the cores other programs used meanwhile.
 */
async function measured(fn, ownCpu = ownCpuUs) {
  const machineBefore = machineBusyUs();
  const cpuBefore = ownCpu();
  const started = performance.now();
  const extra = await fn();
  const seconds = (performance.now() - started) / 1000;
  const cpuUs = ownCpu() - cpuBefore;
  return { ...extra, seconds, cpuUs, foreignCores: foreignCores(machineBusyUs() - machineBefore, cpuUs, seconds) };
}

/**
 * Writes dirty pages out (`sync`) so that the kernel's write-back of one measurement's
 * LevelDB writes does not land in the next one's window.
 */
function flushDisks() {
  try {
    execFileSync('sync', { stdio: 'ignore', timeout: 30_000 });
  } catch {
    // no sync(1): nothing to flush with
  }
}

/**
 * Measures `sides` in alternating order (0 1 .. then .. 1 0), `rounds` rounds, with `run(side,
 * round)` returning a {@link measured} result, by the rules of `measureRounds` in
 * lib/common.mjs; each round starts with the disks flushed.
 */
function alternate(sides, rounds, run, log) {
  const forward = sides.map((_, i) => i);
  const plan = Array.from({ length: rounds }, (_, r) => (r % 2 === 0 ? forward : [...forward].reverse()));
  return measureRounds(sides, plan, run, log, { beforeRound: flushDisks });
}

/** Sum of a side's used measurements: ops, seconds, rate, µs per op, CPU share, other load. */
function sideTotals(used, index) {
  const runs = used.map((round) => round.results[index]);
  const ops = runs.reduce((s, x) => s + x.ops, 0);
  const seconds = runs.reduce((s, x) => s + x.seconds, 0);
  const cpuUs = runs.reduce((s, x) => s + x.cpuUs, 0);
  const foreign = runs.map((x) => x.foreignCores).filter(Number.isFinite);
  return {
    ops,
    seconds,
    rate: ops / seconds,
    usPerOp: (seconds * 1e6) / ops,
    medianSeconds: median(runs.map((x) => x.seconds)),
    cpuCores: cpuUs / (seconds * 1e6),
    otherLoadCores: foreign.length > 0 ? foreign.reduce((a, b) => a + b, 0) / foreign.length : Number.NaN,
  };
}

/** The summary of an {@link alternate} run: sides' totals, per-round figures, ratios `pick(round) `. */
function summarize(result, sides, ratioOf) {
  return {
    sides: sides.map((side, i) => ({ label: side.label, ...sideTotals(result.used, i) })),
    rounds: result.rounds.map((round) => ({
      order: round.order,
      seconds: round.results.map((x) => x.seconds),
      foreignCores: round.foreignCores,
      disturbed: round.disturbed,
      ratios: ratioOf(round.results),
    })),
    clean: result.clean,
  };
}

const temp = (name) => mkdtemp(join(tmpdir(), `flowchain-ledger-bench-${name}-`));

/** Nearest-rank percentile of `values` (0 < p <= 1). */
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

// ---------------------------------------------------------------------------------------------
// 1. Sealing throughput (and the chain benchmark 3 takes its receipts from).

/** A VirtualChain on a new database in `dir`. */
async function openChain(dir, clock, init, random) {
  const database = await Database.open(join(dir, 'db'));
  const store = new ChainStore(database.section('ledger'));
  const chain = new VirtualChain({ store, identity, clock, randomBytes: random, miner: new Miner({ share: DEFAULTS.miningShare }) }, init);
  return { database, store, chain, section: database.section('ledger') };
}

const systemRandom = (n) => new Uint8Array(cryptoRandomBytes(n));

/**
 * One ledger run: admit every transaction in batches of 64, then wait until all are in mined
 * blocks. Timed from the first admission to the block event that completes the count. Returns
 * the chain still open when `keep` is set (for the receipts of benchmark 3).
 */
async function sealRun(txs, keep, log) {
  const dir = await temp('seal');
  const opened = await openChain(dir, systemClock, { blockIntervalMs: DEFAULTS.blockIntervalMs, maxBlockTx: DEFAULTS.maxBlockTx, difficulty: DEFAULTS.difficulty, stake: DEFAULTS.stake, anchorEveryBlocks: DEFAULTS.anchorEveryBlocks, anchorIntervalMs: DEFAULTS.anchorIntervalMs }, systemRandom);
  const { chain, database } = opened;
  const blocks = [];
  let minedTx = 0;
  let allMined;
  const mined = new Promise((resolve) => (allMined = resolve));
  let t0 = 0;
  chain.onEvent((event) => {
    if (event.kind !== 'block') return;
    blocks.push({ height: event.height, txCount: event.txCount, difficulty: event.difficulty, hashes: event.hashes, atS: (performance.now() - t0) / 1000 });
    minedTx += event.txCount;
    if (minedTx >= txs.length) allMined();
  });
  const records = [];
  try {
    await chain.start();
    await waitForQuiet(log);
    let admittedS = 0;
    let timedOut = false;
    const miningBefore = chain.summary().mining.cpuMs;
    const result = await measured(async () => {
      t0 = performance.now();
      for (let i = 0; i < txs.length; i += BATCH) records.push(...(await chain.admit(txs.slice(i, i + BATCH), owner, Date.now())));
      admittedS = (performance.now() - t0) / 1000;
      let timer;
      const limit = new Promise((resolve) => (timer = setTimeout(() => resolve((timedOut = true)), MINE_TIMEOUT_MS)));
      await Promise.race([mined, limit]);
      clearTimeout(timer);
      return { ops: minedTx };
    });
    const summary = chain.summary();
    const problems = [];
    if (timedOut) problems.push(`only ${minedTx} of ${txs.length} transactions were mined within ${MINE_TIMEOUT_MS / 1000} s`);
    if (minedTx !== txs.length) problems.push(`${minedTx} transactions mined, ${txs.length} admitted`);
    if (summary.pending !== 0) problems.push(`${summary.pending} transactions still pending after the last block`);
    const run = { ...result, ops: txs.length, admittedS, blocks, nextDifficulty: summary.difficulty, miningMs: summary.mining.cpuMs - miningBefore, problems };
    if (keep) return { run, kept: { ...opened, dir, records } };
    return { run };
  } finally {
    if (!keep) {
      await chain.stop();
      await database.close();
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/**
 * The baseline: the same transactions as plain records (`r/<pass>/<H_DATA>` -> transaction),
 * batches of 64, `passes` times over under different keys. One pass of 50,000 lasts about half
 * a second, too short for the other-load check: on an idle machine such a burst of writes alone
 * reads as 0.2-0.5 cores of "other programs" (the /proc/stat and getrusage accounts disagree
 * over short bursts), while a window of two seconds or more reads near 0.
 */
async function storeRun(txs, passes, log) {
  const dir = await temp('store');
  const database = await Database.open(join(dir, 'db'));
  try {
    const section = database.section('ledger');
    await waitForQuiet(log);
    return await measured(async () => {
      for (let pass = 0; pass < passes; pass++) {
        for (let i = 0; i < txs.length; i += BATCH) await section.batch(txs.slice(i, i + BATCH).map((tx) => ({ type: 'put', key: `r/${pass}/${tx.hData}`, value: tx })));
      }
      return { ops: txs.length * passes, problems: [] };
    });
  } finally {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function sealingThroughput(txs, plan, log) {
  const sides = [
    { label: 'LevelDB batches of 64 (storage alone)', run: () => storeRun(txs, plan.storePasses, log) },
    { label: 'VirtualChain: admit, seal, mine', run: (keep) => sealRun(txs, keep, log) },
  ];
  let kept;
  const result = await alternate(sides, plan.rounds, async (side, round) => {
    if (side.label.startsWith('LevelDB')) return side.run();
    // The last ledger run's chain stays open for the receipts; earlier ones are closed.
    const { run, kept: fresh } = await side.run(true);
    if (kept !== undefined) await closeKept(kept);
    kept = fresh;
    log(`    ${fmt(run.ops)} tx in ${run.blocks.length} blocks in ${run.seconds.toFixed(2)} s (admitted in ${run.admittedS.toFixed(2)} s), next difficulty ${fmt(run.nextDifficulty)}, round ${round + 1}`);
    return run;
  }, log);
  const summary = summarize(result, sides, ([store, seal]) => ({ sealedOverStored: seal.ops / seal.seconds / (store.ops / store.seconds) }));
  const ledgerRuns = result.rounds.map((round) => round.results[1]);
  const usedLedger = result.used.map((round) => round.results[1]);
  const last = ledgerRuns.at(-1);
  return {
    transactions: txs.length,
    storePasses: plan.storePasses,
    batch: BATCH,
    settings: DEFAULTS,
    ...summary,
    ratio: summary.sides[1].rate / summary.sides[0].rate,
    pairRatios: summary.rounds.filter((r) => !r.disturbed || !result.clean).map((r) => r.ratios.sealedOverStored),
    runs: ledgerRuns.map((run) => ({ seconds: run.seconds, admittedS: run.admittedS, blocks: run.blocks.length, lastDifficulty: run.blocks.at(-1)?.difficulty, nextDifficulty: run.nextDifficulty, hashes: run.blocks.reduce((s, b) => s + (b.hashes ?? 0), 0), foreignCores: run.foreignCores })),
    admittedPerS: usedLedger.reduce((s, run) => s + run.ops, 0) / usedLedger.reduce((s, run) => s + run.admittedS, 0),
    miningShare: usedLedger.reduce((s, run) => s + run.miningMs, 0) / usedLedger.reduce((s, run) => s + run.seconds * 1000, 0),
    sustained: (() => {
      const parts = usedLedger.map((run) => sustained(run.blocks, DEFAULTS.maxBlockTx)).filter((x) => x !== undefined);
      if (parts.length === 0) return undefined;
      const sum = (key) => parts.reduce((s, x) => s + x[key], 0);
      return { runs: parts.length, blocks: sum('blocks'), rate: sum('tx') / sum('seconds'), secondsPerBlock: sum('seconds') / sum('blocks'), hashesPerS: sum('hashes') / sum('seconds'), difficulty: median(parts.map((x) => x.difficulty)) };
    })(),
    lastRunBlocks: last.blocks,
    problems: ledgerRuns.flatMap((run) => run.problems),
    kept,
  };
}

/**
 * The rate once the difficulty has caught up with the miner: transactions of the second half
 * of a run's full blocks over the time between their events (undefined with fewer than 4).
 */
function sustained(blocks, maxBlockTx) {
  const full = blocks.filter((b) => b.txCount === maxBlockTx);
  if (full.length < 4) return undefined;
  const before = Math.floor(full.length / 2) - 1;
  const window = full.slice(before + 1);
  const seconds = full.at(-1).atS - full[before].atS;
  return { blocks: window.length, tx: window.reduce((s, b) => s + b.txCount, 0), hashes: window.reduce((s, b) => s + (b.hashes ?? 0), 0), seconds, difficulty: median(window.map((b) => b.difficulty)) };
}

async function closeKept(kept) {
  await kept.chain.stop();
  await kept.database.close();
  await rm(kept.dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// 3. Receipt verification.

async function receiptVerification(kept, plan, log) {
  const { chain, records } = kept;
  const count = Math.min(plan.sample, records.length);
  const picked = Array.from({ length: count }, (_, k) => records[Math.floor((k * records.length) / count)]);
  // Assembling the receipts is what the node does for GET /ledger/tx/{txId}; timed once, for the notes.
  await waitForQuiet(log);
  let receipts = [];
  const assembly = await measured(async () => {
    for (const record of picked) receipts.push({ ...record, hData: record.tx.hData, ...(await chain.proof(record.txId)) });
    return { ops: picked.length };
  });
  // As a client has them: parsed JSON.
  receipts = receipts.map((receipt) => JSON.parse(JSON.stringify(receipt)));
  const txs = receipts.map((receipt) => receipt.tx);
  const problems = [];
  const statuses = new Set(receipts.map((r) => r.status));
  if (statuses.size !== 1 || !statuses.has('mined')) problems.push(`receipts with status ${[...statuses].join(', ')} (expected only mined)`);
  // Warm-up: both paths once (the public-key cache, the JIT).
  for (const tx of txs.slice(0, 200)) verifyTransaction(tx);
  for (const receipt of receipts.slice(0, 200)) checkReceipt(receipt, NodeIdentity.verify);
  const sides = [
    {
      label: 'verifyTransaction (signature, H_DATA, shape)',
      run: () => {
        for (let pass = 0; pass < plan.passes; pass++) for (const tx of txs) verifyTransaction(tx);
        return { ops: txs.length * plan.passes };
      },
    },
    {
      label: 'checkReceipt (+ header, puzzle, miner signature, txId, Merkle path)',
      run: () => {
        let failed = 0;
        for (let pass = 0; pass < plan.passes; pass++) for (const receipt of receipts) if (!checkReceipt(receipt, NodeIdentity.verify).ok) failed++;
        if (failed > 0) problems.push(`${failed} receipt checks failed`);
        return { ops: receipts.length * plan.passes };
      },
    },
  ];
  const result = await alternate(sides, plan.rounds, (side) => measured(async () => side.run()), log);
  const summary = summarize(result, sides, ([tx, receipt]) => ({ receiptOverTx: receipt.seconds / receipt.ops / (tx.seconds / tx.ops) }));
  const blocksCovered = new Set(receipts.map((r) => r.minedIn.header.height)).size;
  return {
    sample: count,
    passes: plan.passes,
    blocksCovered,
    proofSteps: median(receipts.map((r) => r.proof.path.length)),
    ...summary,
    ratio: summary.sides[1].usPerOp / summary.sides[0].usPerOp,
    pairRatios: summary.rounds.filter((r) => !r.disturbed || !result.clean).map((r) => r.ratios.receiptOverTx),
    assembly: { usPerReceipt: (assembly.seconds * 1e6) / assembly.ops, foreignCores: assembly.foreignCores },
    problems,
  };
}

// ---------------------------------------------------------------------------------------------
// 2. PUT -> mined latency on a real node.

async function putToMined(plan, log) {
  const problems = [];
  const cluster = await Cluster.create();
  let sse;
  try {
    const node = await cluster.start();
    const base = node.url;
    // The SSE form of the ledger Thing's block event, from its TD.
    const td = (await getJson(new URL('things/ledger', base))).body;
    const form = td?.events?.block?.forms?.find((f) => f.subprotocol === 'sse' || f.contentType === 'text/event-stream');
    if (form === undefined) throw new Error('the ledger Thing has no SSE form for its block event');
    const sseUrl = new URL(form.href, td.base ?? base).href;
    /** Arrival time (performance.now()) of each block's event, by height. */
    const blockArrivals = new Map();
    const blockEvents = [];
    sse = await openSse(sseUrl, (name, data, arrivedAt) => {
      if (name !== 'block') return;
      blockArrivals.set(data.height, arrivedAt);
      blockEvents.push({ ...data, arrivedAt });
    });
    const putUrl = new URL(PROPERTY_PATH.slice(1), base).href;
    const ownCpu = () => ownCpuUs() + node.cpuUs();
    await waitForQuiet(log, ownCpu);
    const interval = 1000 / plan.rate;
    const warmup = Math.round(plan.warmupS * plan.rate);
    const total = warmup + Math.round(plan.durationS * plan.rate);
    const samples = [];
    const statuses = {};
    log(`  ${plan.rate} PUT/s, ${plan.warmupS} s warm-up then ${plan.durationS} s measured`);
    let window;
    const started = performance.now();
    let machineBefore;
    let cpuBefore;
    let miningBefore;
    let measuredFrom;
    for (let i = 0; i < total; i++) {
      if (i === warmup) {
        // Read before the window opens, so this request is not counted in it.
        miningBefore = (await getJson(new URL('ledger', base))).body.mining.cpuMs;
        machineBefore = machineBusyUs();
        cpuBefore = ownCpu();
        measuredFrom = performance.now();
      }
      const wait = started + i * interval - performance.now();
      if (wait > 0) await delay(wait);
      const value = 10 + ((i * 7) % 41) * 0.5;
      const sentAt = performance.now();
      const response = await fetch(putUrl, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value), signal: AbortSignal.timeout(15_000) });
      await response.arrayBuffer();
      const answeredAt = performance.now();
      const status = response.headers.get('flowchain-tx-status') ?? 'none';
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (response.status !== 204) problems.push(`PUT ${i} answered ${response.status}`);
      samples.push({ i, warmup: i < warmup, sentAt, answeredAt, txId: response.headers.get('flowchain-tx-id') ?? undefined, status });
    }
    {
      const seconds = (performance.now() - measuredFrom) / 1000;
      const cpuUs = ownCpu() - cpuBefore;
      const machineUs = machineBusyUs() - machineBefore;
      // Read after the window closed, so this request is not counted in it either.
      const miningMs = (await getJson(new URL('ledger', base))).body.mining.cpuMs - miningBefore;
      window = { seconds, cpuUs, miningShare: miningMs / (seconds * 1000), foreignCores: foreignCores(machineUs, cpuUs, seconds) };
    }
    const measuredSamples = samples.filter((s) => !s.warmup);
    // The receipts, fetched after the load (so polling adds nothing to it): each names its block;
    // the block's event arrival is when the transaction became `mined` for a client.
    const deadline = performance.now() + 20_000;
    let verified = 0;
    let missingEvents = 0;
    const receiptFailures = [];
    for (const sample of measuredSamples) {
      if (sample.txId === undefined) {
        problems.push(`PUT ${sample.i} had no flowchain-tx-id`);
        continue;
      }
      let receipt;
      for (;;) {
        const answer = await getJson(new URL(`ledger/tx/${sample.txId}`, base));
        if (answer.status === 200 && (answer.body.status === 'mined' || answer.body.status === 'anchored')) {
          receipt = answer.body;
          break;
        }
        if (performance.now() > deadline) break;
        await delay(100);
      }
      if (receipt === undefined) {
        problems.push(`transaction of PUT ${sample.i} not mined 20 s after the load`);
        continue;
      }
      const check = checkReceipt(receipt, NodeIdentity.verify);
      if (check.ok) verified++;
      else receiptFailures.push(check.fault);
      const height = receipt.minedIn.header.height;
      // The event can trail the receipt by a moment: wait for it (bounded).
      for (let k = 0; k < 50 && !blockArrivals.has(height); k++) await delay(20);
      const minedAt = blockArrivals.get(height);
      if (minedAt === undefined) {
        missingEvents++;
        continue;
      }
      sample.height = height;
      sample.minedAt = minedAt;
    }
    if (receiptFailures.length > 0) problems.push(`${receiptFailures.length} receipts did not verify (${receiptFailures[0]})`);
    if (missingEvents > 0) problems.push(`${missingEvents} transactions whose block event never arrived over SSE`);
    const notStored = Object.entries(statuses).filter(([s]) => s !== 'stored');
    if (notStored.length > 0) problems.push(`PUTs not answered as stored: ${JSON.stringify(Object.fromEntries(notStored))}`);
    const complete = measuredSamples.filter((s) => s.minedAt !== undefined);
    const storedMs = measuredSamples.map((s) => s.answeredAt - s.sentAt);
    const minedMs = complete.map((s) => s.minedAt - s.sentAt);
    const heights = new Set(complete.map((s) => s.height));
    const windowBlocks = blockEvents.filter((b) => heights.has(b.height));
    const stored = { p50: percentile(storedMs, 0.5), p99: percentile(storedMs, 0.99), max: Math.max(...storedMs), mean: storedMs.reduce((a, b) => a + b, 0) / storedMs.length };
    const minedLatency = { p50: percentile(minedMs, 0.5), p99: percentile(minedMs, 0.99), max: Math.max(...minedMs), mean: minedMs.reduce((a, b) => a + b, 0) / minedMs.length };
    return {
      ...plan,
      puts: measuredSamples.length,
      minedCount: complete.length,
      verified,
      statuses,
      stored,
      mined: minedLatency,
      ratio: minedLatency.p50 / stored.p50,
      ratioP99: minedLatency.p99 / stored.p99,
      blocks: windowBlocks.length,
      txPerBlock: windowBlocks.length > 0 ? windowBlocks.reduce((s, b) => s + b.txCount, 0) / windowBlocks.length : Number.NaN,
      putsPerBlock: windowBlocks.length > 0 ? complete.length / windowBlocks.length : Number.NaN,
      difficulties: [...new Set(windowBlocks.map((b) => b.difficulty))],
      blockGapMs: median(windowBlocks.slice(1).map((b, k) => b.arrivedAt - windowBlocks[k].arrivedAt)),
      cpuCores: window.cpuUs / (window.seconds * 1e6),
      miningShare: window.miningShare,
      foreignCores: window.foreignCores,
      disturbed: window.foreignCores > FOREIGN_LIMIT,
      warnings: node.warnings,
      problems,
    };
  } finally {
    await sse?.close();
    await cluster.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Reopen and verify a chain of 100k transactions.

async function reopenAndVerify(txs, plan, log) {
  const problems = [];
  const dir = await temp('reopen');
  const init = { blockIntervalMs: DEFAULTS.blockIntervalMs, maxBlockTx: DEFAULTS.maxBlockTx, difficulty: 1, stake: DEFAULTS.stake, anchorEveryBlocks: DEFAULTS.anchorEveryBlocks, anchorIntervalMs: DEFAULTS.anchorIntervalMs };
  const random = createRandom(7);
  const seededBytes = (n) => Uint8Array.from({ length: n }, () => Math.floor(random.next() * 256));
  try {
    // Build: full blocks of 4096, difficulty at its floor of 1. The clock moves only here:
    // 999 ms before each admission that seals a block (so each block "took" about the
    // interval and the retarget stays at 1, and no partly filled block is due before that),
    // and 1 s at the end, which fires the last block's seal timer.
    log(`  building a chain of ${fmt(txs.length)} transactions (difficulty 1)`);
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const built = performance.now();
    const { database, chain } = await openChain(dir, clock, init, seededBytes);
    const events = [];
    chain.onEvent((event) => event.kind === 'block' && events.push(event));
    const waitBlocks = async (count) => {
      const until = performance.now() + MINE_TIMEOUT_MS;
      while (events.length < count && performance.now() < until) await delay(2);
      return events.length >= count;
    };
    await chain.start();
    for (let i = 0; i < txs.length; i += BATCH) {
      if (i > 0 && i % init.maxBlockTx === 0) {
        // This admission seals block i / maxBlockTx - 1; the ones before it are mined first.
        await waitBlocks(i / init.maxBlockTx - 1);
        clock.advance(init.blockIntervalMs - 1);
      }
      await chain.admit(txs.slice(i, i + BATCH), owner, clock.now());
    }
    const blockCount = Math.ceil(txs.length / init.maxBlockTx);
    await waitBlocks(blockCount - 1);
    clock.advance(init.blockIntervalMs);
    if (!(await waitBlocks(blockCount))) problems.push(`the chain of ${txs.length} transactions was not mined within ${MINE_TIMEOUT_MS / 1000} s`);
    const difficulties = [...new Set(events.map((e) => e.difficulty))];
    if (difficulties.length !== 1 || difficulties[0] !== 1) problems.push(`the built chain's difficulties were ${difficulties.join(', ')}, not all 1`);
    await chain.stop();
    await database.close();
    const buildS = (performance.now() - built) / 1000;
    log(`  built ${events.length} blocks in ${buildS.toFixed(1)} s`);
    // Settle: one untimed scan (LevelDB's compaction after the build, the page cache), then
    // the writes flushed and a short pause before the first timed round.
    {
      const db = await Database.open(join(dir, 'db'));
      for await (const _entry of db.section('ledger').entries());
      await db.close();
      flushDisks();
      await delay(2_000);
    }

    let keys = 0;
    const opens = [];
    /** Opens the database (not timed), runs `task` measured, closes it. */
    const onFreshDatabase = async (task) => {
      const openedAt = performance.now();
      const db = await Database.open(join(dir, 'db'));
      opens.push(performance.now() - openedAt);
      try {
        return await task(db);
      } finally {
        await db.close();
      }
    };
    const sides = [
      {
        label: 'full scan of the ledger section (section.entries())',
        run: () =>
          onFreshDatabase((db) =>
            measured(async () => {
              let n = 0;
              for await (const _entry of db.section('ledger').entries()) n++;
              keys = n;
              return { ops: n };
            }),
          ),
      },
      {
        label: 'VirtualChain.start() (reopen: structure, hashes, block signatures)',
        run: () =>
          onFreshDatabase(async (db) => {
            const reopened = new VirtualChain({ store: new ChainStore(db.section('ledger')), identity, clock, randomBytes: seededBytes, miner: new Miner() }, init);
            const result = await measured(async () => {
              await reopened.start();
              return { ops: txs.length };
            });
            const summary = reopened.summary();
            await reopened.stop();
            if (summary.height !== blockCount - 1 || summary.pending !== 0) problems.push(`the reopened chain had height ${summary.height} and ${summary.pending} pending`);
            return result;
          }),
      },
      {
        label: 'verifyChain(store, true) (flowchain verify: + every transaction signature)',
        run: () =>
          onFreshDatabase((db) =>
            measured(async () => {
              const { report } = await verifyChain(new ChainStore(db.section('ledger')), true);
              if (report.fault !== undefined || report.transactions !== txs.length || report.blocks !== blockCount) problems.push(`verifyChain reported ${JSON.stringify(report)}`);
              return { ops: report.transactions };
            }),
          ),
      },
    ];
    const result = await alternate(sides, plan.rounds, (side) => side.run(), log);
    const summary = summarize(result, sides, ([scan, start, verify]) => ({ startOverScan: start.seconds / scan.seconds, verifyOverScan: verify.seconds / scan.seconds }));
    const usedRounds = summary.rounds.filter((r) => !r.disturbed || !result.clean);
    return {
      transactions: txs.length,
      blocks: blockCount,
      maxBlockTx: init.maxBlockTx,
      keys,
      buildS,
      openMs: median(opens),
      ...summary,
      // Medians of the used rounds: one long run each, so a median is the fair single figure.
      startRatio: summary.sides[1].medianSeconds / summary.sides[0].medianSeconds,
      verifyRatio: summary.sides[2].medianSeconds / summary.sides[0].medianSeconds,
      startPairRatios: usedRounds.map((r) => r.ratios.startOverScan),
      verifyPairRatios: usedRounds.map((r) => r.ratios.verifyOverScan),
      problems,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * The commit checked out and when dist/ was compiled, as the run starts: run.mjs reads the
 * revision when the run ends, and on a shared checkout the two can differ.
 */
function codeAtStart() {
  let revision = 'unknown';
  try {
    const git = (...args) => execFileSync('git', args, { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim();
    revision = `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src') !== '' ? ' with uncommitted changes in src/' : ''}`;
  } catch {
    // not a git checkout
  }
  let distBuiltAt;
  try {
    distBuiltAt = statSync(fileURLToPath(new URL('../dist/ledger/virtual-chain.js', import.meta.url))).mtime.toISOString();
  } catch {
    // no dist
  }
  return { revision, distBuiltAt };
}

/** Runs the ledger benchmarks; `problems` lists whatever makes the figures invalid. */
export async function ledgerBenchmarks({ quick, log }) {
  const plan = quick ? PLANS.quick : PLANS.full;
  const code = codeAtStart();
  const started = performance.now();
  const timings = {};
  const time = phaseTimer(timings);
  const count = Math.max(plan.sealing.transactions, plan.reopen.transactions);
  log(`  signing ${fmt(count)} transactions (not timed)`);
  const txs = await time('signing', () => signTransactions(count));
  log(`  1. sealing throughput, ${fmt(plan.sealing.transactions)} transactions`);
  const sealing = await time('sealing', () => sealingThroughput(txs.slice(0, plan.sealing.transactions), plan.sealing, log));
  const { kept, ...sealingRecord } = sealing;
  let receipts;
  try {
    log(`  3. receipt verification, ${fmt(plan.receipts.sample)} receipts from that chain`);
    receipts = await time('receipts', () => receiptVerification(kept, plan.receipts, log));
  } finally {
    await closeKept(kept);
  }
  log('  2. PUT -> mined on one node process');
  const latency = await time('latency', () => putToMined(plan.latency, log));
  log(`  4. reopen and verify, ${fmt(plan.reopen.transactions)} transactions`);
  const reopen = await time('reopen', () => reopenAndVerify(txs.slice(0, plan.reopen.transactions), plan.reopen, log));
  const problems = [
    ...sealing.problems.map((p) => `sealing: ${p}`),
    ...receipts.problems.map((p) => `receipts: ${p}`),
    ...latency.problems.map((p) => `PUT -> mined: ${p}`),
    ...reopen.problems.map((p) => `reopen: ${p}`),
  ];
  return { key: 'ledger', name: 'Ledger (virtual blocks)', plan, code, sealing: sealingRecord, receipts, latency, reopen, timings, totalS: (performance.now() - started) / 1000, problems };
}

// ---------------------------------------------------------------------------------------------

const ms = (v) => `${fmt(v, v < 10 ? 1 : 0)} ms`;
const secs = (v) => `${fmt(v, v < 10 ? 2 : 1)} s`;
const load = (f) => fmt(f, 2);
const range = (values, digits) => (values.length === 0 ? '-' : `${fmt(Math.min(...values), digits)} - ${fmt(Math.max(...values), digits)}`);
const roundsUsed = (part) => `${part.rounds.filter((r) => !r.disturbed || !part.clean).length} of ${part.rounds.length} (${part.rounds.filter((r) => r.disturbed).length})${part.clean ? '' : ' - NOISY: too few undisturbed rounds'}`;

/** ", mining N % of a core", or nothing for a run recorded before the share was measured. */
const share = (fraction) => (fraction === undefined ? '' : `, mining ${fmt(fraction * 100, 1)} % of a core`);

/** The ledger section of bench/RESULTS.md, from one run's record (`bench/out/ledger.json`). */
export function renderLedgerSection(run) {
  const { sealing: s, receipts: r, latency: l, reopen: o } = run;
  const notes = readNotes('ledger-notes.md');
  const [store, seal] = s.sides;
  const [txSide, receiptSide] = r.sides;
  const [scan, start, verify] = o.sides;

  const summaryTable = table(
    ['Benchmark', 'Flowchain ledger', 'Baseline (same run)', 'Ratio', 'What the ratio is', 'Rounds used (disturbed, re-measured)'],
    [
      [`1. Sealing, ${fmt(s.transactions)} tx, one node`, `${fmt(seal.rate)} tx/s sealed into mined blocks${share(s.miningShare)}`, `${fmt(store.rate)} tx/s stored as plain records`, fmt(s.ratio, 3), 'sealed/s ÷ stored/s (throughput; higher is better)', roundsUsed(s)],
      [`2. PUT -> mined, ${l.rate}/s for ${l.durationS} s`, `p50 ${ms(l.mined.p50)}, p99 ${ms(l.mined.p99)} (PUT sent -> block event)${share(l.miningShare)}`, `p50 ${ms(l.stored.p50)}, p99 ${ms(l.stored.p99)} (PUT sent -> answered, stored at owner)`, `${fmt(l.ratio, 0)} x`, 'mined p50 ÷ stored p50 (a cost factor on latency)', l.disturbed ? `1 window, DISTURBED (${load(l.foreignCores)} cores)` : '1 window'],
      [`3. Receipt verification, ${fmt(r.sample)} receipts x ${r.passes ?? 1}`, `${fmt(receiptSide.usPerOp)} µs per receipt (checkReceipt)`, `${fmt(txSide.usPerOp)} µs per transaction (verifyTransaction)`, `${fmt(r.ratio, 2)} x`, 'receipt ÷ transaction check (a cost factor)', roundsUsed(r)],
      [`4a. Reopen, ${fmt(o.transactions)} tx in ${o.blocks} blocks`, `${secs(start.medianSeconds)} (VirtualChain.start)`, `${secs(scan.medianSeconds)} (full scan, ${fmt(o.keys)} keys)`, `${fmt(o.startRatio, 2)} x`, 'start ÷ scan, medians (a cost factor)', roundsUsed(o)],
      [`4b. Verify with signatures, ${fmt(o.transactions)} tx`, `${secs(verify.medianSeconds)} (verifyChain(store, true))`, `${secs(scan.medianSeconds)} (same scan)`, `${fmt(o.verifyRatio, 1)} x`, 'verify ÷ scan, medians (a cost factor)', roundsUsed(o)],
    ],
  );

  const sealingRows = s.rounds.map((round, i) => {
    const ledgerRun = s.runs[i];
    return [i + 1, round.order.map((x) => (x.startsWith('LevelDB') ? 'store' : 'ledger')).join(' then '), secs(round.seconds[0]), secs(round.seconds[1]), secs(ledgerRun.admittedS), ledgerRun.blocks, fmt(ledgerRun.lastDifficulty), fmt(ledgerRun.nextDifficulty), fmt(round.ratios.sealedOverStored, 3), load(round.foreignCores), round.disturbed && s.clean ? 'no (disturbed)' : 'yes'];
  });
  const sealingTable = table(['Round', 'Order', 'Store', 'Ledger, to last block', 'Ledger, to last admit', 'Blocks', 'Last block difficulty', 'Next difficulty', 'Ratio', 'Other load (cores)', 'Used'], sealingRows);
  const timeline = s.lastRunBlocks.map((b) => `${b.height}: ${fmt(b.txCount)} tx, d ${fmt(b.difficulty)}, at ${fmt(b.atS, 2)} s`).join('; ');

  const checks = r.sample * (r.passes ?? 1);
  const receiptRows = r.rounds.map((round, i) => [i + 1, round.order.map((x) => (x.startsWith('verifyTransaction') ? 'tx' : 'receipt')).join(' then '), `${fmt((round.seconds[0] * 1e6) / checks)} µs`, `${fmt((round.seconds[1] * 1e6) / checks)} µs`, fmt(round.ratios.receiptOverTx, 2), load(round.foreignCores), round.disturbed && r.clean ? 'no (disturbed)' : 'yes']);
  const receiptTable = table(['Round', 'Order', 'verifyTransaction per tx', 'checkReceipt per receipt', 'Ratio', 'Other load (cores)', 'Used'], receiptRows);

  const latencyTable = table(
    ['Measure (measured PUTs only)', 'p50', 'p99', 'Mean', 'Max'],
    [
      ['PUT sent -> answered (stored at owner)', ms(l.stored.p50), ms(l.stored.p99), ms(l.stored.mean), ms(l.stored.max)],
      ['PUT sent -> `block` event of its block (mined)', ms(l.mined.p50), ms(l.mined.p99), ms(l.mined.mean), ms(l.mined.max)],
      ['Ratio mined / stored', `${fmt(l.ratio, 0)} x`, `${fmt(l.ratioP99, 0)} x`, '-', '-'],
    ],
  );

  const reopenRows = o.rounds.map((round, i) => [i + 1, round.order.map((x) => (x.startsWith('full scan') ? 'scan' : x.startsWith('VirtualChain') ? 'start' : 'verify')).join(', '), secs(round.seconds[0]), secs(round.seconds[1]), secs(round.seconds[2]), fmt(round.ratios.startOverScan, 2), fmt(round.ratios.verifyOverScan, 1), load(round.foreignCores), round.disturbed && o.clean ? 'no (disturbed)' : 'yes']);
  const reopenTable = table(['Round', 'Order', 'Scan', 'start()', 'verifyChain(, true)', 'start / scan', 'verify / scan', 'Other load (cores)', 'Used'], reopenRows);

  const problems = run.problems.length === 0 ? 'none: every admitted transaction was mined, every sampled receipt verified, every PUT was answered `stored` and its receipt verified, and the reopened chain had every block and transaction' : run.problems.map((p) => `**${p}**`).join('; ');
  return `## Ledger (virtual blocks)

${run.quick ? '> **Quick run (`--quick`): small N and short windows; harness check only.**\n\n' : ''}- Date: ${new Date(run.startedAt).toISOString()}
- Command: \`${run.command}\` (the default \`npm run bench\` runs it too)
- Code: ${run.code === undefined ? `commit ${run.machine.revision}` : `commit ${run.code.revision} when the run started${run.code.revision === run.machine.revision ? '' : ` (${run.machine.revision} when it ended: others committed meanwhile; the figures are of the dist/ compiled before the start)`}`}; dist/ compiled by \`npm run build\`${run.code?.distBuiltAt === undefined ? '' : ` at ${run.code.distBuiltAt}`}
- Machine: nproc ${run.machine.nproc}, ${run.machine.cpuModel}, ${run.machine.memoryGiB} GiB RAM; Node ${run.machine.node}, level ${run.machine.packages.level}
- Ledger bench time: ${fmt(run.totalS)} s (signing the transactions ${fmt(run.timings.signing)} s, sealing ${fmt(run.timings.sealing)} s, receipts ${fmt(run.timings.receipts)} s, PUT -> mined ${fmt(run.timings.latency)} s, reopen ${fmt(run.timings.reopen)} s)
- Settings: blockIntervalMs ${fmt(s.settings.blockIntervalMs)}, maxBlockTx ${fmt(s.settings.maxBlockTx)}, difficulty ${fmt(s.settings.difficulty)}, stake ${s.settings.stake} (src/config.ts DEFAULTS) unless a row says otherwise
- Validity: ${problems}

${summaryTable}

### 1. Sealing throughput on one node (in process)

${sealingTable}

- ${fmt(s.transactions)} transactions signed beforehand, admitted with \`VirtualChain.admit\` in batches of ${s.batch}, each awaited
  before the next (admission and sealing take turns inside the chain anyway); timed from the first
  admission to the \`block\` event that brings the mined count to ${fmt(s.transactions)}. Each round starts on an empty
  chain in a new temp directory (real LevelDB, real mining worker, system clock). Admission alone
  (to the last \`admit\` resolving, mining still behind) ran at ${fmt(s.admittedPerS)} tx/s over the used rounds.
- Store baseline: the same transactions, \`r/<pass>/<H_DATA>\` -> transaction, through the same
  \`Database.section().batch\` in batches of ${s.batch}, each awaited${(s.storePasses ?? 1) > 1 ? `, written ${s.storePasses} times over under different keys
  (${fmt(s.transactions * s.storePasses)} records per window) so that its window is long enough for the other-load check` : ''}. CPU: ledger ${fmt(seal.cpuCores * 100)} % of a core (the mining
  worker included), store ${fmt(store.cpuCores * 100)} %.
- ${s.sustained === undefined ? 'Too few full blocks per run for a sustained rate (fewer than 4).' : `Sustained, over the second half of each used run's full blocks (${fmt(s.sustained.blocks)} blocks in ${s.sustained.runs} runs): ${fmt(s.sustained.rate)} tx/s,
  one block per ${fmt(s.sustained.secondsPerBlock, 2)} s, median difficulty ${fmt(s.sustained.difficulty)}, the miner trying ${fmt(s.sustained.hashesPerS)} hashes/s.`}
- Mining CPU (the worker's own time, \`mining.cpuMs\` of the chain's summary, over the used rounds' time from the first admission to the last block): ${s.miningShare === undefined ? 'not measured' : `${fmt(s.miningShare * 100, 1)} % of one core`}; the share the miner may take is ${fmt(s.settings.miningShare * 100)} % (\`--mining-share\`).
- Blocks of the last round (height: transactions, difficulty, mined at): ${timeline}.

### 2. PUT -> mined latency on one node process

${latencyTable}

- One \`node dist/cli.js start --host 127.0.0.1 --port 0 --data <temp> --log-level info\` (bundled Things, default
  settings). Sequential \`PUT ${PROPERTY_PATH}\` (JSON numbers 10-30 in 0.5 steps), one every ${fmt(1000 / l.rate)} ms
  (${l.rate}/s), ${l.warmupS} s of warm-up not counted, then ${fmt(l.puts)} measured PUTs over ${l.durationS} s. Flowchain-Tx-Status:
  ${Object.entries(l.statuses).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}.
- "Mined" is the arrival, on one SSE subscription opened before the load (the ledger Thing's
  \`block\` event form from its TD), of the event of the block that the transaction's receipt names;
  receipts (\`GET /ledger/tx/{Flowchain-Tx-Id}\`) are read after the load so that polling adds nothing to it.
  ${fmt(l.minedCount)} of ${fmt(l.puts)} matched, ${fmt(l.verified)} receipts verified with \`checkReceipt\`.
- ${fmt(l.blocks)} blocks held the measured PUTs: ${fmt(l.putsPerBlock, 1)} PUTs and ${fmt(l.txPerBlock, 1)} transactions per block on average (the
  bundled simulated devices' recorded readings are transactions too), difficulty ${l.difficulties.map((d) => fmt(d)).join(', ')},
  median gap between block events ${ms(l.blockGapMs)}. Mining took ${l.miningShare === undefined ? 'an unmeasured share' : `${fmt(l.miningShare * 100, 2)} %`} of one core over the measured window (\`mining.cpuMs\` of \`GET /ledger\`). Load generator and node used ${fmt(l.cpuCores * 100)} % of a core together;
  other programs ${load(l.foreignCores)} cores${l.disturbed ? ' (**disturbed**: above the 0.15 limit)' : ''}.

### 3. Receipt verification

${receiptTable}

- ${fmt(r.sample)} receipts, spread evenly over the chain of the last round of benchmark 1 (${r.blocksCovered} blocks, Merkle paths of
  ${fmt(r.proofSteps)} steps), built as the node serves them (\`{ ...record, hData, ...(await chain.proof(txId)) }\`), then
  JSON round-tripped; each side checks all of them ${r.passes ?? 1} time(s) per round (${fmt(checks)} checks). Both sides verify
  with \`NodeIdentity.verify\` (Ed25519 through \`node:crypto\`).
- Assembling one receipt on the node (\`chain.proof\`: placement, the whole block read and checked
  (\`checkBlock\`: its Merkle root and signature), its Merkle tree rebuilt for the path) took ${fmt(r.assembly.usPerReceipt)} µs (one pass, not alternated; other load ${load(r.assembly.foreignCores)} cores).

### 4. Reopen and verify ${fmt(o.transactions)} transactions

${reopenTable}

- Chain built in the same run (${secs(o.buildS)}, not timed in the figures): ${fmt(o.transactions)} transactions in ${o.blocks} blocks of up to ${fmt(o.maxBlockTx)},
  difficulty 1 (the floor of every block; a clock that moves by the block interval per block keeps the
  retarget there), real LevelDB, ${fmt(o.keys)} keys in the ledger section. Each measurement opens the database
  afresh (open not timed: median ${ms(o.openMs)}) and closes it after. Ratios in the summary are of the medians.

### Notes on the ledger figures

${notes}
`;
}

/**
 * A member that lies, against a ring of three real `flowchain start` processes: a process of its
 * own (test/helpers/lying-member.mjs) with a key the ring's authority admitted, talking to the
 * honest members' peer ports directly. Each attack the threat model says is defended (README,
 * "Threat model": one member that lies) gets its code and changes nothing the honest nodes
 * serve: a planted receipt for another node's Thing, transactions dated outside the owner's
 * window, an entry of its own for another node's Thing, a storage burst past the per-peer
 * quota, and more links at once than a member may hold. Writes the honest nodes acknowledged
 * before and during the attacks still read as receipts from every node once it is gone.
 */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { RingAuthority } from '../../src/membership/ring-authority.js';
import type { ThingDescription } from '../../src/td/thing-description.js';
import { runScript, type NodeProcess } from '../helpers/node-process.js';
import { getJson, settledRing, startRing } from '../helpers/ring-processes.js';
import { tempDir } from '../helpers/test-servient.js';

/** What a member answered one peer request: its reply, or its error body. */
interface Answer {
  readonly reply?: Record<string, unknown>;
  readonly error?: { readonly code: string };
}
type Refused = { readonly key: string; readonly error: { readonly code: string } };
type SubmitResult = { readonly ack?: { readonly txId: string }; readonly error?: { readonly code: string } };

/** The ring store's default per-peer quota (src/dht/ring-store.ts): bytes per second, and at once. */
const QUOTA = { rate: 2 * 1024 * 1024, burst: 16 * 1024 * 1024 };
/** The peer network's default bound on open links per member (src/dht/tls-peer-network.ts). */
const MAX_LINKS_PER_PEER = 4;

const RECEIPT_REL = /<([^>]+)>; rel="https:\/\/w3id\.org\/flowchain#receipt"/;

/**
 * Runs the lying member with `attacks` against `nodes`, running `meanwhile` in rounds while it
 * lives (at least one round, at most four); resolves with what it printed, once it has exited 0.
 */
async function lie(t: Test, authorityDir: string, nodes: readonly NodeProcess[], attacks: readonly string[], meanwhile: () => Promise<void>): Promise<Record<string, Record<string, unknown>>> {
  const liar = runScript(t, 'test/helpers/lying-member.mjs', [authorityDir, nodes.map((n) => n.url).join(','), ...attacks]);
  let gone = false;
  const exited = new Promise<number | null>((resolve) => liar.child.once('exit', (code) => resolve(code))).finally(() => (gone = true));
  for (let round = 0; round === 0 || (!gone && round < 4); round++) await meanwhile();
  const [line] = await liar.line(/^\{.*\}$/);
  t.equal(await exited, 0, 'the lying member exits');
  return (JSON.parse(line) as { attacks: Record<string, Record<string, unknown>> }).attacks;
}

t.test('a member that lies is held to what it can prove', async (t) => {
  const authorityDir = join(tempDir(t), 'authority');
  const authority = RingAuthority.create(authorityDir, { now: () => new Date(), randomBytes: (n) => new Uint8Array(randomBytes(n)) });
  const nodes = await startRing(t, 3, [], authority);
  const ringOf = (sorted: Awaited<ReturnType<typeof settledRing>>) => sorted.map((r) => [r.id, r.predecessor?.id, r.successors.map((s) => s.id)]);
  const before = await settledRing(nodes);
  t.ok(before.every((r, i) => r.successors[0]?.id === before[(i + 1) % 3]!.id && r.successors.length === 2), 'one ring of three');
  const [a] = nodes as [NodeProcess, NodeProcess, NodeProcess];
  const thermostat = await getJson<ThingDescription>(`${a.url}things/thermostat`);
  const thermostatId = String(thermostat.id);

  /** Receipt links of every write an honest node acknowledged as stored. */
  const acknowledged: string[] = [];
  let k = 0;
  const write = async (t: Test, node: NodeProcess) => {
    const res = await fetch(`${node.url}things/thermostat/properties/targetTemperature`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(18 + (k++ % 20) / 2) });
    const answer = { status: res.status, txStatus: res.headers.get('flowchain-tx-status'), receipt: RECEIPT_REL.exec(res.headers.get('link') ?? '')?.[1] };
    t.match(answer, { status: 204, txStatus: 'stored', receipt: String }, `a write on ${node.url} is stored at its owner, with a receipt link`);
    if (answer.txStatus === 'stored' && answer.receipt !== undefined) acknowledged.push(answer.receipt);
  };
  /** Writes on every honest node, one after another. */
  const writeEverywhere = (t: Test) => async () => {
    for (const node of nodes) await write(t, node);
  };
  await writeEverywhere(t)();
  const status = (path: string) => Promise.all(nodes.map(async (n) => (await fetch(`${n.url}${path}`)).status));

  await t.test('a planted receipt for another node\'s Thing is refused and served by no node', async (t) => {
    const { 'planted-receipt': planted } = await lie(t, authorityDir, nodes, ['planted-receipt'], writeEverywhere(t));
    const { hData, replicated, put } = planted as { hData: string; replicated: Record<string, Answer>; put: Answer };
    for (const [node, answer] of Object.entries(replicated)) {
      // A replica that does not take replication from the liar by position refuses the whole offer.
      const code = answer.error?.code ?? (answer.reply?.refused as Refused[] | undefined)?.find((r) => r.key === hData)?.error.code;
      t.match(code, /^FLOWCHAIN_ERR_(TX_UNAUTHORIZED|RING_NOT_OWNER)$/, `${node} refuses it as replication (${code})`);
      t.equal(answer.reply?.stored ?? 0, 0, `${node} stores none of it`);
    }
    t.ok(Object.values(replicated).some((answer) => (answer.reply?.refused as Refused[] | undefined)?.some((r) => r.error.code === 'FLOWCHAIN_ERR_TX_UNAUTHORIZED')), 'it is the sender-hosts-the-Thing rule that refuses it where the liar\'s position passes');
    t.equal(put.error?.code, 'FLOWCHAIN_ERR_RING_RECORD_INVALID', 'and as a plain put its owner refuses it (transaction records are written by their owner\'s flow only)');
    t.same(await status(`ledger/tx/${hData}`), [404, 404, 404], 'no node serves a receipt for it');
    const history = await getJson<{ value: unknown }[]>(`${a.url}things/thermostat/properties/targetTemperature/history`);
    t.notOk(history.some((h) => h.value === 999), 'the thermostat\'s history has no 999');
  });

  await t.test('transactions dated 2126 and 1970 are refused by their owner with FLOWCHAIN_ERR_TX_CLOCK_SKEW', async (t) => {
    const { 'clock-skew': skew } = await lie(t, authorityDir, nodes, ['clock-skew'], writeEverywhere(t));
    const { published, ...dated } = skew as { published: Answer } & Record<'2126' | '1970' | 'now', { hData: string; result?: SubmitResult; error?: unknown }>;
    t.equal(published.error, undefined, 'the entry of its own Thing is taken, so the host check passes');
    t.ok(dated.now.result?.ack, 'its transaction dated now is filed (the submission itself is sound)');
    for (const year of ['2126', '1970'] as const) {
      t.equal(dated[year].result?.error?.code, 'FLOWCHAIN_ERR_TX_CLOCK_SKEW', `dated ${year}: FLOWCHAIN_ERR_TX_CLOCK_SKEW`);
      t.same(await status(`ledger/tx/${dated[year].hData}`), [404, 404, 404], `dated ${year}: no node serves a receipt`);
    }
  });

  await t.test('an entry it signs for another node\'s Thing does not replace the host\'s', async (t) => {
    const { 'forged-entry': forged } = await lie(t, authorityDir, nodes, ['forged-entry'], writeEverywhere(t));
    const { before: held, after, forgedKey, put, replicated } = forged as { before: string; after: string; forgedKey: string; put: Answer; replicated: Record<string, Answer> };
    t.not(held, forgedKey, 'the owner held the host\'s entry');
    // The first entry wins, whatever the put is answered: only the host's key may replace it.
    t.equal(after, held, `put at the key's owner (answered ${JSON.stringify(put.error?.code ?? put.reply)}), it still holds the host's entry`);
    for (const [node, answer] of Object.entries(replicated)) {
      t.ok(answer.error?.code === 'FLOWCHAIN_ERR_RING_NOT_OWNER' || answer.reply?.stored === 0, `${node} does not take it as replication (${answer.error?.code ?? `stored ${String(answer.reply?.stored)}`})`);
    }
    for (const node of nodes) {
      const td = await getJson<ThingDescription>(`${node.url}things/${encodeURIComponent(thermostatId)}`);
      t.match(td, { title: thermostat.title, base: a.url }, `${node.url} serves the host's TD and base`);
    }
    // The owners of the host's writes read who hosts the thermostat from the same entry.
    await writeEverywhere(t)();
  });

  await t.test('a storage burst is refused with FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED within the per-peer quota', async (t) => {
    const { 'storage-burst': burst } = await lie(t, authorityDir, nodes, ['storage-burst'], writeEverywhere(t));
    const outcome = burst as { published: Answer; refusal?: { code: string }; otherErrors: unknown[]; acceptedBytes: number; acceptedMessages: number; refusedRecords: unknown[]; elapsedMs: number };
    t.equal(outcome.published.error, undefined, 'the entry of its own Thing is taken');
    t.same(outcome.otherErrors, [], 'no other error');
    t.equal(outcome.refusal?.code, 'FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED', 'the node refuses once the quota is spent');
    t.ok(outcome.acceptedMessages > 0, 'sound records were taken up to then');
    t.same(outcome.refusedRecords, [], 'every record it took was sound (and so stored)');
    // Its bucket starts full at the first charge and refills until the last; the liar's own
    // time from its first send to its last accepted reply is longer (2 ms more: the node's clock
    // counts whole milliseconds).
    const bound = QUOTA.burst + (QUOTA.rate * (outcome.elapsedMs + 2)) / 1000;
    t.ok(outcome.acceptedBytes <= bound, `taken ${outcome.acceptedBytes} bytes in ${Math.round(outcome.elapsedMs)} ms: within 16 MiB + 2 MiB/s (${Math.round(bound)})`);
  });

  await t.test(`more than ${MAX_LINKS_PER_PEER} links at once from one member are refused with FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED`, async (t) => {
    const { 'link-flood': flood } = await lie(t, authorityDir, nodes, ['link-flood'], writeEverywhere(t));
    const { opened, pings, refused, reopened } = flood as { opened: number; pings: Answer[]; refused: { status: number; code: string }[]; reopened: boolean };
    t.equal(opened, MAX_LINKS_PER_PEER, `${MAX_LINKS_PER_PEER} of ten open`);
    t.ok(pings.every((p) => p.reply !== undefined), 'and serve requests');
    t.same(refused, Array.from({ length: 10 - MAX_LINKS_PER_PEER }, () => ({ status: 429, code: 'FLOWCHAIN_ERR_PEER_QUOTA_EXCEEDED' })), 'the rest are refused 429 with the code');
    t.ok(reopened, 'once they are closed, a link opens again');
  });

  await t.test('once it is gone, the ring is as it was and every acknowledged write reads from every node', async (t) => {
    t.same(ringOf(await settledRing(nodes)), ringOf(before), 'the same three nodes in the same order');
    for (const node of nodes) {
      t.equal((await getJson<ThingDescription>(`${node.url}things/${encodeURIComponent(thermostatId)}`)).base, a.url, `${node.url} still names the host of the thermostat`);
    }
    t.ok(acknowledged.length >= 15, `${acknowledged.length} writes acknowledged`);
    for (const link of acknowledged) {
      const txId = link.slice(link.lastIndexOf('/') + 1);
      const receipts = await Promise.all(nodes.map(async (n) => getJson<{ txId: string; hData: string }>(`${n.url}ledger/tx/${txId}`)));
      t.ok(receipts.every((r) => r.txId === txId), `${txId.slice(0, 8)}… reads from every node`);
      t.same(await status(`ledger/tx/${receipts[0]!.hData}`), [200, 200, 200], `and by its H_DATA ${receipts[0]!.hData.slice(0, 8)}…`);
    }
    t.same(await Promise.all(nodes.map((n) => n.stop())), [0, 0, 0], 'every node stops cleanly');
  });
});

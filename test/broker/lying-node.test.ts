/**
 * One lying member, as a real node of the ring: a full servient (test/helpers/lying-node.mjs)
 * that the ring's authority admitted and that joined a ring of three honest `flowchain start`
 * processes, whose peer handlers lie. As a key's owner it acknowledges every transaction
 * without keeping it (and proves nothing); as a successor it drops what it is given to keep;
 * asked for any record it says "not found". The writer counts a write stored only once the
 * owner and one successor proved they hold it (README, "Threat model"), so no write the liar
 * owns is answered stored; the writer keeps those in its outbox until an honest node owns
 * their keys, and once the liar is gone every write, acknowledged or not, reads as a receipt
 * from every honest node.
 */
import t from 'tap';
import type { RingDescription } from '../../src/dht/ring-service.js';
import { admitNodeData } from '../../src/membership/admit-node.js';
import { runScript, type NodeProcess } from '../helpers/node-process.js';
import { getJson, ownerOf, settledRing, startRing, type RingReceipt as Receipt } from '../helpers/ring-processes.js';
import { tempDir, testAuthority } from '../helpers/test-servient.js';

/** What one PUT was answered, and what it wrote. */
interface Write {
  readonly value: number;
  readonly status: number;
  readonly txStatus: string | null;
  readonly copies: string | null;
  readonly quorum: string | null;
  readonly txId: string | undefined;
  /** H_DATA: from the Link header while queued, from the writer's history once stored. */
  hData?: string;
}

const RING = 2n ** 160n;
/** The least share of the ring the liar is placed to own: a write misses it with probability at most 5/6. */
const LIAR_SHARE = RING / 6n;
const RECEIPT_LINK = /<[^>]*\/ledger\/tx\/([0-9a-f]{40}|[0-9a-f]{64})>/;
const WRITES = 40;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const distance = (from: string, to: string) => (((BigInt(`0x${to}`) - BigInt(`0x${from}`)) % RING) + RING) % RING;

/**
 * Reads `GET /ledger/tx/{ref}` from `nodeUrl` until it answers a receipt or `deadline` (ms
 * since the epoch, shared by a step's reads) passes: the ring may still be settling after a
 * member died. Past the deadline it reads once. Resolves with the last status, and the receipt if any.
 */
async function readReceipt(nodeUrl: string, ref: string, deadline: number): Promise<{ status: number; receipt?: Receipt }> {
  for (;;) {
    const res = await fetch(`${nodeUrl}ledger/tx/${ref}`);
    const body = (await res.json()) as Partial<Receipt>;
    if (res.status === 200 && body.txId !== undefined) return { status: res.status, receipt: body as Receipt };
    if (Date.now() >= deadline) return { status: res.status };
    await sleep(250);
  }
}

/** Whether `receipt` is the receipt of `w`: its H_DATA, its value, and the id its PUT was answered (if stored). */
const sound = (w: Write, receipt: Receipt | undefined): boolean =>
  receipt !== undefined && receipt.hData === w.hData && receipt.tx.data.value === w.value && /^[0-9a-f]{64}$/.test(receipt.txId) && (w.txId === undefined || receipt.txId === w.txId);

t.test('one lying member of the ring cannot make acknowledged writes vanish', async (t) => {
  const authority = testAuthority(t);
  const honest = await startRing(t, 3, [], authority);
  const [writer] = honest as [NodeProcess, ...NodeProcess[]];
  const three = await settledRing(honest);
  t.equal(new Set(three.map((r) => r.successors[0]?.id)).size, 3, 'the honest nodes form one ring of three');

  // The liar's place is the ring id the authority certifies for its key: admit fresh keys until
  // one would own at least a sixth of the ring (SUCCESSOR of its arc from the honest node
  // before it), so that the writes below land on it at a rate the test can count on.
  const honestIds = three.map((r) => r.id);
  let liarData: string | undefined;
  for (let attempt = 0; attempt < 64 && liarData === undefined; attempt++) {
    const data = tempDir(t);
    const id = await admitNodeData(authority, data);
    const share = honestIds.map((h) => distance(h, id)).reduce((a, b) => (a < b ? a : b));
    if (share >= LIAR_SHARE) liarData = data;
  }
  t.ok(liarData, 'the authority admitted a liar that owns at least a sixth of the ring');
  const liarDir = liarData!;

  const liar = runScript(t, 'test/helpers/lying-node.mjs', ['--data', liarDir, '--join', honest[1]!.url, '--host', '127.0.0.1', '--port', '0', '--peer-port', '0', '--log-level', 'info']);
  const [listening] = await liar.line(/^\{.*"msg":"Flowchain node listening on .*\}$/);
  const liarUrl = (JSON.parse(listening) as { url: string }).url;
  const liarId = (await getJson<{ id: string }>(`${liarUrl}ring`)).id;
  const sorted: RingDescription[] = await settledRing([...honest, { url: liarUrl } as NodeProcess]);
  t.ok(sorted.every((r, i) => r.successors[0]?.id === sorted[(i + 1) % 4]!.id && r.successors.length === 3), 'the liar joined: one ring of four, in id order, with full successor lists');
  t.ok(sorted.some((r) => r.id === liarId), 'the liar is a member');

  // Writes on the writer, all at once: one whose owner is the liar stays at the head of the
  // outbox (retried with a growing back-off), so writes one after another would each wait a
  // back-off; together, the honest owners' ones go out in the same deliveries.
  const writes: Write[] = [];
  const put = async (i: number): Promise<Write> => {
    const value = 10 + (i % 40) / 2;
    const res = await fetch(`${writer.url}things/thermostat/properties/targetTemperature`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
    const key = RECEIPT_LINK.exec(res.headers.get('link') ?? '')?.[1];
    const txId = res.headers.get('flowchain-tx-id') ?? undefined;
    return {
      value,
      status: res.status,
      txStatus: res.headers.get('flowchain-tx-status'),
      copies: res.headers.get('flowchain-tx-copies'),
      quorum: res.headers.get('flowchain-tx-quorum'),
      txId,
      ...(key?.length === 40 ? { hData: key } : {}),
    };
  };
  const ownedByLiar = (w: Write) => w.hData !== undefined && ownerOf(sorted, w.hData).id === liarId;
  // Stored writes are linked by transaction id: the writer's history gives their H_DATA.
  const resolveKeys = async () => {
    const history = await getJson<{ hData: string; txId?: string }[]>(`${writer.url}things/thermostat/properties/targetTemperature/history`);
    for (const w of writes) w.hData ??= history.find((entry) => entry.txId !== undefined && entry.txId === w.txId)?.hData;
  };
  writes.push(...(await Promise.all(Array.from({ length: WRITES }, (_, i) => put(i)))));
  await resolveKeys();
  // Bounded: more rounds only while none of the writes landed on the liar (each write misses it with probability at most 5/6).
  for (let round = 1; round <= 5 && !writes.some(ownedByLiar); round++) {
    writes.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => put(WRITES + 10 * (round - 1) + i)))));
    await resolveKeys();
  }

  const stored = writes.filter((w) => w.txStatus === 'stored');
  const onLiar = writes.filter(ownedByLiar);
  t.comment(`${writes.length} writes: ${stored.length} stored, ${onLiar.length} owned by the liar, ${writes.length - stored.length} queued`);
  t.same(writes.filter((w) => w.status !== 204).map((w) => w.status), [], 'every PUT was answered 204');
  t.same(writes.filter((w) => w.hData === undefined).map((w) => w.value), [], 'every write\'s H_DATA is known (its Link header, or the writer\'s history)');
  t.ok(onLiar.length > 0, `${onLiar.length} of the writes belong to the liar`);
  t.same(onLiar.filter((w) => w.txStatus !== 'queued').map((w) => [w.hData, w.txStatus]), [], 'none of the liar\'s writes was answered stored: its acknowledgement proves no copy, and it is queued');
  t.same(writes.filter((w) => !ownedByLiar(w) && w.txStatus !== 'stored').map((w) => [w.hData, w.txStatus]), [], 'every write an honest node owns was answered stored while the liar was in the ring');
  t.same(stored.filter((w) => !(Number(w.copies) >= 2 && w.quorum === '2' && /^[0-9a-f]{64}$/.test(w.txId ?? ''))).map((w) => [w.hData, w.copies, w.quorum]), [], 'every write answered stored has a transaction id, at least 2 proven copies and the quorum 2');
  const refused = writer.logs.filter((entry) => Number(entry.level) >= 40 && Number((entry.codes as Record<string, number> | undefined)?.FLOWCHAIN_ERR_TX_UNDER_REPLICATED) > 0);
  t.ok(refused.length > 0, 'the writer turned the liar\'s acknowledgements down for want of proven copies (FLOWCHAIN_ERR_TX_UNDER_REPLICATED)');

  // While the liar is in the ring, the stored writes read by their ids from every honest node:
  // an index the liar owns is "not found" there, and its replicas answer.
  const alive = Date.now() + 10_000;
  for (const node of honest) {
    const wrong: unknown[] = [];
    for (const w of stored) {
      const { status, receipt } = await readReceipt(node.url, w.txId!, alive);
      if (!sound(w, receipt)) wrong.push({ txId: w.txId, status, indexOwnedByLiar: ownerOf(sorted, w.txId!.slice(0, 40)).id === liarId });
    }
    t.same(wrong, [], `with the liar in the ring, ${node.url} reads the ${stored.length} stored writes by their ids`);
  }

  // The liar dies without a word; its keys pass to its successor, and the writer's outbox
  // delivers what the liar only pretended to keep.
  await liar.stop('SIGKILL');
  let pending: unknown;
  for (const deadline = Date.now() + 45_000; Date.now() < deadline; await sleep(250)) {
    pending = await getJson(`${writer.url}things/ledger/properties/outbox`);
    if (pending === 0) break;
  }
  if (pending !== 0) t.comment(`writer warnings: ${JSON.stringify(writer.logs.filter((entry) => Number(entry.level) >= 40).slice(-8))}`);
  t.equal(pending, 0, 'the writer\'s outbox empties once the liar is gone');

  // Every write reads as its receipt from every honest node: by H_DATA, and a stored one also
  // by the transaction id its PUT answered (what its Link header points at); each with the
  // written value, the acknowledged id, and an honest owner.
  const honestIdSet = new Set(honestIds);
  const gone = Date.now() + 20_000;
  for (const node of honest) {
    const wrong: unknown[] = [];
    for (const w of writes) {
      for (const ref of w.txId === undefined ? [w.hData!] : [w.hData!, w.txId]) {
        const { status, receipt } = await readReceipt(node.url, ref, gone);
        if (!sound(w, receipt) || !honestIdSet.has(receipt!.owner.id)) wrong.push({ ref, value: w.value, status, receipt: receipt && { txId: receipt.txId, hData: receipt.hData, owner: receipt.owner.id, value: receipt.tx.data.value } });
      }
    }
    t.same(wrong, [], `${node.url} reads all ${writes.length} writes as receipts (and the ${stored.length} stored ones by id too), with their values, acknowledged ids and honest owners`);
  }
  for (const node of honest) t.equal(await node.stop(), 0, 'an honest node stops cleanly');
});

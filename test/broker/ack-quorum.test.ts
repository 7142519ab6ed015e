/**
 * The broker's acknowledgement quorum, with a scripted ring beside the real one (the ring
 * tests run the real one): a transaction counts as stored only when its owner and enough of
 * its successors proved they hold it; what does not count as a proof; and the audit that
 * delivers again what the ring no longer holds. Real outbox and history over memory sections.
 */
import t, { type Test } from 'tap';
import { Broker, type TransactionUpdate } from '../../src/broker/broker.js';
import { transactionId, type DataTransaction, type UnsignedTransaction } from '../../src/broker/data-transaction.js';
import { indexKey } from '../../src/broker/transaction-records.js';
import { History } from '../../src/broker/history.js';
import type { LedgerPlugin } from '../../src/broker/ledger-sink.js';
import { Outbox } from '../../src/broker/outbox.js';
import type { PeerReply, PeerRequest, RingAccess, WirePeer } from '../../src/common/peer-rpc.js';
import type { RecordStore } from '../../src/common/ring-records.js';
import { NodeIdentity } from '../../src/node-identity.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { MemorySection } from '../helpers/memory-section.js';

const hex = (n: number) => n.toString(16).padStart(40, '0');
const SELF: WirePeer = { id: hex(1), url: 'wss://self/' };
const OWNER: WirePeer = { id: hex(100), url: 'wss://owner/' };
const H_BLOCK = 'b'.repeat(64);

/** A proof as the scripted ring sees it: `valid` stands for a certificate and signature that verify. */
interface ScriptedProof {
  readonly member: string;
  readonly valid: boolean;
  readonly records: [string, string][];
}

/** What the scripted owner answers, and what the ring looks like from here. */
interface Script {
  proofs(txs: DataTransaction[]): ScriptedProof[];
  /** Known members strictly between the owner and each member (default 0: its successor). */
  readonly between?: Record<string, number>;
  readonly knownMembers?: number;
  /** What the ring store holds, for the audit. */
  readonly held?: Set<string>;
  /** The record the store answers, for receipts. */
  readonly record?: Record<string, unknown>;
  /** What the owner answers when asked for its proof. */
  readonly proofReply?: Record<string, unknown>;
  /** The key each certificate the scripted ring accepts holds, by certificate text. */
  readonly certificates?: Record<string, string>;
}

function setUp(t: Test, script: Script, ackQuorum?: number) {
  const clock = new ManualClock();
  const membershipListeners = new Set<() => void>();
  const store: RecordStore = {
    register: () => undefined,
    get: async (key) => (script.held?.has(key) === false ? undefined : (script.record ?? { kind: 'tx' })),
    putMany: async () => [],
    putOwned: async () => ({ existing: [], replicas: 0, proofs: [], conflicts: [] }),
    owns: () => false,
    list: async () => [],
    announce: async () => undefined,
    onAnnounced: () => () => undefined,
  };
  const submissions: DataTransaction[][] = [];
  const ring: RingAccess = {
    self: SELF,
    store,
    register: () => undefined,
    ownersOf: async (keys) => [{ owner: OWNER, positions: keys.map((_, i) => i) }],
    ask: async (_peer: WirePeer, request: PeerRequest): Promise<PeerReply> => {
      if (request.type === 'tx-proof') return script.proofReply ?? { proof: null };
      const txs = request.txs as DataTransaction[];
      submissions.push(txs);
      const results = txs.map((tx) => ({ ack: { txId: transactionId(H_BLOCK, tx.hData), hData: tx.hData, hBlock: H_BLOCK, owner: OWNER, replicas: 3, status: 'pending' } }));
      return { results, proofs: script.proofs(txs) };
    },
    keyOf: (certificate, member) => (member === OWNER.id && typeof certificate === 'string' ? script.certificates?.[certificate] : undefined),
    certificate: 'this node\'s certificate',
    holderOf: (proof) => ((proof as ScriptedProof).valid ? (proof as ScriptedProof).member : undefined),
    membersBetween: (_owner, member) => script.between?.[member] ?? 0,
    knownMembers: script.knownMembers ?? 5,
    replication: 4,
    onMembershipChange: (listener) => {
      membershipListeners.add(listener);
      return () => membershipListeners.delete(listener);
    },
  };
  const ledger = { onEvent: () => () => undefined } as unknown as LedgerPlugin;
  const outbox = new Outbox<UnsignedTransaction>({ section: new MemorySection(), deadLetters: new MemorySection(), clock }, { backoffMs: [1_000] });
  const broker = new Broker(
    { ring, identity: NodeIdentity.fromSecretKey(new Uint8Array(32).fill(7)), clock, randomBytes: (n) => new Uint8Array(n).fill(submissions.length + 1), outbox, history: new History(new MemorySection()), ledger, hosts: { hostOf: async () => undefined } },
    { ack: 'owner', ackTimeoutMs: 5_000, maxSubmissionBytes: 32 * 1024, ...(ackQuorum === undefined ? {} : { ackQuorum }) },
  );
  const updates: TransactionUpdate[] = [];
  broker.onUpdate((update) => updates.push(update));
  broker.start();
  t.teardown(() => broker.stop());
  /** Records one change and settles what the broker does with it (the clock runs past the ack timeout). */
  const write = async (value: number) => {
    const recorded = await broker.record([{ thing: 'urn:dev:lamp', property: 'level', value, origin: 'consumer' }], { wait: true });
    const receipts = recorded.acknowledged();
    await settle();
    clock.advance(5_000);
    return (await receipts)[0]!;
  };
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  return { broker, clock, outbox, updates, submissions, write, settle, membershipChanged: () => membershipListeners.forEach((listener) => listener()) };
}

const holds = (member: string, valid = true) => (txs: DataTransaction[]): ScriptedProof => ({ member, valid, records: txs.map((tx): [string, string] => [tx.hData, transactionId(H_BLOCK, tx.hData)]) });

t.test('stored needs the owner and a successor\'s holding proof (quorum 2 by default)', async (t) => {
  const { write, broker, updates } = setUp(t, { proofs: (txs) => [holds(hex(101))(txs)] });
  const receipt = await write(1);
  t.match(receipt, { status: 'stored', copies: 2, required: 2 }, 'the owner and one proven successor');
  t.equal(broker.pending, 0, 'the outbox is empty');
  t.same(updates.map((u) => u.status), ['queued', 'stored']);
});

t.test('too few proofs: the write stays queued in the outbox, FLOWCHAIN_ERR_TX_UNDER_REPLICATED, and is sent again', async (t) => {
  let proven = false;
  const { write, broker, updates, clock, submissions, settle } = setUp(t, { proofs: (txs) => (proven ? [holds(hex(101))(txs)] : []) });
  const receipt = await write(1);
  t.equal(receipt.status, 'queued', 'the owner\'s word alone is not stored');
  t.equal(broker.pending, 1, 'it waits in the outbox');
  t.notOk(updates.some((u) => u.status === 'stored' || u.status === 'refused'), 'neither stored nor refused');
  proven = true;
  clock.advance(1_000);
  await settle();
  t.equal(broker.pending, 0, 'delivered once a successor proves it holds it');
  t.ok(submissions.length >= 2, 'the same transaction was submitted again');
  t.equal(updates.at(-1)?.status, 'stored');
});

t.test('what does not count as a copy: the owner\'s own proof, a second proof of one member, a proof that does not verify, a member too far from the owner, another record', async (t) => {
  const cases: [string, Script][] = [
    ['the owner proving itself', { proofs: (txs) => [holds(OWNER.id)(txs)] }],
    ['a proof whose certificate or signature does not verify (a revoked member, say)', { proofs: (txs) => [holds(hex(101), false)(txs)] }],
    ['a member r or more known members past the owner', { proofs: (txs) => [holds(hex(150))(txs)], between: { [hex(150)]: 4 } }],
    ['a proof of another transaction id for the same key', { proofs: (txs) => [{ member: hex(101), valid: true, records: txs.map((tx): [string, string] => [tx.hData, 'c'.repeat(64)]) }] }],
  ];
  for (const [label, script] of cases) {
    const { write } = setUp(t, script);
    t.equal((await write(1)).status, 'queued', label);
  }
  const { write } = setUp(t, { proofs: (txs) => [holds(hex(101))(txs), holds(hex(101))(txs)] }, 3);
  t.match(await write(1), { status: 'queued' }, 'with quorum 3, two proofs of one member are one copy');
  const three = setUp(t, { proofs: (txs) => [holds(hex(101))(txs), holds(hex(102))(txs)] }, 3);
  t.match(await three.write(1), { status: 'stored', copies: 3, required: 3 }, 'two members are two copies');
});

t.test('on a ring with fewer members than the quorum, stored means every member there holds it, and says so', async (t) => {
  const { write } = setUp(t, { proofs: () => [], knownMembers: 1 }, 3);
  t.match(await write(1), { status: 'stored', copies: 1, required: 1 }, 'a ring of one: the owner is every member');
});

t.test('the audit delivers again what the ring no longer holds (the record or its index), periodically and when the membership changes', async (t) => {
  const held = new Set<string>();
  const { write, broker, clock, submissions, settle, membershipChanged } = setUp(t, { proofs: (txs) => [holds(hex(101))(txs)], held });
  const first = await write(1);
  const second = await write(2);
  const index = (receipt: { txId?: string }) => indexKey(receipt.txId!);
  for (const receipt of [first, second]) {
    held.add(receipt.key);
    held.add(index(receipt));
  }
  t.equal(await broker.audit(), 0, 'nothing to do while the ring holds both, and their index entries');
  held.delete(second.key);
  const before = submissions.length;
  membershipChanged();
  await settle();
  t.equal(submissions.length, before + 1, 'a membership change audits: the lost one is submitted again');
  t.same(submissions.at(-1)?.map((tx) => tx.hData), [second.key]);
  t.equal(broker.pending, 0, 'and stored again');
  held.add(second.key);
  held.delete(index(first));
  clock.advance(60_000);
  await settle();
  t.same(submissions.at(-1)?.map((tx) => tx.hData), [first.key], 'so does the minute\'s audit, for a lost index entry too');
});

t.test('a receipt is served with its owner\'s proof only when the block is signed by the key the owner\'s certificate holds', async (t) => {
  const KEY = 'a'.repeat(64);
  const txId = 'f'.repeat(64);
  const record = { kind: 'tx', txId, hBlock: H_BLOCK, owner: { ...OWNER, key: KEY }, storedAt: 0, status: 'pending', block: { number: 3, openedAt: 0, nonce: '0'.repeat(32) }, tx: { hData: 'e'.repeat(40) } };
  const mined = { status: 'mined', signer: KEY, minedIn: { height: 3 } };
  const cases: [string, Partial<Script>, string][] = [
    ['signed by the key the owner\'s certificate holds', { proofReply: { proof: mined, certificate: 'owner' }, certificates: { owner: KEY } }, 'mined'],
    ['a certificate that is not a valid membership (revoked, another ring, another member)', { proofReply: { proof: mined, certificate: 'forged' }, certificates: { owner: KEY } }, 'pending'],
    ['no certificate', { proofReply: { proof: mined }, certificates: { owner: KEY } }, 'pending'],
    ['a block signed by another key', { proofReply: { proof: { ...mined, signer: 'b'.repeat(64) }, certificate: 'owner' }, certificates: { owner: KEY } }, 'pending'],
    ['a certificate of another key than the record names', { proofReply: { proof: { ...mined, signer: 'c'.repeat(64) }, certificate: 'other' }, certificates: { other: 'c'.repeat(64) } }, 'pending'],
  ];
  for (const [label, script, status] of cases) {
    const { broker } = setUp(t, { proofs: () => [], record, ...script });
    const receipt = (await broker.receipt(record.tx.hData)) as Record<string, unknown>;
    t.equal(receipt.status, status, label);
    t.equal(receipt.minedIn !== undefined, status === 'mined', status === 'mined' ? 'with the proof' : 'and without the proof');
  }
});

/**
 * The broker in a real node (one process, real LevelDB, real peer endpoint): writes become
 * transactions stored at their owner, with receipts, histories and ledger events; writes made
 * while the ring is not running wait in the outbox across a restart; transactions a member may not
 * record (tampered, another's, about a Thing it does not host, against the schema) are refused and
 * store nothing.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import t from 'tap';
import { blockHash, createTransaction, transactionId, verifyTransaction, type DataTransaction, type UnsignedTransaction } from '../../src/broker/data-transaction.js';
import { SUBMIT_TRANSACTION } from '../../src/broker/transaction-owner.js';
import { signThingEntry, thingKey } from '../../src/directory/thing-entry.js';
import { NodeIdentity } from '../../src/node-identity.js';
import { Database } from '../../src/storage.js';
import { hostedThingId } from '../../src/td/thing-id.js';
import { foundedAuthority, peerLink } from '../helpers/peer-link.js';
import { createServient, tempDir } from '../helpers/test-servient.js';

interface Receipt {
  txId: string;
  hData: string;
  hBlock: string;
  status: string;
  owner: { id: string; url: string };
  block: { number: number; openedAt: number; nonce: string };
  tx: DataTransaction;
}

const sha256 = (bytes: Buffer): Buffer => createHash('sha256').update(bytes).digest();
/** H_txID recomputed here with node:crypto, independently of src/. */
const expectedTxId = (hBlock: string, hData: string): string => sha256(sha256(Buffer.concat([Buffer.from(hBlock, 'hex'), Buffer.from(hData, 'hex')]))).toString('hex');
type SubmitAnswer = { ack?: { txId: string; hData: string }; error?: { code: string } };
const put = (url: string, value: unknown) => fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });

t.test('a PUT answers once its transaction is stored at its owner, with the id and a receipt link', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  const res = await put(`${url}things/thermostat/properties/targetTemperature`, 22.5);
  t.equal(res.status, 204);
  t.equal(res.headers.get('flowchain-tx-status'), 'stored');
  t.same([res.headers.get('flowchain-tx-copies'), res.headers.get('flowchain-tx-quorum')], ['1', '1'], 'alone, the node is every member there is: one copy of one required');
  const txId = res.headers.get('flowchain-tx-id') ?? '';
  t.match(txId, /^[0-9a-f]{64}$/);
  const link = /^<([^>]+)>; rel="https:\/\/w3id\.org\/flowchain#receipt"; title="targetTemperature"$/.exec(res.headers.get('link') ?? '');
  t.ok(link, 'one receipt link, titled with the property');
  t.equal(link?.[1], `${url}ledger/tx/${txId}`);

  const receipt = (await (await fetch(link![1]!)).json()) as Receipt;
  t.equal(receipt.txId, txId);
  t.equal(receipt.status, 'pending', 'stored at its owner, not mined yet');
  t.equal(receipt.owner.id, servient.ring.describe().id, 'a ring of one owns every key');
  t.same(receipt.tx.data, { thing: servient.registry.get('thermostat').id, property: 'targetTemperature', value: 22.5, origin: 'consumer' });
  t.equal(receipt.hBlock, sha256(Buffer.from(JSON.stringify([receipt.block.number, receipt.block.openedAt, receipt.block.nonce]))).toString('hex'), 'H_BLOCK of the open block');
  t.equal(txId, expectedTxId(receipt.hBlock, receipt.hData), 'H_txID = SHA256(SHA256(H_BLOCK ‖ H_DATA))');
  t.same(await (await fetch(`${url}ledger/tx/${receipt.hData}`)).json(), receipt, 'the same receipt by H_DATA');

  const history = (await (await fetch(`${url}things/thermostat/properties/targetTemperature/history`)).json()) as { value: unknown; txId?: string; origin: string }[];
  t.match(history[0], { value: 22.5, txId, origin: 'consumer' }, 'the newest value first, with its transaction');
});

t.test('rejected writes and unrecorded properties make no transaction; bad receipt ids are clear errors', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  const rejected = await put(`${url}things/thermostat/properties/targetTemperature`, 99);
  t.equal(rejected.status, 400);
  t.equal(rejected.headers.get('flowchain-tx-id'), null);
  t.same(await (await fetch(`${url}things/thermostat/properties/targetTemperature/history`)).json(), [], 'no history entry for a refused value');

  const td = (await (await fetch(`${url}things/smart-plug`)).json()) as { properties: Record<string, { recorded?: boolean }>; links: { rel: string; href: string }[] };
  t.equal(td.properties.power?.recorded, false, 'the sample plug marks its power reading as not recorded');
  t.same(
    td.links.filter((l) => l.rel === 'version-history').map((l) => l.href),
    ['things/smart-plug/properties/on/history', 'things/smart-plug/properties/power/history'],
    'the TD links the history of every readable property, recorded or not',
  );
  await servient.registry.get('smart-plug').emitPropertyChange('power', 12.5);
  t.match((await servient.app.inject('/things/smart-plug/properties/power/history')).json(), [{ value: 12.5 }], 'an unrecorded value is in the history, without a transaction');

  const notFound = await fetch(`${url}ledger/tx/${'0'.repeat(64)}`);
  t.equal(notFound.status, 404);
  t.equal(((await notFound.json()) as { code: string }).code, 'FLOWCHAIN_ERR_TX_NOT_FOUND');
  const malformed = await fetch(`${url}ledger/tx/xyz`);
  t.equal(malformed.status, 400);
  t.equal(((await malformed.json()) as { code: string }).code, 'FLOWCHAIN_ERR_REQUEST_MALFORMED');
  const badLimit = await fetch(`${url}things/thermostat/properties/mode/history?limit=0`);
  t.equal(((await badLimit.json()) as { field: string }).field, 'limit');
});

t.test('the ledger Thing streams each step of a write, so a dashboard can follow it', async (t) => {
  const { servient } = await createServient(t);
  const { url } = await servient.start();
  const updates: { status: string; property: string; txId?: string }[] = [];
  const unsubscribe = servient.registry.get('ledger').subscribeEvent('transaction', (event) => updates.push(event.data as never));
  t.teardown(unsubscribe);
  const res = await put(`${url}things/thermostat/properties/mode`, 'cool');
  const txId = res.headers.get('flowchain-tx-id');
  t.same(
    updates.filter((u) => u.property === 'mode').map((u) => [u.status, u.txId]),
    [['queued', undefined], ['stored', txId]],
  );
  t.equal(await servient.registry.get('ledger').readProperty('outbox'), 0, 'nothing left waiting');
});

t.test('writes accepted while the ring is not running wait in the outbox, across a restart, and are delivered in order', async (t) => {
  const data = tempDir(t);
  const first = await createServient(t, { data });
  // Not started: no ring, so every transaction stays queued (and the write is still answered).
  const queued: string[] = [];
  for (const value of [18, 18.5, 19]) {
    first.clock.advance(1_000);
    const res = await first.servient.app.inject({ method: 'PUT', url: '/things/thermostat/properties/targetTemperature', payload: JSON.stringify(value), headers: { 'content-type': 'application/json' } });
    t.equal(res.statusCode, 204);
    t.equal(res.headers['flowchain-tx-status'], 'queued');
    t.equal(res.headers['flowchain-tx-id'], undefined, 'no id before the owner has it');
    queued.push(/ledger\/tx\/([0-9a-f]{40})>/.exec(String(res.headers.link))![1]!);
  }
  t.equal(first.servient.broker.pending, 3);
  const early = await first.servient.app.inject(`/ledger/tx/${queued[0]}`);
  t.match(early.json(), { hData: queued[0], status: 'queued' }, 'the sender answers for what it still holds');
  t.equal(early.json().tx.signature, undefined, 'a queued transaction is signed when it is delivered');
  await first.servient.stop();
  // An outbox as a version before batch signatures left it: the first transaction signed alone.
  const database = await Database.open(join(data, 'db'));
  const identity = await NodeIdentity.load(database.section('identity'));
  const outbox = database.section('outbox');
  let oldest!: [string, UnsignedTransaction];
  for await (const entry of outbox.entries()) oldest ??= entry as [string, UnsignedTransaction];
  const [sequence, stored] = oldest;
  const signedAlone = createTransaction(stored.data, identity, stored.timestamp, hexToBytes(stored.lambda));
  t.equal(signedAlone.hData, stored.hData);
  await outbox.put(sequence, signedAlone);
  await database.close();

  const second = await createServient(t, { data });
  t.equal(second.servient.broker.pending, 3, 'the outbox came back from LevelDB');
  const { url } = await second.servient.start();
  const receipts: Receipt[] = [];
  for (const key of queued) {
    let receipt: Receipt | undefined;
    for (let i = 0; i < 100 && receipt?.txId === undefined; i++) {
      receipt = (await (await fetch(`${url}ledger/tx/${key}`)).json()) as Receipt;
      if (receipt.txId === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    receipts.push(receipt!);
  }
  t.same(receipts.map((r) => [r.status, r.tx.data.value]), [['pending', 18], ['pending', 18.5], ['pending', 19]]);
  t.ok(receipts.every((r) => r.tx.v === 2 && verifyTransaction(r.tx)), 'each was signed in a batch when delivered, the one an older version had signed alone too');
  t.ok(receipts.every((r, i) => i === 0 || r.tx.timestamp >= receipts[i - 1]!.tx.timestamp), 'in the order they were written');
  const history = (await (await fetch(`${url}things/thermostat/properties/targetTemperature/history`)).json()) as { value: number; txId?: string }[];
  t.same(history.map((h) => [h.value, h.txId]), receipts.map((r) => [r.tx.data.value, r.txId]).reverse(), 'the history learnt each transaction id');
  t.equal(second.servient.broker.pending, 0);
});

t.test('a member may only record transactions of its own, about Things it hosts, with values their schema allows', async (t) => {
  const { servient, config, clock } = await createServient(t);
  await servient.start();
  const member = await peerLink(t, servient.ring.describe().url, foundedAuthority(config.data));
  const submit = async (txs: unknown) => member.ask({ type: SUBMIT_TRANSACTION, txs });
  const result = async (tx: unknown) => ((await submit([tx])).reply as { results: SubmitAnswer[] }).results[0]!;
  const now = clock.now();
  // The member hosts one Thing of its own: a dimmer whose level is 0-100 and whose power is read-only.
  const dimmer = { '@context': 'https://www.w3.org/2022/wot/td/v1.1', id: 'urn:dev:dimmer', title: 'Dimmer', securityDefinitions: { n: { scheme: 'nosec' } }, security: 'n', properties: { level: { type: 'integer', minimum: 0, maximum: 100, forms: [{ href: 'x' }] }, power: { type: 'number', readOnly: true, forms: [{ href: 'y' }] } } };
  const entry = signThingEntry(member.identity, { thingId: dimmer.id, td: dimmer as never, url: 'http://127.0.0.1:1/', version: now, expires: now + 60_000 });
  t.same((await member.ask({ type: 'store-put-many', entries: [[thingKey(dimmer.id), entry]] })).error, undefined, 'its signed directory entry is taken');
  let n = 0;
  const tx = (data: Record<string, unknown>, who = member.identity) => createTransaction({ origin: 'consumer', ...data } as never, who, now, new Uint8Array(16).fill(++n));
  const good = tx({ thing: dimmer.id, property: 'level', value: 40 });

  t.equal((await result({ ...good, data: { ...good.data, value: 41 } })).error?.code, 'FLOWCHAIN_ERR_TX_HASH_MISMATCH', 'value changed after hashing');
  t.equal((await result({ ...good, signature: good.signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) })).error?.code, 'FLOWCHAIN_ERR_TX_SIGNATURE_INVALID', 'signature changed');
  t.equal((await result({ ...good, hData: 'zz' })).error?.code, 'FLOWCHAIN_ERR_TX_MALFORMED');
  t.equal((await result('not a transaction')).error?.code, 'FLOWCHAIN_ERR_TX_MALFORMED');
  t.equal((await submit('not a list')).error?.code, 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'a submission is a list');
  t.equal((await submit(Array.from({ length: 65 }, () => good))).error?.code, 'FLOWCHAIN_ERR_PEER_MESSAGE_INVALID', 'of at most 64 transactions');
  const thermostat = servient.registry.get('thermostat').id;
  t.equal((await result(tx({ thing: thermostat, property: 'targetTemperature', value: 22 }))).error?.code, 'FLOWCHAIN_ERR_TX_UNAUTHORIZED', 'about a Thing another node hosts');
  t.equal((await result(tx({ thing: dimmer.id, property: 'level', value: 999 }))).error?.code, 'FLOWCHAIN_ERR_VALUE_INVALID', 'a value its schema refuses');
  t.equal((await result(tx({ thing: dimmer.id, property: 'power', value: 5 }))).error?.code, 'FLOWCHAIN_ERR_TX_UNAUTHORIZED', 'a consumer write of a read-only property');
  t.equal((await result(tx({ thing: dimmer.id, property: 'colour', value: 1 }))).error?.code, 'FLOWCHAIN_ERR_VALUE_INVALID', 'a property the Thing does not have');
  t.equal((await result(tx({ thing: 'urn:dev:nobody-hosts', property: 'p', value: 1 }))).error?.code, 'FLOWCHAIN_ERR_TX_HOST_UNKNOWN', 'a Thing the ring does not know (yet)');
  const someoneElse = NodeIdentity.generate();
  t.equal((await result(tx({ thing: dimmer.id, property: 'level', value: 10 }, someoneElse))).error?.code, 'FLOWCHAIN_ERR_TX_UNAUTHORIZED', 'another sender\'s transaction, passed on');
  const device = tx({ thing: dimmer.id, property: 'power', value: 5.5, origin: 'device' });
  const sound = [good, device];
  for (const key of [good.hData, device.hData]) t.equal((await servient.app.inject(`/ledger/tx/${key}`)).statusCode, 404, 'nothing was stored so far');

  const results = ((await submit([{ ...tx({ thing: dimmer.id, property: 'level', value: 5 }), signature: good.signature }, ...sound])).reply as { results: SubmitAnswer[] }).results;
  t.equal(results[0]?.error?.code, 'FLOWCHAIN_ERR_TX_SIGNATURE_INVALID', 'in one submission, the forged transaction is refused');
  t.ok(results[1]?.ack && results[2]?.ack, 'and the sound ones beside it, a write and a reading, are accepted');
  t.equal((await servient.app.inject(`/ledger/tx/${good.hData}`)).json().tx.data.value, 40, 'and readable as receipts');
  const again = (await result(good)).ack!;
  t.equal(again.txId, results[1]!.ack!.txId, 'a retry of the same transaction gets the same id and stores nothing new');
});

t.test('a member cannot plant a record through replication that a submission would be refused, nor file one outside the time window', async (t) => {
  const { servient, config, clock } = await createServient(t);
  await servient.start();
  const member = await peerLink(t, servient.ring.describe().url, foundedAuthority(config.data));
  const now = clock.now();
  const dimmer = { '@context': 'https://www.w3.org/2022/wot/td/v1.1', id: 'urn:dev:dimmer', title: 'Dimmer', securityDefinitions: { n: { scheme: 'nosec' } }, security: 'n', properties: { level: { type: 'integer', minimum: 0, maximum: 100, forms: [{ href: 'x' }] } } };
  const entry = signThingEntry(member.identity, { thingId: dimmer.id, td: dimmer as never, url: 'http://127.0.0.1:1/', version: now, expires: now + 60_000 });
  t.same((await member.ask({ type: 'store-put-many', entries: [[thingKey(dimmer.id), entry]] })).error, undefined, 'its own Thing\'s entry is taken');
  let n = 0;
  const tx = (data: Record<string, unknown>, at = now) => createTransaction({ origin: 'consumer', ...data } as never, member.identity, at, new Uint8Array(16).fill(++n));
  const submitted = async (one: DataTransaction) => ((await member.ask({ type: SUBMIT_TRANSACTION, txs: [one] })).reply as { results: SubmitAnswer[] }).results[0]!;
  t.equal((await submitted(tx({ thing: dimmer.id, property: 'level', value: 1 }, now + 10 * 60_000))).error?.code, 'FLOWCHAIN_ERR_TX_CLOCK_SKEW', 'dated ten minutes ahead');
  t.equal((await submitted(tx({ thing: dimmer.id, property: 'level', value: 1 }, 0))).error?.code, 'FLOWCHAIN_ERR_TX_CLOCK_SKEW', 'dated 1970');
  t.ok((await submitted(tx({ thing: dimmer.id, property: 'level', value: 1 }, now - 60_000))).ack, 'a minute behind is fine');

  // A record as an owner would make it, offered to the node as replication (the member names itself owner).
  const record = (one: DataTransaction, storedAt = now) => {
    const block = { number: 1, openedAt: now, nonce: '0'.repeat(32) };
    const hBlock = blockHash(block.number, block.openedAt, block.nonce);
    return [one.hData, { kind: 'tx', tx: one, block, hBlock, txId: transactionId(hBlock, one.hData), owner: { id: member.identity.id.toString(16).padStart(40, '0'), url: 'wss://127.0.0.1:1/' }, storedAt, status: 'anchored' }] as const;
  };
  const replicate = async (entries: readonly (readonly [string, unknown])[]) => (await member.ask({ type: 'store-replicate', entries })).reply as { stored: number; refused: { key: string; error: { code: string } }[] };
  const thermostat = servient.registry.get('thermostat').id;
  const planted = record(tx({ thing: thermostat, property: 'targetTemperature', value: 999 }));
  const outOfSchema = record(tx({ thing: dimmer.id, property: 'level', value: 999 }));
  const backdated = record(tx({ thing: dimmer.id, property: 'level', value: 2 }, now - 8 * 86_400_000));
  const fromTheFuture = record(tx({ thing: dimmer.id, property: 'level', value: 3 }), now + 60 * 60_000);
  const sound = record(tx({ thing: dimmer.id, property: 'level', value: 4 }));
  const reply = await replicate([planted, outOfSchema, backdated, fromTheFuture, sound]);
  t.same(
    Object.fromEntries(reply.refused.map(({ key, error }) => [key, error.code])),
    { [planted[0]]: 'FLOWCHAIN_ERR_TX_UNAUTHORIZED', [outOfSchema[0]]: 'FLOWCHAIN_ERR_VALUE_INVALID', [backdated[0]]: 'FLOWCHAIN_ERR_TX_CLOCK_SKEW', [fromTheFuture[0]]: 'FLOWCHAIN_ERR_TX_CLOCK_SKEW' },
    'each refused with its code',
  );
  t.equal(reply.stored, 1, 'only the sound one is kept');
  for (const [key] of [planted, outOfSchema, backdated, fromTheFuture]) t.equal((await servient.app.inject(`/ledger/tx/${key}`)).statusCode, 404, 'no receipt is served for a refused record');
  t.equal((await servient.app.inject(`/ledger/tx/${sound[0]}`)).json().tx.data.value, 4, 'the sound one is');
});

t.test('a Thing whose id derives from its host\'s key cannot be taken over, even by a member whose entry came first', async (t) => {
  const { servient, config, clock } = await createServient(t);
  await servient.start();
  const ownKey = bytesToHex(servient.ring.identity.publicKey);
  const thermostat = servient.registry.get('thermostat').id;
  t.equal(thermostat, hostedThingId(ownKey, 'thermostat'), 'a new node\'s hosted Thing ids derive from its key');
  t.match(await servient.directory.entryOf(thermostat), { name: 'thermostat', host: { key: ownKey } }, 'and its entry says from which slug');

  const authority = foundedAuthority(config.data);
  const squatter = await peerLink(t, servient.ring.describe().url, authority);
  const host = await peerLink(t, servient.ring.describe().url, authority);
  const now = clock.now();
  const dimmer = { '@context': 'https://www.w3.org/2022/wot/td/v1.1', id: hostedThingId(bytesToHex(host.identity.publicKey), 'dimmer'), title: 'Dimmer', securityDefinitions: { n: { scheme: 'nosec' } }, security: 'n', properties: { level: { type: 'integer', forms: [{ href: 'x' }] } } };
  const put = async (member: typeof host, name?: string) =>
    (await member.ask({ type: 'store-put-many', entries: [[thingKey(dimmer.id), signThingEntry(member.identity, { thingId: dimmer.id, td: dimmer as never, url: 'http://127.0.0.1:1/', version: now, expires: now + 60_000, ...(name === undefined ? {} : { name }) })]] })).reply;
  let n = 0;
  const submit = async (member: typeof host) =>
    ((await member.ask({ type: SUBMIT_TRANSACTION, txs: [createTransaction({ thing: dimmer.id, property: 'level', value: 1, origin: 'consumer' }, member.identity, now, new Uint8Array(16).fill(++n))] })).reply as { results: SubmitAnswer[] }).results[0]!;

  t.same(await put(squatter), { replicas: 0 }, 'the squatter\'s entry, first for that id, is taken');
  t.ok((await submit(squatter)).ack, 'and while it stands the squatter records as the Thing\'s host');
  t.same(await put(host, 'dimmer'), { replicas: 0 }, 'the host\'s entry, proving its id, takes its place');
  t.match(await put(squatter), { refused: [{ error: { code: 'FLOWCHAIN_ERR_RING_RECORD_CONFLICT' } }] }, 'the squatter cannot take it back');
  clock.advance(31_000); // past the directory's read cache
  t.equal((await submit(squatter)).error?.code, 'FLOWCHAIN_ERR_TX_UNAUTHORIZED', 'its transactions about the Thing are refused');
  t.ok((await submit(host)).ack, 'the host\'s are taken');
  t.match(await servient.directory.entryOf(dimmer.id), { name: 'dimmer', host: { key: bytesToHex(host.identity.publicKey) } }, 'the ring names the host');
});

t.test('a full outbox answers writes 503 FLOWCHAIN_ERR_BUSY with Retry-After, and nothing of them is applied', async (t) => {
  const { servient, clock } = await createServient(t, { outboxLimit: 2 });
  // Not started: nothing is delivered, so the outbox fills.
  const write = (value: number) => {
    clock.advance(1_000);
    return servient.app.inject({ method: 'PUT', url: '/things/thermostat/properties/targetTemperature', payload: JSON.stringify(value), headers: { 'content-type': 'application/json' } });
  };
  t.equal((await write(18)).statusCode, 204);
  t.equal((await write(18.5)).statusCode, 204);
  const refused = await write(19);
  t.equal(refused.statusCode, 503);
  t.equal(refused.headers['retry-after'], '1');
  t.equal(refused.json().code, 'FLOWCHAIN_ERR_BUSY');
  t.equal((await servient.app.inject('/things/thermostat/properties/targetTemperature')).json(), 18.5, 'the value is the last one accepted');
  t.same((await servient.app.inject('/things/thermostat/properties/targetTemperature/history')).json().map((h: { value: number }) => h.value), [18.5, 18], 'and the history has no entry for the refused one');
  t.equal(servient.broker.pending, 2);
});

t.test('an owner whose ledger backlog is past its bound tells senders to wait, and files nothing', async (t) => {
  const { servient, config, clock } = await createServient(t, { backlogLimit: 1 });
  await servient.start();
  // The ledger seals and mines every second on the manual clock: never, here, so admissions pile up.
  const member = await peerLink(t, servient.ring.describe().url, foundedAuthority(config.data));
  const now = clock.now();
  const dimmer = { '@context': 'https://www.w3.org/2022/wot/td/v1.1', id: 'urn:dev:dim2', title: 'Dimmer', securityDefinitions: { n: { scheme: 'nosec' } }, security: 'n', properties: { level: { type: 'integer', forms: [{ href: 'x' }] } } };
  await member.ask({ type: 'store-put-many', entries: [[thingKey(dimmer.id), signThingEntry(member.identity, { thingId: dimmer.id, td: dimmer as never, url: 'http://127.0.0.1:1/', version: now, expires: now + 60_000 })]] });
  const tx = (n: number) => createTransaction({ thing: dimmer.id, property: 'level', value: n, origin: 'consumer' }, member.identity, now, new Uint8Array(16).fill(n));
  const results = async (txs: unknown[]) => ((await member.ask({ type: SUBMIT_TRANSACTION, txs })).reply as { results: SubmitAnswer[] }).results;
  const first = await results([tx(1), tx(2)]);
  t.ok(first.every((r) => r.ack), 'below the bound: filed');
  const second = await results([tx(3)]);
  t.equal(second[0]?.error?.code, 'FLOWCHAIN_ERR_BUSY', 'past it: try again later');
  t.equal((await servient.app.inject(`/ledger/tx/${tx(3).hData}`)).statusCode, 404, 'and nothing of it was kept');
});

import { createHash, verify as cryptoVerify, createPublicKey } from 'node:crypto';
import t from 'tap';
import { readFileSync } from 'node:fs';
import { blockHash, createTransaction, dataHash, prepareTransaction, signBatch, transactionId, verifyTransaction, type SignedInBatch, type TransactionData } from '../../src/broker/data-transaction.js';
import { rootFromProof } from '../../src/common/merkle.js';
import { verifyReceipt } from '../../src/ledger/receipt.js';
import { NodeIdentity } from '../../src/node-identity.js';

const sha1 = (s: string | Buffer) => createHash('sha1').update(s).digest();
const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest();

const data: TransactionData = { thing: 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e', property: 'targetTemperature', value: 22.5, origin: 'consumer' };
const timestamp = 1_795_000_000_000;
const lambdaBytes = Uint8Array.from({ length: 16 }, (_, i) => i);
const lambda = '000102030405060708090a0b0c0d0e0f';
const identity = NodeIdentity.fromSecretKey(new Uint8Array(32).fill(3));

t.test('H_DATA = SHA-1 of the canonical JSON of [data, timestamp, λ], recomputed by hand', async (t) => {
  // Canonical JSON written out independently: members sorted, no spaces.
  const text = `[{"origin":"consumer","property":"targetTemperature","thing":"urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e","value":22.5},${timestamp},"${lambda}"]`;
  t.equal(dataHash(data, timestamp, lambda), sha1(text).toString('hex'));
});

t.test('H_BLOCK and H_txID match independent computations', async (t) => {
  const nonce = 'ff'.repeat(16);
  const hBlock = blockHash(7, timestamp, nonce);
  t.equal(hBlock, sha256(`[7,${timestamp},"${nonce}"]`).toString('hex'));
  const hData = dataHash(data, timestamp, lambda);
  const expected = sha256(sha256(Buffer.concat([Buffer.from(hBlock, 'hex'), Buffer.from(hData, 'hex')]))).toString('hex');
  t.equal(transactionId(hBlock, hData), expected);
  t.equal(expected.length, 64);
});

t.test('a created transaction carries H_DATA, λ, data, timestamp, sender and a signature that verifies independently', async (t) => {
  const tx = createTransaction(data, identity, timestamp, lambdaBytes);
  t.equal(tx.lambda, lambda);
  t.equal(tx.hData, dataHash(data, timestamp, lambda));
  t.equal(tx.sender.id, sha1(Buffer.from(tx.sender.key, 'hex')).toString('hex'));
  // Verify the Ed25519 signature with node:crypto, from the documented byte string.
  const signed = `["${tx.hData}","${lambda}",{"origin":"consumer","property":"targetTemperature","thing":"${data.thing}","value":22.5},${timestamp},"${tx.sender.id}"]`;
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(tx.sender.key, 'hex')]);
  t.ok(cryptoVerify(null, Buffer.from(signed), createPublicKey({ key: spki, format: 'der', type: 'spki' }), Buffer.from(tx.signature, 'hex')));
  t.same(verifyTransaction(JSON.parse(JSON.stringify(tx))), tx);
  t.throws(() => createTransaction(data, identity, timestamp, new Uint8Array(15)), RangeError);
});

t.test('tampering is detected: contents against H_DATA, identity and signature', async (t) => {
  const tx = createTransaction(data, identity, timestamp, lambdaBytes);
  t.throws(() => verifyTransaction({ ...tx, data: { ...data, value: 30 } }), { code: 'FLOWCHAIN_ERR_TX_HASH_MISMATCH' });
  t.throws(() => verifyTransaction({ ...tx, timestamp: timestamp + 1 }), { code: 'FLOWCHAIN_ERR_TX_HASH_MISMATCH' });
  t.throws(() => verifyTransaction({ ...tx, lambda: 'ff'.repeat(16) }), { code: 'FLOWCHAIN_ERR_TX_HASH_MISMATCH' });
  t.throws(() => verifyTransaction({ ...tx, sender: { ...tx.sender, id: '0'.repeat(40) } }), { code: 'FLOWCHAIN_ERR_TX_SIGNATURE_INVALID', field: 'sender.id' });
  const other = NodeIdentity.fromSecretKey(new Uint8Array(32).fill(4));
  const stolen = createTransaction(data, other, timestamp, lambdaBytes);
  t.throws(() => verifyTransaction({ ...tx, signature: stolen.signature }), { code: 'FLOWCHAIN_ERR_TX_SIGNATURE_INVALID', field: 'signature' });
  // Re-hashed forged contents with the original signature still fail on the signature.
  const forgedData = { ...data, value: 99 };
  t.throws(() => verifyTransaction({ ...tx, data: forgedData, hData: dataHash(forgedData, timestamp, lambda) }), { code: 'FLOWCHAIN_ERR_TX_SIGNATURE_INVALID' });
});

t.test('malformed transactions are rejected naming the field', async (t) => {
  const tx = createTransaction(data, identity, timestamp, lambdaBytes);
  const cases: [unknown, string][] = [
    [null, '/'],
    [{ ...tx, hData: 'xyz' }, 'hData'],
    [{ ...tx, lambda: 'abc' }, 'lambda'],
    [{ ...tx, lambda: 'ab'.repeat(8) }, 'lambda'],
    [{ ...tx, timestamp: 1.5 }, 'timestamp'],
    [{ ...tx, data: null }, 'data'],
    [{ ...tx, data: { ...data, origin: 'oracle' } }, 'data.origin'],
    [{ ...tx, data: { thing: 'x', property: 'y', origin: 'device' } }, 'data.value'],
    [{ ...tx, sender: { id: tx.sender.id } }, 'sender.key'],
    [{ ...tx, signature: '00' }, 'signature'],
  ];
  for (const [raw, field] of cases) t.throws(() => verifyTransaction(raw), { code: 'FLOWCHAIN_ERR_TX_MALFORMED', field }, field);
});

/** `count` transactions of one sender, not yet signed, each with its own λ. */
const unsigned = (count: number, who = identity) => Array.from({ length: count }, (_, i) => prepareTransaction({ ...data, value: i }, who, timestamp + i, Uint8Array.from({ length: 16 }, (_, j) => (i * 16 + j) & 0xff)));
const spkiOf = (key: string) => createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(key, 'hex')]), format: 'der', type: 'spki' });
/** A copy with the path step `step` of its batch changed by one hex digit. */
const flipStep = (tx: SignedInBatch, step: number): SignedInBatch => ({ ...tx, batch: { ...tx.batch, path: tx.batch.path.map((s, i) => (i === step ? { ...s, hash: s.hash.replace(/^./, (c) => (c === '0' ? '1' : '0')) } : s)) } });

t.test('a batch is signed once: each transaction carries the root, the signature and its path, and verifies alone', async (t) => {
  const txs = signBatch(unsigned(5), identity);
  const { root, signature } = txs[0]!.batch;
  t.ok(txs.every((tx) => tx.v === 2 && tx.batch.root === root && tx.batch.signature === signature && tx.batch.count === 5), 'one root and one signature for all five');
  t.same(txs.map((tx) => tx.batch.index), [0, 1, 2, 3, 4]);
  // Independently: the leaf is SHA-256 of the documented statement, its path leads to the root, and the root's statement is signed.
  for (const tx of txs) {
    const statement = `["${tx.hData}","${tx.lambda}",{"origin":"consumer","property":"targetTemperature","thing":"${data.thing}","value":${tx.data.value as number}},${tx.timestamp},"${tx.sender.id}"]`;
    t.equal(rootFromProof(sha256(statement).toString('hex'), tx.batch), root, `the path of ${tx.batch.index} leads to the root`);
    t.same(verifyTransaction(JSON.parse(JSON.stringify(tx))), tx, 'it verifies alone, after a trip through JSON');
  }
  t.ok(cryptoVerify(null, Buffer.from(`["flowchain-tx-batch","${root}",5]`), spkiOf(txs[0]!.sender.key), Buffer.from(signature, 'hex')), 'the root signature verifies with node:crypto');
  const [alone] = signBatch(unsigned(1), identity);
  t.match(alone, { v: 2, batch: { index: 0, count: 1, path: [] } }, 'a lone transaction is a batch of one');
  t.ok(verifyTransaction(alone));
  t.same(signBatch([], identity), []);
});

t.test('batch proofs: a tampered path, a transaction moved to another batch, or another key\'s signature fail verification', async (t) => {
  const batchA = signBatch(unsigned(6), identity);
  const batchB = signBatch(unsigned(6).map((tx) => prepareTransaction({ ...tx.data, value: 100 }, identity, tx.timestamp, new Uint8Array(16).fill(9))), identity);
  const tx = batchA[2]!;
  const refused = (raw: unknown, why: string) => t.throws(() => verifyTransaction(raw), { code: 'FLOWCHAIN_ERR_TX_SIGNATURE_INVALID', field: 'batch' }, why);
  for (let step = 0; step < tx.batch.path.length; step++) refused(flipStep(tx, step), `path step ${step} changed`);
  refused({ ...tx, batch: { ...tx.batch, path: tx.batch.path.slice(1) } }, 'a step left out');
  refused({ ...tx, batch: { ...tx.batch, index: 3 } }, 'another position in the same batch');
  refused({ ...tx, batch: { ...tx.batch, count: 7 } }, 'another batch size');
  refused({ ...tx, batch: batchB[2]!.batch }, 'moved into another batch of the same sender, with that batch\'s proof for its place');
  refused({ ...tx, batch: { ...tx.batch, root: batchB[2]!.batch.root, signature: batchB[2]!.batch.signature } }, 'its own path under another batch\'s signed root');
  refused({ ...tx, data: { ...tx.data, value: 100 }, hData: dataHash({ ...tx.data, value: 100 }, tx.timestamp, tx.lambda) }, 're-hashed contents under the original batch');
  const other = NodeIdentity.fromSecretKey(new Uint8Array(32).fill(5));
  const theirs = signBatch(unsigned(6), other)[2]!;
  refused({ ...tx, batch: { ...tx.batch, signature: theirs.batch.signature } }, 'another key\'s signature');
  t.ok(verifyTransaction(tx), 'the untouched transaction verifies, and its batch\'s signature is now remembered');
  refused({ ...batchA[3]!, batch: { ...batchA[3]!.batch, signature: theirs.batch.signature } }, 'a remembered root and size with another signature');
  t.ok(verifyTransaction(tx), 'and a refused signature is not remembered as good');
  t.ok(verifyTransaction(batchA[2]!, false), 'a node\'s own transactions are not checked again');

  const cases: [unknown, string][] = [
    [{ ...tx, v: 3 }, 'v'],
    [{ ...tx, batch: undefined }, 'batch'],
    [{ ...tx, signature: tx.batch.signature }, 'signature'],
    [{ ...createTransaction(data, identity, timestamp, lambdaBytes), batch: tx.batch }, 'batch'],
    [{ ...tx, batch: { ...tx.batch, root: 'zz' } }, 'batch.root'],
    [{ ...tx, batch: { ...tx.batch, signature: '00' } }, 'batch.signature'],
    [{ ...tx, batch: { ...tx.batch, count: 0 } }, 'batch.count'],
    [{ ...tx, batch: { ...tx.batch, count: 5000 } }, 'batch.count'],
    [{ ...tx, batch: { ...tx.batch, index: 6 } }, 'batch.index'],
    [{ ...tx, batch: { ...tx.batch, path: Array.from({ length: 13 }, () => tx.batch.path[0]) } }, 'batch.path'],
  ];
  for (const [raw, field] of cases) t.throws(() => verifyTransaction(raw), { code: 'FLOWCHAIN_ERR_TX_MALFORMED', field }, field);
});

t.test('a receipt served before batch signatures (a transaction signed alone) still verifies, against its ring\'s authority too', async (t) => {
  const fixture = (name: string) => readFileSync(new URL(`../fixtures/receipts/${name}`, import.meta.url), 'utf8');
  const receipt = JSON.parse(fixture('v1-mined.json'));
  t.equal(receipt.tx.v, undefined, 'the fixture is a version 1 transaction (from commit 538741c, `npm start` and one PUT)');
  t.match(verifyReceipt(receipt), { ok: true, status: 'mined', height: 0 });
  t.match(verifyReceipt(receipt, { authority: fixture('v1-authority.crt') }), { ok: true });
  t.match(verifyReceipt({ ...receipt, tx: { ...receipt.tx, signature: receipt.tx.signature.replace(/^./, (c: string) => (c === '0' ? '1' : '0')) } }), { ok: false, fault: /signature does not verify/ });
});

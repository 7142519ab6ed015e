import { createHash, verify as cryptoVerify, createPublicKey } from 'node:crypto';
import t from 'tap';
import { blockHash, createTransaction, dataHash, transactionId, verifyTransaction, type TransactionData } from '../../src/broker/data-transaction.js';
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

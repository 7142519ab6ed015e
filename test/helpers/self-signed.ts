/**
 * A self-signed TLS server certificate made in the test, with a small DER writer of the tests'
 * own (der.ts beside this file): valid for an hour around now, for `localhost` and 127.0.0.1
 * (subjectAltName, RFC 5280 §4.2.1.6), usable as its own trust anchor (`ca`). The key is
 * Ed25519 (RFC 8410) by default, which Node's TLS (OpenSSL) and fetch (undici, on node:tls)
 * take; browsers do not take Ed25519 server certificates, so a browser test asks for ECDSA
 * P-256 with SHA-256 (RFC 5758 §3.2).
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { bitString, booleanValue, element, explicit, integer, octetString, oid, sequence, set, time, toPem, utf8String } from './der.js';

const ED25519 = '1.3.101.112';
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

const extension = (id: string, critical: boolean, value: Uint8Array): Uint8Array => sequence(oid(id), ...(critical ? [booleanValue(true)] : []), octetString(value));

/** A certificate and its key, as PEM text. */
export interface SelfSigned {
  readonly cert: string;
  readonly key: string;
}

/** A fresh self-signed certificate for localhost and 127.0.0.1, with an Ed25519 or an ECDSA P-256 key. */
export function selfSignedCertificate(keyType: 'ed25519' | 'ecdsa' = 'ed25519', now = new Date()): SelfSigned {
  const { privateKey, publicKey } = keyType === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  const algorithm = sequence(oid(keyType === 'ed25519' ? ED25519 : ECDSA_WITH_SHA256));
  const name = sequence(set(sequence(oid('2.5.4.3'), utf8String('localhost'))));
  const altNames = sequence(element(0x82, new TextEncoder().encode('localhost')), element(0x87, Uint8Array.of(127, 0, 0, 1)));
  const tbs = sequence(
    explicit(0, integer(2n)),
    integer(BigInt(now.getTime())),
    algorithm,
    name,
    sequence(time(new Date(now.getTime() - 3_600_000)), time(new Date(now.getTime() + 3_600_000))),
    name,
    spki,
    explicit(
      3,
      sequence(
        extension('2.5.29.17', false, altNames),
        extension('2.5.29.19', true, sequence()),
        extension('2.5.29.15', true, bitString(Uint8Array.of(0x80), 7)),
        extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.1'))),
      ),
    ),
  );
  const signature = keyType === 'ed25519' ? sign(null, tbs, privateKey) : sign('sha256', tbs, privateKey);
  const cert = toPem('CERTIFICATE', sequence(tbs, algorithm, bitString(signature)));
  return { cert, key: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string };
}

/**
 * The X.509 documents of a ring authority (RFC 5280), for Ed25519 keys only (RFC 8410): the
 * authority's self-signed certificate, the membership certificates it issues (each binding
 * one node's Ed25519 peer key, with an expiry) and its certificate revocation lists. TLS 1.3
 * (OpenSSL, through node:tls) checks them on every peer link; this module only writes them,
 * and reads back what a CRL says. Pure: signing is a parameter.
 *
 * Throws RangeError for a key that is not 32 bytes or a CRL this module cannot read.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { bitString, booleanValue, children, explicit, fromPem, integer, octetString, oid, read, readInteger, readTime, sequence, set, time, toPem, utf8String } from './der.js';

/** Signs the DER bytes of a to-be-signed structure with the issuer's Ed25519 key. */
export type Signer = (tbs: Uint8Array) => Uint8Array;

const ED25519 = '1.3.101.112';
const COMMON_NAME = '2.5.4.3';
const ORGANIZATION = '2.5.4.10';
const EXT = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  crlNumber: '2.5.29.20',
  authorityKeyIdentifier: '2.5.29.35',
  extendedKeyUsage: '2.5.29.37',
} as const;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

const algorithm = (): Uint8Array => sequence(oid(ED25519));

/** A distinguished name of one organisation and one common name. */
function name(commonName: string): Uint8Array {
  return sequence(set(sequence(oid(ORGANIZATION), utf8String('Flowchain ring'))), set(sequence(oid(COMMON_NAME), utf8String(commonName))));
}

/** SubjectPublicKeyInfo of a raw Ed25519 key (RFC 8410 §4). */
export function subjectPublicKeyInfo(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) throw new RangeError('an Ed25519 public key is 32 bytes');
  return sequence(algorithm(), bitString(publicKey));
}

/** RFC 5280 §4.2.1.2 method 1: the SHA-1 of the key bits. */
const keyIdentifier = (publicKey: Uint8Array): Uint8Array => sha1(publicKey);

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return sequence(oid(id), ...(critical ? [booleanValue(true)] : []), octetString(value));
}

/** [0] IMPLICIT keyIdentifier inside AuthorityKeyIdentifier. */
const authorityKeyIdentifier = (issuerKey: Uint8Array): Uint8Array => sequence(Uint8Array.of(0x80, 20, ...keyIdentifier(issuerKey)));

/** What a certificate says. */
export interface CertificateSpec {
  readonly serial: bigint;
  /** The issuer's common name (the authority's, for membership certificates and for itself). */
  readonly issuer: string;
  readonly issuerKey: Uint8Array;
  readonly subject: string;
  readonly subjectKey: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The authority's own certificate (may sign certificates and CRLs) or a member's. */
  readonly authority: boolean;
}

/** A signed certificate, as PEM. */
export function buildCertificate(spec: CertificateSpec, sign: Signer): string {
  // digitalSignature (bit 0) for a member, keyCertSign and cRLSign (bits 5, 6) for the authority.
  const keyUsage = spec.authority ? bitString(Uint8Array.of(0x06), 1) : bitString(Uint8Array.of(0x80), 7);
  const extensions = [
    extension(EXT.basicConstraints, true, spec.authority ? sequence(booleanValue(true), integer(0n)) : sequence()),
    extension(EXT.keyUsage, true, keyUsage),
    ...(spec.authority ? [] : [extension(EXT.extendedKeyUsage, false, sequence(oid(SERVER_AUTH), oid(CLIENT_AUTH)))]),
    extension(EXT.subjectKeyIdentifier, false, octetString(keyIdentifier(spec.subjectKey))),
    extension(EXT.authorityKeyIdentifier, false, authorityKeyIdentifier(spec.issuerKey)),
  ];
  const tbs = sequence(
    explicit(0, integer(2n)), // v3
    integer(spec.serial),
    algorithm(),
    name(spec.issuer),
    sequence(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    subjectPublicKeyInfo(spec.subjectKey),
    explicit(3, sequence(...extensions)),
  );
  return toPem('CERTIFICATE', sequence(tbs, algorithm(), bitString(sign(tbs))));
}

/** A certificate taken back. */
export interface RevokedEntry {
  readonly serial: bigint;
  readonly revokedAt: Date;
}

/** What a revocation list says. */
export interface CrlSpec {
  readonly issuer: string;
  readonly issuerKey: Uint8Array;
  /** Grows with every list the authority issues (RFC 5280 §5.2.3): the newer list wins. */
  readonly number: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly revoked: readonly RevokedEntry[];
}

/** A signed CRL (RFC 5280 §5), as PEM. */
export function buildCrl(spec: CrlSpec, sign: Signer): string {
  const entries = spec.revoked.map((entry) => sequence(integer(entry.serial), time(entry.revokedAt)));
  const tbs = sequence(
    integer(1n), // v2
    algorithm(),
    name(spec.issuer),
    time(spec.thisUpdate),
    time(spec.nextUpdate),
    ...(entries.length > 0 ? [sequence(...entries)] : []),
    explicit(0, sequence(extension(EXT.authorityKeyIdentifier, false, authorityKeyIdentifier(spec.issuerKey)), extension(EXT.crlNumber, false, integer(spec.number)))),
  );
  return toPem('X509 CRL', sequence(tbs, algorithm(), bitString(sign(tbs))));
}

/** A CRL as read back: its number and entries, and the bytes its signature covers. */
export interface ParsedCrl {
  readonly number: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly revoked: readonly RevokedEntry[];
  /** The DER of the to-be-signed list and the issuer's signature of it. */
  readonly tbs: Uint8Array;
  readonly signature: Uint8Array;
}

/** Reads a CRL written by {@link buildCrl}. Throws RangeError for anything else. */
export function parseCrl(pem: string): ParsedCrl {
  const [tbsNode, , signatureNode] = children(read(fromPem('X509 CRL', pem)));
  if (tbsNode === undefined || signatureNode?.tag !== 0x03) throw new RangeError('a CRL is a signed sequence');
  const fields = children(tbsNode);
  const [, , , thisUpdate, nextUpdate] = fields;
  if (thisUpdate === undefined || nextUpdate === undefined) throw new RangeError('a CRL has its update times');
  const list = fields[5]?.tag === 0x30 ? fields[5] : undefined;
  const revoked = list === undefined ? [] : children(list).map((entry) => {
    const [serial, at] = children(entry);
    return { serial: readInteger(serial!), revokedAt: readTime(at!) };
  });
  const extensions = fields.find((field) => field.tag === 0xa0);
  let number: bigint | undefined;
  for (const ext of extensions === undefined ? [] : children(children(extensions)[0]!)) {
    const [id, value] = children(ext);
    if (id !== undefined && Buffer.from(id.bytes).equals(Buffer.from(oid(EXT.crlNumber))) && value !== undefined) number = readInteger(read(value.content));
  }
  if (number === undefined) throw new RangeError('a CRL names its number');
  return { number, thisUpdate: readTime(thisUpdate), nextUpdate: readTime(nextUpdate), revoked, tbs: tbsNode.bytes, signature: signatureNode.content.subarray(1) };
}

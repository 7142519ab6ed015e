/**
 * What a ring authority's certificates and revocation lists share (RFC 5280, Ed25519 keys only
 * per RFC 8410), as ASN.1 values of @peculiar/asn1-x509: the signature algorithm, the ring's
 * distinguished names, times, key identifiers, INTEGER contents, and PEM armour (RFC 7468).
 * The library encodes and decodes DER synchronously; signing stays with the caller
 * (node:crypto), so nothing here is asynchronous. Pure.
 *
 * Throws RangeError for a key that is not 32 bytes and for PEM text that is not one block of
 * the expected label.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  Extension,
  id_ce_authorityKeyIdentifier,
  KeyIdentifier,
  Name,
  RelativeDistinguishedName,
  Time,
} from '@peculiar/asn1-x509';

/** Signs the DER bytes of a to-be-signed structure with the issuer's Ed25519 key. */
export type Signer = (tbs: Uint8Array) => Uint8Array;

/** id-Ed25519 (RFC 8410 §3). */
export const ED25519 = '1.3.101.112';
const COMMON_NAME = '2.5.4.3';
const ORGANIZATION = '2.5.4.10';
/** The organisation every name of a ring carries. */
export const RING_ORGANIZATION = 'Flowchain ring';

/** The Ed25519 algorithm identifier: RFC 8410 §3 says its parameters are absent. */
export const ed25519Algorithm = (): AlgorithmIdentifier => new AlgorithmIdentifier({ algorithm: ED25519 });

/** Whether `algorithm` is Ed25519 written as RFC 8410 wants it (no parameters). */
export const isEd25519 = (algorithm: AlgorithmIdentifier): boolean => algorithm.algorithm === ED25519 && algorithm.parameters === undefined;

/** A distinguished name of the ring's organisation and one common name, each its own RDN, as UTF8String. */
export function ringName(commonName: string): Name {
  const rdn = (type: string, text: string) => new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: text }) })]);
  return new Name([rdn(ORGANIZATION, RING_ORGANIZATION), rdn(COMMON_NAME, commonName)]);
}

/** The common names in `name` that are UTF8Strings; anything else written as a CN comes back as undefined. */
export function commonNames(name: Name): (string | undefined)[] {
  return name.flatMap((rdn) => rdn.filter((attribute) => attribute.type === COMMON_NAME).map((attribute) => attribute.value.utf8String));
}

/**
 * A time as RFC 5280 §4.1.2.5 wants it: UTCTime for 1950 through 2049, GeneralizedTime
 * otherwise, in whole seconds (DER allows no fraction in either).
 */
export function x509Time(date: Date): Time {
  const seconds = new Date(Math.floor(date.getTime() / 1000) * 1000);
  const year = seconds.getUTCFullYear();
  return year >= 1950 && year < 2050 ? new Time({ utcTime: seconds }) : new Time({ generalTime: seconds });
}

/** RFC 5280 §4.2.1.2 method 1: the SHA-1 of the key bits. */
export function keyIdentifier(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) throw new RangeError('an Ed25519 public key is 32 bytes');
  return sha1(publicKey);
}

/** An extension around the DER of `value`. */
export function extension(id: string, critical: boolean, value: object): Extension {
  return new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** AuthorityKeyIdentifier (RFC 5280 §4.2.1.1) naming the issuer by its key identifier only. */
export function authorityKeyIdentifier(issuerKey: Uint8Array): Extension {
  return extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyIdentifier(issuerKey)) }));
}

/** The contents of a non-negative INTEGER (X.690 §8.3): minimal big-endian two's complement. */
export function integerBytes(value: bigint): ArrayBuffer {
  if (value < 0n) throw new RangeError('only non-negative integers are written');
  const hex = value.toString(16);
  const bytes = Buffer.from(hex.length % 2 === 1 ? `0${hex}` : hex, 'hex');
  // The high bit would make it negative: a leading zero keeps it positive.
  return Uint8Array.from((bytes[0]! & 0x80) === 0 ? bytes : Buffer.concat([Buffer.of(0), bytes])).buffer;
}

/** The value of INTEGER contents (two's complement, big-endian). */
export function integerValue(contents: ArrayBuffer): bigint {
  const bytes = new Uint8Array(contents);
  if (bytes.length === 0) return 0n;
  const unsigned = BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
  return (bytes[0]! & 0x80) === 0 ? unsigned : unsigned - (1n << BigInt(bytes.length * 8));
}

/** PEM armour (RFC 7468 §2) around DER bytes. */
export function toPem(label: string, der: Uint8Array | ArrayBuffer): string {
  const base64 = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${base64}-----END ${label}-----\n`;
}

/**
 * The DER bytes of PEM text that is exactly one block labelled `label` (whitespace around it
 * allowed, nothing else: RFC 7468 §3's strict form, so what is stored is what was checked).
 */
export function fromPem(label: string, pem: string): Uint8Array {
  const match = new RegExp(`^\\s*-----BEGIN ${label}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]+)-----END ${label}-----\\s*$`).exec(pem);
  if (match === null) throw new RangeError(`the text is not one PEM block labelled ${label}`);
  const base64 = match[1]!.replace(/\r?\n/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) throw new RangeError(`the ${label} PEM block is not base64`);
  return Uint8Array.from(Buffer.from(base64, 'base64'));
}

/**
 * Just enough ASN.1 DER (ITU-T X.690) to write a simple X.509 certificate: definite lengths,
 * the universal types X.509 needs, explicit and implicit context tags, in DER's canonical
 * form (minimal lengths, minimal two's-complement integers). Pure.
 *
 * A test helper: self-signed.ts writes its TLS test certificates with it. Nothing in src/
 * uses it: the ring authority's certificates and CRLs go through @peculiar/asn1-x509
 * (src/membership/certificate.ts, crl.ts).
 */

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

function lengthBytes(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** An element with `tag` around `content`. */
export function element(tag: number, ...content: readonly Uint8Array[]): Uint8Array {
  const body = concat(content);
  return concat([Uint8Array.of(tag), lengthBytes(body.length), body]);
}

export const sequence = (...items: readonly Uint8Array[]): Uint8Array => element(0x30, ...items);
export const set = (...items: readonly Uint8Array[]): Uint8Array => element(0x31, ...items);
/** [n] EXPLICIT: a constructed context tag around one element. */
export const explicit = (n: number, item: Uint8Array): Uint8Array => element(0xa0 | n, item);
export const booleanValue = (value: boolean): Uint8Array => Uint8Array.of(0x01, 0x01, value ? 0xff : 0x00);
export const octetString = (bytes: Uint8Array): Uint8Array => element(0x04, bytes);
export const utf8String = (text: string): Uint8Array => element(0x0c, new TextEncoder().encode(text));
/** A BIT STRING of whole bytes, or of `bits` significant bits (trailing bits unused). */
export function bitString(bytes: Uint8Array, unusedBits = 0): Uint8Array {
  return element(0x03, Uint8Array.of(unusedBits), bytes);
}

/** A non-negative INTEGER, from a bigint or big-endian bytes. */
export function integer(value: bigint | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === 'bigint') {
    if (value < 0n) throw new RangeError('only non-negative integers are written');
    const hex = value.toString(16);
    bytes = Uint8Array.from(Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex'));
  } else {
    bytes = value;
  }
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  // The high bit would make it negative: a leading zero keeps it positive.
  if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) bytes = concat([Uint8Array.of(0), bytes]);
  return element(0x02, bytes);
}

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  if (arcs.length < 2) throw new RangeError(`${dotted} is not an OID`);
  const out: number[] = [];
  const push = (arc: bigint): void => {
    const groups: number[] = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) groups.unshift(Number(rest & 0x7fn) | 0x80);
    out.push(...groups);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  arcs.slice(2).forEach(push);
  return element(0x06, Uint8Array.from(out));
}

/** A time as X.509 wants it (RFC 5280 §4.1.2.5): UTCTime through 2049, GeneralizedTime after. */
export function time(date: Date): Uint8Array {
  const iso = date.toISOString();
  const compact = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return element(0x17, new TextEncoder().encode(compact.slice(2)));
  return element(0x18, new TextEncoder().encode(compact));
}

/** PEM armour (RFC 7468) around DER bytes. */
export function toPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${base64}-----END ${label}-----\n`;
}

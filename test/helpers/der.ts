/**
 * Just enough ASN.1 DER (ITU-T X.690) to write and read simple X.509 structures: definite
 * lengths, the universal types X.509 needs, explicit and implicit context tags. Encoding
 * follows DER's canonical rules (minimal lengths, minimal two's-complement integers). Pure.
 *
 * A test helper: self-signed.ts writes its TLS test certificates with it. Nothing in src/
 * uses it: the ring authority's certificates and CRLs go through @peculiar/asn1-x509
 * (src/membership/certificate.ts, crl.ts).
 *
 * Throws RangeError for input that is not the DER this module writes.
 */

/** A tag and its content bytes, as read back. */
export interface DerNode {
  readonly tag: number;
  /** The content octets (without tag and length). */
  readonly content: Uint8Array;
  /** The whole element, tag and length included (what a signature covers). */
  readonly bytes: Uint8Array;
}

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
export const nullValue = (): Uint8Array => Uint8Array.of(0x05, 0x00);
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

/** Reads one element at `offset` of `bytes`. */
export function read(bytes: Uint8Array, offset = 0): DerNode & { readonly end: number } {
  if (offset + 2 > bytes.length) throw new RangeError('DER element truncated');
  const tag = bytes[offset]!;
  let length = bytes[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new RangeError('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i]!;
    header += count;
  }
  const end = offset + header + length;
  if (end > bytes.length) throw new RangeError('DER element truncated');
  return { tag, content: bytes.subarray(offset + header, end), bytes: bytes.subarray(offset, end), end };
}

/** The elements inside a constructed element's content. */
export function children(node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  for (let offset = 0; offset < node.content.length; ) {
    const child = read(node.content, offset);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/** The value of an INTEGER node, as a bigint. */
export function readInteger(node: DerNode): bigint {
  if (node.tag !== 0x02) throw new RangeError('not an INTEGER');
  return node.content.length === 0 ? 0n : BigInt(`0x${Buffer.from(node.content).toString('hex')}`);
}

/** The date of a UTCTime or GeneralizedTime node. */
export function readTime(node: DerNode): Date {
  const text = new TextDecoder().decode(node.content);
  const full = node.tag === 0x17 ? `${Number(text.slice(0, 2)) >= 50 ? '19' : '20'}${text}` : node.tag === 0x18 ? text : undefined;
  if (full === undefined || !/^\d{14}Z$/.test(full)) throw new RangeError('not a DER time');
  return new Date(`${full.slice(0, 4)}-${full.slice(4, 6)}-${full.slice(6, 8)}T${full.slice(8, 10)}:${full.slice(10, 12)}:${full.slice(12, 14)}Z`);
}

/** PEM armour (RFC 7468) around DER bytes. */
export function toPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${base64}-----END ${label}-----\n`;
}

/** The DER bytes inside the first PEM block labelled `label`. */
export function fromPem(label: string, pem: string): Uint8Array {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  if (match === null) throw new RangeError(`no ${label} in the PEM text`);
  return Uint8Array.from(Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64'));
}

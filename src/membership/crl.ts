/**
 * A ring authority's certificate revocation lists (RFC 5280 §5), built and read with
 * @peculiar/asn1-x509: version 2, Ed25519 (RFC 8410), the revoked serials with their dates,
 * and the crlNumber and authorityKeyIdentifier extensions (§5.2.3, §5.2.1).
 *
 * Members hand CRLs to each other, so a CRL is read as untrusted input: it is first taken
 * apart only as far as the signed envelope (§5.1: tbsCertList, signatureAlgorithm,
 * signatureValue), keeping tbsCertList as the exact DER bytes received; those bytes are
 * verified against the authority's key; and only then is the list parsed and its number and
 * entries read. A list that fails anywhere is refused whole, never read in part. Pure.
 *
 * Throws RangeError (from {@link buildCrl}) for a number that is negative.
 */
import { verify, type KeyObject } from 'node:crypto';
import { AsnConvert, AsnIntegerBigIntConverter, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, id_ce_cRLNumber, RevokedCertificate, TBSCertList, Version, type Extension } from '@peculiar/asn1-x509';
import { authorityKeyIdentifier, ed25519Algorithm, extension, fromPem, integerBytes, integerValue, isEd25519, ringName, toPem, x509Time, type Signer } from './pkix.js';

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

/** A CRL whose signature verified, as read after that. */
export interface VerifiedCrl {
  readonly number: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly revoked: readonly RevokedEntry[];
  /** The verified DER in PEM armour: what may be kept and handed to TLS (nothing around it). */
  readonly pem: string;
}

/**
 * CRLNumber (RFC 5280 §5.2.3): an INTEGER of up to 20 octets. The library's own `CRLNumber`
 * holds a JavaScript number; this one holds a bigint, so no list number is ever rounded.
 * Decorators are applied as plain calls (the project compiles without legacy decorators).
 */
class CrlNumber {
  value = 0n;
  constructor(value = 0n) {
    this.value = value;
  }
}
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerBigIntConverter })(CrlNumber.prototype, 'value');
AsnType({ type: AsnTypeTypes.Choice })(CrlNumber);

/**
 * The signed envelope of a CRL (RFC 5280 §5.1) with tbsCertList left unread: ANY keeps the
 * element's exact bytes as received, which are what the signature covers.
 */
class SignedList {
  tbsCertList = new ArrayBuffer(0);
  signatureAlgorithm = new AlgorithmIdentifier();
  signature = new ArrayBuffer(0);
}
AsnProp({ type: AsnPropTypes.Any })(SignedList.prototype, 'tbsCertList');
AsnProp({ type: AlgorithmIdentifier })(SignedList.prototype, 'signatureAlgorithm');
AsnProp({ type: AsnPropTypes.BitString })(SignedList.prototype, 'signature');
AsnType({ type: AsnTypeTypes.Sequence })(SignedList);

/** A signed CRL, as PEM. Throws RangeError for a negative number or serial. */
export function buildCrl(spec: CrlSpec, sign: Signer): string {
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: ed25519Algorithm(),
    issuer: ringName(spec.issuer),
    thisUpdate: x509Time(spec.thisUpdate),
    nextUpdate: x509Time(spec.nextUpdate),
    // An empty list leaves the field out (RFC 5280 §5.1.2.6), rather than writing an empty SEQUENCE.
    ...(spec.revoked.length > 0 ? { revokedCertificates: spec.revoked.map((entry) => new RevokedCertificate({ userCertificate: integerBytes(entry.serial), revocationDate: x509Time(entry.revokedAt) })) } : {}),
    crlExtensions: [authorityKeyIdentifier(spec.issuerKey), extension(id_ce_cRLNumber, false, crlNumber(spec.number))],
  });
  const tbsDer = AsnConvert.serialize(tbs);
  const signed = new SignedList();
  signed.tbsCertList = tbsDer;
  signed.signatureAlgorithm = ed25519Algorithm();
  signed.signature = Uint8Array.from(sign(new Uint8Array(tbsDer))).buffer;
  return toPem('X509 CRL', AsnConvert.serialize(signed));
}

function crlNumber(value: bigint): CrlNumber {
  if (value < 0n) throw new RangeError('a CRL number is not negative');
  return new CrlNumber(value);
}

/**
 * The CRL in `pem` if `issuerKey` signed it, read; undefined otherwise (never a throw). The
 * order is the point: envelope, then signature over the tbsCertList bytes as received, then
 * the contents. The PEM must be one block whose DER is canonical (re-encoding the envelope
 * gives the same bytes), so what is kept and given to TLS is exactly what was verified.
 */
export function verifyCrl(pem: string, issuerKey: KeyObject): VerifiedCrl | undefined {
  let der: Uint8Array;
  let signed: SignedList;
  try {
    der = fromPem('X509 CRL', pem);
    signed = AsnConvert.parse(der, SignedList);
  } catch {
    return undefined;
  }
  const tbsBytes = new Uint8Array(signed.tbsCertList);
  if (!isEd25519(signed.signatureAlgorithm) || !verifies(tbsBytes, issuerKey, new Uint8Array(signed.signature))) return undefined;
  // Signed by the authority: from here on the contents are the authority's word.
  try {
    if (!Buffer.from(AsnConvert.serialize(signed)).equals(der)) return undefined;
    const tbs = AsnConvert.parse(tbsBytes, TBSCertList);
    if (tbs.version !== Version.v2 || !isEd25519(tbs.signature) || tbs.nextUpdate === undefined) return undefined;
    const number = numberOf(tbs.crlExtensions ?? []);
    if (number === undefined) return undefined;
    return {
      number,
      thisUpdate: tbs.thisUpdate.getTime(),
      nextUpdate: tbs.nextUpdate.getTime(),
      revoked: (tbs.revokedCertificates ?? []).map((entry) => ({ serial: integerValue(entry.userCertificate), revokedAt: entry.revocationDate.getTime() })),
      pem: toPem('X509 CRL', der),
    };
  } catch {
    return undefined;
  }
}

/** Ed25519 verification that answers false for a malformed signature or key instead of throwing. */
function verifies(message: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** The list's crlNumber; undefined when it has none, or more than one. */
function numberOf(extensions: readonly Extension[]): bigint | undefined {
  const found = extensions.filter((ext) => ext.extnID === id_ce_cRLNumber);
  if (found.length !== 1) return undefined;
  return AsnConvert.parse(found[0]!.extnValue.buffer, CrlNumber).value;
}

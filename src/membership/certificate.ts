/**
 * The certificates of a ring authority (RFC 5280 §4, Ed25519 per RFC 8410), built and read
 * with @peculiar/asn1-x509: the authority's self-signed certificate and the membership
 * certificates it issues, each binding one node's Ed25519 peer key and its certified ring id
 * (the subject common name, `node <40 hex>`) with an expiry. TLS 1.3 (OpenSSL, through
 * node:tls) checks them on every peer link, so the profile stays the one OpenSSL accepts for
 * both ends of a link: v3, basicConstraints, keyUsage, extendedKeyUsage serverAuth and
 * clientAuth for members, subject and authority key identifiers. Pure: signing is a parameter.
 *
 * Throws RangeError for a key that is not 32 bytes or a serial that is negative.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extensions,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  id_kp_clientAuth,
  id_kp_serverAuth,
  KeyUsage,
  KeyUsageFlags,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { ringIdOfCommonName } from './certified-ring-id.js';
import { authorityKeyIdentifier, commonNames, ed25519Algorithm, extension, integerBytes, isEd25519, keyIdentifier, ringName, toPem, x509Time, type Signer } from './pkix.js';

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

/** SubjectPublicKeyInfo of a raw Ed25519 key (RFC 8410 §4). */
function subjectPublicKeyInfo(publicKey: Uint8Array): SubjectPublicKeyInfo {
  if (publicKey.length !== 32) throw new RangeError('an Ed25519 public key is 32 bytes');
  return new SubjectPublicKeyInfo({ algorithm: ed25519Algorithm(), subjectPublicKey: Uint8Array.from(publicKey).buffer });
}

/** A signed certificate, as PEM. Throws RangeError for a key that is not 32 bytes. */
export function buildCertificate(spec: CertificateSpec, sign: Signer): string {
  // digitalSignature for a member; keyCertSign and cRLSign for the authority (RFC 5280 §4.2.1.3).
  const keyUsage = new KeyUsage(spec.authority ? KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign : KeyUsageFlags.digitalSignature);
  const validity = new Validity();
  validity.notBefore = x509Time(spec.notBefore);
  validity.notAfter = x509Time(spec.notAfter);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: integerBytes(spec.serial),
    signature: ed25519Algorithm(),
    issuer: ringName(spec.issuer),
    validity,
    subject: ringName(spec.subject),
    subjectPublicKeyInfo: subjectPublicKeyInfo(spec.subjectKey),
    extensions: new Extensions([
      extension(id_ce_basicConstraints, true, spec.authority ? new BasicConstraints({ cA: true, pathLenConstraint: 0 }) : new BasicConstraints()),
      extension(id_ce_keyUsage, true, keyUsage),
      // A member is both ends of a peer link: the TLS server and the TLS client.
      ...(spec.authority ? [] : [extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth, id_kp_clientAuth]))]),
      extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifier(spec.subjectKey))),
      authorityKeyIdentifier(spec.issuerKey),
    ]),
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const certificate = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: ed25519Algorithm(), signatureValue: Uint8Array.from(sign(tbsDer)).buffer });
  return toPem('CERTIFICATE', AsnConvert.serialize(certificate));
}

/** Who a membership certificate names. */
export interface MemberCertificate {
  /** The certified ring id from the subject common name. */
  readonly id: bigint;
  /** The member's raw 32-byte Ed25519 public key. */
  readonly key: Uint8Array;
}

/**
 * Reads the certified ring id and the key of a membership certificate, given as DER. Call it
 * only on a certificate whose signature has been checked against the authority's key: it
 * trusts what it reads. Undefined (never a throw) unless the subject has exactly one common
 * name, `node ` and 40 lower-case hex digits, and the key is Ed25519 (32 bytes).
 */
export function readMemberCertificate(der: Uint8Array): MemberCertificate | undefined {
  let certificate: Certificate;
  try {
    certificate = AsnConvert.parse(der, Certificate);
  } catch {
    return undefined;
  }
  const names = commonNames(certificate.tbsCertificate.subject);
  const id = names.length === 1 && names[0] !== undefined ? ringIdOfCommonName(names[0]) : undefined;
  const spki = certificate.tbsCertificate.subjectPublicKeyInfo;
  if (id === undefined || !isEd25519(spki.algorithm) || spki.subjectPublicKey.byteLength !== 32) return undefined;
  return { id, key: new Uint8Array(spki.subjectPublicKey.slice(0)) };
}

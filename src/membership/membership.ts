/**
 * A node's ring membership: its authority's certificate, its own membership certificate (for
 * the node's Ed25519 peer key) and the authority's newest CRL. It gives the TLS options every
 * peer link uses (mutual TLS 1.3: each side proves its key and shows a certificate the
 * authority signed), checks what a peer presented, and adopts newer CRLs that the authority
 * signed. Kept in one directory (`DATA/ring` by default):
 *
 *   authority.crt   the ring authority's certificate
 *   node.crt        this node's membership certificate
 *   crl.pem         the newest revocation list this node knows
 *
 * A member's place on the ring is the ring id its certificate carries (certified by the
 * authority, see certified-ring-id.ts), never one derived from its key here.
 *
 * Throws FLOWCHAIN_ERR_CONFIG_INVALID for documents that do not fit together (from the
 * constructor and {@link Membership.read}), FLOWCHAIN_ERR_PEER_NOT_MEMBER from
 * {@link Membership.verifyPeer}.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlowchainError } from '../errors.js';
import { readMemberCertificate } from './certificate.js';
import { verifyCrl, type VerifiedCrl } from './crl.js';

/** The three documents of a membership, as PEM text. */
export interface MembershipDocuments {
  readonly authority: string;
  readonly certificate: string;
  readonly crl: string;
}

/** File names inside a membership directory. */
export const MEMBERSHIP_FILES = { authority: 'authority.crt', certificate: 'node.crt', crl: 'crl.pem' } as const;

/**
 * What receipts are checked against (ledger/receipt.ts `ReceiptTrust`): a ring authority's
 * certificate, from its PEM file or from a directory holding `authority.crt` (and `crl.pem`,
 * when there is one: a ring authority's directory or a member's data). Throws what the file
 * system throws.
 */
export function readReceiptTrust(path: string): { readonly authority: string; readonly crl?: string } {
  if (!statSync(path).isDirectory()) return { authority: readFileSync(path, 'utf8') };
  const crl = join(path, MEMBERSHIP_FILES.crl);
  return { authority: readFileSync(join(path, MEMBERSHIP_FILES.authority), 'utf8'), ...(existsSync(crl) ? { crl: readFileSync(crl, 'utf8') } : {}) };
}

/** Who a peer proved to be. */
export interface MemberPeer {
  /** The peer's ring id, as its authority certified it (its certificate's subject, `node <40 hex>`). */
  readonly id: bigint;
  /** The peer's raw 32-byte Ed25519 public key, which its certificate binds to that id. */
  readonly key: Uint8Array;
  /** Hex serial of its membership certificate. */
  readonly serial: string;
  readonly notAfter: Date;
}

/** The 32 raw bytes of an Ed25519 public key object. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new RangeError('not an Ed25519 key');
  return Uint8Array.from(Buffer.from(jwk.x, 'base64url'));
}

const config = (detail: string, cause?: unknown) => new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', detail, { field: 'membership', cause });
const notMember = (detail: string) => new FlowchainError('FLOWCHAIN_ERR_PEER_NOT_MEMBER', detail, { field: 'certificate' });

/** This node's membership of one ring. */
export class Membership {
  readonly #authority: X509Certificate;
  readonly #certificate: X509Certificate;
  readonly #ringId: bigint;
  readonly #documents: { authority: string; certificate: string };
  #crl: VerifiedCrl;
  #crlPem: string;
  #revoked: Set<string>;
  readonly #listeners = new Set<() => void>();
  /** Where the documents are kept, if on disk: a newer CRL is saved there, and one put there is picked up. */
  #directory: string | undefined;
  #crlSeen = 0;

  /**
   * Checks that the documents fit: the certificate is the authority's, it certifies
   * `publicKey` (this node's peer key) and a ring id, and the CRL is the authority's. Throws
   * FLOWCHAIN_ERR_CONFIG_INVALID naming what does not fit.
   */
  constructor(documents: MembershipDocuments, publicKey: Uint8Array) {
    let authority: X509Certificate;
    let certificate: X509Certificate;
    try {
      authority = new X509Certificate(documents.authority);
      certificate = new X509Certificate(documents.certificate);
    } catch (err) {
      throw config('the membership documents are not certificates', err);
    }
    if (!authority.ca || !authority.verify(authority.publicKey)) throw config('the ring authority certificate is not a self-signed authority');
    if (!certificate.checkIssued(authority) || !certificate.verify(authority.publicKey)) throw config('the membership certificate was not issued by this ring authority');
    // Signed by the authority: what it says may be read now.
    const member = readMemberCertificate(certificate.raw);
    if (member === undefined) throw config('the membership certificate carries no certified ring id (its subject is not "node <40 hex>"): admit this node again (flowchain ring admit)');
    if (!Buffer.from(member.key).equals(Buffer.from(publicKey))) {
      throw config('the membership certificate is for another key than this node\'s: admit this node again (flowchain ring admit)');
    }
    this.#authority = authority;
    this.#certificate = certificate;
    this.#ringId = member.id;
    this.#documents = { authority: documents.authority, certificate: documents.certificate };
    const crl = verifyCrl(documents.crl, authority.publicKey);
    if (crl === undefined) throw config('the CRL is not signed by this ring authority');
    this.#crl = crl;
    this.#crlPem = crl.pem;
    this.#revoked = serials(crl);
    if (this.#revoked.has(serialOf(certificate))) throw config('this node\'s membership certificate is revoked');
  }

  /** The ring this membership is of: the SHA-256 fingerprint of its authority's certificate, as hex. */
  get ring(): string {
    return this.#authority.fingerprint256.replaceAll(':', '').toLowerCase();
  }

  /** Reads the documents in `directory`; undefined when it holds none. */
  static read(directory: string): MembershipDocuments | undefined {
    const path = (file: string) => join(directory, file);
    if (!existsSync(path(MEMBERSHIP_FILES.certificate))) return undefined;
    try {
      return {
        authority: readFileSync(path(MEMBERSHIP_FILES.authority), 'utf8'),
        certificate: readFileSync(path(MEMBERSHIP_FILES.certificate), 'utf8'),
        crl: readFileSync(path(MEMBERSHIP_FILES.crl), 'utf8'),
      };
    } catch (err) {
      throw config(`${directory} does not hold a whole membership (${Object.values(MEMBERSHIP_FILES).join(', ')})`, err);
    }
  }

  /** The membership kept in `directory`; undefined when it holds none. */
  static load(directory: string, publicKey: Uint8Array): Membership | undefined {
    const documents = Membership.read(directory);
    if (documents === undefined) return undefined;
    const membership = new Membership(documents, publicKey);
    membership.#directory = directory;
    membership.#crlSeen = mtimeOf(join(directory, MEMBERSHIP_FILES.crl));
    return membership;
  }

  /**
   * Picks up a CRL the operator put into the membership directory since the last look (the
   * authority's newest, copied there after `flowchain ring revoke`); returns whether it was
   * newer. Cheap: one stat when nothing changed.
   */
  reload(): boolean {
    if (this.#directory === undefined) return false;
    const path = join(this.#directory, MEMBERSHIP_FILES.crl);
    const seen = mtimeOf(path);
    if (seen === this.#crlSeen) return false;
    this.#crlSeen = seen;
    try {
      return this.adoptCrl(readFileSync(path, 'utf8'));
    } catch {
      return false;
    }
  }

  /** This node's ring id, as the authority certified it in this node's membership certificate. */
  get ringId(): bigint {
    return this.#ringId;
  }

  /** This node's membership certificate, as PEM (members show it in what they sign for others). */
  get certificate(): string {
    return this.#documents.certificate;
  }

  /** This node's certificate: when it expires, and its serial. */
  get own(): { readonly serial: string; readonly notAfter: Date } {
    return { serial: serialOf(this.#certificate), notAfter: new Date(this.#certificate.validTo) };
  }

  /** The CRL's number (grows with each revocation) and its text. */
  get crl(): { readonly number: bigint; readonly pem: string } {
    return { number: this.#crl.number, pem: this.#crlPem };
  }

  /**
   * Options for `tls.createServer` and `tls.connect` alike: TLS 1.3 only, this node's key and
   * certificate, only the ring authority trusted, its CRL checked, and the peer's certificate
   * required. `privateKey` is this node's key as PEM (it never leaves the process).
   */
  tlsOptions(privateKey: string): { readonly key: string; readonly cert: string; readonly ca: string; readonly crl: string; readonly minVersion: 'TLSv1.3'; readonly requestCert: true; readonly rejectUnauthorized: true } {
    return { key: privateKey, cert: this.#documents.certificate, ca: this.#documents.authority, crl: this.#crlPem, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: true };
  }

  /**
   * Checks a peer's certificate again (TLS checked it at the handshake; this also runs for
   * links that outlive a certificate or a revocation): issued by the authority, valid at
   * `now`, not revoked, naming a certified ring id. Returns who the peer is: that id and the
   * key the certificate binds to it. Throws FLOWCHAIN_ERR_PEER_NOT_MEMBER.
   */
  verifyPeer(certificate: X509Certificate | undefined, now: Date): MemberPeer {
    return checkMemberCertificate(certificate, this.#authority, this.#revoked, now);
  }

  /**
   * Adopts `pem` if it is a CRL of this authority newer than the current one; returns whether
   * it did (never throws on what a peer sent). The list's signature is verified before its
   * number or entries are read, and a list is adopted whole or not at all. A node whose own
   * certificate the new CRL revokes adopts it too: it is out.
   */
  adoptCrl(pem: string): boolean {
    const crl = verifyCrl(pem, this.#authority.publicKey);
    if (crl === undefined || crl.number <= this.#crl.number) return false;
    this.#crl = crl;
    this.#crlPem = crl.pem;
    this.#revoked = serials(crl);
    if (this.#directory !== undefined) {
      const path = join(this.#directory, MEMBERSHIP_FILES.crl);
      writeFileSync(path, crl.pem);
      this.#crlSeen = mtimeOf(path);
    }
    for (const listener of this.#listeners) listener();
    return true;
  }

  /** Whether this node's own certificate is revoked by the CRL it holds. */
  get revoked(): boolean {
    return this.#revoked.has(this.own.serial);
  }

  /** Calls `listener` whenever a newer CRL is adopted; returns the unsubscribe. */
  onCrlChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/**
 * Checks a membership certificate: issued by `authority` and signed by it, valid at `at`, its
 * serial not in `revoked`, naming a certified ring id. Returns who it names: that id and the
 * key it binds to it. Throws FLOWCHAIN_ERR_PEER_NOT_MEMBER saying which check failed.
 */
export function checkMemberCertificate(certificate: X509Certificate | undefined, authority: X509Certificate, revoked: ReadonlySet<string>, at: Date): MemberPeer {
  if (certificate === undefined) throw notMember('no certificate was presented');
  if (!certificate.checkIssued(authority) || !certificate.verify(authority.publicKey)) throw notMember('the certificate is not from this ring\'s authority');
  if (certificate.ca) throw notMember('the certificate is the authority\'s own, not a member\'s');
  const notAfter = new Date(certificate.validTo);
  if (at < new Date(certificate.validFrom) || at > notAfter) throw notMember(`the membership certificate was not valid at ${at.toISOString()} (it is valid from ${new Date(certificate.validFrom).toISOString()} to ${notAfter.toISOString()})`);
  const serial = serialOf(certificate);
  if (revoked.has(serial)) throw notMember('the membership certificate is revoked');
  // Read only now that the authority's signature over it has verified.
  const member = readMemberCertificate(certificate.raw);
  if (member === undefined) throw notMember('the certificate carries no certified ring id (its subject is not "node <40 hex>")');
  return { id: member.id, key: member.key, serial, notAfter };
}

/** The hex serial numbers a verified CRL revokes. */
export const serials = (crl: VerifiedCrl): Set<string> => new Set(crl.revoked.map((entry) => entry.serial.toString(16)));

/** A certificate's serial as lower-case hex without leading zeros (OpenSSL pads it to whole bytes). */
const serialOf = (certificate: X509Certificate): string => BigInt(`0x${certificate.serialNumber}`).toString(16);

const mtimeOf = (path: string): number => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
};

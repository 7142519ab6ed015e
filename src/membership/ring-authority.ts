/**
 * A ring's authority (the hybrid-blockchain paper's: "only authenticated users can join the
 * private blockchain network … request permissions from an authority"). It holds an Ed25519
 * key and its self-signed certificate, issues each admitted node a membership certificate for
 * that node's peer key with an expiry, and revokes certificates by issuing a newer CRL. It
 * also fixes each member's place on the ring: the certificate carries a ring id the authority
 * derives from its own signature over the node's key (certified-ring-id.ts), so no member
 * chooses where it sits. Its files live in one directory, which never needs to be on a node:
 *
 *   authority.key   the authority's private key (PKCS#8 PEM, mode 0600): keep it off the ring
 *   authority.crt   its certificate, which every member trusts
 *   crl.pem         the newest revocation list
 *   issued.json     every certificate issued: serial, certified node id, expiry (what revoke looks up)
 *
 * Throws FLOWCHAIN_ERR_CONFIG_INVALID naming the file or node that is wrong.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlowchainError } from '../errors.js';
import { buildCertificate } from './certificate.js';
import { certifiedRingId, memberCommonName, ringIdHex } from './certified-ring-id.js';
import { buildCrl, verifyCrl, type RevokedEntry } from './crl.js';
import { MEMBERSHIP_FILES, rawPublicKey, type MembershipDocuments } from './membership.js';

/** One certificate the authority issued. */
export interface IssuedCertificate {
  /** Hex. */
  readonly serial: string;
  /** The certified ring id the certificate carries (40 hex): what {@link RingAuthority.revoke} takes. */
  readonly nodeId: string;
  readonly notAfter: string;
}

const FILES = { key: 'authority.key', certificate: 'authority.crt', crl: 'crl.pem', issued: 'issued.json' } as const;
const AUTHORITY_NAME = 'Flowchain ring authority';
const DAY_MS = 86_400_000;
/** How long a CRL is current; nodes keep using an older one (revocations only ever add). */
const CRL_DAYS = 3650;

const invalid = (field: string, detail: string, cause?: unknown) => new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', detail, { field, cause });

/** Collaborators: the wall clock (certificates are checked against it by TLS) and randomness for serials. */
export interface AuthorityComponents {
  readonly now: () => Date;
  readonly randomBytes: (length: number) => Uint8Array;
}

/** A ring authority, loaded from or created in its directory. */
export class RingAuthority {
  readonly directory: string;
  readonly #key: KeyObject;
  readonly #publicKey: Uint8Array;
  readonly #components: AuthorityComponents;
  readonly certificate: string;
  #crl: string;
  #issued: IssuedCertificate[];

  private constructor(directory: string, key: KeyObject, certificate: string, crl: string, issued: IssuedCertificate[], components: AuthorityComponents) {
    this.directory = directory;
    this.#key = key;
    this.#publicKey = rawPublicKey(createPublicKey(key));
    this.certificate = certificate;
    this.#crl = crl;
    this.#issued = issued;
    this.#components = components;
  }

  /** Creates a new authority in `directory` (which must not hold one), valid for ten years. */
  static create(directory: string, components: AuthorityComponents): RingAuthority {
    if (existsSync(join(directory, FILES.key))) throw invalid('authority', `${directory} already holds a ring authority`);
    const { privateKey } = generateKeyPairSync('ed25519');
    const publicKey = rawPublicKey(createPublicKey(privateKey));
    const now = components.now();
    const certificate = buildCertificate(
      { serial: serialOf(components.randomBytes), issuer: AUTHORITY_NAME, issuerKey: publicKey, subject: AUTHORITY_NAME, subjectKey: publicKey, notBefore: backdated(now), notAfter: new Date(now.getTime() + 3650 * DAY_MS), authority: true },
      (tbs) => sign(null, tbs, privateKey),
    );
    const authority = new RingAuthority(directory, privateKey, certificate, '', [], components);
    authority.#crl = authority.#signCrl(1n, []);
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    writeFileSync(join(directory, FILES.key), privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
    writeFileSync(join(directory, FILES.certificate), certificate);
    authority.#save();
    return authority;
  }

  /** Loads the authority kept in `directory`. */
  static load(directory: string, components: AuthorityComponents): RingAuthority {
    const read = (file: string): string => {
      try {
        return readFileSync(join(directory, file), 'utf8');
      } catch (err) {
        throw invalid('authority', `${join(directory, file)} cannot be read: is ${directory} a ring authority (flowchain ring init)?`, err);
      }
    };
    let key: KeyObject;
    try {
      key = createPrivateKey(read(FILES.key));
    } catch (err) {
      if (err instanceof FlowchainError) throw err;
      throw invalid('authority', `${join(directory, FILES.key)} is not a private key`, err);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw invalid('authority', `${join(directory, FILES.key)} is not an Ed25519 key`);
    let issued: IssuedCertificate[];
    try {
      issued = JSON.parse(read(FILES.issued)) as IssuedCertificate[];
    } catch (err) {
      if (err instanceof FlowchainError) throw err;
      throw invalid('authority', `${join(directory, FILES.issued)} is not JSON`, err);
    }
    return new RingAuthority(directory, key, read(FILES.certificate), read(FILES.crl), issued, components);
  }

  /** Loads the authority in `directory`, creating it there first if there is none. */
  static open(directory: string, components: AuthorityComponents): RingAuthority {
    return existsSync(join(directory, FILES.key)) ? RingAuthority.load(directory, components) : RingAuthority.create(directory, components);
  }

  /** The newest revocation list. */
  get crl(): string {
    return this.#crl;
  }

  /** Every certificate issued so far. */
  get issued(): readonly IssuedCertificate[] {
    return this.#issued;
  }

  /**
   * The ring id this authority certifies for `publicKey` (see {@link certifiedRingId}): the
   * same for every admission of that key, and unknowable without this authority's key.
   * Throws FLOWCHAIN_ERR_CONFIG_INVALID for a key that is not 32 bytes.
   */
  ringIdFor(publicKey: Uint8Array): bigint {
    if (publicKey.length !== 32) throw invalid('key', 'a node key is 32 bytes (64 hex digits)');
    return certifiedRingId(publicKey, (message) => sign(null, message, this.#key));
  }

  /**
   * Admits the node whose Ed25519 peer key is `publicKey` for `days`: its membership documents
   * (this authority's certificate, the node's new certificate, carrying its certified ring id,
   * and the current CRL). Throws FLOWCHAIN_ERR_CONFIG_INVALID for a key that is not 32 bytes
   * or days that are not a whole number of at least 1.
   */
  admit(publicKey: Uint8Array, days = 365): MembershipDocuments {
    if (publicKey.length !== 32) throw invalid('key', 'a node key is 32 bytes (64 hex digits)');
    if (!Number.isInteger(days) || days < 1) throw invalid('days', 'a certificate is valid for a whole number of days, at least 1');
    return this.#issue(publicKey, this.#components.now(), days * DAY_MS);
  }

  /**
   * Issues a certificate valid from `notBefore` for `validMs` (tests make expired ones).
   * {@link admit} is the way in for everything else.
   */
  issueWindow(publicKey: Uint8Array, notBefore: Date, validMs: number): MembershipDocuments {
    return this.#issue(publicKey, notBefore, validMs);
  }

  /**
   * Revokes every certificate issued to `nodeId`, the certified ring id (40 hex) that
   * `issued.json` records and `flowchain ring admit` printed; returns the new CRL, already
   * saved. Throws FLOWCHAIN_ERR_CONFIG_INVALID for a node never admitted, or when the
   * authority's own CRL file is not one it signed.
   */
  revoke(nodeId: string): string {
    const serials = this.#issued.filter((entry) => entry.nodeId === nodeId.toLowerCase()).map((entry) => BigInt(`0x${entry.serial}`));
    if (serials.length === 0) throw invalid('node', `no certificate was issued to node ${nodeId}`);
    const current = verifyCrl(this.#crl, createPublicKey(this.#key));
    if (current === undefined) throw invalid('authority', `${join(this.directory, FILES.crl)} is not a revocation list this authority signed`);
    const known = new Set(current.revoked.map((entry) => entry.serial));
    const now = this.#components.now();
    const added = serials.filter((serial) => !known.has(serial)).map((serial) => ({ serial, revokedAt: now }));
    this.#crl = this.#signCrl(current.number + 1n, [...current.revoked, ...added]);
    this.#save();
    return this.#crl;
  }

  #issue(publicKey: Uint8Array, notBefore: Date, validMs: number): MembershipDocuments {
    const serial = serialOf(this.#components.randomBytes);
    const id = this.ringIdFor(publicKey);
    const nodeId = ringIdHex(id);
    const notAfter = new Date(notBefore.getTime() + validMs);
    const certificate = buildCertificate(
      { serial, issuer: AUTHORITY_NAME, issuerKey: this.#publicKey, subject: memberCommonName(id), subjectKey: publicKey, notBefore: backdated(notBefore), notAfter, authority: false },
      (tbs) => sign(null, tbs, this.#key),
    );
    this.#issued = [...this.#issued, { serial: serial.toString(16), nodeId, notAfter: notAfter.toISOString() }];
    this.#save();
    return { authority: this.certificate, certificate, crl: this.#crl };
  }

  #signCrl(number: bigint, revoked: readonly RevokedEntry[]): string {
    const now = this.#components.now();
    return buildCrl({ issuer: AUTHORITY_NAME, issuerKey: this.#publicKey, number, thisUpdate: backdated(now), nextUpdate: new Date(now.getTime() + CRL_DAYS * DAY_MS), revoked }, (tbs) => sign(null, tbs, this.#key));
  }

  #save(): void {
    if (!existsSync(this.directory)) return;
    writeFileSync(join(this.directory, FILES.crl), this.#crl);
    writeFileSync(join(this.directory, FILES.issued), `${JSON.stringify(this.#issued, null, 2)}\n`);
  }
}

/** Writes a node's membership documents into `directory` (its `DATA/ring`). */
export function writeMembership(directory: string, documents: MembershipDocuments): void {
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, MEMBERSHIP_FILES.authority), documents.authority);
  writeFileSync(join(directory, MEMBERSHIP_FILES.certificate), documents.certificate);
  writeFileSync(join(directory, MEMBERSHIP_FILES.crl), documents.crl);
}

/** A positive 63-bit serial from the CSPRNG (RFC 5280 §4.1.2.2 wants them unique and unpredictable). */
function serialOf(randomBytes: (length: number) => Uint8Array): bigint {
  const bytes = randomBytes(8);
  bytes[0] = bytes[0]! & 0x7f;
  return BigInt(`0x${Buffer.from(bytes).toString('hex')}`) || 1n;
}

/** A minute before `date`, so a certificate is valid on a peer whose clock is slightly behind. */
const backdated = (date: Date): Date => new Date(date.getTime() - 60_000);

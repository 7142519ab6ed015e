/**
 * A Thing Description as the ring keeps it: signed by the node that publishes it, so any
 * member can check who did and nobody else can replace or withdraw it. Two kinds of
 * publisher: the node that hosts the Thing (the broker's owners refuse transactions about a
 * Thing from anyone but its host), and the node where a TD of a Thing hosted elsewhere was
 * registered through the directory API (`registration` set: such an entry names no host of
 * the Thing). Stored under thingKey(id) = SHA-1("flowchain:td:" + TD id), an entry names its
 * publisher (`host`: ring id, Ed25519 key, HTTP base URL), carries the TD (null once withdrawn:
 * a tombstone), a version that grows with each publication and an expiry: a hosting node keeps
 * pushing it forward while it runs; a registration expires when its TTL says, and at most
 * {@link MAX_ENTRY_LIFETIME_MS} after the node that took it last published it, so it outlives
 * that node for a week but no member can make the ring keep an entry for ever. Pure: the clock
 * and the key are parameters.
 *
 *   signature = Ed25519 by host.key over UTF-8(canonicalJson(entry without signature))
 *
 * Throws FLOWCHAIN_ERR_RING_RECORD_INVALID from {@link THING_ENTRIES}.check.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { canonicalJson } from '../canonical-json.js';
import { HEX128, HEX40, HEX64 } from '../common/hex.js';
import type { RecordKind } from '../common/ring-records.js';
import { FlowchainError } from '../errors.js';
import { NodeIdentity, keyIdOf } from '../node-identity.js';
import type { ThingDescription } from '../td/thing-description.js';
import { hostedThingId } from '../td/thing-id.js';

/** The host of a Thing, as its entry names it. */
export interface ThingHost {
  /** Ring id, 40 hex digits: SHA-1 of `key`. */
  readonly id: string;
  /** Ed25519 public key, 64 hex digits. */
  readonly key: string;
  /** The host's HTTP base URL, where the Thing's forms point. */
  readonly url: string;
}

/** When and for how long a TD was registered (WoT Discovery §7.3.2.1.3), ms since the epoch. */
export interface EntryRegistration {
  readonly created: number;
  readonly modified: number;
  /** The time to live the registering client asked for, in seconds; none: until deleted. */
  readonly ttl?: number;
}

/** A signed entry of the ring's directory. */
export interface ThingEntry {
  readonly kind: 'td';
  readonly thingId: string;
  /** The TD as its publisher serves it; null for a withdrawn Thing. */
  readonly td: ThingDescription | null;
  /** The publisher: the Thing's host, or the node a registration was made at. */
  readonly host: ThingHost;
  /** Present when the TD was registered through the directory API rather than hosted. */
  readonly registration?: EntryRegistration;
  /**
   * For a hosted Thing whose id derives from its host's key ({@link hostedThingId}): the slug
   * it derives from. Such an entry proves that its publisher hosts the Thing, so it outranks
   * any entry of another publisher for that id, first or not.
   */
  readonly name?: string;
  /** Grows with each publication by the same publisher (its clock, in ms). */
  readonly version: number;
  /** When the entry stops counting unless published again, ms since the epoch. */
  readonly expires: number;
  readonly signature: string;
}

/** The longest an entry counts from the time it is stored or read: a week. */
export const MAX_ENTRY_LIFETIME_MS = 7 * 86_400_000;

/** The ring key of a Thing's entry. */
export function thingKey(thingId: string): string {
  return bytesToHex(sha1(utf8ToBytes(`flowchain:td:${thingId}`)));
}

/** What an entry says before it is signed. */
export interface EntryInit {
  readonly thingId: string;
  readonly td: ThingDescription | null;
  readonly url: string;
  readonly version: number;
  readonly expires: number;
  readonly registration?: EntryRegistration;
  readonly name?: string;
}

/** Signs an entry for a Thing this node hosts or a TD registered here (or a tombstone, with `td` null). */
export function signThingEntry(identity: NodeIdentity, init: EntryInit): ThingEntry {
  const unsigned = {
    kind: 'td' as const,
    thingId: init.thingId,
    td: init.td,
    host: { id: identity.id.toString(16).padStart(40, '0'), key: bytesToHex(identity.publicKey), url: init.url },
    ...(init.registration === undefined ? {} : { registration: init.registration }),
    ...(init.name === undefined ? {} : { name: init.name }),
    version: init.version,
    expires: init.expires,
  };
  return { ...unsigned, signature: bytesToHex(identity.sign(utf8ToBytes(canonicalJson(unsigned)))) };
}

const invalid = (detail: string, field: string) => new FlowchainError('FLOWCHAIN_ERR_RING_RECORD_INVALID', `thing entry: ${detail}`, { field });

/** Checks an entry offered for `keyHex`: its shape, key, host id and signature. */
function checkEntry(keyHex: string, raw: unknown): ThingEntry {
  const e = raw as Partial<ThingEntry> | null;
  if (typeof e !== 'object' || e === null || e.kind !== 'td') throw invalid('an entry is an object of kind td', 'kind');
  if (typeof e.thingId !== 'string' || e.thingId.length === 0 || e.thingId.length > 2048) throw invalid('thingId is the TD id', 'thingId');
  if (thingKey(e.thingId) !== keyHex) throw invalid('the entry is not stored under its Thing\'s key', 'thingId');
  if (e.td !== null && (typeof e.td !== 'object' || e.td === undefined || Array.isArray(e.td) || e.td.id !== e.thingId)) throw invalid('td is the Thing Description of thingId, or null', 'td');
  const host = e.host as Partial<ThingHost> | undefined;
  if (typeof host?.id !== 'string' || !HEX40.test(host.id) || typeof host.key !== 'string' || !HEX64.test(host.key) || typeof host.url !== 'string' || host.url.length > 2048) {
    throw invalid('host is { id, key, url }', 'host');
  }
  if (keyIdOf(hexToBytes(host.key)).toString(16).padStart(40, '0') !== host.id) throw invalid('host.id is not the SHA-1 of host.key', 'host.id');
  const registration = e.registration as Partial<EntryRegistration> | undefined;
  if (registration !== undefined) {
    if (typeof registration !== 'object' || registration === null || !Number.isSafeInteger(registration.created) || !Number.isSafeInteger(registration.modified)) throw invalid('registration is { created, modified, ttl? }', 'registration');
    if (registration.ttl !== undefined && !(typeof registration.ttl === 'number' && registration.ttl > 0 && Number.isFinite(registration.ttl))) throw invalid('registration.ttl is a positive number of seconds', 'registration.ttl');
  }
  if (e.name !== undefined && (typeof e.name !== 'string' || registration !== undefined || hostedThingId(host.key, e.name) !== e.thingId)) throw invalid('name is the slug the hosted Thing\'s id derives from in its host\'s namespace', 'name');
  if (!Number.isSafeInteger(e.version)) throw invalid('version is an integer', 'version');
  if (!Number.isSafeInteger(e.expires)) throw invalid('expires is integer milliseconds since the epoch', 'expires');
  if (typeof e.signature !== 'string' || !HEX128.test(e.signature)) throw invalid('signature is 64 bytes of hex', 'signature');
  const { signature, ...unsigned } = e as ThingEntry;
  if (!NodeIdentity.verify(hexToBytes(signature), utf8ToBytes(canonicalJson(unsigned)), hexToBytes(host.key))) throw invalid('the host\'s signature does not verify', 'signature');
  return e as ThingEntry;
}

/**
 * The ring record kind of Thing entries: self-proving by the publisher's signature; a newer
 * entry from the same publisher replaces the stored one. Nobody else's can, except an entry
 * whose id derives from its publisher's key (`name`), which takes the place of any other
 * publisher's entry, and any entry where the stored one is a tombstone (a withdrawn id is free
 * again). Otherwise the first signed entry wins;
 * expired ones drop out, and none counts for more than {@link MAX_ENTRY_LIFETIME_MS}. Listed:
 * the directory reads them across the ring. Vouched for by the publisher's key, so a reader
 * that asks the owner and the replicas believes the publisher most of them hold.
 */
export const THING_ENTRIES: RecordKind<ThingEntry> = {
  kind: 'td',
  check: checkEntry,
  replaces: (offered, stored) =>
    offered.host.key === stored.host.key ? offered.version > stored.version : (offered.name !== undefined && stored.name === undefined) || (stored.td === null && offered.td !== null),
  expiresAt: (entry) => entry.expires,
  maxLifetimeMs: MAX_ENTRY_LIFETIME_MS,
  voucher: (entry) => entry.host.key,
  listed: true,
};

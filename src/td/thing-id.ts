/**
 * Stable Thing identifiers: a TD without its own `id` gets a name-based UUID (RFC 9562 §5.5,
 * version 5, SHA-1) of its slug within the node's namespace UUID, so the same node serves the
 * same `id` across restarts and two nodes never collide. Pure.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True for a canonical lower-case UUID string. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** The version-5 UUID of `name` in the `namespace` UUID, as a `urn:uuid:` URI. */
export function nameBasedId(namespace: string, name: string): string {
  const hash = sha1(concatBytes(hexToBytes(namespace.replaceAll('-', '')), utf8ToBytes(name))).slice(0, 16);
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50; // version 5
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytesToHex(hash);
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The namespace of the Things a node hosts, derived from the Ed25519 key its membership
 * certificate holds: the version-5 UUID of the key (64 hex digits) in Flowchain's own hosts
 * namespace. A hosted Thing's id, `nameBasedId(hostNamespace(key), slug)`, thus names its host:
 * anyone holding the host's key and the slug recomputes it, and no other key yields it.
 */
export function hostNamespace(keyHex: string): string {
  return nameBasedId(HOSTS_NAMESPACE, keyHex.toLowerCase()).slice('urn:uuid:'.length);
}

/** The id of the Thing `slug` hosted by the node with Ed25519 key `keyHex`. */
export function hostedThingId(keyHex: string, slug: string): string {
  return nameBasedId(hostNamespace(keyHex), slug);
}

/** Flowchain's namespace UUID for {@link hostNamespace} (a random version-4 UUID, fixed). */
const HOSTS_NAMESPACE = '30fec529-6a0a-47bc-8c2e-18c390c358d5';

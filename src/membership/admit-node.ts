/**
 * Admission of a node whose data is on this machine: its identity is read from (or created in)
 * its database, which must not be in use, and its membership documents are written into its
 * membership directory (DATA/ring), where `flowchain start` finds them.
 *
 * Throws FLOWCHAIN_ERR_STORE_FAILED when the node's database cannot be opened (is it running?).
 */
import { join } from 'node:path';
import { NodeIdentity } from '../node-identity.js';
import { Database } from '../storage.js';
import { ringIdHex } from './certified-ring-id.js';
import { writeMembership, type RingAuthority } from './ring-authority.js';

/**
 * Admits the node whose data is in `data` for `days`; resolves with the ring id the authority
 * certified for it (40 hex), which is its place on the ring and what `revoke` takes.
 */
export async function admitNodeData(authority: RingAuthority, data: string, days = 365): Promise<string> {
  const identity = await loadIdentity(data);
  writeMembership(join(data, 'ring'), authority.admit(identity.publicKey, days));
  return ringIdHex(authority.ringIdFor(identity.publicKey));
}

/** The identity kept in a stopped node's database, created there if the node is new. */
export async function loadIdentity(data: string): Promise<NodeIdentity> {
  const database = await Database.open(join(data, 'db'));
  try {
    return await NodeIdentity.load(database.section('identity'));
  } finally {
    await database.close();
  }
}

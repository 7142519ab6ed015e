/**
 * How a node comes by its membership at start-up: the documents it was given, or the ones in
 * its membership directory; and a node that founds a ring alone, with none, becomes its own
 * authority (kept beside its data, so a single `flowchain start` just works and other nodes
 * can be admitted from there).
 *
 * Throws FLOWCHAIN_ERR_CONFIG_INVALID when a joining node has no membership, naming the
 * command that admits it.
 */
import { FlowchainError } from '../errors.js';
import { Membership, type MembershipDocuments } from './membership.js';
import { RingAuthority, writeMembership, type AuthorityComponents } from './ring-authority.js';

/** What {@link resolveMembership} needs. */
export interface MembershipSources extends AuthorityComponents {
  /** This node's peer key. */
  readonly publicKey: Uint8Array;
  /** Documents handed over directly (the framework API); otherwise `directory` is read. */
  readonly documents?: MembershipDocuments;
  readonly directory: string;
  /** Where a founding node without a membership keeps the authority it creates. */
  readonly authorityDirectory: string;
  /** Whether this node joins an existing ring (then it must already be a member). */
  readonly joining: boolean;
}

/** The membership, and the authority directory when this node just founded its ring. */
export function resolveMembership(sources: MembershipSources): { readonly membership: Membership; readonly founded?: string } {
  if (sources.documents !== undefined) return { membership: new Membership(sources.documents, sources.publicKey) };
  const loaded = Membership.load(sources.directory, sources.publicKey);
  if (loaded !== undefined) return { membership: loaded };
  if (sources.joining) {
    throw new FlowchainError(
      'FLOWCHAIN_ERR_CONFIG_INVALID',
      `this node has no ring membership in ${sources.directory}: the ring's authority admits it with \`flowchain ring admit --authority AUTHORITY_DIR --data THIS_NODE_DATA\` (run it while this node is stopped)`,
      { field: 'membership' },
    );
  }
  const authority = RingAuthority.open(sources.authorityDirectory, sources);
  writeMembership(sources.directory, authority.admit(sources.publicKey));
  return { membership: Membership.load(sources.directory, sources.publicKey)!, founded: sources.authorityDirectory };
}

/**
 * The oldest Node.js the `flowchain` command runs on, and the one line it prints on an older
 * one. The command's entry (cli.ts) asks this module before it loads anything else, so this
 * module imports nothing and uses no syntax newer than the Node.js versions it turns away.
 *
 * Pure; throws nothing.
 */

/**
 * The oldest supported Node.js: Node-RED 5 needs 22.9. package.json's `engines.node` names the
 * same version (a test holds them together).
 */
export const OLDEST_NODE = '22.9.0';

/** A version's major, minor and patch numbers ("v22.9.0", "22.9", "23.0.0-pre"), or undefined when it has no major number. */
function parts(version: string): [number, number, number] | undefined {
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version.trim());
  if (match === null) return undefined;
  return [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)];
}

/**
 * Whether `version` is `oldest` or later, comparing major, minor and patch as numbers (so 22.10
 * is later than 22.9). A pre-release counts as its release. A version that cannot be read is
 * given the benefit of the doubt: it is not refused.
 */
export function isNodeAtLeast(version: string, oldest: string): boolean {
  const have = parts(version);
  const need = parts(oldest);
  if (have === undefined || need === undefined) return true;
  for (let i = 0; i < 3; i++) {
    if (have[i]! !== need[i]!) return have[i]! > need[i]!;
  }
  return true;
}

/**
 * The line for a person running the command on `version` (`process.versions.node`) when it is
 * older than {@link OLDEST_NODE}, or undefined when that version is supported.
 */
export function unsupportedNodeMessage(version: string, oldest: string = OLDEST_NODE): string | undefined {
  if (isNodeAtLeast(version, oldest)) return undefined;
  const [major, minor, patch] = parts(oldest)!;
  const named = patch === 0 ? `${major}.${minor}` : `${major}.${minor}.${patch}`;
  return `flowchain needs Node.js ${named} or later (this is v${version.replace(/^v/, '')}): https://nodejs.org`;
}

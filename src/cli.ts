#!/usr/bin/env -S node --max-semi-space-size=2
/**
 * The `flowchain` command's entry: turns away a Node.js older than the oldest supported one
 * (cli/node-version.ts) with one line on stderr and exit code 1, and otherwise loads and runs
 * the command (cli/main.ts). The command is loaded with a dynamic import, after the check,
 * because an ES module's static imports all load before any of its code runs: on an old
 * Node.js a dependency would fail first, with an error that does not say why. So this module
 * imports statically only the check, which imports nothing. With cli/main.ts, the only module
 * that touches `process`.
 */
import { unsupportedNodeMessage } from './cli/node-version.js';

const refusal = unsupportedNodeMessage(process.versions.node);
if (refusal === undefined) {
  const { runCommand } = await import('./cli/main.js');
  await runCommand();
} else {
  process.stderr.write(`${refusal}\n`);
  process.exitCode = 1;
}

/**
 * Builds a real servient for a test: real LevelDB in the test's own directory, the sample
 * Things reading every second (sample-things.ts; or a given directory), a fixed seed and a manual clock. Closed at teardown.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { DEFAULTS, type Config } from '../../src/config.js';
import { admitNodeData } from '../../src/membership/admit-node.js';
import { RingAuthority } from '../../src/membership/ring-authority.js';
import { Servient, type ServientComponents } from '../../src/servient.js';
import { ManualClock } from './manual-clock.js';
import { SAMPLE_THINGS } from './sample-things.js';

export interface TestServient {
  readonly servient: Servient;
  readonly clock: ManualClock;
  readonly config: Config;
}

/** Options a test may override; with `authority`, the node is admitted by it before it is created. */
export type TestOptions = Partial<Config> & Pick<ServientComponents, 'authToken' | 'basicCredentials' | 'tls' | 'devices' | 'randomUuid'> & { clock?: ManualClock; authority?: RingAuthority };

/** A ring authority of the test's own, in a directory removed at teardown. */
export function testAuthority(t: Test): RingAuthority {
  return RingAuthority.create(join(tempDir(t), 'authority'), { now: () => new Date(), randomBytes: (n) => new Uint8Array(randomBytes(n)) });
}

/** A fresh directory of its own (t.testdir() is one per test), removed at teardown. */
export function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowchain-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The config a test node runs with: loopback, port 0, no CoAP (its tests turn it on with `coapPort: 0`), no MQTT (its tests turn on an embedded broker with `mqtt: undefined, mqttPort: 0`), seed 42, its own data directory. */
export function testConfig(t: Test, overrides: Partial<Config> = {}): Config {
  return { ...DEFAULTS, things: SAMPLE_THINGS, host: '127.0.0.1', port: 0, peerPort: 0, coapPort: 'off', mqtt: 'off', seed: 42, logLevel: 'silent', data: overrides.data ?? tempDir(t), ...overrides };
}

/** Creates (not starts) a servient; it is stopped at teardown. */
export async function createServient(t: Test, options: TestOptions = {}): Promise<TestServient> {
  const { authToken, basicCredentials, tls, devices, randomUuid, authority, clock = new ManualClock(), ...overrides } = options;
  const config = testConfig(t, overrides);
  if (authority !== undefined) await admitNodeData(authority, config.data);
  const servient = await Servient.create(config, { clock, ...(authToken ? { authToken } : {}), ...(basicCredentials ? { basicCredentials } : {}), ...(tls ? { tls } : {}), ...(devices ? { devices } : {}), ...(randomUuid ? { randomUuid } : {}) });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await servient.stop();
  });
  const stop = servient.stop.bind(servient);
  servient.stop = async () => {
    stopped = true;
    await stop();
  };
  return { servient, clock, config };
}

/**
 * The notification position of a node of the sample Things just after start(), nothing else
 * having happened: one directory notification (thing_created) per Thing exposed, and the smart
 * plug's first reading (one propertyChange). Positions count from the manual clock's start.
 */
export function startPosition(servient: Servient): string {
  return `2026-01-01T00:00:00.${String(servient.registry.list().length + 1).padStart(6, '0')}Z`;
}

/**
 * Ticks every node's clock by a second now and then and lets the sockets carry the messages,
 * until `done` (bounded by `turns` turns of the event loop).
 */
export async function settleRing(nodes: readonly TestServient[], done: () => boolean, turns = 2_000): Promise<void> {
  for (let turn = 0; turn < turns && !done(); turn++) {
    if (turn % 50 === 0) for (const { clock } of nodes) clock.advance(1_000);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Three real servients (LevelDB, mutual TLS, manual clocks) admitted by one authority, the
 * second and third joined through the first, started and settled until each knows both others
 * as successors and has a predecessor (asserted).
 */
export async function ringOfThree(t: Test): Promise<TestServient[]> {
  const authority = testAuthority(t);
  const first = await createServient(t, { authority });
  const founder = await first.servient.start();
  const others = [await createServient(t, { authority, join: founder.url }), await createServient(t, { authority, join: founder.url })];
  for (const other of others) await other.servient.start();
  const all = [first, ...others];
  const complete = () => all.every(({ servient }) => servient.ring.describe().successors.length === 2 && servient.ring.describe().predecessor !== null);
  await settleRing(all, complete);
  t.ok(complete(), 'each node knows both others');
  return all;
}

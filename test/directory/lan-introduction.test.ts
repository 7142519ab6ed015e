/**
 * Introduction on a LAN (WoT Discovery §6.3): what a node announces and which announcements
 * it would join through (pure, and with an mDNS fake beside the real one), then for real:
 * nodes in network namespaces of their own, on a bridge the test builds with `ip`, announce
 * themselves over multicast DNS and a node started with `--discover` joins its ring's member
 * while ignoring a node of another ring. Where the machine refuses namespaces the test says
 * why and skips.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { joinUrlOf, LanIntroduction, txtOf, type Announced, type Mdns } from '../../src/directory/lan-introduction.js';
import { until } from '../bindings/http/fixtures.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { runCli, startNode, type NodeProcess } from '../helpers/node-process.js';

const RING = 'ab'.repeat(32);
const member = (over: Partial<Announced> = {}): Announced => ({ name: 'flowchain-000000000001', port: 8080, address: '10.0.0.7', txt: { td: '/.well-known/wot', type: 'Directory', scheme: 'http', ring: RING }, ...over });

t.test('a node announces itself as a directory with the TXT keys of WoT Discovery §6.3 and its ring', async (t) => {
  t.same(txtOf({ name: 'n', port: 8080, scheme: 'https', ring: RING }), { td: '/.well-known/wot', type: 'Directory', scheme: 'https', ring: RING });
});

t.test('only a directory of the same ring, not this node, with a usable address, port and scheme, is joined', async (t) => {
  t.equal(joinUrlOf(member(), RING, 'self'), 'http://10.0.0.7:8080/');
  t.equal(joinUrlOf(member({ address: 'fe80::1' }), RING, 'self'), 'http://[fe80::1]:8080/', 'IPv6 in brackets');
  t.equal(joinUrlOf(member({ txt: { ...member().txt, scheme: 'https' } }), RING, 'self'), 'https://10.0.0.7:8080/');
  const refused: [string, Announced][] = [
    ['this node itself', member({ name: 'self' })],
    ['another ring', member({ txt: { ...member().txt, ring: 'cd'.repeat(32) } })],
    ['no ring (not a Flowchain node)', member({ txt: { td: '/td', type: 'Directory' } })],
    ['a Thing, not a directory', member({ txt: { ...member().txt, type: 'Thing' } })],
    ['a scheme that is not HTTP', member({ txt: { ...member().txt, scheme: 'coap' } })],
    ['no address', member({ address: undefined })],
    ['port 0', member({ port: 0 })],
  ];
  for (const [what, service] of refused) t.equal(joinUrlOf(service, RING, 'self'), undefined, what);
});

t.test('find() answers the first member that announces itself in time, or nothing after the wait; the browse stops either way', async (t) => {
  let onUp: ((service: Announced) => void) | undefined;
  let browsing = 0;
  const published: unknown[] = [];
  const fake: Mdns = {
    publish: (announcement, txt) => void published.push({ announcement, txt }),
    browse: (listener) => {
      browsing++;
      onUp = listener;
      return () => void browsing--;
    },
    close: async () => undefined,
  };
  const clock = new ManualClock();
  const lan = new LanIntroduction(fake, { ring: RING, name: 'self' });
  const found = lan.find(3_000, clock);
  onUp!(member({ txt: { ...member().txt, ring: 'cd'.repeat(32) } }));
  onUp!(member({ name: 'self' }));
  onUp!(member({ address: '10.0.0.9' }));
  t.equal(await found, 'http://10.0.0.9:8080/');
  t.equal(browsing, 0);
  const none = lan.find(3_000, clock);
  clock.advance(3_000);
  t.equal(await none, undefined);
  t.equal(browsing, 0);
  lan.announce(8443, 'https');
  t.same(published, [{ announcement: { name: 'self', port: 8443, scheme: 'https', ring: RING }, txt: txtOf({ name: 'self', port: 8443, scheme: 'https', ring: RING }) }]);
});

/** Runs `ip` with `args`; throws with its stderr. */
const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Why this machine cannot run the namespace test, or undefined when it can. */
function namespacesRefused(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces are Linux's (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root (CI runs as root)';
  const probe = `fc-probe-${process.pid}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return undefined;
  } catch (err) {
    return `the machine refuses network namespaces: ${String((err as { stderr?: string }).stderr ?? err).trim()}`;
  }
}

/** A bridge in this namespace and one namespace per node on it, 10.X.0.i/24 (this namespace .254). Removed at teardown. */
function lan(t: Test, nodes: number): { namespaces: string[]; addresses: string[] } {
  const tag = (process.pid % 10_000).toString();
  const subnet = `10.${200 + (process.pid % 50)}.0`;
  const bridge = `fcbr${tag}`;
  const namespaces: string[] = [];
  t.teardown(() => {
    for (const ns of namespaces) ip('netns', 'del', ns);
    try {
      ip('link', 'del', bridge);
    } catch {
      // already gone
    }
  });
  ip('link', 'add', bridge, 'type', 'bridge');
  ip('addr', 'add', `${subnet}.254/24`, 'dev', bridge);
  ip('link', 'set', bridge, 'up');
  const addresses: string[] = [];
  for (let i = 1; i <= nodes; i++) {
    const ns = `fc${tag}n${i}`;
    ip('netns', 'add', ns);
    namespaces.push(ns);
    const host = `fch${tag}n${i}`;
    ip('link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('link', 'set', host, 'master', bridge, 'up');
    ip('-n', ns, 'addr', 'add', `${subnet}.${i}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    // mDNS is sent to 224.0.0.251 (RFC 6762 §3): through the LAN interface.
    ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
    addresses.push(`${subnet}.${i}`);
  }
  return { namespaces, addresses };
}

/** Starts a node inside `ns`, listening on `address`. */
function nodeIn(t: Test, ns: string, address: string, data: string, extra: string[] = []): Promise<NodeProcess> {
  return startNode(t, ['--host', address, '--port', '8080', '--peer-port', '9080', '--data', data, '--log-level', 'info', '--discover', '--discover-wait', '2000', ...extra], { FLOWCHAIN_PORT: '8080' }, ['ip', 'netns', 'exec', ns]);
}

const refused = namespacesRefused();
t.test('three nodes in network namespaces on one bridge: --discover joins a member of its own ring over mDNS and leaves another ring alone', { skip: refused ?? false, timeout: 110_000 }, async (t) => {
  const { namespaces, addresses } = lan(t, 3);
  const dir = mkdtempSync(join(tmpdir(), 'flowchain-lan-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const [a, b, c] = ['a', 'b', 'c'].map((name) => join(dir, name)) as [string, string, string];

  // A finds nobody, founds its ring and announces itself; B is admitted to A's ring; C founds another.
  const nodeA = await nodeIn(t, namespaces[0]!, addresses[0]!, a);
  await until(() => nodeA.logs.some((entry) => String(entry.msg).startsWith('no member of this ring announced itself')), 'A to give up looking');
  const other = await nodeIn(t, namespaces[2]!, addresses[2]!, c);
  await until(() => other.logs.some((entry) => String(entry.msg).startsWith('no member of this ring announced itself')), 'C to run on its own: A is of another ring');
  const admitted = await runCli(['ring', 'admit', '--authority', join(a, 'ring-authority'), '--data', b]);
  t.equal(admitted.code, 0, admitted.stderr);

  const nodeB = await nodeIn(t, namespaces[1]!, addresses[1]!, b);
  await until(() => nodeB.logs.some((entry) => String(entry.msg).startsWith('joining the ring through')), 'B to find a member');
  const joined = nodeB.logs.find((entry) => String(entry.msg).startsWith('joining the ring through'))!;
  t.equal(joined.join, `http://${addresses[0]}:8080/`, 'B joins through A, the member of its ring, never C');

  const ringOf = async (url: string) => (await (await fetch(`${url}ring`)).json()) as { id: string; successors: { id: string }[]; predecessor: { id: string } | null };
  const [ringA, ringC] = [await ringOf(nodeA.url), await ringOf(other.url)];
  let ringB = await ringOf(nodeB.url);
  for (let i = 0; i < 100 && ringB.successors[0]?.id !== ringA.id; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    ringB = await ringOf(nodeB.url);
  }
  t.equal(ringB.successors[0]?.id, ringA.id, "A is B's successor: they are one ring");
  t.notOk(ringB.successors.some((peer) => peer.id === ringC.id), 'C is not in it');
  for (const node of [nodeB, other, nodeA]) t.equal(await node.stop(), 0, 'each node stops cleanly (its announcement withdrawn)');
});

if (refused !== undefined) t.comment(`the namespace test was skipped: ${refused}`);

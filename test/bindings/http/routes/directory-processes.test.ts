/**
 * The ring-wide directory across four real `flowchain start` processes (real clocks, real
 * sockets): a Thing exposed on A is listed on D and driven through the forms D serves; a TD PUT
 * on B is read back from C, cannot be changed by a rogue member talking to its owner (a tampered
 * entry is refused, a forged one does not replace it), stays readable after B is killed with
 * SIGKILL, and a TD with a short TTL disappears from every node once it expires.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { thingKey } from '../../../../src/directory/thing-entry.js';
import { RingAuthority } from '../../../../src/membership/ring-authority.js';
import type { ThingDescription } from '../../../../src/td/thing-description.js';
import { getJson, ownerOf, settledRing, startRing } from '../../../helpers/ring-processes.js';
import { tempDir } from '../../../helpers/test-servient.js';
import { remoteLampTd } from '../fixtures.js';

const INSIDER = fileURLToPath(new URL('../../../helpers/insider.mjs', import.meta.url));

/** Runs the rogue member against the owner's peer URL; resolves with what it printed. */
function insider(ownerPeerUrl: string, authorityDir: string, thingId: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [INSIDER, ownerPeerUrl, authorityDir, thingId], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.once('close', (code) => (code === 0 ? resolve(JSON.parse(text) as Record<string, unknown>) : reject(new Error(`insider exited ${code}`))));
  });
}

const lampId = (name: string) => `urn:example:process-${name}`;
const lamp = (name: string, ttl?: number) => remoteLampTd(lampId(name), { title: `Lamp ${name}`, ...(ttl === undefined ? {} : { registration: { ttl } }) });

/** Polls `probe` every 250 ms until it is true or `attempts` run out; resolves with the last answer. */
async function eventually(probe: () => Promise<boolean>, attempts = 60): Promise<boolean> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await probe().catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

// Four real processes, and up to one walk of the ring (30 s) for a node that joined late: more than tap's default time.
t.setTimeout(180_000);

const listedIds = async (url: string): Promise<string[]> => (await getJson<ThingDescription[]>(`${url}things`)).map((td) => String(td.id));

t.test('a 4-process ring: one directory everywhere', async (t) => {
  const authorityDir = join(tempDir(t), 'authority');
  const authority = RingAuthority.create(authorityDir, { now: () => new Date(), randomBytes: (n) => new Uint8Array(randomBytes(n)) });
  const nodes = await startRing(t, 4, [], authority);
  const sorted = await settledRing(nodes);
  t.equal(new Set(sorted.map((r) => r.successors[0]?.id)).size, 4, 'one ring of four');
  const [a, b, c, d] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];

  // A Thing exposed on A, found and driven from D.
  const thermostat = await getJson<ThingDescription>(`${a.url}things/thermostat`);
  // A announced it before D joined: D learns it from a walk of the ring. Its first walk can run
  // while the keys still move to the members that joined, and the next comes at most 30 s later.
  t.ok(await eventually(async () => (await listedIds(d.url)).includes(String(thermostat.id)), 180), 'D lists A\'s thermostat, at the latest after its next walk');
  const fromD = await getJson<ThingDescription>(`${d.url}things/${encodeURIComponent(String(thermostat.id))}`);
  t.equal(fromD.base, a.url, 'its TD, read at D, points at A');
  const write = fromD.properties?.targetTemperature?.forms?.find((form) => [form.op].flat().includes('writeproperty') && String(form.href).startsWith('things/'));
  t.ok(write, 'a writeproperty form');
  const target = new URL(String(write!.href), fromD.base);
  const put = await fetch(target, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '23' });
  t.equal(put.status, 204, 'driven through the form D served');
  t.equal(await (await fetch(`${a.url}things/thermostat/properties/targetTemperature`)).json(), 23, 'A has the value');

  // A TD PUT on B, read back from C.
  const stored = await fetch(`${b.url}things/${encodeURIComponent(lampId('kept'))}`, { method: 'PUT', headers: { 'content-type': 'application/td+json' }, body: JSON.stringify(lamp('kept')) });
  t.equal(stored.status, 201);
  const short = await fetch(`${b.url}things/${encodeURIComponent(lampId('short'))}`, { method: 'PUT', headers: { 'content-type': 'application/td+json' }, body: JSON.stringify(lamp('short', 4)) });
  t.equal(short.status, 201);
  t.equal((await fetch(`${c.url}things/${encodeURIComponent(lampId('short'))}`)).status, 200, 'the short-lived TD is readable before it expires');
  const readBack = await fetch(`${c.url}things/${encodeURIComponent(lampId('kept'))}`);
  t.equal(readBack.status, 200, 'C reads the TD registered at B');
  t.equal(((await readBack.json()) as ThingDescription).title, 'Lamp kept');
  t.ok(await eventually(async () => (await listedIds(d.url)).includes(lampId('kept'))), 'D lists it');
  const forbidden = await fetch(`${c.url}things/${encodeURIComponent(lampId('kept'))}`, { method: 'DELETE' });
  t.equal(forbidden.status, 403, 'only B may delete it');

  // A member that talks to the key's owner directly cannot change B's entry: a changed TD under
  // B's signature is refused, and an entry it signs itself does not replace B's.
  const owner = ownerOf(sorted, thingKey(lampId('kept')));
  const rogue = await insider(owner.url, authorityDir, lampId('kept'));
  t.equal(rogue.stored, 'Lamp kept');
  t.match(rogue.tampered, { error: { code: 'FLOWCHAIN_ERR_RING_RECORD_INVALID' } }, 'a tampered entry is refused');
  t.equal(rogue.after, 'Lamp kept', 'a forged entry does not replace B\'s');
  for (const node of nodes) t.equal(((await getJson<ThingDescription>(`${node.url}things/${encodeURIComponent(lampId('kept'))}`)) as ThingDescription).title, 'Lamp kept', `${node.url} serves B's TD`);

  // SIGKILL of B: a replica keeps the registration readable.
  await b.stop('SIGKILL');
  const survivors = [a, c, d];
  for (const node of survivors) {
    t.ok(await eventually(async () => (await fetch(`${node.url}things/${encodeURIComponent(lampId('kept'))}`)).status === 200, 80), `${node.url} still reads it`);
  }

  // The short TTL (4 s from its registration) removes that TD everywhere.
  for (const node of survivors) {
    t.ok(await eventually(async () => !(await listedIds(node.url)).includes(lampId('short')) && (await fetch(`${node.url}things/${encodeURIComponent(lampId('short'))}`)).status === 404, 80), `${node.url} no longer has the expired TD`);
  }
});

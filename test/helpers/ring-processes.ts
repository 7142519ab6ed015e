/** Rings of real `flowchain start` processes for tests: start them and wait until they agree. */
import type { Test } from 'tap';
import type { RingDescription } from '../../src/dht/ring-service.js';
import { startNode, type NodeProcess } from './node-process.js';
import { admitNodeData } from '../../src/membership/admit-node.js';
import type { RingAuthority } from '../../src/membership/ring-authority.js';
import { tempDir, testAuthority } from './test-servient.js';

/** A transaction's receipt as a node serves it (GET /ledger/tx/ID), the members the ring tests read. */
export interface RingReceipt {
  txId: string;
  hData: string;
  status: string;
  owner: { id: string };
  tx: { data: { value: unknown } };
}

export const getJson = async <T>(url: string): Promise<T> => (await fetch(url)).json() as Promise<T>;

/**
 * Starts `count` nodes of one private ring, each after the first joining through it; `args`
 * go to every node. The ring's authority (the test's own) admits every node before it starts.
 */
export async function startRing(t: Test, count: number, args: string[] = [], authority: RingAuthority = testAuthority(t)): Promise<NodeProcess[]> {
  const admitted = async () => {
    const data = tempDir(t);
    await admitNodeData(authority, data);
    return data;
  };
  const first = await startNode(t, ['--data', await admitted(), '--log-level', 'info', ...args]);
  const nodes = [first];
  for (let i = 1; i < count; i++) nodes.push(await startNode(t, ['--data', await admitted(), '--join', first.url, ...args]));
  return nodes;
}

/**
 * Polls GET /ring on every node (stabilization runs every second on the real clock) until the
 * successor pointers form one cycle in id order with full successor lists, or `attempts` run
 * out; resolves with the descriptions sorted by id either way, for the test to check.
 */
export async function settledRing(nodes: readonly NodeProcess[], attempts = 30): Promise<RingDescription[]> {
  let sorted: RingDescription[] = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    sorted = (await Promise.all(nodes.map((n) => getJson<RingDescription>(`${n.url}ring`)))).sort((a, b) => (a.id < b.id ? -1 : 1));
    const full = Math.min(nodes.length - 1, 4);
    if (sorted.every((r, i) => r.successors[0]?.id === sorted[(i + 1) % sorted.length]!.id && r.successors.length === full)) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return sorted;
}

/** SUCCESSOR(key) among the sorted ids: the first id at or after it, wrapping. */
export function ownerOf(sorted: readonly RingDescription[], key: string): RingDescription {
  return sorted.find((r) => r.id >= key) ?? sorted[0]!;
}

/**
 * Reads `GET /ledger/tx/{txId}` from `nodeUrl` until its status is `mined` (blocks seal every
 * second on the defaults) or `attempts` run out; resolves with the last receipt either way.
 */
export async function minedReceipt<T extends { status: string }>(nodeUrl: string, txId: string, attempts = 100): Promise<T> {
  let receipt = await getJson<T>(`${nodeUrl}ledger/tx/${txId}`);
  for (let i = 1; i < attempts && receipt.status !== 'mined'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    receipt = await getJson<T>(`${nodeUrl}ledger/tx/${txId}`);
  }
  return receipt;
}

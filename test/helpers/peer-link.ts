/**
 * A hand-made ring member for tests that speak peer RPC to a real node: an identity of its own,
 * admitted by the node's authority, on a raw mutual-TLS link (so a test can send what no honest
 * node would). Closed at teardown.
 */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { WebSocket } from 'ws';
import { PEER_SUBPROTOCOL } from '../../src/dht/tls-peer-network.js';
import { Membership } from '../../src/membership/membership.js';
import { RingAuthority } from '../../src/membership/ring-authority.js';
import { NodeIdentity } from '../../src/node-identity.js';

/** What a node answered: its reply, or its error body. */
export interface Answer {
  readonly reply?: Record<string, unknown>;
  readonly error?: { readonly code: string; readonly field?: string };
}

/** The authority a test node founded for itself (DATA/ring-authority). */
export function foundedAuthority(data: string): RingAuthority {
  return RingAuthority.load(join(data, 'ring-authority'), { now: () => new Date(), randomBytes: (n) => new Uint8Array(randomBytes(n)) });
}

/** Opens a member's link to `peerUrl`; `identity` defaults to a fresh one admitted by `authority`. */
export async function peerLink(t: Test, peerUrl: string, authority: RingAuthority, identity = NodeIdentity.generate()) {
  const membership = new Membership(authority.admit(identity.publicKey), identity.publicKey);
  const socket = new WebSocket(peerUrl, PEER_SUBPROTOCOL, { ...membership.tlsOptions(identity.privateKeyPem()), checkServerIdentity: (() => undefined) as unknown as () => boolean });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  t.teardown(() => socket.close());
  socket.send(JSON.stringify({ hello: { url: 'wss://127.0.0.1:1/' } }));
  let next = 0;
  const waiting = new Map<number, (answer: Answer) => void>();
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Answer & { re: number };
    waiting.get(frame.re)?.(frame);
    waiting.delete(frame.re);
  });
  return {
    identity,
    /** Sends one request and resolves with the answer. */
    ask: (request: Record<string, unknown>) =>
      new Promise<Answer>((resolve) => {
        const id = ++next;
        waiting.set(id, resolve);
        socket.send(JSON.stringify({ id, request }));
      }),
  };
}

/** A raw socket to a node's peer endpoint, for tests that send hand-made (forged) peer frames. */
import type { Test } from 'tap';
import { WebSocket } from 'ws';
import { peerEndpoint } from '../../src/dht/ring-service.js';
import { PEER_SUBPROTOCOL } from '../../src/dht/ws-peer-network.js';

/** Opens a peer socket to a node and returns a function that sends a frame and awaits the reply. */
export async function peerSocket(t: Test, url: string) {
  const socket = new WebSocket(peerEndpoint(url), PEER_SUBPROTOCOL);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  t.teardown(() => socket.close());
  return (frame: string | Buffer, binary = false) =>
    new Promise<{ body: { kind: string; re: string | null; error?: { code: string }; reply?: unknown } }>((resolve) => {
      socket.once('message', (data) => resolve(JSON.parse(data.toString())));
      socket.send(frame, { binary });
    });
}


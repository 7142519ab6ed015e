/**
 * A minimal WebSocket subscriber for the fan-out benchmark (RFC 6455, client side, text frames
 * only). A full `ws` client spends about as much CPU receiving a small message as the server
 * spends sending it, so 1,000 of them in one process would make the load generator, not the
 * server, the bottleneck. This one parses frame headers and counts complete messages; it
 * decodes a payload only when asked to sample it.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Encodes one masked client text frame (payloads under 64 KiB). */
function clientFrame(opcode, payload) {
  const length = payload.length;
  const header = length < 126 ? Buffer.from([0x80 | opcode, 0x80 | length]) : Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff]);
  const mask = randomBytes(4);
  const masked = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) masked[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([header, mask, masked]);
}

/**
 * Connects, upgrades with `protocol`, sends `request` as one text message and resolves with
 * `{ client, reply }` once the first message (the reply, decoded) arrives. After that each
 * complete text message calls `onMessage(payload)`: `payload` is the decoded text when
 * `wantPayload()` returned true as the message began, otherwise undefined (not decoded).
 * A binary message calls `onBad()`; a close the client did not ask for calls `onClose()`.
 */
export function openLeanClient({ host, port, path, protocol, request, onMessage, wantPayload, onBad, onClose, timeoutMs = 15_000 }) {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const expectedAccept = createHash('sha1').update(key + GUID).digest('base64');
    const socket = net.connect({ host, port, noDelay: true });
    let settled = false;
    let upgraded = false;
    let handshake = Buffer.alloc(0);
    // Frame parser state.
    let carry = null; // partial header bytes
    let remaining = 0; // payload bytes still to skip or collect for the current frame
    let opcode = 0;
    let fin = true;
    let collect = null; // chunks of a payload being sampled
    let collecting = false;
    let replied = false;
    let closed = false;
    /** We asked to close: the closing handshake is not a disconnect. */
    let closing = false;
    let reportedClose = false;
    const reportClose = () => {
      if (closing || reportedClose || !replied) return;
      reportedClose = true;
      onClose();
    };

    const timer = setTimeout(() => fail(new Error(`subscriber not ready within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };

    const client = {
      /** Sends a close frame and ends the socket; resolves when it is closed (bounded by the caller). */
      close() {
        closing = true;
        if (closed || socket.destroyed) return Promise.resolve();
        return new Promise((done) => {
          socket.once('close', () => done());
          if (socket.writable) socket.end(clientFrame(0x8, Buffer.from([0x03, 0xe8])));
          else socket.destroy();
        });
      },
      destroy() {
        closing = true;
        socket.destroy();
      },
      get closed() {
        return closed;
      },
    };

    const messageDone = (payload) => {
      if (!replied) {
        replied = true;
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve({ client, reply: payload });
        }
        return;
      }
      onMessage(payload);
    };

    const frameComplete = () => {
      if (opcode === 0x8) {
        reportClose();
        closed = true;
        socket.end();
        return;
      }
      if (opcode === 0x9 || opcode === 0xa) return; // ping / pong: not counted
      if (opcode === 0x2) {
        onBad();
        return;
      }
      if (!fin) return; // a fragment: the message completes with its last frame
      const payload = collecting ? Buffer.concat(collect).toString('utf8') : undefined;
      collecting = false;
      collect = null;
      messageDone(payload);
    };

    const startPayload = (length) => {
      remaining = length;
      // The reply is always decoded; notifications only when sampled.
      collecting = opcode !== 0x9 && opcode !== 0xa && (!replied || wantPayload());
      if (collecting && collect === null) collect = [];
      if (remaining === 0) frameComplete();
    };

    const parse = (chunk) => {
      let offset = 0;
      if (carry !== null) {
        chunk = Buffer.concat([carry, chunk]);
        carry = null;
      }
      while (offset < chunk.length) {
        if (remaining > 0) {
          const take = Math.min(remaining, chunk.length - offset);
          if (collecting) collect.push(chunk.subarray(offset, offset + take));
          offset += take;
          remaining -= take;
          if (remaining === 0) frameComplete();
          continue;
        }
        // A frame header: 2 bytes, plus 2 or 8 for longer payloads (server frames are unmasked).
        if (chunk.length - offset < 2) {
          carry = chunk.subarray(offset);
          return;
        }
        const b0 = chunk[offset];
        const b1 = chunk[offset + 1];
        let length = b1 & 0x7f;
        let headerLength = 2;
        if (length === 126) headerLength = 4;
        else if (length === 127) headerLength = 10;
        if (b1 & 0x80) headerLength += 4; // a masked server frame would be a protocol error; skip the key
        if (chunk.length - offset < headerLength) {
          carry = chunk.subarray(offset);
          return;
        }
        if (length === 126) length = chunk.readUInt16BE(offset + 2);
        else if (length === 127) length = Number(chunk.readBigUInt64BE(offset + 2));
        const op = b0 & 0x0f;
        fin = (b0 & 0x80) !== 0;
        if (op !== 0) opcode = op; // continuation frames keep the message's opcode
        offset += headerLength;
        startPayload(length);
      }
    };

    socket.on('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
      );
    });
    socket.on('data', (chunk) => {
      if (upgraded) {
        parse(chunk);
        return;
      }
      handshake = Buffer.concat([handshake, chunk]);
      const end = handshake.indexOf('\r\n\r\n');
      if (end === -1) {
        if (handshake.length > 8192) fail(new Error('handshake response too long'));
        return;
      }
      const head = handshake.subarray(0, end).toString('latin1');
      const lines = head.split('\r\n');
      const headers = new Map(lines.slice(1).map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      if (!/^HTTP\/1\.1 101 /.test(lines[0]) || headers.get('sec-websocket-accept') !== expectedAccept || headers.get('sec-websocket-protocol') !== protocol) {
        fail(new Error(`upgrade refused: ${lines[0]}`));
        return;
      }
      upgraded = true;
      socket.write(clientFrame(0x1, Buffer.from(request)));
      const rest = handshake.subarray(end + 4);
      handshake = null;
      if (rest.length > 0) parse(rest);
    });
    socket.on('error', (err) => fail(err));
    socket.on('close', () => {
      closed = true;
      if (!settled) fail(new Error('connection closed before the reply'));
      else reportClose();
    });
  });
}

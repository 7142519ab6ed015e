/**
 * The node's own `ledger` Thing: the broker seen through the WoT interface every dashboard
 * already speaks. Its `transaction` event reports each step of each transaction this node
 * sends (queued, stored at its owner, refused), and its `outbox` property counts what waits.
 * Subscribing to it over WebSocket, SSE or long-poll follows a write from the PUT to its
 * receipt. Its `block` and `anchor` events report the node's own chain: each block it mines
 * and each anchor it writes onto the public chain.
 */
import type { ThingDescription } from '../td/thing-description.js';
import { emitLater, type DeviceFactory } from '../devices/device.js';
import type { Broker } from './broker.js';
import type { LedgerPlugin } from './ledger-sink.js';

/** The Thing's URL slug. */
export const LEDGER_THING = 'ledger';

const PEER = { type: 'object', properties: { id: { type: 'string' }, url: { type: 'string' } } };

/**
 * The ledger Thing's TD file (the servient adds id, forms, base and security). The `anchor`
 * event is there only when the node anchors: a consumer should not wait for what cannot come.
 */
export function ledgerThingDescription(anchoring: boolean): ThingDescription {
  if (anchoring) return LEDGER_TD;
  const { anchor: _anchor, ...events } = LEDGER_TD.events as Record<string, unknown>;
  return { ...LEDGER_TD, events } as ThingDescription;
}

const LEDGER_TD: ThingDescription = {
  '@context': ['https://www.w3.org/2022/wot/td/v1.1', 'https://w3id.org/flowchain/v1'],
  title: 'Ledger',
  description: 'Data transactions sent by this node, each on its way to the ring node that owns it, and the blocks and anchors of this node\'s own chain.',
  links: [
    { rel: 'describedby', href: 'ledger', type: 'application/json', title: 'This node\'s chain: height, head, difficulty, pending transactions, last anchor' },
    { rel: 'collection', href: 'ledger/blocks', type: 'application/json', title: 'Blocks (?from=height&limit=n); one block at ledger/blocks/{height or hash}' },
    { rel: 'collection', href: 'ledger/anchors', type: 'application/json', title: 'Anchors onto the public chain' },
  ],
  properties: {
    outbox: {
      title: 'Transactions waiting',
      description: 'Transactions in this node\'s durable outbox that their owner has not acknowledged yet.',
      type: 'integer',
      minimum: 0,
      readOnly: true,
      observable: true,
      recorded: false,
    },
  },
  events: {
    transaction: {
      title: 'Transaction progress',
      description: 'A transaction was queued, stored (and replicated) at its owner, or refused by it for good.',
      data: {
        type: 'object',
        properties: {
          hData: { type: 'string', description: 'H_DATA, the key of the transaction on the ring' },
          thing: { type: 'string' },
          property: { type: 'string' },
          status: { type: 'string', enum: ['queued', 'stored', 'refused'] },
          txId: { type: 'string' },
          owner: PEER,
          error: { type: 'string' },
        },
        required: ['hData', 'thing', 'property', 'status'],
      },
    },
    block: {
      title: 'Block mined',
      description: 'This node mined a block of the transactions it owns (GET /ledger/blocks/{height} has it whole).',
      data: {
        type: 'object',
        properties: {
          height: { type: 'integer', minimum: 0 },
          hash: { type: 'string' },
          txCount: { type: 'integer', minimum: 1 },
          difficulty: { type: 'integer', minimum: 1 },
          sealedAt: { type: 'integer' },
          hashes: { type: 'integer', description: 'Hashes the miner tried' },
        },
        required: ['height', 'hash', 'txCount'],
      },
    },
    anchor: {
      title: 'Blocks anchored',
      description: 'The blocks fromHeight..toHeight were anchored onto the public chain under the Merkle root of their hashes.',
      data: {
        type: 'object',
        properties: {
          fromHeight: { type: 'integer', minimum: 0 },
          toHeight: { type: 'integer', minimum: 0 },
          root: { type: 'string' },
          anchoredAt: { type: 'integer' },
          ref: { type: 'object', description: 'Where the anchor was written: for ethereum, chainId, txHash, blockNumber and from' },
        },
        required: ['fromHeight', 'toHeight', 'root', 'ref'],
      },
    },
  },
} as ThingDescription;

/**
 * The "device" behind the ledger Thing, an ordinary user of the device API: the outbox size is
 * read from the broker and announced as it changes, and the broker's transaction steps and the
 * chain's blocks and anchors are its events.
 */
export function ledgerDevice(broker: Broker, chain: LedgerPlugin): DeviceFactory {
  return (thing, { log }) => {
    thing.setPropertyReadHandler('outbox', () => broker.pending);
    const emit = (name: string, data: unknown): void => {
      try {
        if (Object.hasOwn(thing.td.events ?? {}, name)) thing.emitEvent(name, data);
      } catch (err) {
        log.warn({ err, event: name }, 'a ledger event was not announced');
      }
    };
    const unsubscribe: (() => unknown)[] = [];
    return {
      start: () => {
        unsubscribe.push(broker.onUpdate((update) => emit('transaction', update)));
        unsubscribe.push(chain.onEvent(({ kind, ...event }) => emit(kind, event)));
        unsubscribe.push(broker.onPending((pending) => emitLater(thing, log, 'outbox', pending)));
      },
      stop: () => unsubscribe.splice(0).forEach((off) => off()),
    };
  };
}

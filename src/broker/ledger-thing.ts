/**
 * The node's own `ledger` Thing: the broker seen through the WoT interface every dashboard
 * already speaks. Its `transaction` event reports each step of each transaction this node
 * sends (queued, stored at its owner, refused), and its `outbox` property counts what waits.
 * Subscribing to it over WebSocket, SSE or long-poll follows a write from the PUT to its
 * receipt.
 */
import type { ThingDescription } from '../td/thing-description.js';
import type { DriverFactory } from '../thing/drivers/device-driver.js';
import type { Broker } from './broker.js';

/** The Thing's URL slug. */
export const LEDGER_THING = 'ledger';

const PEER = { type: 'object', properties: { id: { type: 'string' }, url: { type: 'string' } } };

/** The ledger Thing's TD file (the servient adds id, forms, base and security). */
export const ledgerThingDescription: ThingDescription = {
  '@context': ['https://www.w3.org/2022/wot/td/v1.1', 'https://w3id.org/flowchain/v1'],
  title: 'Ledger',
  description: 'Data transactions sent by this node: each accepted property change, on its way to the ring node that owns it.',
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
  },
} as ThingDescription;

/** The "device" behind the ledger Thing: the broker's updates and outbox size. */
export function ledgerDriver(broker: Broker): DriverFactory {
  return {
    type: 'flowchain-ledger',
    affordances: { properties: ['outbox'], actions: [], events: ['transaction'] },
    create: (context) => {
      let unsubscribe = (): void => undefined;
      return {
        snapshot: () => ({ outbox: broker.pending }),
        write: () => undefined,
        invoke: () => undefined,
        start: () => {
          unsubscribe = broker.onUpdate((update) => context.emit('transaction', update));
          broker.onPending((pending) => context.report('outbox', pending));
        },
        stop: () => unsubscribe(),
      };
    },
  };
}

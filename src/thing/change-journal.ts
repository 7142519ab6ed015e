/**
 * Where an exposed Thing sends the property changes it accepted, to be recorded beyond the
 * node (the broker turns them into data transactions). The thing layer only knows this port;
 * the composition root plugs the broker in.
 */

/** Who caused a change: a consumer's write, or the device itself (a reading, a toggle). */
export type Origin = 'consumer' | 'device';

/** One accepted change of one property. */
export interface RecordedChange {
  /** The Thing's TD `id`. */
  readonly thing: string;
  readonly property: string;
  readonly value: unknown;
  readonly origin: Origin;
}

/** How a recorded change stands when the write is answered. */
export interface JournalReceipt {
  /** The change's key (the transaction's H_DATA, 40 hex digits). */
  readonly key: string;
  readonly property: string;
  /** Known once the owner stored it (`stored`); absent while it waits (`queued`). */
  readonly txId?: string;
  /** `refused`: the owner rejected the transaction for good (it is kept in the dead letters). */
  readonly status: 'queued' | 'stored' | 'refused';
}

/** Records changes. */
export interface ChangeJournal {
  /**
   * Records `changes` durably before resolving. With `wait`, also waits (within the journal's
   * own limit) for them to reach their owner; without it, delivery goes on in the background.
   */
  record(changes: readonly RecordedChange[], wait: boolean): Promise<readonly JournalReceipt[]>;
}

/** A journal that records nothing (a servient without a broker, unit tests). */
export const NO_JOURNAL: ChangeJournal = { record: async () => [] };

/**
 * Whether changes of a property are recorded: yes unless its affordance says
 * `"recorded": false` (the Flowchain context's term for high-rate values not worth a transaction).
 */
export function isRecorded(affordance: { readonly recorded?: unknown }): boolean {
  return affordance.recorded !== false;
}

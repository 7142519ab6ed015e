/**
 * Where an exposed Thing sends the property changes it accepted, to be recorded beyond the
 * node (the broker turns them into data transactions). The thing layer only knows this port;
 * the composition root plugs the broker in.
 */
import type { PreparedWrite } from '../storage.js';

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
  /** Once stored: how many members proved they hold it, and how many were required. */
  readonly copies?: number;
  readonly required?: number;
}

/** Changes the journal has written, and how to learn what their owners made of them. */
export interface RecordedChanges {
  /**
   * With `wait` at recording: waits (within the journal's own limit) for the owners and
   * resolves with one receipt per change; without it, resolves at once with them queued.
   */
  acknowledged(): Promise<readonly JournalReceipt[]>;
}

/** Records changes. */
export interface ChangeJournal {
  /** Throws FLOWCHAIN_ERR_BUSY when `count` more changes cannot be recorded now: ask before applying anything. */
  admit(count: number): void;
  /**
   * Records `changes` durably, in one atomic write together with `alongside` (the property
   * values the changes set), so no value is ever stored without its record. It takes its
   * place in the write order before it returns its promise; it resolves once written.
   */
  record(changes: readonly RecordedChange[], options: { readonly wait: boolean; readonly alongside?: PreparedWrite }): Promise<RecordedChanges>;
}

/** A journal that records nothing (a servient without a broker, unit tests): it only writes the values. */
export const NO_JOURNAL: ChangeJournal = {
  admit: () => undefined,
  record: async (_changes, { alongside }) => {
    await alongside?.commit();
    return { acknowledged: async () => [] };
  },
};

/**
 * Whether changes of a property are recorded: yes unless its affordance says
 * `"recorded": false` (the Flowchain context's term for high-rate values not worth a transaction).
 */
export function isRecorded(affordance: { readonly recorded?: unknown }): boolean {
  return affordance.recorded !== false;
}

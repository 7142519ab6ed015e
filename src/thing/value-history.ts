/**
 * Where an exposed Thing keeps the history of what the journal does not record: the values of
 * its properties marked `"recorded": false` and the occurrences of its events. (Recorded values
 * enter the history with their transactions, through the journal.) The thing layer only knows
 * this port; the composition root plugs the node's history store in.
 */
import type { PreparedWrite } from '../storage.js';

export interface ValueHistory {
  /** The history entries of `values` at `timestamp`, prepared to be written with the values themselves. */
  prepareValues(thing: string, values: ReadonlyMap<string, unknown>, timestamp: number): PreparedWrite;
  /** Keeps an occurrence of event `name` (written in the background; a failure is logged, never thrown). */
  recordEvent(thing: string, name: string, data: unknown, timestamp: number): void;
}

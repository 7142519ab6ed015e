/** Record kinds for ring-store tests: self-proving the way the broker's and directory's are. */
import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { canonicalJson } from '../../src/canonical-json.js';
import type { RecordKind } from '../../src/common/ring-records.js';
import { FlowchainError } from '../../src/errors.js';

/** A content-addressed note: stored under SHA-1 of its body, so a changed body is caught. */
export interface Note {
  readonly kind: 'note';
  readonly body: unknown;
}

const digest = (body: unknown) => bytesToHex(sha1(utf8ToBytes(canonicalJson(body))));

export const NOTES: RecordKind<Note> = {
  kind: 'note',
  check(key, value) {
    const note = value as Partial<Note> | null;
    if (note?.kind !== 'note' || digest(note.body) !== key) throw new FlowchainError('FLOWCHAIN_ERR_RING_RECORD_INVALID', 'a note is stored under the SHA-1 of its body', { field: 'body' });
    return note as Note;
  },
};

/** [key, record] of a note. */
export const note = (body: unknown): [string, Note] => [digest(body), { kind: 'note', body }];

/** A counter under SHA-1 of its name: a higher count replaces a lower one; it may expire. */
export interface Counter {
  readonly kind: 'counter';
  readonly name: string;
  readonly count: number;
  readonly expires?: number;
}

export const COUNTERS: RecordKind<Counter> = {
  kind: 'counter',
  check(key, value) {
    const counter = value as Partial<Counter> | null;
    if (counter?.kind !== 'counter' || typeof counter.name !== 'string' || digest(counter.name) !== key || typeof counter.count !== 'number') {
      throw new FlowchainError('FLOWCHAIN_ERR_RING_RECORD_INVALID', 'a counter is stored under the SHA-1 of its name', { field: 'name' });
    }
    return counter as Counter;
  },
  replaces: (offered, stored) => offered.count > stored.count,
  expiresAt: (counter) => counter.expires,
};

export const counter = (name: string, count: number, expires?: number): [string, Counter] => [digest(name), { kind: 'counter', name, count, ...(expires === undefined ? {} : { expires }) }];

/** Records only their owner writes (as the broker's transaction records). */
export const SEALED: RecordKind<Note> = { ...NOTES, kind: 'sealed', check: (key, value) => NOTES.check(key, { ...(value as object), kind: 'note' }), ownerOnly: true };
export const sealed = (body: unknown): [string, { kind: 'sealed'; body: unknown }] => [digest(body), { kind: 'sealed', body }];

/** Counters of a kind the ring lists (as the directory's Thing entries). */
export const TALLIES: RecordKind<Counter> = {
  ...COUNTERS,
  kind: 'tally',
  check: (key, value) => COUNTERS.check(key, { ...(value as object), kind: 'counter' }),
  listed: true,
};
export const tally = (name: string, count: number, expires?: number): [string, Counter] => {
  const [key, value] = counter(name, count, expires);
  return [key, { ...value, kind: 'tally' } as unknown as Counter];
};

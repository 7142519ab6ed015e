/**
 * The invocations of asynchronous actions (W3C WoT Profile, HTTP Basic Profile, "Asynchronous
 * Action Response"): each has an ActionStatus, `pending`, `running`, `completed` (with its
 * output) or `failed` (with its error), kept durably so that a query after a restart tells the
 * truth: an invocation that had not finished when the node stopped is `failed` with
 * FLOWCHAIN_ERR_ACTION_INTERRUPTED, never `running` forever. Each Thing keeps its newest
 * {@link KEPT_PER_THING} invocations; older finished ones are dropped.
 */
import type { ErrorBody } from '../errors.js';
import type { Section } from '../storage.js';

/** Where an invocation stands. */
export type ActionState = 'pending' | 'running' | 'completed' | 'failed';

/** One invocation of an asynchronous action, as queryaction answers it. */
export interface ActionStatus {
  /** The invocation's id (a UUID). */
  readonly id: string;
  /** The action's name. */
  readonly action: string;
  readonly status: ActionState;
  readonly output?: unknown;
  readonly error?: ErrorBody;
  /** RFC 3339 */
  readonly timeRequested: string;
  readonly timeEnded?: string;
}

/** Invocations each Thing keeps. */
export const KEPT_PER_THING = 100;

export const isFinished = (status: ActionStatus): boolean => status.status === 'completed' || status.status === 'failed';

/** The stored invocations of one node's Things, keyed by Thing slug and invocation id. */
export class ActionStore {
  readonly #section: Section;

  constructor(section: Section) {
    this.#section = section;
  }

  /**
   * The invocations of the Thing `slug`, oldest first. Those that had not finished are
   * rewritten as failed with `interrupted` (the node stopped while they ran).
   */
  async load(slug: string, interrupted: (status: ActionStatus) => ActionStatus): Promise<ActionStatus[]> {
    const prefix = `${slug}/`;
    const statuses: ActionStatus[] = [];
    for await (const [, value] of this.#section.entries(prefix)) statuses.push(value as ActionStatus);
    statuses.sort((a, b) => a.timeRequested.localeCompare(b.timeRequested));
    const rewritten = statuses.map((status) => (isFinished(status) ? status : interrupted(status)));
    const changed = rewritten.filter((status, i) => status !== statuses[i]);
    if (changed.length > 0) await this.#section.batch(changed.map((status) => ({ type: 'put', key: `${prefix}${status.id}`, value: status })));
    return rewritten;
  }

  /** Stores a status (a new invocation or a new state of one), dropping `dropped` in the same write. */
  async save(slug: string, status: ActionStatus, dropped: readonly ActionStatus[] = []): Promise<void> {
    await this.#section.batch([{ type: 'put', key: `${slug}/${status.id}`, value: status }, ...dropped.map((old) => ({ type: 'del' as const, key: `${slug}/${old.id}` }))]);
  }
}

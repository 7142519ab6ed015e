/**
 * Shares one subscription on a Thing among every socket following the same property or event,
 * and serialises each notification once, however many sockets receive it.
 */
import type { Unsubscribe } from '../../../thing/exposed-thing.js';

/** Something that can receive an already encoded text frame. */
export interface Receiver {
  deliver(frame: Buffer): void;
}

interface Topic {
  readonly receivers: Set<Receiver>;
  readonly unsubscribe: Unsubscribe;
}

/** Topics keyed by Thing, kind and affordance name. */
export class Fanout {
  readonly #topics = new Map<string, Topic>();

  /**
   * Adds `receiver` to `key`. The first receiver of a topic opens it with `open`, which gets
   * the function that broadcasts a message and returns how to close the topic.
   */
  add(key: string, receiver: Receiver, open: (broadcast: (message: object) => void) => Unsubscribe): void {
    let topic = this.#topics.get(key);
    if (topic === undefined) {
      const receivers = new Set<Receiver>();
      const broadcast = (message: object): void => {
        const frame = Buffer.from(JSON.stringify(message));
        for (const r of receivers) r.deliver(frame);
      };
      topic = { receivers, unsubscribe: open(broadcast) };
      this.#topics.set(key, topic);
    }
    topic.receivers.add(receiver);
  }

  /** Removes `receiver` from `key`; the last one out closes the topic. Returns whether it was there. */
  remove(key: string, receiver: Receiver): boolean {
    const topic = this.#topics.get(key);
    if (!topic?.receivers.delete(receiver)) return false;
    if (topic.receivers.size === 0) {
      this.#topics.delete(key);
      topic.unsubscribe();
    }
    return true;
  }

  /** Number of open topics. */
  get size(): number {
    return this.#topics.size;
  }
}

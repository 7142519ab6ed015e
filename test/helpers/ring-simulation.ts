/** Many Chord nodes in one process over the in-memory transport, with a manual clock; their ring stores hold the test record kinds. */
import { sha1 } from '@noble/hashes/legacy.js';
import { ChordNode } from '../../src/dht/chord-node.js';
import { MemoryNetwork } from '../../src/dht/memory-transport.js';
import { RING } from '../../src/dht/ring-space.js';
import { RingStore, type RingStoreInit } from '../../src/dht/ring-store.js';
import { COUNTERS, NOTES, SEALED, TALLIES } from './ring-records.js';
import { MemorySection } from './memory-section.js';
import { createRandom, type Random } from '../../src/common/random.js';
import { ManualClock } from './manual-clock.js';

export class RingSimulation {
  readonly network = new MemoryNetwork();
  readonly clock = new ManualClock();
  readonly random: Random;
  readonly nodes: ChordNode[] = [];
  /** Each node's ring store and its local data. */
  readonly stores = new Map<ChordNode, { store: RingStore; section: MemorySection }>();
  readonly #offline = new Map<ChordNode, () => void>();

  constructor(seed: number, readonly successorListSize = 4, readonly storeInit: RingStoreInit = {}) {
    this.random = createRandom(seed);
  }

  /** A random 160-bit id, as SHA-1 of random bytes (a stand-in for a public key). */
  randomId(): bigint {
    const bytes = Uint8Array.from({ length: 32 }, () => Math.floor(this.random.next() * 256));
    return RING.fromBytes(sha1(bytes));
  }

  /** Adds a node and joins it through the first node (or starts the ring). */
  async addNode(): Promise<ChordNode> {
    const id = this.randomId();
    const self = { id, url: `mem://${RING.toHex(id)}` };
    const node = new ChordNode({ transport: this.network.transportFor(self), space: RING, clock: this.clock }, { self, successorListSize: this.successorListSize });
    const transport = this.network.transportFor(self);
    const section = new MemorySection();
    const store = new RingStore({ node, transport, section, clock: this.clock, space: RING }, this.storeInit);
    for (const kind of [NOTES, COUNTERS, SEALED, TALLIES]) store.register(kind);
    this.stores.set(node, { store, section });
    this.#offline.set(node, this.network.listen(self.url, (request, sender) => node.handle(request, sender)));
    await node.join(this.nodes[0]?.self.url);
    this.nodes.push(node);
    return node;
  }

  /** Takes nodes off the network at once, as a crash would. */
  kill(victims: readonly ChordNode[]): void {
    for (const node of victims) {
      this.#offline.get(node)?.();
      this.nodes.splice(this.nodes.indexOf(node), 1);
    }
  }

  /** Joins `count` nodes, one maintenance round after each (joins interleaved with stabilization, Chord §4.4). */
  async grow(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      await this.addNode();
      await this.rounds(1);
    }
  }

  /** How many of `keys` are not held by their current owner itself. */
  misplaced(keys: Iterable<string>): number {
    let count = 0;
    for (const key of keys) {
      const owner = this.nodes.find((n) => n.self.id === this.owner(RING.fromHex(key)))!;
      if (!this.stores.get(owner)!.section.data.has(key)) count++;
    }
    return count;
  }

  /** A node leaves gracefully and goes off the network. */
  async leave(node: ChordNode): Promise<void> {
    await node.leave();
    this.kill([node]);
  }

  /** Rounds of maintenance on every live node, in order. */
  async rounds(count: number): Promise<void> {
    for (let i = 0; i < count; i++) for (const node of [...this.nodes]) await node.maintain();
  }

  /** The true owner of `key`: the first live node id at or after it, wrapping (the oracle). */
  owner(key: bigint): bigint {
    const ids = this.nodes.map((n) => n.self.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return ids.find((id) => id >= key) ?? ids[0]!;
  }

  /** True when successor pointers visit every live node once, in id order. */
  isConsistentRing(): boolean {
    const sorted = [...this.nodes].sort((a, b) => (a.self.id < b.self.id ? -1 : 1));
    return sorted.every((node, i) => node.table.successor.id === sorted[(i + 1) % sorted.length]!.self.id);
  }

  /**
   * True when every live node's successor list is the true next min(r, N-1) nodes: what
   * lookups answered from the list (Chord §5.2) rely on. Crashed nodes leave lists from the
   * far end, a round per node, so this can lag {@link isConsistentRing}.
   */
  successorListsAreTrue(): boolean {
    const sorted = [...this.nodes].sort((a, b) => (a.self.id < b.self.id ? -1 : 1));
    const length = Math.min(this.successorListSize, sorted.length - 1);
    return sorted.every((node, i) => {
      const expected = Array.from({ length }, (_, k) => sorted[(i + k + 1) % sorted.length]!.self.id);
      return node.table.successors.length === length && node.table.successors.every((p, k) => p.id === expected[k]);
    });
  }

  /** The ring store of a random live node. */
  randomStore(): RingStore {
    return this.stores.get(this.randomNode())!.store;
  }

  randomNode(): ChordNode {
    return this.nodes[Math.floor(this.random.next() * this.nodes.length)]!;
  }
}

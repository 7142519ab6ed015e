/**
 * The node's own views: its place on the Chord ring (GET /ring), and its chain of blocks and
 * anchors (GET /ledger, /ledger/blocks, /ledger/anchors; their shapes are declared here as the
 * page reads them, since the node's own types live in modules that do not run in a browser).
 */
import type { Block } from '../../ledger/block.js';
import { getJson } from './api.js';
import { el, replace } from './dom.js';

interface Peer {
  readonly id: string;
  readonly url: string;
}

interface RingDescription extends Peer {
  readonly predecessor: Peer | null;
  readonly successors: readonly Peer[];
  readonly fingers: readonly (Peer & { readonly index: number })[];
}

interface ChainSummary {
  readonly minerId: string;
  readonly height: number;
  readonly head: string | null;
  readonly pending: number;
  readonly difficulty: number;
  readonly blockIntervalMs: number;
  readonly anchoring: string;
  readonly lastAnchor: Anchor | null;
}

interface Anchor {
  readonly fromHeight: number;
  readonly toHeight: number;
  readonly root: string;
  readonly anchoredAt?: number;
  readonly ref?: { readonly chainId?: number; readonly txHash?: string; readonly blockNumber?: number };
}

const short = (id: string): string => `${id.slice(0, 10)}…`;
const peer = (p: Peer | null | undefined) => (p ? el('span', { title: `${p.id}\n${p.url}` }, el('code', {}, short(p.id)), ' ', el('small', {}, p.url)) : el('em', {}, 'none'));

function table(headings: readonly string[], rows: readonly (readonly (Node | string)[])[]): HTMLTableElement {
  return el('table', {}, el('thead', {}, el('tr', {}, ...headings.map((h) => el('th', {}, h)))), el('tbody', {}, ...rows.map((cells) => el('tr', {}, ...cells.map((c) => el('td', {}, c))))));
}

/** Renders GET /ring into `target`. */
export async function showRing(target: HTMLElement): Promise<void> {
  const ring = await getJson<RingDescription>('ring');
  // The ring position as a fraction of the 160-bit identifier circle (its first 52 bits suffice).
  const position = (parseInt(ring.id.slice(0, 13), 16) / 2 ** 52) * 100;
  replace(
    target,
    el('p', {}, 'This node ', peer(ring), ` sits at ${position.toFixed(2)}% of the identifier circle.`),
    el('h3', {}, 'Predecessor'),
    el('p', {}, peer(ring.predecessor)),
    el('h3', {}, `Successors (${ring.successors.length})`),
    table(['#', 'node'], ring.successors.map((s, i) => [String(i + 1), peer(s)])),
    el('h3', {}, `Fingers (${ring.fingers.length} distinct)`),
    table(['first finger', 'node'], ring.fingers.map((f) => [`n + 2^${f.index}`, peer(f)])),
  );
}

/** Renders GET /ledger, the newest blocks and the anchors into `target`. */
export async function showLedger(target: HTMLElement): Promise<void> {
  const [summary, blocks, anchors] = await Promise.all([
    getJson<ChainSummary>('ledger'),
    getJson<readonly Omit<Block, 'txIds'>[]>('ledger/blocks?limit=10'),
    getJson<readonly Anchor[]>('ledger/anchors'),
  ]);
  replace(
    target,
    el(
      'dl',
      { class: 'summary' },
      el('dt', {}, 'Height'),
      el('dd', { 'data-ledger': 'height' }, String(summary.height)),
      el('dt', {}, 'Pending transactions'),
      el('dd', {}, String(summary.pending)),
      el('dt', {}, 'Difficulty'),
      el('dd', {}, summary.difficulty.toLocaleString()),
      el('dt', {}, 'Block interval'),
      el('dd', {}, `${summary.blockIntervalMs / 1000} s`),
      el('dt', {}, 'Anchoring'),
      el('dd', {}, summary.anchoring === 'none' ? 'off' : summary.anchoring),
    ),
    el('h3', {}, 'Recent blocks'),
    blocks.length === 0
      ? el('p', {}, 'No block mined yet: write a value and it is mined within a block interval.')
      : table(['#', 'hash', 'transactions', 'difficulty', 'sealed'], [...blocks].reverse().map((b) => [String(b.header.height), el('code', { title: b.hash }, short(b.hash)), String(b.header.txCount), b.header.difficulty.toLocaleString(), new Date(b.header.sealedAt).toLocaleTimeString()])),
    el('h3', {}, 'Anchors'),
    anchors.length === 0
      ? el('p', {}, summary.anchoring === 'none' ? 'This node does not anchor its chain (start it with --anchor ethereum to do so).' : 'No anchor written yet.')
      : table(['blocks', 'root', 'where'], [...anchors].reverse().map((a) => [`#${a.fromHeight}–#${a.toHeight}`, el('code', { title: a.root }, short(a.root)), a.ref?.txHash ? `chain ${a.ref.chainId}, tx ${short(a.ref.txHash)}, block ${a.ref.blockNumber}` : ''])),
  );
}

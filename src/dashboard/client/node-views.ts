/**
 * The node's own views: its place on the Chord ring (GET /ring), and its chain of blocks and
 * anchors (GET /ledger, /ledger/blocks, /ledger/anchors; their shapes are declared here as the
 * page reads them, since the node's own types live in modules that do not run in a browser).
 * A block's row leads to the block (GET /ledger/blocks/{height}) and its transactions, and a
 * transaction to its receipt (GET /ledger/tx/{id}), with its proofs checked in the browser.
 */
import type { Block } from '../../ledger/block.js';
import { checkReceiptProofs, type ReceiptProofs } from '../../ledger/receipt-proofs.js';
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
      : blockTable([...blocks].reverse()),
    el('h3', {}, 'Anchors'),
    anchors.length === 0
      ? el('p', {}, summary.anchoring === 'none' ? 'This node does not anchor its chain (start it with --anchor ethereum to do so).' : 'No anchor written yet.')
      : table(['blocks', 'root', 'where'], [...anchors].reverse().map((a) => [`#${a.fromHeight}–#${a.toHeight}`, el('code', { title: a.root }, short(a.root)), a.ref?.txHash ? `chain ${a.ref.chainId}, tx ${short(a.ref.txHash)}, block ${a.ref.blockNumber}` : ''])),
  );
}

/** The blocks, each row leading to the block (its link, or a click anywhere on the row). */
function blockTable(blocks: readonly Omit<Block, 'txIds'>[]): HTMLTableElement {
  const rows = blocks.map((b) => {
    const href = blockHref(b.header.height);
    const row = el(
      'tr',
      { class: 'clickable', 'data-block': b.header.height, onclick: (e: Event) => void ((e.target as Element).closest('a') === null && (location.hash = href)) },
      ...[el('a', { href }, String(b.header.height)), el('code', { title: b.hash }, short(b.hash)), String(b.header.txCount), b.header.difficulty.toLocaleString(), new Date(b.header.sealedAt).toLocaleTimeString()].map((c) => el('td', {}, c)),
    );
    return row;
  });
  return el('table', {}, el('thead', {}, el('tr', {}, ...['#', 'hash', 'transactions', 'difficulty', 'sealed'].map((h) => el('th', {}, h)))), el('tbody', {}, ...rows));
}

/** The page's route to a block and to a transaction's receipt. */
export const blockHref = (height: number | string): string => `#/ledger/block/${encodeURIComponent(String(height))}`;
export const txHref = (txId: string): string => `#/ledger/tx/${encodeURIComponent(txId)}`;

const dl = (...pairs: readonly [string, Node | string, string?][]): HTMLElement =>
  el('dl', { class: 'summary' }, ...pairs.flatMap(([term, value, key]) => [el('dt', {}, term), el('dd', key === undefined ? {} : { 'data-field': key }, value)]));

/** Renders one block of this node's chain (GET /ledger/blocks/{height or hash}) and its transactions into `target`. */
export async function showBlock(target: HTMLElement, ref: string): Promise<void> {
  const block = await getJson<Block>(`ledger/blocks/${encodeURIComponent(ref)}`);
  const { header } = block;
  replace(
    target,
    el('h3', { 'data-detail': 'block' }, `Block #${header.height}`),
    dl(
      ['hash', el('code', {}, block.hash), 'hash'],
      ['previous', header.height === 0 ? 'genesis' : el('a', { href: blockHref(header.height - 1) }, el('code', {}, short(header.previousHash)))],
      ['Merkle root', el('code', {}, header.merkleRoot)],
      ['sealed', new Date(header.sealedAt).toLocaleString()],
      ['difficulty', header.difficulty.toLocaleString()],
      ['miner', el('code', {}, header.minerId)],
    ),
    el('h4', {}, `Transactions (${block.txIds.length})`),
    el('ul', { class: 'tx-list' }, ...block.txIds.map((id) => el('li', {}, el('a', { href: txHref(id), 'data-tx': id }, el('code', {}, id))))),
  );
}

/** A receipt as GET /ledger/tx/{id} answers, at any stage. */
type LedgerReceipt = Partial<Omit<ReceiptProofs, 'status'>> & {
  readonly status: string;
  readonly hData?: string;
  readonly storedAt?: number;
  readonly owner?: { readonly id: string; readonly url?: string };
  readonly tx?: { readonly timestamp?: number; readonly data?: { readonly thing?: string; readonly property?: string; readonly value?: unknown }; readonly sender?: { readonly id: string } };
};

/**
 * Renders a transaction's receipt into `target`: what was written (the Thing by its title, as
 * `titleOf` knows it, else its id), where it is stored and mined, and whether its proofs hold.
 */
export async function showReceipt(target: HTMLElement, txId: string, titleOf: (thingId: string) => string | undefined = () => undefined): Promise<void> {
  const receipt = await getJson<LedgerReceipt>(`ledger/tx/${encodeURIComponent(txId)}`);
  const data = receipt.tx?.data;
  const mined = receipt.status === 'mined' || receipt.status === 'anchored';
  const fault = mined && receipt.minedIn !== undefined ? checkReceiptProofs(receipt as unknown as ReceiptProofs) : undefined;
  const blob = new Blob([JSON.stringify(receipt, null, 2)], { type: 'application/json' });
  replace(
    target,
    el('h3', { 'data-detail': 'receipt' }, 'Transaction receipt'),
    dl(
      ['transaction', el('code', {}, receipt.txId ?? txId), 'txId'],
      ['status', receipt.status, 'status'],
      ['Thing', data?.thing === undefined ? '' : el('span', { title: data.thing }, titleOf(data.thing) ?? data.thing), 'thing'],
      ['property', data?.property ?? '', 'property'],
      ['value', JSON.stringify(data?.value), 'value'],
      ['written', receipt.tx?.timestamp === undefined ? '' : new Date(receipt.tx.timestamp).toLocaleString()],
      ['stored at', receipt.owner === undefined ? '' : el('span', { title: receipt.owner.url ?? '' }, el('code', {}, short(receipt.owner.id)))],
      ['block', receipt.minedIn === undefined ? 'not mined yet' : el('a', { href: blockHref(receipt.minedIn.header.height) }, `#${receipt.minedIn.header.height}`), 'block'],
    ),
    mined ? el('p', { class: fault ? 'check bad' : 'check ok', 'data-check': 'proofs' }, fault ? `Proof check FAILED: ${fault}` : 'Proofs checked in this browser ✓ (block hash, puzzle, Merkle path)') : null,
    el('p', {}, el('a', { href: URL.createObjectURL(blob), download: `receipt-${(receipt.txId ?? txId).slice(0, 16)}.json` }, 'Download receipt')),
    el('details', {}, el('summary', {}, 'Raw receipt'), el('pre', { class: 'raw' }, JSON.stringify(receipt, null, 2))),
  );
}

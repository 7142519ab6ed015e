/**
 * Following writes: each write the dashboard sends is shown on its way through the broker and
 * the ledger (sent → stored at its owner → mined in block #n → anchored), by reading its
 * receipt until it is final. Once mined, the receipt's Merkle path is checked here in the
 * browser (with the same module the node uses) and the receipt can be downloaded for
 * `flowchain verify-receipt`.
 */
import { rootFromProof, type MerkleProof } from '../../ledger/merkle.js';
import { call, ProblemError } from './api.js';
import { el, replace } from './dom.js';

/** The parts of a receipt (GET /ledger/tx/{id}) the dashboard shows. */
interface Receipt {
  readonly txId?: string;
  readonly status: 'pending' | 'mined' | 'anchored';
  readonly owner?: { readonly id: string; readonly url?: string };
  readonly anchoring?: string;
  readonly minedIn?: { readonly hash: string; readonly header: { readonly height: number; readonly merkleRoot: string } };
  readonly proof?: MerkleProof;
  readonly anchor?: { readonly root: string; readonly proof: MerkleProof; readonly ref?: { readonly chainId?: number; readonly txHash?: string } } | null;
}

type StepState = 'waiting' | 'done' | 'failed' | 'skipped';
const STEPS = ['sent', 'stored', 'mined', 'anchored'] as const;
type Step = (typeof STEPS)[number];

const POLL_MS = 1000;
/** How long a write is followed before the dashboard stops asking (anchors may take minutes). */
const FOLLOW_FOR_MS = 10 * 60_000;

/** The receipt links of a write's response (RFC 8288 Link header, Flowchain's receipt relation). */
export function receiptLinks(response: Response, base: string): URL[] {
  const header = response.headers.get('link') ?? '';
  return [...header.matchAll(/<([^>]+)>\s*;[^,]*rel="https:\/\/w3id\.org\/flowchain#receipt"/g)].map((m) => new URL(m[1]!, base));
}

/** What the browser's own check of a mined receipt's Merkle paths found. */
export function checkMerkle(receipt: Receipt): string | undefined {
  if (!receipt.txId || !receipt.proof || !receipt.minedIn) return 'the receipt has no Merkle path';
  if (rootFromProof(receipt.txId, receipt.proof) !== receipt.minedIn.header.merkleRoot) return 'the Merkle path does not lead to the block\'s root';
  if (receipt.status === 'anchored' && (!receipt.anchor || rootFromProof(receipt.minedIn.hash, receipt.anchor.proof) !== receipt.anchor.root)) {
    return 'the anchor\'s Merkle path does not lead to the anchored root';
  }
  return undefined;
}

/** The list of followed writes. */
export class WriteFollower {
  readonly #list: HTMLElement;
  readonly #now: () => number;

  constructor(list: HTMLElement, now: () => number = Date.now) {
    this.#list = list;
    this.#now = now;
  }

  /**
   * Shows a write that is being sent; `send` performs it and resolves with the response. The
   * returned promise settles with the send (the following goes on in the background).
   */
  async follow(label: string, send: () => Promise<Response>): Promise<Response> {
    const card = new WriteCard(label);
    this.#list.prepend(card.element);
    while (this.#list.children.length > 50) this.#list.lastElementChild?.remove();
    let response: Response;
    try {
      response = await send();
    } catch (err) {
      card.set('sent', 'failed', (err as Error).message);
      throw err;
    }
    card.set('sent', 'done', 'sent');
    const status = response.headers.get('flowchain-tx-status');
    const link = receiptLinks(response, location.href)[0];
    if (status === null || link === undefined) {
      card.set('stored', 'skipped', 'not recorded (this property is not recorded as transactions)');
      return response;
    }
    if (status === 'refused') card.set('stored', 'failed', 'refused by its owner');
    else void this.#poll(card, link, status === 'queued');
    return response;
  }

  async #poll(card: WriteCard, url: URL, queued: boolean): Promise<void> {
    card.set('stored', 'waiting', queued ? 'waiting in the outbox until its owner is reachable' : 'at its owner');
    const until = this.#now() + FOLLOW_FOR_MS;
    while (this.#now() < until) {
      const receipt = await call(url)
        .then((r) => r.json() as Promise<Receipt>)
        .catch((err: unknown) => (err instanceof ProblemError && err.problem.status === 404 ? undefined : Promise.reject(err)))
        .catch(() => undefined);
      if (receipt !== undefined && card.show(receipt)) return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    card.note('stopped following after 10 minutes; the receipt link still answers');
  }
}

/** One write on its way: four steps, a note, and once mined the receipt's checks and download. */
class WriteCard {
  readonly element: HTMLElement;
  readonly #steps = new Map<Step, HTMLElement>();
  readonly #footer = el('div', { class: 'write-footer' });

  constructor(label: string) {
    const steps = STEPS.map((step) => {
      const chip = el('li', { class: 'step', 'data-step': step, 'data-state': 'waiting' }, step);
      this.#steps.set(step, chip);
      return chip;
    });
    this.element = el('article', { class: 'write' }, el('header', {}, el('strong', {}, label), el('time', {}, new Date().toLocaleTimeString())), el('ol', { class: 'steps' }, ...steps), this.#footer);
    this.set('sent', 'waiting', 'sending…');
  }

  set(step: Step, state: StepState, text: string): void {
    const chip = this.#steps.get(step)!;
    chip.dataset.state = state;
    chip.textContent = text;
  }

  note(text: string): void {
    this.#footer.append(el('p', { class: 'note' }, text));
  }

  /** Shows a receipt; true when it is final (nothing more will happen to it). */
  show(receipt: Receipt): boolean {
    const owner = receipt.owner?.id.slice(0, 8);
    this.set('stored', 'done', `stored at ${owner ? `node ${owner}…` : 'its owner'}`);
    if (receipt.status === 'pending') return false;
    const height = receipt.minedIn?.header.height;
    this.set('mined', 'done', `mined in block #${height}`);
    const anchored = receipt.status === 'anchored';
    if (anchored) this.set('anchored', 'done', `anchored${receipt.anchor?.ref?.chainId !== undefined ? ` on chain ${receipt.anchor.ref.chainId}` : ''}`);
    else if (receipt.anchoring === 'none') this.set('anchored', 'skipped', 'not anchored: this node anchors nowhere');
    else this.set('anchored', 'waiting', 'waiting for the next anchor');
    this.#showChecks(receipt);
    return anchored || receipt.anchoring === 'none';
  }

  #showChecks(receipt: Receipt): void {
    const fault = checkMerkle(receipt);
    const blob = new Blob([JSON.stringify(receipt, null, 2)], { type: 'application/json' });
    const previous = this.#footer.querySelector<HTMLAnchorElement>('a[download]');
    if (previous) URL.revokeObjectURL(previous.href);
    replace(
      this.#footer,
      el('span', { class: fault ? 'check bad' : 'check ok', 'data-check': 'merkle' }, fault ? `Merkle proof FAILED: ${fault}` : 'Merkle proof checked in this browser ✓'),
      el('a', { href: URL.createObjectURL(blob), download: `receipt-${receipt.txId?.slice(0, 16)}.json` }, 'Download receipt'),
      el('span', { class: 'hint' }, 'verify it offline: flowchain verify-receipt FILE'),
    );
  }
}

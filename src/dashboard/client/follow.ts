/**
 * Following writes: each write the dashboard sends is shown on its way through the broker and
 * the ledger (sent → stored at its owner → mined in block #n → anchored), by reading its
 * receipt until it is final. Once mined, the receipt's proofs (block hash, puzzle, Merkle
 * path, anchor path) are checked here in the browser, with the module the node's own
 * `verify-receipt` uses, and the receipt can be downloaded for that command.
 */
import { checkReceiptProofs, type ReceiptProofs } from '../../ledger/receipt-proofs.js';
import { call, ProblemError } from './api.js';
import { el, replace } from './dom.js';

/** A receipt (GET /ledger/tx/{id}) at any stage; the proofs are there once it is mined. */
type Receipt = Partial<Omit<ReceiptProofs, 'status'>> & {
  readonly status: 'queued' | 'pending' | 'mined' | 'anchored';
  readonly owner?: { readonly id: string };
  readonly anchoring?: string;
};

type StepState = 'waiting' | 'done' | 'failed' | 'skipped';
const STEPS = ['sent', 'stored', 'mined', 'anchored'] as const;
type Step = (typeof STEPS)[number];

/** Receipts are read again after 1 s, then less and less often, up to every 10 s. */
const FIRST_POLL_MS = 1000;
const LAST_POLL_MS = 10_000;
/** How long a write is followed before the dashboard stops asking (anchors may take minutes). */
const FOLLOW_FOR_MS = 10 * 60_000;
const MAX_CARDS = 50;

/** The receipt links of a write's response (RFC 8288 Link header, Flowchain's receipt relation). */
export function receiptLinks(response: Response, base: string): URL[] {
  const header = response.headers.get('link') ?? '';
  return [...header.matchAll(/<([^>]+)>\s*;[^,]*rel="https:\/\/w3id\.org\/flowchain#receipt"/g)].map((m) => new URL(m[1]!, base));
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
    while (this.#list.children.length > MAX_CARDS) {
      const oldest = this.#list.lastElementChild!;
      const download = oldest.querySelector<HTMLAnchorElement>('a[download]');
      if (download) URL.revokeObjectURL(download.href);
      oldest.remove();
    }
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
    if (status === null || link === undefined) card.set('stored', 'skipped', 'not recorded (this property is not recorded as transactions)');
    else if (status === 'refused') card.set('stored', 'failed', 'refused by its owner');
    else void this.#poll(card, link);
    return response;
  }

  /** Reads the receipt until it is final, the card is gone, or FOLLOW_FOR_MS pass. */
  async #poll(card: WriteCard, url: URL): Promise<void> {
    const until = this.#now() + FOLLOW_FOR_MS;
    let delay = FIRST_POLL_MS;
    while (this.#now() < until && card.element.isConnected) {
      try {
        if (card.show((await (await call(url)).json()) as Receipt)) return;
      } catch (err) {
        // 404: a queued write's receipt exists once its owner stored it.
        if (!(err instanceof ProblemError && err.problem.status === 404)) card.note(`reading the receipt failed: ${(err as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(LAST_POLL_MS, delay * 1.5);
    }
    if (card.element.isConnected) card.note('stopped following after 10 minutes; the receipt link still answers');
  }
}

/** One write on its way: four steps, a note, and once mined the receipt's checks and download. */
class WriteCard {
  readonly element: HTMLElement;
  readonly #steps = new Map<Step, HTMLElement>();
  readonly #footer = el('div', { class: 'write-footer' });
  readonly #note = el('p', { class: 'note' });

  constructor(label: string) {
    const steps = STEPS.map((step) => {
      const chip = el('li', { class: 'step', 'data-step': step, 'data-state': 'waiting' }, step);
      this.#steps.set(step, chip);
      return chip;
    });
    this.element = el('article', { class: 'write' }, el('header', {}, el('strong', {}, label), el('time', {}, new Date().toLocaleTimeString())), el('ol', { class: 'steps' }, ...steps), this.#footer, this.#note);
    this.set('sent', 'waiting', 'sending…');
  }

  set(step: Step, state: StepState, text: string): void {
    const chip = this.#steps.get(step)!;
    chip.dataset.state = state;
    chip.textContent = text;
  }

  note(text: string): void {
    this.#note.textContent = text;
  }

  /** Shows a receipt; true when it is final (nothing more will happen to it). */
  show(receipt: Receipt): boolean {
    this.note('');
    if (receipt.status === 'queued') {
      this.set('stored', 'waiting', 'waiting in the outbox until its owner is reachable');
      return false;
    }
    this.set('stored', 'done', `stored at ${receipt.owner ? `node ${receipt.owner.id.slice(0, 8)}…` : 'its owner'}`);
    if (receipt.status !== 'mined' && receipt.status !== 'anchored') return false;
    this.set('mined', 'done', `mined in block #${receipt.minedIn?.header.height}`);
    const anchored = receipt.status === 'anchored';
    if (anchored) this.set('anchored', 'done', `anchored${receipt.anchor?.ref.chainId !== undefined ? ` on chain ${receipt.anchor.ref.chainId}` : ''}`);
    else if (receipt.anchoring === 'none') this.set('anchored', 'skipped', 'not anchored: this node anchors nowhere');
    else this.set('anchored', 'waiting', 'waiting for the next anchor');
    this.#showChecks(receipt as Receipt & ReceiptProofs);
    return anchored || receipt.anchoring === 'none';
  }

  #showChecks(receipt: Receipt & ReceiptProofs): void {
    const fault = checkReceiptProofs(receipt);
    const previous = this.#footer.querySelector<HTMLAnchorElement>('a[download]');
    if (previous) URL.revokeObjectURL(previous.href);
    const blob = new Blob([JSON.stringify(receipt, null, 2)], { type: 'application/json' });
    replace(
      this.#footer,
      el('span', { class: fault ? 'check bad' : 'check ok', 'data-check': 'proofs' }, fault ? `Proof check FAILED: ${fault}` : `Proofs checked in this browser ✓ (block hash, puzzle, Merkle path${receipt.status === 'anchored' ? ', anchor path' : ''})`),
      el('a', { href: URL.createObjectURL(blob), download: `receipt-${receipt.txId.slice(0, 16)}.json` }, 'Download receipt'),
      el('span', { class: 'hint' }, 'verify it offline, signatures included: flowchain verify-receipt FILE'),
    );
  }
}

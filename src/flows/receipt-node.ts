/**
 * The `flowchain-receipt` node: checks `msg.receipt` (as `flowchain-write` sets it with "wait
 * for the receipt" on, or any JSON a node serves at `GET /ledger/tx/{id}`) offline, with
 * verifyReceipt, as `flowchain verify-receipt` does; with the optional `authority` setting (a
 * ring authority's directory or a member's `DATA/ring`, holding authority.crt and crl.pem if
 * there, or an authority.crt file) also that its owner was a member of that ring.
 *
 * `msg.payload` becomes the check: `{ ok: true, status, height, anchor }` or
 * `{ ok: false, fault }`. Reports FLOWCHAIN_ERR_RECEIPT_INVALID (field `receipt`) for a
 * message without a receipt, and FLOWCHAIN_ERR_CONFIG_INVALID (field `authority`) when the
 * authority cannot be read.
 */
import { FlowchainError } from '../errors.js';
import { verifyReceipt, type ReceiptTrust } from '../ledger/receipt.js';
import { readReceiptTrust } from '../membership/membership.js';
import type { FlowsComponents } from './flows-context.js';
import type { NodeDefinition, NodeRedRuntime, NodeStatus, RuntimeNode } from './node-red-api.js';
import { NodeRuntime } from './node-runtime.js';

/** The trust a path names: a directory holding authority.crt (and crl.pem, if there), or the certificate file. FLOWCHAIN_ERR_CONFIG_INVALID when unreadable. */
export function readTrust(path: string): ReceiptTrust {
  try {
    return readReceiptTrust(path);
  } catch (err) {
    throw new FlowchainError('FLOWCHAIN_ERR_CONFIG_INVALID', `the ring authority cannot be read from ${path}: ${(err as Error).message}`, { field: 'authority', cause: err });
  }
}

const VERIFIED: NodeStatus = { fill: 'green', shape: 'dot', text: 'verified' };

/** Registers `flowchain-receipt`. */
export function registerReceiptNode(RED: NodeRedRuntime, components: FlowsComponents): void {
  RED.nodes.registerType('flowchain-receipt', function (this: RuntimeNode, definition: NodeDefinition) {
    RED.nodes.createNode(this, definition);
    const runtime = new NodeRuntime(this, components);
    const path = typeof definition.authority === 'string' ? definition.authority.trim() : '';
    runtime.onInput(async (msg, send) => {
      // Read on each message, so that a newer CRL copied in is used without a redeploy.
      const trust = path === '' ? undefined : readTrust(path);
      if (typeof msg.receipt !== 'object' || msg.receipt === null) {
        throw new FlowchainError('FLOWCHAIN_ERR_RECEIPT_INVALID', 'the message carries no receipt in msg.receipt (flowchain-write sets it when "wait for the receipt" is on)', { field: 'receipt' });
      }
      const check = verifyReceipt(msg.receipt, trust);
      msg.payload = check;
      runtime.status(check.ok ? VERIFIED : { fill: 'red', shape: 'dot', text: `refused: ${check.fault}`.slice(0, 60) });
      send(msg);
    });
  });
}

/**
 * The `ethereum` anchor plugin: each anchor is a transaction of zero value from the node's
 * account to itself whose calldata is the anchor payload (anchoring.ts), sent to any EVM
 * JSON-RPC endpoint with viem. The anchor is recorded once the transaction is in a block.
 * Also checks an anchor against a chain, for receipt verification with `--rpc`.
 *
 * Throws FLOWCHAIN_ERR_ANCHOR_FAILED (endpoint unreachable, transaction reverted) and
 * FLOWCHAIN_ERR_RECEIPT_INVALID (the chain does not carry the anchor a receipt claims).
 */
import { createPublicClient, createWalletClient, http, type Hex, type PublicClient, type WalletClient } from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { FlowchainError } from '../errors.js';
import { anchorPayload, type AnchorClaim, type Anchorer, type AnchorRef } from './anchoring.js';

/** How an `ethereum` anchor is referenced in the ledger and in receipts. */
export interface EthereumAnchorRef extends AnchorRef {
  readonly kind: 'ethereum';
  readonly chainId: number;
  readonly txHash: string;
  readonly blockNumber: number;
  /** The account that sent it. */
  readonly from: string;
}

const failed = (what: string, err: unknown) => new FlowchainError('FLOWCHAIN_ERR_ANCHOR_FAILED', `${what}: ${(err as Error).message?.split('\n')[0] ?? String(err)}`, { field: 'anchor', cause: err });

/** Anchors onto an EVM chain. */
export class EthereumAnchorer implements Anchorer {
  readonly kind = 'ethereum';
  readonly #account: PrivateKeyAccount;
  readonly #wallet: WalletClient;
  readonly #chain: PublicClient;

  /** `privateKey`: 32 bytes as 0x-hex, read from a file outside the repository. */
  constructor(init: { readonly rpcUrl: string; readonly privateKey: Hex; readonly timeoutMs?: number }) {
    this.#account = privateKeyToAccount(init.privateKey);
    const transport = http(init.rpcUrl, { timeout: init.timeoutMs ?? 10_000, retryCount: 0 });
    this.#wallet = createWalletClient({ account: this.#account, transport });
    // Local and fast chains confirm in a block or two: poll for the receipt often.
    this.#chain = createPublicClient({ transport, pollingInterval: 250 });
  }

  async anchor(claim: AnchorClaim): Promise<EthereumAnchorRef> {
    let chainId: number;
    let txHash: Hex;
    try {
      chainId = await this.#chain.getChainId();
      txHash = await this.#wallet.sendTransaction({ account: this.#account, chain: null, to: this.#account.address, value: 0n, data: anchorPayload(claim) });
    } catch (err) {
      throw failed('sending the anchor transaction', err);
    }
    try {
      const receipt = await this.#chain.waitForTransactionReceipt({ hash: txHash, timeout: 60_000 });
      if (receipt.status !== 'success') throw new Error(`transaction ${txHash} reverted`);
      return { kind: 'ethereum', chainId, txHash, blockNumber: Number(receipt.blockNumber), from: this.#account.address };
    } catch (err) {
      throw failed('waiting for the anchor transaction', err);
    }
  }

  async close(): Promise<void> {
    // viem's HTTP transport holds no connection open between calls.
  }
}

/**
 * Checks on the chain at `rpcUrl` that `ref` is a transaction on chain `ref.chainId`, in block
 * `ref.blockNumber`, sent by `ref.from`, carrying exactly the payload of `claim`.
 */
export async function checkEthereumAnchor(rpcUrl: string, ref: AnchorRef, claim: AnchorClaim): Promise<void> {
  const chain = createPublicClient({ transport: http(rpcUrl, { timeout: 10_000, retryCount: 0 }) });
  const anchor = ref as Partial<EthereumAnchorRef>;
  const invalid = (detail: string) => new FlowchainError('FLOWCHAIN_ERR_RECEIPT_INVALID', detail, { field: 'anchor' });
  if (typeof anchor.txHash !== 'string' || !/^0x[0-9a-f]{64}$/i.test(anchor.txHash)) throw invalid('anchor.txHash is not a transaction hash');
  let chainId: number;
  let tx: Awaited<ReturnType<PublicClient['getTransaction']>>;
  try {
    chainId = await chain.getChainId();
    tx = await chain.getTransaction({ hash: anchor.txHash as Hex });
  } catch (err) {
    throw invalid(`the chain at ${rpcUrl} has no transaction ${anchor.txHash}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (chainId !== anchor.chainId) throw invalid(`the endpoint serves chain ${chainId}, the anchor names chain ${String(anchor.chainId)}`);
  if (tx.blockNumber === null || Number(tx.blockNumber) !== anchor.blockNumber) throw invalid('the anchor transaction is not in the block the anchor names');
  if (tx.from.toLowerCase() !== String(anchor.from).toLowerCase()) throw invalid('the anchor transaction was sent by another account');
  if (tx.input.toLowerCase() !== anchorPayload(claim)) throw invalid('the anchor transaction carries another payload');
}

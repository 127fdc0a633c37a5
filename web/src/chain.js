// Reads from the settlement chain with viem: balances, claims, and the
// settlement of a block (its BlockSettled event and the calldata of the
// transaction that carried its coinbase and proof).
import { createPublicClient, http, decodeFunctionData, sha256 } from 'viem';
import { settlementPoolAbi, tokenAbi } from './abi.js';
import { parseTransaction, legacySerialization, reverseHex } from './coinbase.js';

/** viem's chain object for the node's `config.chain`. */
export function chainOf(cfg) {
  return {
    id: Number(cfg.chain_id),
    name: `Shareproof settlement chain ${cfg.chain_id}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [cfg.rpc_url] } },
  };
}

export class ChainError extends Error {
  constructor(message, cause) {
    super(message);
    this.name = 'ChainError';
    this.cause = cause;
  }
}

/** A message for an RPC failure that names the RPC. */
export function rpcMessage(cfg, e) {
  const why = e?.shortMessage || e?.message || String(e);
  if (/fetch|network|HTTP request failed|timed out|ECONNREFUSED/i.test(why)) {
    return `Cannot reach the chain RPC at ${cfg.rpc_url}: ${why}`;
  }
  return `Chain RPC ${cfg.rpc_url}: ${why}`;
}

export function publicClientFor(cfg) {
  return createPublicClient({
    chain: chainOf(cfg),
    transport: http(cfg.rpc_url, { retryCount: 1, timeout: 15000 }),
    pollingInterval: 1000,
  });
}

async function guard(cfg, what, fn) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ChainError) throw e;
    throw new ChainError(`${what}: ${rpcMessage(cfg, e)}`, e);
  }
}

/** SettlementPool.feeBps(), as a number. */
export async function readFeeBps(client, cfg) {
  return guard(cfg, 'reading the fee', async () =>
    Number(await client.readContract({ address: cfg.settlement_pool, abi: settlementPoolAbi, functionName: 'feeBps' })));
}

/**
 * The miner's figures on chain: `credited` (SettlementPool.balanceOf),
 * `claimed` (the sum of its Claimed events since the deployment block) and
 * `tokenBalance` (the token's balanceOf: what it holds in its wallet), BigInts.
 */
export async function minerFigures(client, cfg, address) {
  return guard(cfg, 'reading balances', async () => {
    const [credited, tokenBalance, logs] = await Promise.all([
      client.readContract({ address: cfg.settlement_pool, abi: settlementPoolAbi, functionName: 'balanceOf', args: [address] }),
      client.readContract({ address: cfg.token, abi: tokenAbi, functionName: 'balanceOf', args: [address] }),
      client.getContractEvents({
        address: cfg.settlement_pool,
        abi: settlementPoolAbi,
        eventName: 'Claimed',
        args: { account: address },
        fromBlock: BigInt(cfg.deploy_block || 0),
        toBlock: 'latest',
      }),
    ]);
    const claimed = logs.reduce((s, l) => s + l.args.amount, 0n);
    return { credited, tokenBalance, claimed, claims: logs.length };
  });
}

/**
 * Decodes the input of a settlement transaction: `settle` or
 * `openSettlement` (the coinbase and proof), or `creditPayees` (the last
 * page of a paged settlement, which emits BlockSettled).
 */
export function decodeSettlementInput(input) {
  let decoded;
  try {
    decoded = decodeFunctionData({ abi: settlementPoolAbi, data: input });
  } catch (e) {
    throw new Error(`the transaction is not a direct call of settle, openSettlement or creditPayees (${e.shortMessage || e.message})`);
  }
  const a = decoded.args;
  switch (decoded.functionName) {
    case 'settle':
      return { kind: 'settle', header: a[0], coinbaseTx: a[1], merkleProof: a[2], payees: a[3], weightCommitment: a[4], proof: [...a[5]] };
    case 'openSettlement':
      return { kind: 'openSettlement', header: a[0], coinbaseTx: a[1], merkleProof: a[2], listHash: a[3], weightCommitment: a[4], tableSum: a[5], proof: [...a[6]] };
    case 'creditPayees':
      return { kind: 'creditPayees', id: a[0], page: a[1], next: a[2] };
    default:
      throw new Error(`the transaction calls ${decoded.functionName}, not a settlement function`);
  }
}

/**
 * The on-chain settlement of the block `blockHash` (display order, as the
 * node writes it): the BlockSettled event (the contract keys it by the
 * header's hash in internal byte order) and the call that carried the
 * coinbase and proof: `settle`, or for a paged settlement the
 * `openSettlement` of the opening whose last page emitted the event.
 * Returns null when the block has no BlockSettled event.
 */
export async function findSettlement(client, cfg, blockHash) {
  return guard(cfg, 'reading the settlement', async () => {
    const internal = reverseHex(blockHash);
    const fromBlock = BigInt(cfg.deploy_block || 0);
    const settled = await client.getContractEvents({
      address: cfg.settlement_pool,
      abi: settlementPoolAbi,
      eventName: 'BlockSettled',
      args: { blockHash: internal },
      fromBlock,
      toBlock: 'latest',
    });
    if (settled.length === 0) return null;
    const ev = settled[settled.length - 1];
    const event = {
      windowRoot: ev.args.windowRoot,
      reward: ev.args.reward,
      fee: ev.args.fee,
      dust: ev.args.dust,
      listHash: ev.args.listHash,
      txHash: ev.transactionHash,
      blockNumber: ev.blockNumber,
    };
    const tx = await client.getTransaction({ hash: ev.transactionHash });
    let call = decodeSettlementInput(tx.input);
    let callTx = ev.transactionHash;
    if (call.kind === 'creditPayees') {
      const opened = await client.getContractEvents({
        address: cfg.settlement_pool,
        abi: settlementPoolAbi,
        eventName: 'SettlementOpened',
        args: { id: call.id },
        fromBlock,
        toBlock: 'latest',
      });
      const mine = opened.find((o) => o.args.blockHash.toLowerCase() === internal.toLowerCase());
      if (!mine) throw new ChainError(`no SettlementOpened event for the opening ${call.id} of this block`);
      const openTx = await client.getTransaction({ hash: mine.transactionHash });
      call = decodeSettlementInput(openTx.input);
      callTx = mine.transactionHash;
      if (call.kind !== 'openSettlement') throw new ChainError(`the opening's transaction ${callTx} calls ${call.kind}, not openSettlement`);
    }
    return { event, call, callTx };
  });
}

/** The coinbase of a settlement call, parsed, with its txid (display order). */
export function settlementCoinbase(call) {
  const tx = parseTransaction(call.coinbaseTx);
  const txid = reverseHex(sha256(sha256(legacySerialization(tx))));
  return { tx, txid };
}

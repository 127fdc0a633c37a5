// The verify page (`/verify`, `/verify?block=HASH[&seq=N]`): the verify
// panel for any settled block, for auditors who have no payout address.
import { apiGet, getConfig } from './api.js';
import { publicClientFor } from './chain.js';
import { h, notice } from './dom.js';
import { noChainNotice } from './miner.js';
import { verifyPanel } from './verify.js';

export async function verifyPage(main, params) {
  const head = h('section', { class: 'card' }, h('h1', {}, 'Verify a settlement'),
    h('p', {}, 'Pick a settled block: check a share\'s receipt against the root its coinbase committed, and the Groth16 proof of its payouts. To start from a miner\'s own shares, paste its address above.'));
  main.replaceChildren(head);
  let cfg;
  let blocks;
  try {
    [cfg, blocks] = await Promise.all([getConfig(), apiGet('/api/v1/blocks')]);
  } catch (e) {
    head.append(notice('error', e.message));
    return { refresh: async () => {} };
  }
  if (!cfg.chain || !cfg.chain.rpc_url) {
    head.append(noChainNotice(cfg));
    return { refresh: async () => {} };
  }
  const list = (blocks.blocks || [])
    .map((b) => ({ hash: b.hash, height: b.height, status: b.settlement?.status }))
    .sort((a, b) => b.height - a.height);
  const seq = params.get('seq');
  const panel = verifyPanel({
    cfg: cfg.chain,
    publicClient: publicClientFor(cfg.chain),
    blocks: list,
    initialBlock: params.get('block'),
    initialSeq: seq && /^\d+$/.test(seq) ? seq : null,
  });
  main.append(panel.element);
  await panel.ready;
  // The panel is not refreshed: a check in progress must not be wiped.
  return { refresh: async () => {} };
}

// The miner page (`/miner/0x…`): workers, hash rate chart, the address's
// part of the current window and of the next block, the blocks it was paid
// in, its balances on the settlement contract, the wallet panel and the
// verify panel.
import { getAddress } from 'viem';
import { apiGet, getConfig } from './api.js';
import { chartCard } from './chart.js';
import { publicClientFor, minerFigures } from './chain.js';
import { h, setChildren, stat, copyable, table, limitedTable, notice } from './dom.js';
import { formatHashrate, formatInteger, formatAmount, formatBtc, formatSats, formatPercent, formatTime, formatAgo, shortHex } from './format.js';
import { stateBadge } from './pool.js';
import { walletPanel } from './wallet.js';
import { verifyPanel } from './verify.js';

function workersTable(m) {
  const connected = new Map((m.connected_workers || []).map((w) => [w.name, w.connections]));
  const rows = (m.workers || []).map((w) => h('tr', { testid: 'worker-row', data: { name: w.name } },
    h('td', {}, w.name || h('span', { class: 'muted' }, '(default)')),
    h('td', { class: 'num' }, formatHashrate(w.hashrate)),
    h('td', { class: 'num', data: { value: w.shares } }, formatInteger(w.shares)),
    h('td', {}, w.last_share_time ? h('time', { datetime: new Date(w.last_share_time * 1000).toISOString(), title: formatAgo(w.last_share_time) }, formatTime(w.last_share_time)) : '—'),
    h('td', {}, connected.has(w.name) ? `yes (${connected.get(w.name)})` : 'no')));
  if (rows.length === 0) return h('p', { class: 'muted' }, 'No worker has submitted a share yet.');
  return table(['Worker', '=Hashrate', '=Shares', 'Last share', 'Connected'], rows, { testid: 'workers-table' });
}

const paidShown = { expanded: false };

function paidTable(blocks) {
  if (!blocks || blocks.length === 0) return h('p', { class: 'muted', testid: 'paid-none' }, 'No block has paid this address yet.');
  const rows = blocks.map((b) => {
    const w = BigInt(b.weight);
    const total = BigInt(b.total_weight);
    const fraction = total === 0n ? 0 : Number((w * 1000000n) / total) / 1000000;
    return h('tr', { testid: 'paid-row', data: { hash: b.hash } },
      h('td', { class: 'num' }, formatInteger(b.height)),
      h('td', {}, h('code', { title: b.hash }, shortHex(b.hash, 8))),
      h('td', {}, stateBadge(b.status || 'found')),
      h('td', { class: 'num' }, `${formatInteger(w)} of ${formatInteger(total)} (${formatPercent(fraction)})`),
      h('td', { class: 'num' }, formatAmount(b.reward_sats)),
      h('td', {}, b.tx_hash ? h('code', { title: b.tx_hash }, shortHex(b.tx_hash, 8)) : '—'));
  });
  return limitedTable(['=Height', 'Block', 'State', '=Weight in its window', '=Block reward', 'Settlement tx'], rows, { testid: 'paid-table' }, { state: paidShown, noun: 'blocks' });
}

/** Why the page cannot read the chain: no deployment, or no RPC URL for browsers. */
export function noChainNotice(cfg) {
  if (cfg.chain && !cfg.chain.rpc_url) {
    return notice('warn', `Settlement runs on chain ${cfg.chain.chain_id}, but this node publishes no RPC URL for browsers ([api] public_rpc_url): balances, claims and checks cannot be read here.`, { testid: 'chain-no-rpc' });
  }
  return notice('warn', 'Settlement is not configured on this node: there is no contract to read a balance from yet.', { testid: 'chain-not-configured' });
}

/** Builds the miner page for `address` into `main`; returns { refresh }. */
export async function minerPage(main, address, { onChartsRendered }) {
  let checksum;
  try {
    checksum = getAddress(address);
  } catch {
    main.replaceChildren(h('section', { class: 'card' }, h('h1', {}, 'Miner'),
      notice('error', `${address} has a wrong EIP-55 checksum (its mixed case does not match): check it, or use it in lower case.`, { testid: 'bad-address' })));
    return { refresh: async () => {} };
  }
  const head = h('section', { class: 'card', 'aria-labelledby': 'miner-title' },
    h('h1', { id: 'miner-title' }, 'Miner'),
    h('p', {}, copyable(checksum, { testid: 'miner-address' })),
    h('div', { class: 'stats', testid: 'miner-stats' }, 'Loading…'));
  const chart = chartCard({
    title: 'Hashrate of this address',
    testid: 'miner-chart',
    load: (range) => apiGet(`/api/v1/history/miners/${checksum}?range=${range}`),
    onRendered: onChartsRendered,
  });
  const workers = h('section', { class: 'card', 'aria-labelledby': 'workers-title' }, h('h2', { id: 'workers-title' }, 'Workers'), h('div', { testid: 'workers' }, 'Loading…'));
  const paid = h('section', { class: 'card', 'aria-labelledby': 'paid-title' }, h('h2', { id: 'paid-title' }, 'Blocks that paid this address'), h('div', { testid: 'paid' }, 'Loading…'));
  const balances = h('section', { class: 'card', 'aria-labelledby': 'balance-title' }, h('h2', { id: 'balance-title' }, 'Balance on the settlement contract'), h('div', { testid: 'balances' }, 'Loading…'));
  const walletSlot = h('div');
  const verifySlot = h('div');
  main.replaceChildren(head, balances, walletSlot, chart.element, workers, paid, verifySlot);

  let cfg;
  try {
    cfg = await getConfig();
  } catch (e) {
    setChildren(balances.querySelector('[data-testid="balances"]'), notice('error', e.message));
  }
  // No RPC URL published: nothing on chain can be read from the browser.
  const chainCfg = cfg && cfg.chain && cfg.chain.rpc_url ? cfg.chain : null;
  const client = chainCfg ? publicClientFor(chainCfg) : null;
  let wallet = null;

  async function refreshBalances() {
    const box = balances.querySelector('[data-testid="balances"]');
    if (!cfg) return;
    if (!chainCfg) {
      setChildren(box, noChainNotice(cfg));
      return;
    }
    try {
      const f = await minerFigures(client, chainCfg, checksum);
      setChildren(box,
        h('div', { class: 'stats' },
          stat('Credited, claimable', formatBtc(f.credited), { testid: 'miner-credited', value: f.credited, hint: formatSats(f.credited) }),
          stat('Claimed in total', formatBtc(f.claimed), { testid: 'miner-claimed', value: f.claimed, hint: `${formatSats(f.claimed)} in ${f.claims} claim(s)` }),
          stat('Token balance in the wallet', formatBtc(f.tokenBalance), { testid: 'miner-token-balance', value: f.tokenBalance, hint: formatSats(f.tokenBalance) })),
        h('p', { class: 'small muted' }, 'Read from SettlementPool ', h('code', {}, chainCfg.settlement_pool), ' and the token ', h('code', {}, chainCfg.token), ` on chain ${chainCfg.chain_id}. 1 token unit = 1 sat.`));
    } catch (e) {
      setChildren(box, notice('error', e.message, { testid: 'chain-error' }));
    }
  }

  async function refreshMiner() {
    const statsBox = head.querySelector('[data-testid="miner-stats"]');
    let m = null;
    try {
      m = await apiGet(`/api/v1/miners/${checksum}`);
      if (m.known === false) throw Object.assign(new Error('no shares yet'), { status: 404 });
    } catch (e) {
      if (e.status === 404) {
        setChildren(statsBox, notice('info', 'No shares yet from this address. Point a miner at the pool with this address as the username to start.', { testid: 'miner-no-shares' }));
        setChildren(workers.querySelector('[data-testid="workers"]'), h('p', { class: 'muted' }, 'No workers yet.'));
        setChildren(paid.querySelector('[data-testid="paid"]'), h('p', { class: 'muted', testid: 'paid-none' }, 'No block has paid this address yet.'));
      } else if (!(e.unreachable && statsBox.dataset.loaded)) {
        // An unreachable node keeps the last figures under the banner.
        setChildren(statsBox, notice('error', e.message));
      }
      return null;
    }
    setChildren(statsBox,
      stat('Hashrate', formatHashrate(m.hashrate), { testid: 'miner-hashrate', value: m.hashrate ?? '' }),
      stat('Shares accepted', formatInteger(m.shares), { testid: 'miner-shares', value: m.shares }),
      stat('Shares in the window', formatInteger(m.window_shares ?? 0), { testid: 'miner-window-shares', value: m.window_shares ?? 0 }),
      stat('Weight in the window', formatInteger(m.window_weight ?? 0), { testid: 'miner-window-weight', value: m.window_weight ?? 0 }),
      stat('Share of the next block', formatPercent(m.next_block_fraction ?? 0), { testid: 'miner-next-fraction', value: m.next_block_fraction ?? 0 }),
      stat('Next block estimate', m.next_block_estimate_sats === null || m.next_block_estimate_sats === undefined ? '—' : formatBtc(m.next_block_estimate_sats), {
        testid: 'miner-next-sats',
        value: m.next_block_estimate_sats ?? '',
        hint: m.next_block_estimate_sats === null || m.next_block_estimate_sats === undefined ? null : `${formatSats(m.next_block_estimate_sats)}, before the pool fee`,
      }));
    statsBox.dataset.loaded = 'true';
    setChildren(workers.querySelector('[data-testid="workers"]'), workersTable(m));
    setChildren(paid.querySelector('[data-testid="paid"]'), paidTable(m.paid_blocks));
    return m;
  }

  let verifySettled = -1;
  async function buildPanels(m) {
    if (!chainCfg) return;
    if (!wallet) {
      wallet = walletPanel({ cfg: chainCfg, publicClient: client, minerAddress: checksum, onClaimed: refreshBalances });
      walletSlot.replaceChildren(wallet.element);
    }
    let blocks = (m && m.paid_blocks) || [];
    if (!m) {
      try {
        blocks = ((await apiGet('/api/v1/blocks')).blocks || []).map((b) => ({ hash: b.hash, height: b.height, status: b.settlement?.status }));
        blocks.sort((a, b) => b.height - a.height);
      } catch {
        blocks = [];
      }
    }
    const settledCount = blocks.filter((b) => b.status === 'settled').length;
    // Built once; rebuilt only while it has nothing to show, so that a
    // refresh never wipes a check in progress.
    if (verifySettled > 0 || settledCount === verifySettled) return;
    verifySettled = settledCount;
    const panel = verifyPanel({ cfg: chainCfg, publicClient: client, blocks, minerAddress: checksum });
    verifySlot.replaceChildren(
      cfg.verification_key === false ? notice('warn', 'The node serves no verification key: the proof check cannot run.') : '',
      panel.element,
    );
    await panel.ready;
  }

  async function refresh() {
    const chartDone = chart.refresh();
    const [m] = await Promise.all([refreshMiner(), refreshBalances()]);
    if (wallet) await wallet.refresh();
    await buildPanels(m);
    await chartDone;
  }
  await refresh();
  return { refresh };
}

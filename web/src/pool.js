// The pool page (`/`): hash rate chart, miners, the current window, blocks
// and their settlement, the fee, and how to connect a miner.
import { apiGet, getConfig } from './api.js';
import { chartCard } from './chart.js';
import { h, setChildren, stat, copyable, limitedTable, notice } from './dom.js';
import { formatHashrate, formatInteger, formatBps, formatAmount, formatTime, formatAgo, shortHex } from './format.js';

/** The state a block shows: its settlement status, or what the source said. */
export function blockState(b) {
  if (b.settlement && b.settlement.status) return b.settlement.status;
  const s = b.status && b.status.state;
  if (s === 'rejected') return 'rejected';
  if (s === 'lost_race') return 'lost race';
  return 'found';
}

export function stateBadge(state, title) {
  return h('span', { class: `badge state-${String(state).replace(/[^a-z_]/g, '')}`, title, testid: 'block-state' }, String(state).replace(/_/g, ' '));
}

const blocksShown = { expanded: false };

export function blocksTable(blocks) {
  const sorted = [...blocks].sort((a, b) => b.height - a.height).slice(0, 500);
  const rows = sorted.map((b) => {
    const st = blockState(b);
    const s = b.settlement || {};
    const detail = [
      s.confirmations !== undefined && s.confirmations !== null ? `${s.confirmations} confirmations` : null,
      s.error ? `last error: ${s.error}` : null,
      b.status && b.status.reason ? String(b.status.reason) : null,
    ].filter(Boolean).join('; ');
    return h('tr', { testid: 'block-row', data: { hash: b.hash, state: st } },
      h('td', { class: 'num' }, formatInteger(b.height)),
      h('td', {}, h('code', { title: b.hash }, shortHex(b.hash, 8))),
      h('td', {}, h('time', { datetime: new Date(b.found_at * 1000).toISOString(), title: formatTime(b.found_at) }, formatAgo(b.found_at))),
      h('td', { class: 'num' }, formatAmount(b.reward_sats)),
      h('td', {}, stateBadge(st, detail || st), detail ? h('div', { class: 'small muted' }, detail) : null),
      h('td', {}, s.tx_hash ? h('code', { title: s.tx_hash, testid: 'block-tx' }, shortHex(s.tx_hash, 8)) : '—'),
      h('td', {}, st === 'settled' ? h('a', { href: `/verify?block=${b.hash}`, 'aria-label': `Verify block ${b.height}` }, 'Verify') : ''));
  });
  return limitedTable(['=Height', 'Block', 'Found', '=Reward', 'State', 'Settlement tx', ''], rows, { testid: 'blocks-table' }, { state: blocksShown, noun: 'blocks' });
}

function connectCard(cfg) {
  const s = cfg.stratum || {};
  const user = '0xYOUR_PAYOUT_ADDRESS.worker1';
  return h('section', { class: 'card', testid: 'connect', 'aria-labelledby': 'connect-title' },
    h('h2', { id: 'connect-title' }, 'Connect a miner'),
    h('dl', { class: 'kv' },
      h('dt', {}, 'Stratum V1 URL'), h('dd', {}, s.v1_url ? copyable(s.v1_url, { testid: 'connect-v1-url' }) : '—'),
      h('dt', {}, 'Username'), h('dd', {}, copyable(user, { testid: 'connect-username' }),
        h('div', { class: 'small muted' }, 'Your EVM payout address (0x + 40 hex digits; EIP-55 checksum checked when mixed case), then optionally "." and a worker name. Any password.')),
      s.v2_url ? [h('dt', {}, 'Stratum V2 URL'), h('dd', {}, copyable(s.v2_url, { testid: 'connect-v2-url' }))] : null,
      s.authority_key ? [h('dt', {}, 'V2 authority key'), h('dd', {}, copyable(s.authority_key, { testid: 'connect-authority-key' }))] : null),
    s.v1_url ? h('p', { class: 'small' }, 'Example: ', h('code', {}, `cpuminer -a sha256d -o ${s.v1_url} -u ${user} -p x`)) : null);
}

let contractFee = null; // null: not read (yet); a number once read
let contractFeeReading = null;
/**
 * The fee in basis points: the node's setting, or when the node does not
 * say, the settlement contract's `feeBps()`, read in the background (viem
 * loads only then) and passed to `onRead` once known; null meanwhile.
 */
function poolFee(cfg, onRead) {
  if (!cfg) return null;
  if (typeof cfg.pool_fee_bps === 'number') return cfg.pool_fee_bps;
  if (!cfg.chain || !cfg.chain.rpc_url) return null;
  if (contractFee === null && !contractFeeReading) {
    contractFeeReading = import('./chain.js')
      .then(({ publicClientFor, readFeeBps }) => readFeeBps(publicClientFor(cfg.chain), cfg.chain))
      .then((fee) => {
        contractFee = fee;
        onRead(fee);
      })
      .catch(() => {})
      .finally(() => {
        contractFeeReading = null;
      });
  }
  return contractFee;
}

/** The fee's figure; `fromContract` names where it was read. */
function feeStat(fee, fromContract) {
  return stat('Pool fee', fee === null ? '—' : formatBps(fee), {
    testid: 'pool-fee',
    value: fee ?? '',
    hint: fee !== null && fromContract ? 'SettlementPool.feeBps()' : null,
  });
}

/** Builds the pool page into `main`; returns { refresh }. */
export async function poolPage(main, { onChartsRendered }) {
  const stats = h('section', { class: 'card', 'aria-labelledby': 'pool-title' }, h('h1', { id: 'pool-title' }, 'Pool'), h('div', { class: 'stats', testid: 'pool-stats' }, 'Loading…'));
  const chart = chartCard({
    title: 'Pool hashrate',
    testid: 'pool-chart',
    load: (range) => apiGet(`/api/v1/history/pool?range=${range}`),
    onRendered: onChartsRendered,
  });
  const windowCard = h('section', { class: 'card', 'aria-labelledby': 'window-title' }, h('h2', { id: 'window-title' }, 'Current window'), h('div', { testid: 'window' }, 'Loading…'));
  const blocksCard = h('section', { class: 'card', 'aria-labelledby': 'blocks-title' }, h('h2', { id: 'blocks-title' }, 'Blocks'), h('div', { testid: 'blocks' }, 'Loading…'));
  const connect = h('div');
  const settlementNote = h('div');
  main.replaceChildren(stats, settlementNote, chart.element, windowCard, blocksCard, connect);

  let cfg = null;
  async function refresh() {
    const jobs = [
      getConfig().then((c) => {
        cfg = c;
      }),
      apiGet('/api/v1/pool'),
      apiGet('/api/v1/blocks'),
    ];
    const [cfgResult, poolResult, blocksResult] = await Promise.allSettled(jobs);
    const chartDone = chart.refresh();
    if (cfgResult.status === 'fulfilled') {
      if (!connect.firstChild) connect.append(connectCard(cfg));
      setChildren(settlementNote, cfg.chain ? null : notice('warn', 'Settlement is not configured on this node: blocks are found and shares are committed, but there is no settlement contract to credit miners yet.', { testid: 'chain-not-configured' }));
    }
    const feeFromContract = Boolean(cfg) && typeof cfg.pool_fee_bps !== 'number';
    const fee = poolFee(cfg, (read) => {
      const el = stats.querySelector('[data-testid="pool-fee"]');
      if (el) el.parentElement.replaceWith(feeStat(read, true));
    });
    const statsBox = stats.querySelector('[data-testid="pool-stats"]');
    if (poolResult.status === 'fulfilled') {
      const p = poolResult.value;
      const v1 = p.protocols?.v1?.connections ?? null;
      const v2 = p.protocols?.v2?.connections ?? null;
      setChildren(statsBox,
        stat('Hashrate', formatHashrate(p.hashrate), { testid: 'pool-hashrate', value: p.hashrate }),
        stat('Miners connected', formatInteger(p.connected_miners), { testid: 'pool-connected-miners', value: p.connected_miners }),
        stat('Worker connections', formatInteger(p.connections), { testid: 'pool-connections', value: p.connections, hint: v1 !== null ? `V1 ${v1} · V2 ${v2 ?? 0}` : null }),
        stat('Shares accepted', formatInteger(p.shares), { testid: 'pool-shares', value: p.shares }),
        stat('Blocks found', formatInteger(p.blocks), { testid: 'pool-blocks', value: p.blocks }),
        feeStat(fee, feeFromContract),
        stat('Height', formatInteger(p.height), { testid: 'pool-height', value: p.height }));
      const n = cfg ? 2 ** cfg.window_log2_slots : null;
      setChildren(windowCard.querySelector('[data-testid="window"]'),
        h('dl', { class: 'kv' },
          h('dt', {}, 'Committed root'), h('dd', {}, p.window ? copyable(p.window.root, { testid: 'window-root' }) : h('span', { testid: 'window-root', data: { value: '' } }, 'no job committed yet')),
          h('dt', {}, 'Committed at share'), h('dd', { testid: 'window-seq', data: { value: p.window ? p.window.window_seq : '' } }, p.window ? formatInteger(p.window.window_seq) : '—'),
          h('dt', {}, 'Shares in the window'), h('dd', { testid: 'window-shares', data: { value: p.window_shares } }, formatInteger(p.window_shares)),
          h('dt', {}, 'Total weight'), h('dd', { testid: 'window-weight', data: { value: p.window_weight } }, formatInteger(p.window_weight)),
          h('dt', {}, 'Window size N'), h('dd', { testid: 'window-n', data: { value: n ?? '' } }, n ? `${formatInteger(n)} shares (2^${cfg.window_log2_slots})` : '—')));
      statsBox.dataset.loaded = 'true';
    } else if (!(poolResult.reason.unreachable && statsBox.dataset.loaded)) {
      // An unreachable node keeps the last figures under the banner.
      setChildren(statsBox, notice('error', poolResult.reason.message));
    }
    const blocksBox = blocksCard.querySelector('[data-testid="blocks"]');
    if (blocksResult.status === 'fulfilled') {
      const list = blocksResult.value.blocks || [];
      setChildren(blocksBox, list.length ? blocksTable(list) : h('p', { class: 'muted', testid: 'blocks-none' }, 'No block found yet.'));
      blocksBox.dataset.loaded = 'true';
    } else if (!(blocksResult.reason.unreachable && blocksBox.dataset.loaded)) {
      setChildren(blocksBox, notice('error', blocksResult.reason.message));
    }
    await chartDone;
  }
  await refresh();
  return { refresh };
}

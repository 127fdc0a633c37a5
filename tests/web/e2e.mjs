#!/usr/bin/env node
// The web app's browser test: real headless Chromium (the system's, driven
// by playwright-core; nothing downloads a browser) against a running devnet
// (node, anvil with the contracts deployed, miners, at least one settled
// block that paid SHAREPROOF_CLAIMER). Run by the Rust end-to-end test
// after it starts the devnet:
//
//   SHAREPROOF_API=http://127.0.0.1:18080 \
//   SHAREPROOF_RPC=http://127.0.0.1:8545 \
//   SHAREPROOF_CLAIMER=0x… \
//   SHAREPROOF_SCREENSHOTS=target/web-e2e \
//   node tests/web/e2e.mjs
//
// Environment:
//   SHAREPROOF_API          the node's HTTP base URL (pages and /api/v1); required
//   SHAREPROOF_RPC          the anvil RPC URL (the chain the node settles on); required
//   SHAREPROOF_CLAIMER      a miner address with a credited balance and a share in a
//                           settled block; the test impersonates it on anvil
//                           (anvil_impersonateAccount) and claims for it; required
//   SHAREPROOF_SCREENSHOTS  directory for the PNG screenshots and figures.json; required
//   CHROMIUM                the browser binary (default /usr/bin/chromium)
//   SHAREPROOF_E2E_WAIT_S   how long to wait for the devnet to have a settled block that
//                           paid the claimer and a credited balance (default 180)
//
// It checks, and exits 1 with a message naming the failed check:
//   1. every page (/, /miner/0x… for the claimer and for a new address, /verify)
//      loads with no console error, page error,
//      failed request or HTTP error;
//   2. the pool and miner pages show the JSON API's figures (read from data-testid elements);
//   3. a claim through an injected EIP-1193 provider (window.ethereum forwarding to anvil)
//      moves the credited balance into the wallet, and the page shows the new balances;
//   4. the receipt check says valid for a real share and invalid for a tampered one;
//   5. the proof check says valid for a real settlement and invalid with a payout changed;
//   6. screenshots of the pool and miner pages at 1280×800 and 390×844;
//   7. prints the pool page's first load time (navigation start → charts rendered).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { createPublicClient, http, parseAbi, getAddress, parseEventLogs } from 'viem';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') fail(`environment variable ${name} is required (see the top of tests/web/e2e.mjs)`);
  return v;
};

function fail(message) {
  console.error(`web e2e: FAILED: ${message}`);
  process.exit(1);
}

const API = env('SHAREPROOF_API').replace(/\/$/, '');
const RPC = env('SHAREPROOF_RPC');
const CLAIMER = (() => {
  try {
    return getAddress(env('SHAREPROOF_CLAIMER'));
  } catch (e) {
    return fail(`SHAREPROOF_CLAIMER is not an address: ${e.message}`);
  }
})();
const SHOTS = resolve(env('SHAREPROOF_SCREENSHOTS'));
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const WAIT_S = Number(env('SHAREPROOF_E2E_WAIT_S', '180'));

const poolAbi = parseAbi([
  'function balanceOf(address) view returns (uint256)',
  'function feeBps() view returns (uint256)',
  'event Claimed(address indexed account, uint256 amount)',
]);
const tokenAbi = parseAbi(['function balanceOf(address) view returns (uint256)']);

const log = (m) => console.log(`web e2e: ${m}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(path) {
  let res;
  try {
    res = await fetch(`${API}${path}`);
  } catch (e) {
    fail(`cannot reach the node API at ${API}${path}: ${e.message}`);
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  // Weights beyond 2^53 are JSON numbers: keep them exact as strings.
  return JSON.parse(text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, (t) =>
    t[0] !== '"' && /^-?\d+$/.test(t) && !Number.isSafeInteger(Number(t)) ? `"${t}"` : t));
}

async function rpc(method, params = []) {
  const res = await fetch(RPC, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  }).catch((e) => fail(`cannot reach the RPC at ${RPC}: ${e.message}`));
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** Retries `fn` until it returns without throwing, for up to `seconds`. */
async function eventually(what, seconds, fn) {
  const end = Date.now() + seconds * 1000;
  let last;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) fail(`${what}: ${last?.message ?? last}`);
    await sleep(1000);
  }
}

// The EIP-1193 test wallet, installed as window.ethereum before any page
// script: accounts are the claimer (impersonated on anvil), chain switches
// succeed for the RPC's chain id, everything else is forwarded to anvil.
function testWallet({ rpcUrl, account, chainId }) {
  let id = 0;
  const listeners = {};
  async function forward(method, params) {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: (id += 1), method, params: params || [] }),
    });
    const body = await res.json();
    if (body.error) {
      const e = new Error(body.error.message);
      e.code = body.error.code;
      e.data = body.error.data;
      throw e;
    }
    return body.result;
  }
  window.ethereum = {
    isShareproofTestWallet: true,
    async request({ method, params }) {
      switch (method) {
        case 'eth_requestAccounts':
        case 'eth_accounts':
          return [account];
        case 'wallet_switchEthereumChain': {
          if (Number(params[0].chainId) === chainId) return null;
          const e = new Error(`unrecognized chain ${params[0].chainId}`);
          e.code = 4902;
          throw e;
        }
        case 'wallet_addEthereumChain':
          return null;
        case 'eth_sendTransaction':
          return forward(method, [{ ...params[0], from: account }]);
        default:
          return forward(method, params);
      }
    },
    on(event, fn) {
      (listeners[event] ||= []).push(fn);
    },
    removeListener(event, fn) {
      listeners[event] = (listeners[event] || []).filter((f) => f !== fn);
    },
  };
}

const problems = [];

/** A page that records console errors, page errors, failed requests and HTTP errors. */
async function openPage(context, label) {
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${label}: console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`${label}: request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${label}: HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
  });
  return page;
}

function checkProblems(where) {
  if (problems.length) fail(`${where}:\n  ${problems.join('\n  ')}`);
}

async function value(page, testid) {
  const el = page.locator(`[data-testid="${testid}"]`).first();
  if ((await el.count()) === 0) throw new Error(`no element data-testid="${testid}"`);
  return el.getAttribute('data-value');
}

/**
 * Compares the page with the API: A = the API before, a page refresh,
 * D = the DOM, B = the API after; `check(A, D, B)` throws on a mismatch.
 * Retried, since the devnet keeps mining.
 */
async function sameFigures(what, page, path, read, check) {
  await eventually(`${what} shows the API's figures`, 30, async () => {
    const a = await api(path);
    await page.evaluate(() => window.shareproof.refresh());
    const d = await read();
    const b = await api(path);
    check(a, d, b);
  });
  log(`✓ ${what} shows the same figures as ${path}`);
}

const between = (name, lo, x, hi) => {
  const [l, v, h] = [BigInt(lo), BigInt(x), BigInt(hi)];
  if (v < l || v > h) throw new Error(`${name}: the page shows ${v}, the API said ${l} then ${h}`);
};
const oneOf = (name, x, ...ok) => {
  if (!ok.map(String).includes(String(x))) throw new Error(`${name}: the page shows ${x}, the API said ${ok.join(' then ')}`);
};

async function screenshot(page, name) {
  for (const [w, h, tag] of [[1280, 800, 'desktop'], [390, 844, 'phone']]) {
    await page.setViewportSize({ width: w, height: h });
    await sleep(300); // charts redraw at the new width
    const file = join(SHOTS, `${name}-${tag}.png`);
    await page.screenshot({ path: file, fullPage: true });
    log(`screenshot ${file}`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function main() {
  mkdirSync(SHOTS, { recursive: true });
  const figures = {};

  // The devnet: settlement configured, the RPC the node's, the claimer paid.
  const config = await api('/api/v1/config').catch((e) => fail(e.message));
  if (!config.chain) fail('the node has no settlement deployment (config.chain is null)');
  const chainId = Number(await rpc('eth_chainId'));
  if (chainId !== Number(config.chain.chain_id)) fail(`SHAREPROOF_RPC is chain ${chainId}, the node settles on chain ${config.chain.chain_id}`);
  const client = createPublicClient({ transport: http(RPC) });
  const credited = () => client.readContract({ address: config.chain.settlement_pool, abi: poolAbi, functionName: 'balanceOf', args: [CLAIMER] });
  const tokens = () => client.readContract({ address: config.chain.token, abi: tokenAbi, functionName: 'balanceOf', args: [CLAIMER] });
  const settledPaid = await eventually(`the devnet to settle a block that paid ${CLAIMER} (waited ${WAIT_S} s)`, WAIT_S, async () => {
    const m = await api(`/api/v1/miners/${CLAIMER}`);
    const settled = (m.paid_blocks || []).filter((b) => b.status === 'settled');
    if (settled.length === 0) throw new Error('no settled block in paid_blocks yet');
    if ((await credited()) === 0n) throw new Error('the claimer has no credited balance');
    return settled;
  });
  log(`devnet ready: chain ${chainId}, ${settledPaid.length} settled block(s) paid ${CLAIMER}`);
  await rpc('anvil_impersonateAccount', [CLAIMER]);
  if (BigInt(await rpc('eth_getBalance', [CLAIMER, 'latest'])) < 10n ** 17n) {
    await rpc('anvil_setBalance', [CLAIMER, `0x${(10n ** 19n).toString(16)}`]);
  }

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] })
    .catch((e) => fail(`cannot start Chromium at ${CHROMIUM}: ${e.message}`));
  try {
    // 7. First load of the pool page, from a cold cache.
    {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await openPage(context, 'pool page (first load)');
      await page.goto(`${API}/`);
      await page.waitForFunction(() => document.documentElement.dataset.chartsRendered === 'true', null, { timeout: 30000 })
        .catch(() => fail('the pool page did not render its chart within 30 s'));
      const ms = await page.evaluate(() => performance.getEntriesByName('shareproof:charts-rendered')[0].startTime);
      figures.pool_first_load_ms = Math.round(ms);
      console.log(`web e2e: pool page first load: ${Math.round(ms)} ms (navigation start → charts rendered)`);
      await context.close();
      checkProblems('the pool page (first load)');
    }

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(testWallet, { rpcUrl: RPC, account: CLAIMER, chainId });

    // 1, 2, 6. The pool page.
    const pool = await openPage(context, 'pool page');
    await pool.goto(`${API}/`);
    await pool.waitForFunction(() => document.documentElement.dataset.ready === 'true', null, { timeout: 30000 })
      .catch(() => fail('the pool page did not finish loading within 30 s'));
    const n = 2 ** Number(config.window_log2_slots);
    // The fee the page shows: the node's setting, else the contract's feeBps().
    const fee = typeof config.pool_fee_bps === 'number'
      ? config.pool_fee_bps
      : Number(await client.readContract({ address: config.chain.settlement_pool, abi: poolAbi, functionName: 'feeBps' }));
    await sameFigures('the pool page', pool, '/api/v1/pool', async () => ({
      shares: await value(pool, 'pool-shares'),
      blocks: await value(pool, 'pool-blocks'),
      miners: await value(pool, 'pool-connected-miners'),
      root: await value(pool, 'window-root'),
      n: await value(pool, 'window-n'),
      fee: await value(pool, 'pool-fee'),
    }), (a, d, b) => {
      between('shares accepted', a.shares, d.shares, b.shares);
      between('blocks found', a.blocks, d.blocks, b.blocks);
      oneOf('miners connected', d.miners, a.connected_miners, b.connected_miners);
      oneOf('committed root', d.root, a.window?.root ?? '', b.window?.root ?? '');
      oneOf('window size N', d.n, n);
      oneOf('pool fee', d.fee, fee);
    });
    await sameFigures('the pool page blocks', pool, '/api/v1/blocks', async () => pool.locator('[data-testid="block-row"]').evaluateAll((rows) => rows.map((r) => [r.dataset.hash, r.dataset.state])), (a, d, b) => {
      // The page shows the latest 25 (more on request), newest first.
      const rows = (x) => [...x.blocks].sort((p, q) => q.height - p.height).slice(0, 25)
        .map((blk) => [blk.hash, blk.settlement?.status ?? null]);
      const ok = [rows(a), rows(b)].some((r) => r.length === d.length && r.every(([hash, status], i) => d[i][0] === hash && (status === null || d[i][1] === status)));
      if (!ok) throw new Error(`the blocks table (${d.length} rows) is not the API's latest blocks`);
    });
    await screenshot(pool, 'pool');
    checkProblems('the pool page');

    // 1, 2. The miner page.
    const miner = await openPage(context, 'miner page');
    await miner.goto(`${API}/miner/${CLAIMER}`);
    await miner.waitForFunction(() => document.documentElement.dataset.ready === 'true', null, { timeout: 60000 })
      .catch(() => fail('the miner page did not finish loading within 60 s'));
    await sameFigures('the miner page', miner, `/api/v1/miners/${CLAIMER}`, async () => ({
      shares: await value(miner, 'miner-shares'),
      windowShares: await value(miner, 'miner-window-shares'),
      windowWeight: await value(miner, 'miner-window-weight'),
      workers: await miner.locator('[data-testid="worker-row"]').evaluateAll((rows) => rows.map((r) => r.dataset.name)),
      paid: await miner.locator('[data-testid="paid-row"]').evaluateAll((rows) => rows.map((r) => r.dataset.hash)),
    }), (a, d, b) => {
      between('shares accepted', a.shares, d.shares, b.shares);
      oneOf('shares in the window', d.windowShares, a.window_shares, b.window_shares);
      oneOf('weight in the window', d.windowWeight, a.window_weight, b.window_weight);
      oneOf('workers', d.workers.join(','), a.workers.map((w) => w.name).join(','), b.workers.map((w) => w.name).join(','));
      oneOf('paid blocks', d.paid.join(','), ...[a, b].map((x) => x.paid_blocks.slice(0, 25).map((p) => p.hash).join(',')));
    });
    await eventually('the miner page shows the contract balance', 30, async () => {
      const before = await credited();
      await miner.evaluate(() => window.shareproof.refresh());
      const shown = await value(miner, 'miner-credited');
      const after = await credited();
      between('credited balance', before, shown, after);
    });
    log('✓ the miner page shows the credited balance of SettlementPool.balanceOf');

    // 4. The receipt check.
    await miner.waitForSelector('[data-testid="verify-state"][data-state="ready"]', { timeout: 60000 })
      .catch(async () => fail(`the verify panel did not load: ${await miner.locator('[data-testid="verify-state"]').textContent().catch(() => '(no panel)')}`));
    await miner.click('[data-testid="receipt-fetch"]');
    await eventually('the receipt to be fetched', 30, async () => {
      if (!(await miner.inputValue('[data-testid="receipt-json"]')).trim()) throw new Error('the receipt box is empty');
    });
    const receiptResult = async () => {
      await miner.click('[data-testid="receipt-check"]');
      const el = miner.locator('[data-testid="receipt-result"]');
      await el.waitFor({ timeout: 60000 });
      return { valid: await el.getAttribute('data-valid'), text: await el.textContent() };
    };
    let r = await receiptResult();
    if (r.valid !== 'true') fail(`the receipt check says invalid for a real share: ${r.text}`);
    log(`✓ receipt check on a real share: ${r.text}`);
    const original = await miner.inputValue('[data-testid="receipt-json"]');
    const tampered = JSON.parse(original);
    tampered.entry.weight = (BigInt(tampered.entry.weight) + 1n).toString();
    await miner.fill('[data-testid="receipt-json"]', JSON.stringify(tampered, null, 2));
    r = await receiptResult();
    if (r.valid !== 'false') fail(`the receipt check says valid for a share with a changed weight: ${r.text}`);
    log(`✓ receipt check on a tampered share: ${r.text}`);
    await miner.fill('[data-testid="receipt-json"]', original);
    r = await receiptResult();
    if (r.valid !== 'true') fail(`the receipt check says invalid for the restored receipt: ${r.text}`);

    // 5. The proof check.
    const proofResult = async () => {
      await miner.click('[data-testid="proof-check"]');
      const el = miner.locator('[data-testid="proof-result"]');
      await el.waitFor({ timeout: 60000 });
      return { valid: await el.getAttribute('data-valid'), text: (await miner.locator('[data-testid="proof-steps"]').textContent()) };
    };
    let p = await proofResult();
    if (p.valid !== 'true') fail(`the proof check says invalid for a real settlement: ${p.text}`);
    log('✓ proof check on a real settlement: valid');
    const weight = miner.locator('[data-testid="payee-weight"]').first();
    const w0 = await weight.inputValue();
    await weight.fill((BigInt(w0) + 1n).toString());
    p = await proofResult();
    if (p.valid !== 'false') fail('the proof check says valid with a payout weight changed');
    log('✓ proof check with one payout changed: invalid');
    await weight.fill(w0);
    await proofResult();

    await screenshot(miner, 'miner');
    checkProblems('the miner page before the claim');

    // 1. The verify page (auditors: any settled block) loads clean too.
    {
      const page = await openPage(context, 'verify page');
      await page.goto(`${API}/verify?block=${settledPaid[0].hash}`);
      await page.waitForSelector('[data-testid="verify-state"][data-state="ready"]', { timeout: 60000 })
        .catch(() => fail('the verify page did not load the settled block within 60 s'));
      await page.close();
      checkProblems('the verify page');
      log('✓ the verify page loads');
    }

    // 1. The page of an address the pool has never seen loads clean too: no
    //    shares, no error, no failed request.
    {
      const page = await openPage(context, 'new address page');
      await page.goto(`${API}/miner/0x00000000000000000000000000000000000b0b00`);
      await page.waitForSelector('[data-testid="miner-no-shares"]', { timeout: 30000 })
        .catch(() => fail('the page of a new address does not say it has no shares yet'));
      await page.close();
      checkProblems('the page of a new address');
      log('✓ the page of a new address says it has no shares yet');
    }

    // 3. The claim through the injected wallet.
    const t0 = await tokens();
    const b0 = await credited();
    await miner.click('[data-testid="wallet-connect"]');
    await eventually('the wallet to connect', 30, async () => {
      const shown = await miner.locator('[data-testid="wallet-account"]').textContent({ timeout: 1000 });
      if (getAddress(shown.trim()) !== CLAIMER) throw new Error(`the page shows account ${shown}`);
    });
    await miner.click('[data-testid="wallet-claim"]');
    await miner.waitForSelector('[data-testid="wallet-tx"][data-state="success"], [data-testid="wallet-tx"][data-state="reverted"], [data-testid="wallet-tx"][data-state="error"]', { timeout: 120000 })
      .catch(() => fail('the claim did not finish within 120 s'));
    const progress = await miner.locator('[data-testid="wallet-tx"]').textContent();
    if ((await miner.getAttribute('[data-testid="wallet-tx"]', 'data-state')) !== 'success') fail(`the claim failed: ${progress}`);
    const hash = (await miner.locator('[data-testid="wallet-tx-hash"]').textContent()).trim();
    const receipt = await client.getTransactionReceipt({ hash });
    const claimed = parseEventLogs({ abi: poolAbi, eventName: 'Claimed', logs: receipt.logs });
    if (claimed.length !== 1 || getAddress(claimed[0].args.account) !== CLAIMER) fail(`the claim transaction ${hash} emitted no Claimed event for ${CLAIMER}`);
    const amount = claimed[0].args.amount;
    const t1 = await tokens();
    if (t1 - t0 !== amount || amount < b0) fail(`the wallet's tokens went from ${t0} to ${t1}; the claim paid ${amount}, the credited balance was ${b0}`);
    const atClaim = await client.readContract({ address: config.chain.settlement_pool, abi: poolAbi, functionName: 'balanceOf', args: [CLAIMER], blockNumber: receipt.blockNumber });
    if (atClaim !== 0n) fail(`the credited balance after the claim is ${atClaim}, not 0`);
    log(`✓ claimed ${amount} sats in ${hash}: ${progress}`);
    await eventually('the miner page to show the balances after the claim', 30, async () => {
      const shownCredited = await value(miner, 'miner-credited');
      const shownTokens = await value(miner, 'miner-token-balance');
      const nowCredited = await credited();
      // 0, unless a block settled for the claimer since (then the chain's figure).
      oneOf('credited balance after the claim', shownCredited, 0n, nowCredited);
      oneOf('token balance after the claim', shownTokens, await tokens());
      if (BigInt(shownTokens) <= t0) throw new Error(`the token balance shown (${shownTokens}) did not increase from ${t0}`);
    });
    log('✓ the miner page shows the new balances: credited 0, token balance increased');
    checkProblems('the miner page');
    await context.close();
  } finally {
    await browser.close();
  }
  writeFileSync(join(SHOTS, 'figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
  log('all checks passed');
}

main().catch((e) => fail(e.stack || e.message));

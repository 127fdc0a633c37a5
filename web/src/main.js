// The web app's entry: the header (address box), the route (`/` the pool
// page, `/miner/0x…` a miner page), the node-unreachable banner, and the
// periodic refresh.
import './styles.css';
import { onApiHealth } from './api.js';
import { h, setChildren } from './dom.js';
import { timeZoneName } from './format.js';
import { poolPage } from './pool.js';

const REFRESH_MS = 10000;

function header() {
  const input = h('input', { type: 'text', id: 'address-box', name: 'address', placeholder: '0x… payout address', spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'address-error', testid: 'address-input' });
  const error = h('div', { id: 'address-error', class: 'form-error', 'aria-live': 'polite' });
  const form = h('form', { class: 'address-form', role: 'search', testid: 'address-form' },
    h('label', { for: 'address-box', class: 'visually-hidden' }, 'Miner address'),
    input,
    h('button', { type: 'submit' }, 'Open miner page'),
    error);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const a = input.value.trim();
    if (!/^0x[0-9a-fA-F]{40}$/.test(a)) {
      error.textContent = 'Enter an EVM address: 0x followed by 40 hex digits.';
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    window.location.assign(`/miner/${a}`);
  });
  return h('header', { class: 'top' },
    h('a', { href: '/', class: 'brand', testid: 'nav-pool' }, 'Shareproof'),
    h('nav', { 'aria-label': 'Main' }, h('a', { href: '/' }, 'Pool'), ' ', h('a', { href: '/verify' }, 'Verify')),
    form);
}

function route(path) {
  if (path === '/' || path === '/index.html') return { page: 'pool' };
  const m = path.match(/^\/miner\/(0x[0-9a-fA-F]{40})\/?$/);
  if (m) return { page: 'miner', address: m[1] };
  if (path === '/verify' || path === '/verify/') return { page: 'verify' };
  return { page: 'not-found' };
}

async function start() {
  const banner = h('div', { class: 'banner', testid: 'api-banner', role: 'alert', hidden: true });
  const main = h('main', { id: 'main', tabindex: '-1' });
  const footer = h('footer', {}, `Times in your time zone (${timeZoneName()}). Data from this node's API; balances and proofs from the settlement chain.`);
  setChildren(document.body, h('a', { href: '#main', class: 'skip' }, 'Skip to content'), header(), banner, main, footer);
  onApiHealth((err) => {
    banner.hidden = !err;
    banner.textContent = err ? `${err.message}. Retrying every ${REFRESH_MS / 1000} s.` : '';
  });

  let chartsMarked = false;
  const onChartsRendered = () => {
    if (chartsMarked) return;
    chartsMarked = true;
    performance.mark('shareproof:charts-rendered');
    document.documentElement.dataset.chartsRendered = 'true';
  };

  const r = route(window.location.pathname);
  let page;
  if (r.page === 'pool') {
    document.title = 'Shareproof pool';
    page = await poolPage(main, { onChartsRendered });
  } else if (r.page === 'miner') {
    document.title = `Shareproof miner ${r.address.slice(0, 10)}…`;
    // viem and the chain code load only here: the pool page does without.
    const { minerPage } = await import('./miner.js');
    page = await minerPage(main, r.address, { onChartsRendered });
  } else if (r.page === 'verify') {
    document.title = 'Verify — Shareproof';
    const { verifyPage } = await import('./verify-page.js');
    page = await verifyPage(main, new URLSearchParams(window.location.search));
  } else {
    document.title = 'Not found — Shareproof';
    setChildren(main, h('section', { class: 'card' }, h('h1', {}, 'Page not found'), h('p', {}, 'Try the ', h('a', { href: '/' }, 'pool page'), ' or paste a payout address above.')));
    page = { refresh: async () => {} };
  }

  let timer;
  let running = null;
  // A refresh fetches anew even when one is under way (it waits for that one
  // first), so that whoever asks sees data fetched after asking.
  async function refresh() {
    clearTimeout(timer);
    while (running) await running;
    running = page.refresh().catch(() => {}).finally(() => {
      running = null;
    });
    await running;
    clearTimeout(timer);
    timer = setTimeout(refresh, REFRESH_MS);
  }
  timer = setTimeout(refresh, REFRESH_MS);
  // For the browser test: refresh now and wait for it.
  window.shareproof = { refresh };
  document.documentElement.dataset.ready = 'true';
}

start().catch((e) => {
  document.body.append(h('div', { class: 'banner', role: 'alert' }, `The page failed to start: ${e.message}`));
});

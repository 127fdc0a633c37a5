// The wallet panel: an injected EIP-1193 wallet (window.ethereum), the
// pool's chain, and `claim()` / `claimFor(address)` with the transaction's
// progress: simulated, signed, sent (hash), mined, and the result or the
// contract's revert reason.
import { createWalletClient, custom, isAddress, getAddress, parseEventLogs, BaseError, ContractFunctionRevertedError, UserRejectedRequestError } from 'viem';
import { settlementPoolAbi, tokenAbi } from './abi.js';
import { chainOf, rpcMessage } from './chain.js';
import { h, setChildren, notice } from './dom.js';
import { formatAmount, shortHex } from './format.js';

/** A readable reason from a viem error (the contract's custom error when there is one). */
export function reasonOf(e) {
  if (e instanceof BaseError) {
    const revert = e.walk((x) => x instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError) {
      const d = revert.data;
      if (d?.errorName) return `${d.errorName}(${(d.args || []).map(String).join(', ')})`;
      return revert.reason || revert.shortMessage;
    }
    if (e.walk((x) => x instanceof UserRejectedRequestError) || e.code === 4001) return 'you rejected the request in the wallet';
    return e.shortMessage || e.message;
  }
  if (e && e.code === 4001) return 'you rejected the request in the wallet';
  return e?.message || String(e);
}

/**
 * The wallet panel for the miner page of `minerAddress`. `onClaimed` is
 * called after a mined claim so the page re-reads its balances.
 */
export function walletPanel({ cfg, publicClient, minerAddress, onClaimed }) {
  const provider = typeof window !== 'undefined' ? window.ethereum : undefined;
  const status = h('div', { class: 'wallet-status', testid: 'wallet-status', 'aria-live': 'polite' });
  const figures = h('div', { class: 'wallet-figures' });
  const progress = h('ol', { class: 'tx-progress', testid: 'wallet-tx', 'aria-live': 'polite' });
  const connectBtn = h('button', { type: 'button', class: 'primary', testid: 'wallet-connect' }, 'Connect wallet');
  const claimBtn = h('button', { type: 'button', class: 'primary', testid: 'wallet-claim', disabled: true }, 'Claim my balance');
  const forInput = h('input', { type: 'text', id: 'claim-for', value: minerAddress, spellcheck: 'false', autocomplete: 'off', testid: 'wallet-claim-for-address', placeholder: '0x…' });
  const forBtn = h('button', { type: 'button', testid: 'wallet-claim-for', disabled: true }, 'Claim for this address');
  let account = null;
  let walletClient = null;
  let busy = false;

  const element = h(
    'section',
    { class: 'card', testid: 'wallet-panel', 'aria-labelledby': 'wallet-title' },
    h('h2', { id: 'wallet-title' }, 'Wallet'),
    h('p', { class: 'muted' }, 'Claims pay the credited balance to the payout address itself: claim() pays the connected account its own balance, claimFor(address) pays that address (anyone may send it).'),
    status,
    h('div', { class: 'row' }, connectBtn),
    figures,
    h('div', { class: 'row' }, claimBtn),
    h('div', { class: 'row' }, h('label', { for: 'claim-for' }, 'Address to claim for'), forInput, forBtn),
    progress,
  );

  if (!provider) {
    setChildren(status, notice('warn', 'No browser wallet found. Install an EIP-1193 wallet (MetaMask, Rabby, Frame) to claim from this page, or claim with the CLI: shareproof claim.'));
    connectBtn.disabled = true;
    return { element, refresh: async () => {} };
  }
  setChildren(status, 'Not connected.');

  function setEnabled() {
    const on = Boolean(account) && !busy;
    claimBtn.disabled = !on;
    forBtn.disabled = !on;
    connectBtn.disabled = busy;
  }

  async function ensureChain() {
    const want = Number(cfg.chain_id);
    const have = Number(await provider.request({ method: 'eth_chainId' }));
    if (have === want) return;
    const hex = `0x${want.toString(16)}`;
    try {
      await provider.request({ method: 'wallet_switchEthereumChain', params: [{ chainId: hex }] });
    } catch (e) {
      if (e && (e.code === 4902 || e?.data?.originalError?.code === 4902)) {
        await provider.request({
          method: 'wallet_addEthereumChain',
          params: [{ chainId: hex, chainName: chainOf(cfg).name, rpcUrls: [cfg.rpc_url], nativeCurrency: chainOf(cfg).nativeCurrency }],
        });
      } else {
        throw e;
      }
    }
    const now = Number(await provider.request({ method: 'eth_chainId' }));
    if (now !== want) throw new Error(`the wallet is on chain ${now}, the pool settles on chain ${want}`);
  }

  async function connect() {
    busy = true;
    setEnabled();
    setChildren(status, 'Connecting…');
    try {
      const accounts = await provider.request({ method: 'eth_requestAccounts' });
      if (!accounts || accounts.length === 0) throw new Error('the wallet gave no account');
      account = getAddress(accounts[0]);
      await ensureChain();
      walletClient = createWalletClient({ account, chain: chainOf(cfg), transport: custom(provider) });
      setChildren(status, h('span', {}, 'Connected: ', h('code', { testid: 'wallet-account' }, account), ` on chain ${cfg.chain_id}`));
      await refresh();
    } catch (e) {
      account = null;
      setChildren(status, notice('error', `Wallet: ${reasonOf(e)}`, { testid: 'wallet-error' }));
    } finally {
      busy = false;
      setEnabled();
    }
  }

  async function refresh() {
    if (!account) return;
    try {
      const [credited, tokens] = await Promise.all([
        publicClient.readContract({ address: cfg.settlement_pool, abi: settlementPoolAbi, functionName: 'balanceOf', args: [account] }),
        publicClient.readContract({ address: cfg.token, abi: tokenAbi, functionName: 'balanceOf', args: [account] }),
      ]);
      setChildren(
        figures,
        h('dl', { class: 'kv' },
          h('dt', {}, 'Connected account credited in the pool'), h('dd', { testid: 'wallet-credited', data: { value: credited } }, formatAmount(credited)),
          h('dt', {}, 'Connected account token balance'), h('dd', { testid: 'wallet-token-balance', data: { value: tokens } }, formatAmount(tokens))),
        account.toLowerCase() !== minerAddress.toLowerCase()
          ? notice('info', `The connected account is not ${shortHex(minerAddress)}: "Claim my balance" pays the connected account's own balance; use "Claim for" to pay this miner.`)
          : null,
      );
    } catch (e) {
      setChildren(figures, notice('error', rpcMessage(cfg, e)));
    }
  }

  function step(text, state = 'pending') {
    const li = h('li', { data: { state } }, text);
    progress.append(li);
    progress.dataset.state = state;
    return li;
  }

  async function send(functionName, args) {
    busy = true;
    setEnabled();
    progress.replaceChildren();
    progress.dataset.state = 'pending';
    try {
      await ensureChain();
      step(`Checking ${functionName}(${args.join(', ')}) against the contract…`);
      try {
        await publicClient.simulateContract({ account, address: cfg.settlement_pool, abi: settlementPoolAbi, functionName, args });
      } catch (e) {
        step(`The call would revert: ${reasonOf(e)}. Nothing was sent.`, 'reverted');
        return;
      }
      step('Waiting for the wallet to sign…');
      const hash = await walletClient.writeContract({ address: cfg.settlement_pool, abi: settlementPoolAbi, functionName, args, account, chain: chainOf(cfg) });
      step(h('span', {}, 'Sent: ', h('code', { testid: 'wallet-tx-hash' }, hash)));
      const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: 180000 });
      step(`Mined in block ${receipt.blockNumber} (gas used ${receipt.gasUsed}).`);
      if (receipt.status !== 'success') {
        let why = 'no reason given';
        try {
          await publicClient.simulateContract({ account, address: cfg.settlement_pool, abi: settlementPoolAbi, functionName, args, blockNumber: receipt.blockNumber - 1n });
        } catch (e) {
          why = reasonOf(e);
        }
        step(`Reverted: ${why}.`, 'reverted');
        return;
      }
      const claimed = parseEventLogs({ abi: settlementPoolAbi, eventName: 'Claimed', logs: receipt.logs });
      const text = claimed.length
        ? claimed.map((c) => `Claimed ${formatAmount(c.args.amount)} to ${c.args.account}.`).join(' ')
        : 'Succeeded.';
      step(text, 'success');
    } catch (e) {
      step(`Failed: ${reasonOf(e)}`, 'error');
    } finally {
      busy = false;
      setEnabled();
      await refresh();
      if (onClaimed) await onClaimed();
    }
  }

  connectBtn.addEventListener('click', connect);
  claimBtn.addEventListener('click', () => send('claim', []));
  forBtn.addEventListener('click', () => {
    const target = forInput.value.trim();
    if (!isAddress(target)) {
      progress.replaceChildren();
      step(`"${target}" is not an address (0x + 40 hex digits, EIP-55 checksum when mixed case).`, 'error');
      return;
    }
    send('claimFor', [getAddress(target)]);
  });
  if (provider.on) {
    provider.on('accountsChanged', (accs) => {
      account = accs && accs.length ? getAddress(accs[0]) : null;
      if (account) {
        walletClient = createWalletClient({ account, chain: chainOf(cfg), transport: custom(provider) });
        setChildren(status, h('span', {}, 'Connected: ', h('code', { testid: 'wallet-account' }, account)));
      } else setChildren(status, 'Not connected.');
      setEnabled();
      refresh();
    });
    provider.on('chainChanged', () => refresh());
  }
  return { element, refresh };
}

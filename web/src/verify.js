// The verify panel: a share receipt against the root committed in the
// block's coinbase (read from the settlement transaction's calldata), and a
// settlement's Groth16 proof against the payee list, recomputing the list
// hash, the challenge and the table sum as the contract does. Independent of
// the node's code: the node only supplies the receipt, the window snapshot
// and the verification key; the rest comes from the chain.
import { apiGet } from './api.js';
import { findSettlement, settlementCoinbase } from './chain.js';
import { findCommitment, coinbaseHeight } from './coinbase.js';
import { h, setChildren, notice, table } from './dom.js';
import { formatAmount, formatInteger, shortHex } from './format.js';
import { parseJson, stringifyJson } from './json.js';
import { verifyReceipt } from './receipt.js';
import { payeesOfSnapshot, listHash, challenge, tableSum, allocate, listProblems, decodeList } from './binding.js';
import { proofWordsToSnarkjs } from './groth16.js';
import { toHex32 } from './field.js';

function check(ok, title, detail, testid) {
  return h('li', { class: ok ? 'ok' : 'bad', data: { ok: ok ? 'true' : 'false' }, testid },
    h('span', { class: 'mark', 'aria-hidden': 'true' }, ok ? '✓' : '✗'), ' ',
    h('strong', {}, title), detail ? h('div', { class: 'detail' }, detail) : null);
}

function verdict(valid, text, testid) {
  return h('div', { class: `verdict ${valid ? 'valid' : 'invalid'}`, testid, data: { valid: valid ? 'true' : 'false' }, role: 'status' },
    valid ? 'Valid' : 'Invalid', ': ', text);
}

/**
 * blocks: [{ hash, height, status }] the candidate settled blocks (newest
 * first). minerAddress: whose share the receipt is pre-filled with.
 */
export function verifyPanel({ cfg, publicClient, blocks, minerAddress = null, initialBlock = null, initialSeq = null }) {
  const settled = blocks.filter((b) => b.status === 'settled');
  const select = h('select', { id: 'verify-block', testid: 'verify-block' },
    settled.map((b) => h('option', { value: b.hash }, `height ${b.height} — ${shortHex(b.hash, 8)}`)));
  const state = h('div', { class: 'verify-state', testid: 'verify-state', 'aria-live': 'polite' });
  const chainBox = h('div', { class: 'verify-chain' });
  const seqInput = h('input', { id: 'verify-seq', type: 'number', min: '0', step: '1', inputmode: 'numeric', testid: 'verify-seq' });
  const fetchBtn = h('button', { type: 'button', testid: 'receipt-fetch' }, 'Fetch receipt');
  const receiptText = h('textarea', { id: 'receipt-json', rows: '12', spellcheck: 'false', testid: 'receipt-json', 'aria-describedby': 'receipt-help' });
  const receiptBtn = h('button', { type: 'button', class: 'primary', testid: 'receipt-check' }, 'Check receipt');
  const receiptOut = h('div', { class: 'verify-out', 'aria-live': 'polite' });
  const payeeBox = h('div', { class: 'payees' });
  const proofBtn = h('button', { type: 'button', class: 'primary', testid: 'proof-check' }, 'Check proof');
  const proofOut = h('div', { class: 'verify-out', 'aria-live': 'polite' });

  const element = h('section', { class: 'card', testid: 'verify-panel', 'aria-labelledby': 'verify-title' },
    h('h2', { id: 'verify-title' }, 'Verify'),
    h('p', { class: 'muted' }, 'Check in this browser that a share is in the window the block committed to, and that the block\'s payouts were proven. The root, the proof and the list hash are read from the chain; the node supplies only the receipt, the window and the verification key.'),
    settled.length === 0
      ? notice('info', 'No settled block to verify yet.', { testid: 'verify-none' })
      : h('div', {},
        h('div', { class: 'row' }, h('label', { for: 'verify-block' }, 'Settled block'), select),
        state,
        chainBox,
        h('h3', {}, 'Share receipt'),
        h('div', { class: 'row' }, h('label', { for: 'verify-seq' }, 'Share sequence number'), seqInput, fetchBtn),
        h('label', { for: 'receipt-json', id: 'receipt-help', class: 'small muted' }, 'Receipt (editable: change a value to see the check fail)'),
        receiptText,
        h('div', { class: 'row' }, receiptBtn),
        receiptOut,
        h('h3', {}, 'Settlement proof'),
        h('p', { class: 'small muted' }, 'The payee list: the window\'s shares grouped by address, weights summed, ascending by address. Weights are editable.'),
        payeeBox,
        h('div', { class: 'row' }, proofBtn),
        proofOut));

  if (initialBlock && settled.some((b) => b.hash === initialBlock)) select.value = initialBlock;
  let seqWanted = initialSeq;
  let current = null; // { hash, snapshot, settlement, coinbase, payees }
  const vkCache = { value: null };

  async function load() {
    const hash = select.value;
    current = null;
    receiptOut.replaceChildren();
    proofOut.replaceChildren();
    payeeBox.replaceChildren();
    chainBox.replaceChildren();
    state.dataset.state = 'loading';
    setChildren(state, 'Loading the block\'s window and its settlement on chain…');
    try {
      const [snapshot, settlement] = await Promise.all([
        apiGet(`/api/v1/blocks/${hash}/snapshot`),
        findSettlement(publicClient, cfg, hash),
      ]);
      if (select.value !== hash) return;
      if (!settlement) throw new Error(`no BlockSettled event for ${hash} on chain ${cfg.chain_id}`);
      const coinbase = settlementCoinbase(settlement.call);
      current = { hash, snapshot, settlement, coinbase, payees: payeesOfSnapshot(snapshot) };
      const entries = [...(snapshot.entries || [])].sort((a, b) => Number(a.seq) - Number(b.seq));
      const mine = minerAddress ? entries.filter((e) => e.address.toLowerCase() === minerAddress.toLowerCase()) : [];
      const pick = mine.length ? mine[mine.length - 1] : entries[entries.length - 1];
      if (seqWanted !== null) {
        seqInput.value = String(seqWanted);
        seqWanted = null;
      } else if (pick) seqInput.value = String(pick.seq);
      renderChain();
      renderPayees();
      state.dataset.state = 'ready';
      const first = entries.length ? entries[0].seq : null;
      const span = entries.length ? ` (shares ${first} to ${entries[entries.length - 1].seq})` : ' (empty)';
      setChildren(state, !minerAddress
        ? `The window holds ${entries.length} share(s)${span}.`
        : mine.length
          ? `The window holds ${mine.length} share(s) of this address; the receipt is pre-filled with the latest.`
          : `This address has no share in this window${span}; the receipt is pre-filled with another share.`);
    } catch (e) {
      state.dataset.state = 'error';
      setChildren(state, notice('error', e.name === 'ChainError' ? e.message : `Cannot load the block: ${e.message}`));
    }
  }

  function renderChain() {
    const { settlement, coinbase } = current;
    const { event, call, callTx } = settlement;
    const c = findCommitment(coinbase.tx);
    setChildren(chainBox, h('dl', { class: 'kv small' },
      h('dt', {}, 'BlockSettled in transaction'), h('dd', {}, h('code', { title: event.txHash }, event.txHash)),
      h('dt', {}, 'Coinbase and proof from'), h('dd', {}, `${call.kind}(…) in `, h('code', { title: callTx }, shortHex(callTx, 8))),
      h('dt', {}, 'Coinbase'), h('dd', {}, `txid ${coinbase.txid}, ${coinbase.tx.segwit ? 'segwit' : 'legacy'} serialization, height ${coinbaseHeight(coinbase.tx) ?? '?'}, ${coinbase.tx.outputs.length} outputs`),
      h('dt', {}, 'Committed root (coinbase OP_RETURN)'), h('dd', {}, c.ok ? h('code', { testid: 'verify-coinbase-root' }, c.rootHex) : notice('error', c.reason)),
      h('dt', {}, 'Root in the event'), h('dd', {}, h('code', {}, event.windowRoot)),
      h('dt', {}, 'Reward, fee, dust'), h('dd', {}, `${formatAmount(event.reward)}; fee ${formatAmount(event.fee)}; dust ${formatAmount(event.dust)}`),
      h('dt', {}, 'List hash in the event'), h('dd', {}, h('code', {}, event.listHash))));
  }

  function renderPayees() {
    const { payees, settlement } = current;
    const { amounts } = allocate(payees, settlement.event.reward, settlement.event.fee);
    const rows = payees.map((p, i) => h('tr', { testid: 'payee-row' },
      h('td', {}, h('code', { title: p.account }, p.account)),
      h('td', {}, h('input', { type: 'text', inputmode: 'numeric', value: p.weight.toString(), 'aria-label': `weight of ${p.account}`, testid: 'payee-weight', data: { index: i } })),
      h('td', { class: 'num' }, formatAmount(amounts[i]))));
    setChildren(payeeBox, table(['Account', 'Weight', '=Amount credited'], rows, { testid: 'proof-payees' }));
  }

  async function fetchReceipt() {
    if (!current) return;
    receiptOut.replaceChildren();
    const seq = seqInput.value.trim();
    if (!/^\d+$/.test(seq)) {
      setChildren(receiptOut, notice('error', 'Enter a share sequence number.'));
      return;
    }
    try {
      const receipt = await apiGet(`/api/v1/shares/${seq}/receipt?block=${current.hash}`);
      receiptText.value = stringifyJson(receipt);
    } catch (e) {
      setChildren(receiptOut, notice('error', e.message));
    }
  }

  async function checkReceipt() {
    if (!current) return;
    setChildren(receiptOut, 'Checking…');
    let receipt;
    try {
      receipt = parseJson(receiptText.value);
    } catch (e) {
      setChildren(receiptOut, verdict(false, `the receipt is not JSON: ${e.message}`, 'receipt-result'));
      return;
    }
    const c = findCommitment(current.coinbase.tx);
    if (!c.ok) {
      setChildren(receiptOut, verdict(false, `the coinbase has no usable commitment: ${c.reason}`, 'receipt-result'));
      return;
    }
    try {
      const { poseidon8 } = await import('./lazy/poseidon.js');
      const hash8 = await poseidon8();
      const result = await verifyReceipt(receipt, c.root, hash8);
      const items = result.steps.map((s) => check(s.ok, s.check === 'hash' ? `level ${s.level} hashed` : s.check === 'path' ? `level ${s.level} holds the hash below` : s.check, s.detail));
      setChildren(receiptOut,
        verdict(result.valid, result.reason, 'receipt-result'),
        h('ol', { class: 'checks', testid: 'receipt-steps' }, check(true, 'root read from the coinbase commitment', `${c.rootHex} (output ${c.output} of the coinbase in the ${current.settlement.call.kind} calldata)`), items));
    } catch (e) {
      setChildren(receiptOut, verdict(false, `the check could not run: ${e.message}`, 'receipt-result'));
    }
  }

  async function checkProof() {
    if (!current) return;
    setChildren(proofOut, 'Checking…');
    const { settlement } = current;
    const { event, call } = settlement;
    const items = [];
    let valid = true;
    const add = (ok, title, detail, testid) => {
      items.push(check(ok, title, detail, testid));
      if (!ok) valid = false;
    };
    try {
      const inputs = [...payeeBox.querySelectorAll('input[data-index]')];
      const payees = current.payees.map((p, i) => ({ account: p.account, weight: BigInt(inputs[i].value.trim() || '0') }));
      const problems = listProblems(payees);
      add(problems.length === 0, 'the list is well formed', problems.join('; ') || `${payees.length} payees, ascending, weights ≥ 1`);

      const c = findCommitment(current.coinbase.tx);
      const root = BigInt(event.windowRoot);
      add(c.ok && c.root === root, 'the event\'s root is the coinbase\'s commitment', c.ok ? `${c.rootHex}` : c.reason);

      const h0 = listHash(payees);
      add(h0.toLowerCase() === event.listHash.toLowerCase(), 'list hash matches the chain', `recomputed ${h0}; BlockSettled says ${event.listHash}`, 'proof-list-hash');
      if (call.kind === 'settle') {
        const onChain = decodeList(call.payees);
        const same = onChain.length === payees.length && onChain.every((p, i) => p.account === payees[i].account && p.weight === payees[i].weight);
        add(same, 'the list equals the one in the settle calldata', same ? `${onChain.length} records` : 'the calldata carries another list');
      }
      const x = BigInt(call.weightCommitment);
      const beta = challenge(root, x, h0);
      let t;
      try {
        t = tableSum(payees, beta);
        add(true, 'table sum T', `beta = keccak256(root ‖ X ‖ listHash) mod r = ${toHex32(beta)}; T = Σ W_j / (beta − A_j) mod r = ${toHex32(t)}`, 'proof-table-sum');
      } catch (e) {
        add(false, 'table sum T', e.message, 'proof-table-sum');
      }
      if (call.kind === 'openSettlement' && t !== undefined) {
        add(t === BigInt(call.tableSum), 'T equals the openSettlement\'s proven T', `${toHex32(call.tableSum)}`);
      }
      if (t !== undefined) {
        const vk = vkCache.value || (vkCache.value = await apiGet('/api/v1/verification-key'));
        const { verifyGroth16 } = await import('./lazy/snark.js');
        const signals = [root, x, beta, t].map(String);
        const ok = await verifyGroth16(vk, signals, proofWordsToSnarkjs(call.proof));
        add(ok, 'Groth16 proof', `snarkjs groth16 verify with public inputs [root, X, beta, T] = [${signals.map((s) => shortHex(toHex32(s), 6)).join(', ')}]`, 'proof-groth16');
      }
      const { amounts, dust } = allocate(payees, event.reward, event.fee);
      add(dust === BigInt(event.dust), 'the allocation\'s dust is the event\'s', `recomputed ${formatInteger(dust)}, event ${formatInteger(event.dust)} (${amounts.length} amounts)`);
    } catch (e) {
      add(false, 'the check could not run', e.message);
    }
    setChildren(proofOut,
      verdict(valid, valid ? 'the payouts of this block were proven for the committed window' : 'a check failed (see below)', 'proof-result'),
      h('ol', { class: 'checks', testid: 'proof-steps' }, items));
  }

  select.addEventListener('change', load);
  fetchBtn.addEventListener('click', fetchReceipt);
  receiptBtn.addEventListener('click', checkReceipt);
  proofBtn.addEventListener('click', checkProof);
  const ready = settled.length ? load() : Promise.resolve();
  return { element, ready };
}

// The proof check of the miner page, on the committed N = 16 key: the
// verifying key is read from contracts/src/Groth16Verifier.sol (the
// contract's negated alpha, gamma and delta turned back into snarkjs's
// verification_key.json) and the proof from contracts/test/fixtures.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildBn128 } from 'ffjavascript';
import groth16Verify from '../../node_modules/snarkjs/src/groth16_verify.js';
import { proofWordsToSnarkjs } from '../src/groth16.js';
import { listHash, challenge, tableSum } from '../src/binding.js';
import { BASE_FIELD_ORDER as Q } from '../src/field.js';
import { readJson, readText } from './helpers.mjs';

function vkFromSolidity(source) {
  const c = {};
  for (const m of source.matchAll(/uint256 internal constant (\w+) =\s*(\d+);/g)) c[m[1]] = m[2];
  const neg = (y) => (Q - BigInt(y)).toString();
  const g2neg = (p) => [
    [c[`${p}_X0`], c[`${p}_X1`]],
    [neg(c[`${p}_Y0`]), neg(c[`${p}_Y1`])],
    ['1', '0'],
  ];
  const ic = [];
  for (let i = 0; c[`IC${i}_X`]; i += 1) ic.push([c[`IC${i}_X`], c[`IC${i}_Y`], '1']);
  return {
    protocol: 'groth16',
    curve: 'bn128',
    nPublic: ic.length - 1,
    vk_alpha_1: [c.NEG_ALPHA_X, neg(c.NEG_ALPHA_Y), '1'],
    vk_beta_2: [
      [c.BETA_X0, c.BETA_X1],
      [c.BETA_Y0, c.BETA_Y1],
      ['1', '0'],
    ],
    vk_gamma_2: g2neg('NEG_GAMMA'),
    vk_delta_2: g2neg('NEG_DELTA'),
    IC: ic,
  };
}

// One single-threaded curve for every verification (no worker threads to
// keep the process alive); groth16Verify picks it up from ffjavascript's cache.
const curve = await buildBn128(true);
globalThis.curve_bn128 = curve;
after(() => curve.terminate());

const vk = vkFromSolidity(readText('contracts/src/Groth16Verifier.sol'));
const fixture = readJson('contracts/test/fixtures/settlement.json');

test('the contract proof words map to a snarkjs proof that verifies', async () => {
  const proof = proofWordsToSnarkjs(fixture.proof);
  assert.equal(await groth16Verify(vk, fixture.publicInputs, proof), true);
});

test('the public inputs recomputed from the payee list verify; a changed payout does not', async () => {
  const proof = proofWordsToSnarkjs(fixture.proof);
  const root = BigInt(fixture.windowRoot);
  const x = BigInt(fixture.weightCommitment);
  const payees = fixture.payees.map((p) => ({ account: p.account, weight: BigInt(p.weight) }));
  const inputs = (list) => {
    const beta = challenge(root, x, listHash(list));
    return [root, x, beta, tableSum(list, beta)].map(String);
  };
  assert.equal(await groth16Verify(vk, inputs(payees), proof), true);
  const changed = payees.map((p, i) => (i === 0 ? { ...p, weight: p.weight + 1n } : p));
  assert.equal(await groth16Verify(vk, inputs(changed), proof), false);
});

test('swapped G2 coordinates do not verify (the word order matters)', async () => {
  const w = fixture.proof;
  const swapped = [w[0], w[1], w[3], w[2], w[5], w[4], w[6], w[7]];
  assert.equal(await groth16Verify(vk, fixture.publicInputs, proofWordsToSnarkjs(swapped)), false);
});

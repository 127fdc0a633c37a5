import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from 'viem';
import {
  parseTransaction, findCommitment, rewardTo, isCoinbase, coinbaseHeight, legacySerialization, hexToBytes, bytesToHex, reverseHex,
} from '../src/coinbase.js';
import { readJson } from './helpers.mjs';

const vectors = readJson('contracts/test/fixtures/coinbase_commitment_vectors.json');
const nodeCoinbases = readJson('contracts/test/fixtures/node_coinbases.json');

// The commitment rule's shared vectors: the contracts and share-verifier
// reach these verdicts; so must the page.
for (const v of vectors.vectors) {
  test(`commitment vector ${v.name}: ${v.error || 'root'}`, () => {
    const tx = parseTransaction(v.coinbase);
    assert.equal(isCoinbase(tx), true);
    const c = findCommitment(tx);
    if (v.error) {
      assert.equal(c.ok, false);
      assert.equal(c.error, v.error);
    } else {
      assert.equal(c.ok, true, c.reason);
      assert.equal(c.rootHex, v.windowRoot);
      assert.equal(rewardTo(tx, vectors.settlementScript), BigInt(v.reward));
    }
  });
}

test("the node's coinbases parse to their height, root and reward", () => {
  for (const c of nodeCoinbases.coinbases) {
    const tx = parseTransaction(c.coinbase);
    assert.equal(coinbaseHeight(tx), c.height);
    assert.equal(findCommitment(tx).rootHex, c.windowRoot);
    assert.equal(rewardTo(tx, nodeCoinbases.settlementScript), BigInt(c.reward));
    assert.equal(bytesToHex(legacySerialization(tx)), c.coinbase);
  }
});

/** The same transaction with BIP 144's marker, flag and a witness. */
function withWitness(hex) {
  const b = hexToBytes(hex);
  const body = b.subarray(4, b.length - 4);
  const witness = Uint8Array.of(1, 32, ...new Uint8Array(32));
  return bytesToHex(Uint8Array.of(...b.subarray(0, 4), 0, 1, ...body, ...witness, ...b.subarray(b.length - 4)));
}

test('a segwit coinbase parses to the same outputs and txid as its legacy form', () => {
  const legacy = nodeCoinbases.coinbases[1].coinbase;
  const segwit = parseTransaction(withWitness(legacy));
  assert.equal(segwit.segwit, true);
  assert.equal(segwit.witnesses[0].length, 1);
  assert.equal(findCommitment(segwit).rootHex, nodeCoinbases.coinbases[1].windowRoot);
  assert.equal(bytesToHex(legacySerialization(segwit)), legacy);
  const txid = reverseHex(sha256(sha256(legacySerialization(segwit))));
  assert.match(txid, /^0x[0-9a-f]{64}$/);
});

test('truncated or padded transactions are refused with a reason', () => {
  const hex = vectors.vectors[0].coinbase;
  assert.throws(() => parseTransaction(hex.slice(0, -10)), /truncated/);
  assert.throws(() => parseTransaction(`${hex}00`), /trailing/);
  assert.throws(() => parseTransaction('0x0'), /not hex/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyReceipt, treeDepth, shareHashToField, packSlot } from '../src/receipt.js';
import { payeesOfSnapshot, listHash } from '../src/binding.js';
import { poseidonHash, fixtureWindow, windowLevels, receiptOf, readJson } from './helpers.mjs';

test('circomlibjs Poseidon gives DESIGN item 4 vector H(1,2)', async () => {
  const h = await poseidonHash();
  assert.equal(h([1n, 2n]), 0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189an);
});

test('tree depths match share-verifier tree_depth', () => {
  assert.deepEqual([1, 2, 3, 4, 6, 10].map(treeDepth), [1, 1, 2, 2, 3, 4]);
});

test('slot packing and share hashes follow DESIGN items 3 and 5', () => {
  assert.equal(packSlot(`0x${'00'.repeat(19)}03`, 7), 3n * 2n ** 92n + 7n);
  assert.throws(() => packSlot(`0x${'00'.repeat(19)}03`, 2n ** 92n), /below 2\^92/);
  // Display order is the digest reversed: display 00..05 is the LE integer 5.
  assert.equal(shareHashToField(`${'00'.repeat(31)}05`), 5n);
  // Above r: reduced.
  const r = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
  assert.equal(shareHashToField((r + 9n).toString(16).padStart(64, '0')), 9n);
});

// contracts/test/fixtures/settlement.json is a proven settlement of
// circuits' fixture window (N = 16, 3 payees): its root is the Rust window
// tree's, so the JS tree, slot packing and share hashes must reach it.
test('the circuits fixture window hashes to the root and list hash the contracts fixture holds', async () => {
  const fixture = readJson('contracts/test/fixtures/settlement.json');
  const snapshot = fixtureWindow(4, 3);
  const h = await poseidonHash();
  const levels = await windowLevels(snapshot, h);
  const root = levels[levels.length - 1][0];
  assert.equal(root, BigInt(fixture.windowRoot));
  const payees = payeesOfSnapshot(snapshot);
  assert.deepEqual(
    payees.map((p) => [p.account, p.weight.toString()]),
    fixture.payees.map((p) => [p.account, p.weight]),
  );
  assert.equal(listHash(payees), fixture.listHash);
});

test('receipts of every share verify against the root; tampering fails with a reason', async () => {
  const h = await poseidonHash();
  for (const [log2, payees] of [
    [4, 3],
    [1, 1],
    [2, 2],
    [6, 5],
  ]) {
    const snapshot = fixtureWindow(log2, payees);
    const levels = await windowLevels(snapshot, h);
    const root = levels[levels.length - 1][0];
    for (const e of snapshot.entries.slice(0, 5)) {
      const receipt = receiptOf(snapshot, levels, e.seq);
      const ok = await verifyReceipt(receipt, root, h);
      assert.equal(ok.valid, true, `${log2}/${e.seq}: ${ok.reason}`);
      assert.equal(ok.computedRoot, root);

      const heavier = structuredClone(receipt);
      heavier.entry.weight = (BigInt(heavier.entry.weight) + 1n).toString();
      const a = await verifyReceipt(heavier, root, h);
      assert.equal(a.valid, false);
      assert.match(a.reason, /slot elements do not match/);

      const otherRoot = await verifyReceipt(receipt, root + 1n, h);
      assert.equal(otherRoot.valid, false);
      assert.match(otherRoot.reason, /hashes to root/);

      const wrongSlot = structuredClone(receipt);
      wrongSlot.slot = (receipt.slot + 1) % (1 << log2);
      assert.match((await verifyReceipt(wrongSlot, root, h)).reason, /expected slot/);

      if (receipt.levels.length > 1) {
        const path = structuredClone(receipt);
        const at = (receipt.slot * 2) % 8 === 0 ? 7 : 0;
        path.levels[0][at] = '0x' + (BigInt(path.levels[0][at]) + 1n).toString(16).padStart(64, '0');
        assert.match((await verifyReceipt(path, root, h)).reason, /level 1 does not contain/);
      }
    }
  }
});

test('malformed receipts are invalid with a reason, never an exception', async () => {
  const h = await poseidonHash();
  assert.match((await verifyReceipt(null, 1n, h)).reason, /not a JSON object/);
  assert.match((await verifyReceipt({ entry: {}, slot: 0, log2_slots: 4, levels: [] }, 1n, h)).reason, /malformed entry/);
  assert.match((await verifyReceipt({ entry: {}, slot: 0, log2_slots: 4, levels: [[1]] }, 1n, h)).reason, /not 8/);
});

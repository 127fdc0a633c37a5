import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listHash, challenge, tableSum, encodeList, decodeList, allocate, listProblems, payeesOfSnapshot } from '../src/binding.js';
import { readJson } from './helpers.mjs';

const FIXTURES = [
  'contracts/test/fixtures/settlement.json',
  'contracts/test/fixtures/settlement.example.json',
  'contracts/test/fixtures/n4096/settlement-d1.json',
  'contracts/test/fixtures/n4096/settlement-d16.json',
];

for (const path of FIXTURES) {
  test(`list hash, beta, T and the allocation of ${path} are the Rust side's`, () => {
    const f = readJson(path);
    const payees = f.payees.map((p) => ({ account: p.account, weight: BigInt(p.weight) }));
    assert.deepEqual(listProblems(payees), []);
    const h = listHash(payees);
    assert.equal(h, f.listHash);
    const [root, x, beta, t] = f.publicInputs.map(BigInt);
    assert.equal(root, BigInt(f.windowRoot));
    assert.equal(x, BigInt(f.weightCommitment));
    assert.equal(challenge(root, x, h), beta);
    assert.equal(tableSum(payees, beta), t);
    const fee = (BigInt(f.reward) * BigInt(f.feeBps)) / 10000n;
    const { amounts, dust } = allocate(payees, f.reward, fee);
    assert.deepEqual(amounts.map(String), f.amounts);
    assert.equal(dust.toString(), f.dust);
    assert.deepEqual(decodeList(encodeList(payees)), payees.map((p) => ({ ...p, account: p.account })));
  });
}

test('a weight changed by one changes the list hash and T', () => {
  const f = readJson('contracts/test/fixtures/settlement.json');
  const payees = f.payees.map((p) => ({ account: p.account, weight: BigInt(p.weight) }));
  payees[1].weight += 1n;
  assert.notEqual(listHash(payees), f.listHash);
  const beta = BigInt(f.publicInputs[2]);
  assert.notEqual(tableSum(payees, beta), BigInt(f.publicInputs[3]));
});

test('the empty list hashes to zero and sums to zero', () => {
  assert.equal(listHash([]), `0x${'0'.repeat(64)}`);
  assert.equal(tableSum([], 5n), 0n);
});

test('lists the contract refuses are reported', () => {
  const a = '0x0000000000000000000000000000000000000002';
  const b = '0x0000000000000000000000000000000000000001';
  assert.equal(listProblems([{ account: a, weight: 1n }, { account: b, weight: 1n }]).length, 1);
  assert.match(listProblems([{ account: a, weight: 0n }])[0], /weight zero/);
  assert.throws(() => tableSum([{ account: a, weight: 1n }], 2n), /beta equals/);
});

test('a snapshot groups by address, sums weights and sorts ascending', () => {
  const snap = {
    entries: [
      { seq: 1, address: '0x00000000000000000000000000000000000000bb', weight: '5' },
      { seq: 2, address: '0x00000000000000000000000000000000000000AA', weight: 3 },
      { seq: 3, address: '0x00000000000000000000000000000000000000bB', weight: '1237940039285380274899124224' },
    ],
  };
  const p = payeesOfSnapshot(snap);
  assert.deepEqual(p.map((x) => [x.account.toLowerCase(), x.weight]), [
    ['0x00000000000000000000000000000000000000aa', 3n],
    ['0x00000000000000000000000000000000000000bb', 1237940039285380274899124229n],
  ]);
});

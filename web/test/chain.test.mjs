import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFunctionData } from 'viem';
import { settlementPoolAbi } from '../src/abi.js';
import { decodeSettlementInput } from '../src/chain.js';
import { encodeList, decodeList } from '../src/binding.js';
import { readJson } from './helpers.mjs';

const f = readJson('contracts/test/fixtures/settlement.json');
const coinbase = readJson('contracts/test/fixtures/node_coinbases.json').coinbases[0].coinbase;
const header = `0x${'11'.repeat(80)}`;
const proof = f.proof.map(BigInt);
const payees = f.payees.map((p) => ({ account: p.account, weight: BigInt(p.weight) }));

test('settle calldata gives back the coinbase, X, the proof and the list', () => {
  const data = encodeFunctionData({
    abi: settlementPoolAbi,
    functionName: 'settle',
    args: [header, coinbase, [], `0x${Buffer.from(encodeList(payees)).toString('hex')}`, BigInt(f.weightCommitment), proof],
  });
  const call = decodeSettlementInput(data);
  assert.equal(call.kind, 'settle');
  assert.equal(call.coinbaseTx, coinbase);
  assert.equal(call.weightCommitment, BigInt(f.weightCommitment));
  assert.deepEqual(call.proof, proof);
  assert.deepEqual(decodeList(call.payees), payees);
});

test('openSettlement and creditPayees calldata decode; other calls are refused', () => {
  const open = decodeSettlementInput(encodeFunctionData({
    abi: settlementPoolAbi,
    functionName: 'openSettlement',
    args: [header, coinbase, [], f.listHash, BigInt(f.weightCommitment), BigInt(f.publicInputs[3]), proof],
  }));
  assert.equal(open.kind, 'openSettlement');
  assert.equal(open.tableSum, BigInt(f.publicInputs[3]));
  assert.equal(open.listHash, f.listHash);
  const credit = decodeSettlementInput(encodeFunctionData({
    abi: settlementPoolAbi,
    functionName: 'creditPayees',
    args: [`0x${'ab'.repeat(32)}`, '0x', `0x${'00'.repeat(32)}`],
  }));
  assert.equal(credit.kind, 'creditPayees');
  assert.throws(() => decodeSettlementInput(encodeFunctionData({ abi: settlementPoolAbi, functionName: 'claim' })), /not a settlement function/);
  assert.throws(() => decodeSettlementInput('0xdeadbeef'), /not a direct call/);
});

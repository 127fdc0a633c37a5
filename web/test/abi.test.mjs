import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAbiItem } from 'viem/utils';
import { settlementPoolAbi, tokenAbi } from '../src/abi.js';
import { readJson } from './helpers.mjs';

// Every entry the page uses must be in the committed artifact, identical in
// types, indexing, mutability and outputs.
function describe(item) {
  return JSON.stringify({
    sig: formatAbiItem(item),
    indexed: (item.inputs || []).map((i) => Boolean(i.indexed)),
    mutability: item.stateMutability || null,
    outputs: (item.outputs || []).map((o) => o.type),
  });
}

for (const [name, abi, artifact] of [
  ['SettlementPool', settlementPoolAbi, 'contracts/artifacts/SettlementPool.json'],
  ['WrappedBtc', tokenAbi, 'contracts/artifacts/WrappedBtc.json'],
]) {
  test(`the page's ${name} ABI entries are the artifact's`, () => {
    const have = new Set(readJson(artifact).abi.filter((e) => e.name).map(describe));
    for (const item of abi) assert.ok(have.has(describe(item)), `${formatAbiItem(item)} is not in ${artifact}`);
  });
}

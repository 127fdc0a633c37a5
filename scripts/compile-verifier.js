#!/usr/bin/env node
// Compiles a verifier written by `circuits export-solidity` with the npm solc
// package, with the settings of contracts/foundry.toml, and writes its
// creation bytecode (hex) for `shareproof deploy-devnet --verifier-bytecode`.
//
//   node scripts/compile-verifier.js Groth16Verifier.sol Groth16Verifier.bin
'use strict';

const fs = require('fs');
const path = require('path');

const [source, out] = process.argv.slice(2);
if (!source || !out) {
  console.error('usage: compile-verifier.js <Groth16Verifier.sol> <out.bin>');
  process.exit(2);
}
const solc = require(require.resolve('solc', { paths: [path.resolve(__dirname, '..')] }));
const input = {
  language: 'Solidity',
  sources: { 'Groth16Verifier.sol': { content: fs.readFileSync(source, 'utf8') } },
  settings: {
    evmVersion: 'cancun',
    optimizer: { enabled: true, runs: 10000 },
    outputSelection: { '*': { Groth16Verifier: ['evm.bytecode.object'] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
if (errors.length > 0) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
const bytecode = output.contracts['Groth16Verifier.sol'].Groth16Verifier.evm.bytecode.object;
fs.writeFileSync(out, bytecode + '\n');
console.error(`compiled ${source}: ${bytecode.length / 2} bytes of creation code`);

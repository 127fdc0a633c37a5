#!/usr/bin/env node
// solc command-line stand-in for Foundry, backed by the npm `solc` package (solcjs).
//
// Forge cannot download native solc builds here, so foundry.toml points its
// `solc` setting at this file. Forge only needs two calls:
//   solc --version                       -> solc's own two-line banner
//   solc [paths...] --standard-json      -> Standard JSON in on stdin, out on stdout
// Nothing but the compiler's answer may reach stdout; diagnostics of the
// wrapper itself go to stderr. Import resolution is Forge's job: it sends
// every source's content in the Standard JSON input, so no import callback
// is needed, but one that reads files relative to the working directory is
// installed for anything Forge leaves out.
'use strict';

const fs = require('fs');
const path = require('path');

function loadSolc() {
  // The repository root's node_modules, whatever the caller's cwd.
  const root = path.resolve(__dirname, '..');
  return require(require.resolve('solc', { paths: [root] }));
}

// solcjs reports "0.8.37+commit.f401782d.Emscripten.clang"; Forge parses the
// semver from the native banner, so report it the way a Linux build would.
function nativeVersion(solc) {
  return solc.version().replace(/\.Emscripten\.clang$/, '.Linux.g++');
}

function readStdin() {
  return fs.readFileSync(0, 'utf8');
}

function findImports(importPath) {
  try {
    return { contents: fs.readFileSync(path.resolve(importPath), 'utf8') };
  } catch (err) {
    return { error: `File not found: ${importPath}` };
  }
}

function main(argv) {
  if (argv.includes('--version') || argv.includes('-v')) {
    const solc = loadSolc();
    process.stdout.write(
      `solc, the solidity compiler commandline interface\nVersion: ${nativeVersion(solc)}\n`,
    );
    return 0;
  }
  if (argv.includes('--standard-json')) {
    const input = readStdin();
    const solc = loadSolc();
    const output = solc.compile(input, { import: findImports });
    process.stdout.write(output);
    return 0;
  }
  process.stderr.write(
    'scripts/solc.js: only --version and --standard-json are supported ' +
      `(got: ${argv.join(' ') || 'no arguments'})\n`,
  );
  return 1;
}

process.exitCode = main(process.argv.slice(2));

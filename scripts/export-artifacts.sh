#!/usr/bin/env bash
# Writes the ABI and bytecode of the contracts the node deploys or calls to
# contracts/artifacts/<Contract>.json, so that Rust builds read committed files and
# do not depend on forge having run first.
#
#   scripts/export-artifacts.sh          build contracts/src and (re)write the artifacts
#   scripts/export-artifacts.sh --check  build and fail if the committed artifacts differ
#
# Each file is {"contractName", "sourcePath", "abi", "bytecode", "deployedBytecode"}
# (hex with 0x). The bytecode carries no metadata hash (foundry.toml), so it depends
# only on the sources and the compiler settings.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

mode=write
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  *) echo "usage: scripts/export-artifacts.sh [--check]" >&2; exit 2 ;;
esac

# Contract name and its source file under contracts/src.
contracts=(
  "BtcLightClient:BtcLightClient.sol"
  "SettlementPool:SettlementPool.sol"
  "DevPegIn:DevPegIn.sol"
  "WrappedBtc:WrappedBtc.sol"
)
# The generated verifier, once the circuits CLI has written it.
if [ -f contracts/src/Groth16Verifier.sol ]; then
  contracts+=("Groth16Verifier:Groth16Verifier.sol")
fi

scripts/forge.sh build --root contracts --skip test --skip script >/dev/null

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for entry in "${contracts[@]}"; do
  name="${entry%%:*}"
  source="${entry#*:}"
  node - "contracts/out/$source/$name.json" "$out/$name.json" "$name" "src/$source" <<'NODE'
const fs = require('fs');
const [input, output, name, sourcePath] = process.argv.slice(2);
const artifact = JSON.parse(fs.readFileSync(input, 'utf8'));
const exported = {
  contractName: name,
  sourcePath,
  abi: artifact.abi,
  bytecode: artifact.bytecode.object,
  deployedBytecode: artifact.deployedBytecode.object,
};
fs.writeFileSync(output, JSON.stringify(exported, null, 2) + '\n');
NODE
done

if [ "$mode" = check ]; then
  stale=0
  for file in "$out"/*.json; do
    name="$(basename "$file")"
    if ! cmp -s "$file" "contracts/artifacts/$name"; then
      echo "export-artifacts: contracts/artifacts/$name is missing or out of date" >&2
      stale=1
    fi
  done
  for file in contracts/artifacts/*.json; do
    [ -e "$file" ] || continue
    if [ ! -e "$out/$(basename "$file")" ]; then
      echo "export-artifacts: contracts/artifacts/$(basename "$file") has no contract any more" >&2
      stale=1
    fi
  done
  if [ "$stale" -ne 0 ]; then
    echo "export-artifacts: run scripts/export-artifacts.sh and commit contracts/artifacts/" >&2
    exit 1
  fi
  echo "export-artifacts: contracts/artifacts/ is up to date" >&2
else
  mkdir -p contracts/artifacts
  rm -f contracts/artifacts/*.json
  cp "$out"/*.json contracts/artifacts/
  echo "export-artifacts: wrote $(ls "$out" | wc -l) artifacts to contracts/artifacts/" >&2
fi

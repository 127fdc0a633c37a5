#!/usr/bin/env bash
# The contracts' checks, as CI runs them (after scripts/install-toolchain.sh):
#   1. build contracts/ and run every Foundry test (unit, fuzz, invariant), comparing
#      each test's gas with contracts/.gas-snapshot and the named gas figures with
#      contracts/snapshots/*.json (forge snapshot --check, FORGE_SNAPSHOT_CHECK=true);
#   2. check the formatting (forge fmt --check);
#   3. check that contracts/artifacts/ matches the sources (export-artifacts.sh --check).
# After an intended gas change: cd contracts && ../scripts/forge.sh snapshot
# After a source change: scripts/export-artifacts.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

cd "$root/contracts"
FORGE_SNAPSHOT_CHECK=true ../scripts/forge.sh snapshot --check
../scripts/forge.sh fmt --check

cd "$root"
scripts/export-artifacts.sh --check

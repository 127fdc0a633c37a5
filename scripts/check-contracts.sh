#!/usr/bin/env bash
# The contracts' checks, as CI runs them (after scripts/install-toolchain.sh):
#   1. build contracts/ and run the unit tests, comparing each test's gas with
#      contracts/.gas-snapshot and the named gas figures with contracts/snapshots/*.json
#      (forge snapshot --check, FORGE_SNAPSHOT_CHECK=true);
#   2. run the fuzz and invariant tests (outside the snapshot: their average gas follows
#      the inputs the fuzzer picks, which can change with an unrelated rebuild);
#   3. check the formatting (forge fmt --check);
#   4. check that contracts/artifacts/ matches the sources (export-artifacts.sh --check).
# After an intended gas change: scripts/check-contracts.sh --update
# After a source change: scripts/export-artifacts.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

randomised='testFuzz_|invariant_'

cd "$root/contracts"
if [ "${1:-}" = "--update" ]; then
  ../scripts/forge.sh snapshot --no-match-test "$randomised"
  exit 0
fi
FORGE_SNAPSHOT_CHECK=true ../scripts/forge.sh snapshot --check --no-match-test "$randomised"
../scripts/forge.sh test --match-test "$randomised"
../scripts/forge.sh fmt --check

cd "$root"
scripts/export-artifacts.sh --check

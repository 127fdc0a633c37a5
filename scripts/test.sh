#!/usr/bin/env bash
# The project's whole test suite: what the README's test command and CI run.
# Installs what is missing first (scripts/install.sh is idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install.sh --tests

echo "== contracts: forge build, tests, gas snapshot, fmt, artifacts"
scripts/check-contracts.sh

echo "== web app: unit tests and the committed bundle"
scripts/test-web.sh

echo "== cargo test (workspace)"
cargo test --workspace --locked

#!/usr/bin/env bash
# The project's whole test suite: what the README's test command and CI run.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test (workspace)"
cargo test --workspace --locked

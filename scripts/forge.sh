#!/usr/bin/env bash
# Runs the pinned forge from node_modules (installed by scripts/install-toolchain.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/foundry-bin.sh"
bin="$(foundry_bin forge)"
# contracts/foundry.toml names the solc wrapper by a path relative to contracts/, which
# forge resolves against the working directory; an absolute path works from anywhere
# (e.g. `scripts/forge.sh test --root contracts` from the repository root).
export FOUNDRY_SOLC="${FOUNDRY_SOLC:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/solc.js}"
exec "$bin" "$@"

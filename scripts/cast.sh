#!/usr/bin/env bash
# Runs the pinned cast from node_modules (installed by scripts/install-toolchain.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/foundry-bin.sh"
bin="$(foundry_bin cast)"
exec "$bin" "$@"

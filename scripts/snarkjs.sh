#!/usr/bin/env bash
# Runs the pinned snarkjs from node_modules (installed by scripts/install-toolchain.sh):
# the ceremony's interoperability tests and docs/ceremony.md call it through here.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cli="$root/node_modules/snarkjs/build/cli.cjs"
if [ ! -f "$cli" ]; then
  echo "snarkjs.sh: $cli is missing; run scripts/install-toolchain.sh" >&2
  exit 1
fi
exec node "$cli" "$@"

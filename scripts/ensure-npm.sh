#!/usr/bin/env bash
# Runs scripts/install-toolchain.sh (npm ci) when node_modules does not
# match package-lock.json; otherwise does nothing. For the scripts that
# need the npm packages (the web app's build and tests).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

stamp="node_modules/.shareproof-lock.sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -d node_modules/esbuild ]; then
  scripts/install-toolchain.sh
fi

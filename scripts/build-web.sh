#!/usr/bin/env bash
# Builds the web app (web/src) into web/dist, the bundle the node embeds.
# Installs the npm toolchain first when node_modules does not match
# package-lock.json (scripts/install-toolchain.sh: npm ci). Commit web/dist
# after changing web/src or the lockfile; scripts/check-web.sh checks it.
#
#   scripts/build-web.sh [OUTDIR]     # default web/dist
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

stamp="node_modules/.shareproof-lock.sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -d node_modules/esbuild ]; then
  scripts/install-toolchain.sh
fi

node web/build.mjs "$@"

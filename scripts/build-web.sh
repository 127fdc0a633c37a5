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

scripts/ensure-npm.sh

node web/build.mjs "$@"

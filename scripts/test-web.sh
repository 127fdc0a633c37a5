#!/usr/bin/env bash
# The web app's tests that need no devnet: the pure modules against the
# repository's vectors (node --test web/test), then the committed bundle
# against its sources (scripts/check-web.sh). The browser test against a
# devnet is tests/web/e2e.mjs, run by the Rust end-to-end tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/ensure-npm.sh

echo "== web: unit tests (node --test web/test)"
node --test web/test/
echo "== web: web/dist matches web/src"
scripts/check-web.sh

#!/usr/bin/env bash
# Checks that the committed web/dist is what web/src and the lockfile build:
# builds into a temporary directory and compares byte for byte.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
scripts/build-web.sh "$tmp/dist" >/dev/null
if ! diff -r "$tmp/dist" web/dist >"$tmp/diff" 2>&1; then
  echo "check-web: web/dist is stale: run scripts/build-web.sh and commit web/dist" >&2
  head -n 20 "$tmp/diff" >&2
  exit 1
fi
echo "check-web: web/dist matches web/src"

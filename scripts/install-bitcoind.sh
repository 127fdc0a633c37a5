#!/usr/bin/env bash
# Builds Bitcoin Core's bitcoind and bitcoin-cli from the source that the
# crates.io package libbitcoinkernel-sys vendors (no registry here ships a
# bitcoind binary), and caches them outside the repository, keyed by the
# crate's version: a second run costs nothing.
#
#   scripts/install-bitcoind.sh          # build if missing, print the bin dir
#
# The binaries land in $SHAREPROOF_CACHE/bitcoind-<version>/bin (default
# cache: ~/.cache/shareproof). The tests find them there; to use your own
# Bitcoin Core instead, set SHAREPROOF_BITCOIND=/path/to/bitcoind (and
# SHAREPROOF_BITCOIN_CLI for bitcoin-cli) and skip this script.
#
# The last line printed on stdout is the directory holding the binaries.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The pinned source: libbitcoinkernel-sys 0.4.1 vendors Bitcoin Core v31.99.
crate="libbitcoinkernel-sys"
version="0.4.1"
cache="${SHAREPROOF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shareproof}"
prefix="$cache/bitcoind-$version"
bin="$prefix/bin"

log() { printf 'install-bitcoind: %s\n' "$*" >&2; }

if [ -x "$bin/bitcoind" ] && [ -x "$bin/bitcoin-cli" ] \
  && "$bin/bitcoind" -version >/dev/null 2>&1; then
  log "cached: $("$bin/bitcoind" -version | head -n1) in $bin"
  echo "$bin"
  exit 0
fi

# Build dependencies (Debian): a C++20 compiler, CMake, pkg-config, libevent
# and Boost's headers. The wallet, ZMQ, IPC, GUI and tests are off.
need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v g++ >/dev/null 2>&1 || need+=(g++)
pkg-config --exists libevent 2>/dev/null || need+=(libevent-dev)
[ -d /usr/include/boost/multi_index ] || need+=(libboost-dev)
if [ "${#need[@]}" -gt 0 ]; then
  log "installing ${need[*]} with apt"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

work="$cache/bitcoind-$version-build"
rm -rf "$work"
mkdir -p "$work"

# Fetch the crate through cargo (crates.io's own checksum is verified) with
# a throwaway manifest that only depends on it; nothing is compiled.
log "fetching $crate $version with cargo"
mkdir -p "$work/fetch/src"
cat >"$work/fetch/Cargo.toml" <<EOF
[package]
name = "fetch-bitcoin-core-source"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
$crate = "=$version"
EOF
: >"$work/fetch/src/lib.rs"
cargo fetch --quiet --manifest-path "$work/fetch/Cargo.toml"
src=""
for dir in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$crate-$version"; do
  [ -f "$dir/bitcoin/src/bitcoind.cpp" ] && src="$dir/bitcoin"
done
if [ -z "$src" ]; then
  log "cargo fetched $crate $version but its bitcoin/ source is not in ${CARGO_HOME:-$HOME/.cargo}/registry/src"
  exit 1
fi
log "source: $src"

jobs="${BITCOIND_BUILD_JOBS:-$(nproc)}"
start=$(date +%s)
log "configuring (Release; daemon and cli only)"
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_DAEMON=ON -DBUILD_CLI=ON \
  -DBUILD_BITCOIN_BIN=OFF -DBUILD_GUI=OFF -DBUILD_TESTS=OFF -DBUILD_TX=OFF \
  -DBUILD_UTIL=OFF -DBUILD_BENCH=OFF -DBUILD_FUZZ_BINARY=OFF \
  -DBUILD_KERNEL_LIB=OFF -DBUILD_UTIL_CHAINSTATE=OFF \
  -DENABLE_WALLET=OFF -DENABLE_EXTERNAL_SIGNER=OFF -DWITH_ZMQ=OFF \
  -DENABLE_IPC=OFF -DWITH_EMBEDDED_ASMAP=OFF -DWITH_USDT=OFF \
  -DWITH_CCACHE=OFF -DINSTALL_MAN=OFF >"$work/configure.log" 2>&1 || {
  tail -n 40 "$work/configure.log" >&2
  log "cmake configure failed (full log: $work/configure.log)"
  exit 1
}
log "building bitcoind and bitcoin-cli with $jobs jobs (about 15 min on 2 cores)"
cmake --build "$work/build" --target bitcoind bitcoin-cli -j "$jobs" >"$work/build.log" 2>&1 || {
  tail -n 40 "$work/build.log" >&2
  log "build failed (full log: $work/build.log)"
  exit 1
}
mkdir -p "$bin.tmp"
cp "$work/build/bin/bitcoind" "$work/build/bin/bitcoin-cli" "$bin.tmp/"
strip "$bin.tmp/bitcoind" "$bin.tmp/bitcoin-cli" 2>/dev/null || true
rm -rf "$bin"
mv "$bin.tmp" "$bin"
rm -rf "$work"
log "built $("$bin/bitcoind" -version | head -n1) in $(($(date +%s) - start)) s: $bin"
echo "$bin"

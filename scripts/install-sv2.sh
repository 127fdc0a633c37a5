#!/usr/bin/env bash
# Installs the Stratum V2 reference implementation's roles that the tests
# run as real clients of the node's V2 server: the translator proxy
# (`translator_sv2`, V1 miners in front, V2 upstream) and the test mining
# device (`mining_device` from `integration_tests_sv2`, a standard channel),
# built from crates.io at pinned versions and cached outside the
# repository, keyed by version: a second run costs nothing.
#
#   scripts/install-sv2.sh          # build if missing, print the bin dir
#
# The binaries land in $SHAREPROOF_CACHE/sv2-<version>/bin (default cache:
# ~/.cache/shareproof). The mining device's crate compiles Bitcoin Core's
# Cap'n Proto schemas, so Debian's capnproto and libcapnp-dev are installed
# with apt when missing.
#
# The last line printed on stdout is the directory holding the binaries.
set -euo pipefail

translator_version="0.6.0"
device_version="0.6.0"
version="tproxy-$translator_version-device-$device_version"
cache="${SHAREPROOF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shareproof}"
prefix="$cache/sv2-$version"
bin="$prefix/bin"

log() { printf 'install-sv2: %s\n' "$*" >&2; }

if [ -x "$bin/translator_sv2" ] && [ -x "$bin/mining_device" ] \
  && "$bin/translator_sv2" --version >/dev/null 2>&1; then
  log "cached: $("$bin/translator_sv2" --version) and mining_device in $bin"
  echo "$bin"
  exit 0
fi

need=()
command -v capnp >/dev/null 2>&1 || need+=(capnproto)
[ -f /usr/include/capnp/c++.capnp ] || need+=(libcapnp-dev)
if [ "${#need[@]}" -gt 0 ]; then
  log "installing ${need[*]} with apt"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

work="$cache/sv2-$version-build"
mkdir -p "$work"
# One target directory for both: they share most of the reference crates.
log "building translator_sv2 $translator_version (without its monitoring server)"
cargo install --locked --quiet translator_sv2 --version "$translator_version" \
  --no-default-features --root "$prefix" --target-dir "$work"
log "building mining_device from integration_tests_sv2 $device_version"
cargo install --locked --quiet integration_tests_sv2 --version "$device_version" \
  --bin mining_device --root "$prefix" --target-dir "$work"
rm -rf "$work"
log "installed in $bin"
echo "$bin"

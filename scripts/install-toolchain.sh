#!/usr/bin/env bash
# Installs the contracts toolchain pinned in package.json / package-lock.json:
# Foundry (forge, anvil, cast) and solc (solcjs) from npm, OpenZeppelin
# Contracts and forge-std. Idempotent: a second run with an unchanged lockfile
# only re-checks that the binaries run. Needs Node.js >= 18 and npm; installs
# them with apt when missing (as root, or through sudo).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log() { printf 'install-toolchain: %s\n' "$*" >&2; }

ensure_node() {
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    return
  fi
  log "node/npm not found, installing Debian's nodejs and npm"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
}

check_node_version() {
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$major" -lt 18 ]; then
    log "Node.js >= 18 is required, found $(node --version)"
    exit 1
  fi
}

ensure_node
check_node_version

# The Foundry binaries are optional dependencies (one package per platform), and npm drops an
# optional dependency whose download fails without failing the install: check that they are
# there, and install again when one is missing.
foundry_present() {
  local tool
  for tool in forge anvil cast; do
    [ -x "node_modules/@foundry-rs/$tool-linux-amd64/bin/$tool" ] || return 1
  done
}

# npm ci wipes node_modules; skip it when the installed tree matches the lockfile.
stamp="node_modules/.shareproof-lock.sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && foundry_present; then
  log "node_modules matches package-lock.json, skipping npm ci"
else
  for attempt in 1 2 3; do
    log "npm ci (package-lock.json $want), attempt $attempt of 3"
    # --ignore-scripts: the Foundry packages' postinstall hooks would only
    # re-download the platform binaries that npm already installed as optional
    # dependencies; scripts/{forge,anvil,cast}.sh call those binaries directly.
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    if foundry_present; then
      break
    fi
    log "npm left out a Foundry binary (a failed optional download)"
    sleep $((attempt * 5))
  done
  printf '%s\n' "$want" >"$stamp"
fi

for tool in forge anvil cast; do
  if ! version="$("scripts/$tool.sh" --version 2>&1 | head -n1)"; then
    log "$tool does not run: $version"
    exit 1
  fi
  log "$version"
done
if ! version="$(scripts/solc.js --version | tail -n1)"; then
  log "scripts/solc.js does not run"
  exit 1
fi
log "solc $version"

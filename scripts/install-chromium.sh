#!/usr/bin/env bash
# Installs the headless browser the web app's tests drive: Debian's
# `chromium` package (the npm driver uses this system browser; nothing
# downloads one). Skipped when SHAREPROOF_CHROMIUM names your own binary or
# one is on PATH. Prints the binary's path.
set -euo pipefail

if [ -n "${SHAREPROOF_CHROMIUM:-}" ]; then
  echo "$SHAREPROOF_CHROMIUM"
  exit 0
fi
if ! command -v chromium >/dev/null 2>&1; then
  echo "install-chromium: installing chromium with apt" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
command -v chromium

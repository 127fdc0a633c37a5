#!/usr/bin/env bash
# Installs the NATS server (JetStream) that the scale-out tests start:
# Debian's `nats-server` package. Skipped when SHAREPROOF_NATS_SERVER names
# your own binary or one is on PATH. Prints the binary's path.
set -euo pipefail

if [ -n "${SHAREPROOF_NATS_SERVER:-}" ]; then
  echo "$SHAREPROOF_NATS_SERVER"
  exit 0
fi
if ! command -v nats-server >/dev/null 2>&1; then
  echo "install-nats: installing nats-server with apt" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nats-server >/dev/null
fi
command -v nats-server

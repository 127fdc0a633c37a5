#!/usr/bin/env bash
# Times the ceremony's phase-2 steps for N slots, ours against snarkjs's on
# the same files on the same machine: the initial key, one contribution and
# the verification of the chain. Wall time and peak memory come from
# /usr/bin/time -v. Needs a phase-1 file prepared for phase 2 whose power
# covers the circuit's domain (`circuits count --slots N`; docs/ceremony.md).
#
#   PTAU=powersOfTau28_hez_final_19.ptau SLOTS=1024 scripts/bench-ceremony.sh
#
# Without PTAU it makes one of the power the domain needs with the
# benchmark-only `known_tau` example (INSECURE: its secrets come from a
# fixed seed; never use its keys) in PTAU_DIR (default: the work
# directory), or reuses the one there. CONTRIBUTE_ONLY=1 times only the
# contributions, on an initial key that `known_tau zkey` makes in minutes
# (the same bytes `ceremony new` makes in hours at N = 2^14 on two cores),
# and needs no ptau.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
slots="${SLOTS:-1024}"
work="${BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$work"
target="${CARGO_TARGET_DIR:-$root/target}/release"
circuits="$target/circuits"
snarkjs="$root/scripts/snarkjs.sh"
# snarkjs keeps large keys on node's heap.
export NODE_OPTIONS="${NODE_OPTIONS:---max-old-space-size=20000}"

(cd "$root" && cargo build --release -q -p circuits --bin circuits --example known_tau)
known_tau="$target/examples/known_tau"
if [ -z "${PTAU:-}" ] && [ -z "${CONTRIBUTE_ONLY:-}" ]; then
  # The domain's power, one more past 2^14 (docs/ceremony.md).
  domain="$("$circuits" count --slots "$slots" 2>/dev/null | awk -F': ' '/"domain"/ {print $2+0}')"
  power=0
  while [ $((1 << power)) -lt "$domain" ]; do power=$((power + 1)); done
  if [ "$power" -gt 14 ]; then power=$((power + 1)); fi
  PTAU="${PTAU_DIR:-$work}/known-tau-$power.ptau"
  if [ ! -f "$PTAU" ]; then
    echo "making $PTAU (INSECURE known tau, benchmark only)"
    "$known_tau" ptau --power "$power" --out "$PTAU.part"
    mv "$PTAU.part" "$PTAU"
  fi
fi
cd "$work"

timed() {
  local label="$1"
  shift
  /usr/bin/time -v "$@" >"$label.out" 2>"$label.time" || {
    cat "$label.out" "$label.time" >&2
    exit 1
  }
  local wall rss
  wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$label.time")"
  rss="$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$label.time")"
  printf '%-28s %12s %10s MiB\n' "$label" "$wall" "$rss"
}

if [ -n "${CONTRIBUTE_ONLY:-}" ]; then
  printf 'N = %s, initial key from known tau (INSECURE)\n%-28s %12s %14s\n' "$slots" step wall peak
  timed "known tau: initial key" "$known_tau" zkey --slots "$slots" --out ours_0.zkey
else
  ptau="$(cd "$(dirname "$PTAU")" && pwd)/$(basename "$PTAU")"
  "$circuits" r1cs --slots "$slots" --out circuit.r1cs 2>/dev/null
  printf 'N = %s, ptau %s\n%-28s %12s %14s\n' "$slots" "$ptau" step wall peak
  timed "ours: new" "$circuits" ceremony new --ptau "$ptau" --slots "$slots" --out ours_0.zkey
  timed "snarkjs: zkey new" "$snarkjs" zkey new circuit.r1cs "$ptau" snarkjs_0.zkey
  cmp -s ours_0.zkey snarkjs_0.zkey && echo "(initial keys identical)"
fi
timed "ours: contribute" "$circuits" ceremony contribute --in ours_0.zkey --out ours_1.zkey --name bench
timed "snarkjs: zkey contribute" "$snarkjs" zkey contribute ours_0.zkey snarkjs_1.zkey --name=bench -e=bench
if [ -z "${CONTRIBUTE_ONLY:-}" ]; then
  timed "ours: verify" "$circuits" ceremony verify --ptau "$ptau" --zkey ours_1.zkey
  timed "snarkjs: zkey verify" "$snarkjs" zkey verify circuit.r1cs "$ptau" ours_1.zkey
fi
echo "files in $work"

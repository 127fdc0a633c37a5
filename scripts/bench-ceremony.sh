#!/usr/bin/env bash
# Times the ceremony's phase-2 steps for N slots, ours against snarkjs's on
# the same files on the same machine: the initial key, one contribution and
# the verification of the chain. Wall time and peak memory come from
# /usr/bin/time -v. Needs a phase-1 file prepared for phase 2 whose power
# covers the circuit's domain (`circuits count --slots N`; docs/ceremony.md).
#
#   PTAU=pot18.ptau SLOTS=1024 scripts/bench-ceremony.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${PTAU:?set PTAU to a prepared .ptau}"
slots="${SLOTS:-1024}"
work="${BENCH_DIR:-$(mktemp -d)}"
ptau="$(cd "$(dirname "$PTAU")" && pwd)/$(basename "$PTAU")"
circuits="${CARGO_TARGET_DIR:-$root/target}/release/circuits"
snarkjs="$root/scripts/snarkjs.sh"

(cd "$root" && cargo build --release -q -p circuits)
cd "$work"
"$circuits" r1cs --slots "$slots" --out circuit.r1cs 2>/dev/null

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

printf 'N = %s, ptau %s\n%-28s %12s %14s\n' "$slots" "$ptau" step wall peak
timed "ours: new" "$circuits" ceremony new --ptau "$ptau" --slots "$slots" --out ours_0.zkey
timed "snarkjs: zkey new" "$snarkjs" zkey new circuit.r1cs "$ptau" snarkjs_0.zkey
cmp -s ours_0.zkey snarkjs_0.zkey && echo "(initial keys identical)"
timed "ours: contribute" "$circuits" ceremony contribute --in ours_0.zkey --out ours_1.zkey --name bench
timed "snarkjs: zkey contribute" "$snarkjs" zkey contribute snarkjs_0.zkey snarkjs_1.zkey --name=bench -e=bench
timed "ours: verify" "$circuits" ceremony verify --ptau "$ptau" --zkey ours_1.zkey
timed "snarkjs: zkey verify" "$snarkjs" zkey verify circuit.r1cs "$ptau" ours_1.zkey
echo "files in $work"

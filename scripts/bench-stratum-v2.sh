#!/usr/bin/env bash
# Stratum V2 against V1, side by side on one node in one run
# (docs/stratum-v2.md):
#   - accepted shares per second through V2 (Noise, framing, validation,
#     durable log) and through V1, the same load generator offering the
#     same rate, one protocol after the other; and bytes on the wire per share;
#   - new tip to the last job message written: mining.notify to IDLE V1
#     connections and the V2 job + SetNewPrevHash to IDLE V2 channels, both
#     held at once; bytes on the wire per job.
# Everything runs on this machine.
#
# Usage: scripts/bench-stratum-v2.sh   (env: RATE, SECS, CONNS, IDLE)
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-60000}   # shares/s offered: about what one node on 2 cores takes (saturation)
SECS=${SECS:-10}
CONNS=${CONNS:-50}
IDLE=${IDLE:-10000}   # idle connections per protocol for the fan-out run

cargo build -q --release -p shareproof
BIN=${CARGO_TARGET_DIR:-target}/release/shareproof
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "nothing on port $1" >&2; exit 1; }

# Difficulties that make every hash a share and keep vardiff from raising them.
DIFF=(--min-difficulty 1e-12 --start-difficulty 1e-12 --max-difficulty 1e-12 --max-invalid-per-minute 1000000)

# start_node NAME [extra...]: a node with both listeners; sets V1, V2, API, KEY.
start_node() {
  local name=$1
  shift
  V1=$(port); V2=$(port); API=$(port)
  "$BIN" node --data-dir "$WORK/$name" --stratum-listen "127.0.0.1:$V1" --stratum-v2-listen "127.0.0.1:$V2" \
    --api-listen "127.0.0.1:$API" --chain-nbits 1d00ffff "${DIFF[@]}" "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  wait_port "$V1"
  wait_port "$V2"
  KEY=$(sed -n 's/^public = "\(.*\)"$/\1/p' "$WORK/$name/authority-key.toml")
}
stop_all() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
}

echo "one node, one load generator with $CONNS connections offering $RATE shares/s, ${SECS}s per protocol; all on this machine"
echo
echo "| protocol | accepted shares/s | p50 ms | p99 ms | bytes per share (client to pool) |"
echo "| --- | --- | --- | --- | --- |"
start_node throughput
"$BIN" loadgen --url "stratum+tcp://127.0.0.1:$V1" --connections "$CONNS" --rate "$RATE" \
  --duration "$SECS" --difficulty 1e-12 >"$WORK/v1" 2>/dev/null
"$BIN" loadgen --url "stratum2+tcp://127.0.0.1:$V2" --authority-key "$KEY" --connections "$CONNS" \
  --rate "$RATE" --duration "$SECS" --difficulty 1e-12 >"$WORK/v2" 2>/dev/null
stop_all
python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
r = {p: json.load(open(f"{w}/{p}")) for p in ("v1", "v2")}
for p in ("v1", "v2"):
    x = r[p]
    print(f"| {p.upper()} | {x['accepted_per_second']:,.0f} | {x['latency_us']['p50']/1e3:.2f} "
          f"| {x['latency_us']['p99']/1e3:.2f} | {x['bytes_per_share']:.1f} |")
print(f"\nV2 / V1 accepted shares per second: "
      f"{r['v2']['accepted_per_second'] / r['v1']['accepted_per_second']:.2f}")
PY

echo
echo "| fan-out, $IDLE idle per protocol held at once | notified | client: first to last receipt, ms | pool: minted to last written, ms | bytes per job (pool to client) |"
echo "| --- | --- | --- | --- | --- |"
start_node fanout --template-refresh-secs 2 --max-connections 200000
"$BIN" loadgen --url "stratum+tcp://127.0.0.1:$V1" --connections "$IDLE" --idle --duration 14 >"$WORK/idle-v1" 2>/dev/null &
p1=$!
"$BIN" loadgen --url "stratum2+tcp://127.0.0.1:$V2" --authority-key "$KEY" --connections "$IDLE" \
  --idle --duration 14 >"$WORK/idle-v2" 2>/dev/null &
p2=$!
sleep 12
curl -sf "http://127.0.0.1:$API/metrics" >"$WORK/metrics"
wait "$p1" "$p2"
stop_all
python3 - "$WORK" <<'PY'
import json, re, sys
w = sys.argv[1]
metrics = open(f"{w}/metrics").read()
def pool(name):
    m = re.search(name + r'\{[^}]*\} ([0-9.e+-]+)', metrics)
    return float(m.group(1)) * 1e3 if m else float("nan")
for p, metric in (("v1", "shareproof_notify_fanout_seconds"), ("v2", "shareproof_v2_fanout_seconds")):
    r = json.load(open(f"{w}/idle-{p}"))
    print(f"| {p.upper()} | {r['notified_connections']:,} | {r['notify_spread_us']/1e3:.1f} "
          f"| {pool(metric):.1f} | {r['bytes_per_job']:.0f} |")
PY

#!/usr/bin/env bash
# Scale-out figures, side by side in one run (docs/scale-out.md):
#   - accepted shares per second and submit-to-acknowledgement latency
#     through two edges and an accounting node over JetStream, R1 on one
#     NATS server and R3 on a three-server cluster, against the single
#     node, with the same load generators;
#   - notify fan-out (first to last receipt of one job, client side) on
#     IDLE idle connections of one edge against the single node.
# Everything runs on this machine: the figures compare the roles, they do
# not measure a cluster of machines.
#
# Usage: scripts/bench-scale-out.sh   (env: RATE, SECS, CONNS, IDLE)
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-8000}   # shares/s offered per load generator (two run at once)
SECS=${SECS:-10}
CONNS=${CONNS:-50}   # connections per load generator
IDLE=${IDLE:-10000}  # idle connections for the fan-out run

cargo build -q -p shareproof
BIN=target/debug/shareproof
NATS=${SHAREPROOF_NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}
[ -x "$NATS" ] || { echo "nats-server not found: run scripts/install-nats.sh" >&2; exit 1; }
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
wait_job() { for _ in $(seq 200); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.1; done; echo "no job on the API at $1" >&2; exit 1; }

# Difficulties that make every hash a share and keep vardiff from raising them.
DIFF=(--min-difficulty 1e-12 --start-difficulty 1e-12 --max-difficulty 1e-12 --max-invalid-per-minute 1000000)

# nats_servers N: starts N servers (one cluster when N > 1); sets URLS.
nats_servers() {
  local n=$1 urls=() routes=() ports=() cports=()
  for i in $(seq "$n"); do ports+=("$(port)"); cports+=("$(port)"); done
  for i in $(seq 0 $((n - 1))); do routes+=("nats://127.0.0.1:${cports[$i]}"); done
  for i in $(seq 0 $((n - 1))); do
    local cluster=()
    if [ "$n" -gt 1 ]; then
      cluster=(--server_name "n$i" --cluster_name bench --cluster "nats://127.0.0.1:${cports[$i]}" --routes "$(IFS=,; echo "${routes[*]}")")
    fi
    "$NATS" -js -a 127.0.0.1 -p "${ports[$i]}" -sd "$WORK/nats-$n-$i" "${cluster[@]}" >/dev/null 2>&1 &
    PIDS+=($!)
    urls+=("nats://127.0.0.1:${ports[$i]}")
  done
  for p in "${ports[@]}"; do wait_port "$p"; done
  URLS=$(IFS=,; echo "${urls[*]}")
}

# loadgens OUT URL1 URL2 [extra...]: two load generators at once; their JSON reports in OUT-1, OUT-2.
loadgens() {
  local out=$1 a=$2 b=$3; shift 3
  "$BIN" loadgen --url "stratum+tcp://$a" --connections "$CONNS" --rate "$RATE" --duration "$SECS" "$@" >"$out-1" 2>/dev/null &
  local p1=$!
  "$BIN" loadgen --url "stratum+tcp://$b" --connections "$CONNS" --rate "$RATE" --duration "$SECS" "$@" >"$out-2" 2>/dev/null &
  local p2=$!
  wait "$p1" "$p2"
}

# summary NAME OUT: one table row from two loadgen reports.
summary() {
  python3 - "$1" "$2-1" "$2-2" <<'EOF'
import json, sys
name, a, b = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
rate = a["accepted_per_second"] + b["accepted_per_second"]
lat = lambda k: max(a["latency_us"].get(k, 0), b["latency_us"].get(k, 0))
print(f"| {name} | {rate:,.0f} | {lat('p50')/1e3:.2f} | {lat('p99')/1e3:.2f} | {lat('p99.9')/1e3:.2f} |")
open(sys.argv[2] + ".rate", "w").write(str(rate))
EOF
}

single_node() {
  local s api
  s=$(port); api=$(port)
  "$BIN" node --stratum-listen "127.0.0.1:$s" --stratum-v2-listen off --api-listen "127.0.0.1:$api" --data-dir "$WORK/single-$1" \
    --window-log2 12 --chain-nbits 1e00ffff "${DIFF[@]}" "${@:2}" >/dev/null 2>&1 &
  PIDS+=($!); NODE_PID=$!
  wait_port "$s"; wait_job "$api"
  STRATUM=$s
}

# scaled REPLICAS TAG: an accounting node and two edges on URLS; sets E1, E2.
scaled() {
  local replicas=$1 tag=$2 api e1 e2
  api=$(port); e1=$(port); e2=$(port)
  local bus=(--nats "$URLS" --replicas "$replicas" --stream "BENCH$tag")
  "$BIN" accounting --api-listen "127.0.0.1:$api" --data-dir "$WORK/acc-$tag" --window-log2 12 \
    --chain-nbits 1e00ffff "${DIFF[@]}" "${bus[@]}" "${@:3}" >/dev/null 2>&1 &
  PIDS+=($!)
  wait_job "$api"
  "$BIN" edge --edge-id 1 --stratum-listen "127.0.0.1:$e1" --stratum-v2-listen off --api-listen 127.0.0.1:0 "${DIFF[@]}" "${bus[@]}" >/dev/null 2>&1 &
  PIDS+=($!); EDGE_PID=$!
  "$BIN" edge --edge-id 2 --stratum-listen "127.0.0.1:$e2" --stratum-v2-listen off --api-listen 127.0.0.1:0 "${DIFF[@]}" "${bus[@]}" >/dev/null 2>&1 &
  PIDS+=($!)
  wait_port "$e1"; wait_port "$e2"
  E1=$e1; E2=$e2; ACC_API=$api
}

stop_all() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
}

echo "two load generators, $CONNS connections and $RATE shares/s offered each, ${SECS}s; all roles on this machine"
echo
echo "| setup | accepted shares/s | p50 ms | p99 ms | p99.9 ms |"
echo "| --- | --- | --- | --- | --- |"

single_node a
loadgens "$WORK/single" "127.0.0.1:$STRATUM" "127.0.0.1:$STRATUM"
summary "single node" "$WORK/single"
stop_all

nats_servers 1
scaled 1 r1
loadgens "$WORK/r1" "127.0.0.1:$E1" "127.0.0.1:$E2"
summary "2 edges + accounting, JetStream R1" "$WORK/r1"
stop_all

nats_servers 3
sleep 3 # the cluster elects its JetStream meta leader
scaled 3 r3
loadgens "$WORK/r3" "127.0.0.1:$E1" "127.0.0.1:$E2"
summary "2 edges + accounting, JetStream R3 (3 servers)" "$WORK/r3"
stop_all

python3 - "$WORK" <<'EOF'
import sys
w = sys.argv[1]
single = float(open(f"{w}/single-1.rate").read())
for tag, name in (("r1", "R1"), ("r3", "R3")):
    r = float(open(f"{w}/{tag}-1.rate").read())
    print(f"\nthroughput {name} / single node: {r / single:.2f}", end="")
print()
EOF

# Fan-out: IDLE idle connections; a template refresh every 2 s makes a new job.
echo
echo "| notify fan-out, $IDLE idle connections | connections notified | first to last receipt, ms |"
echo "| --- | --- | --- |"
fanout() {
  local name=$1 addr=$2 out=$WORK/idle-$1
  "$BIN" loadgen --url "stratum+tcp://$addr" --connections "$IDLE" --idle --duration 12 >"$out" 2>/dev/null
  python3 - "$name" "$out" <<'EOF'
import json, sys
r = json.load(open(sys.argv[2]))
print(f"| {sys.argv[1]} | {r['notified_connections']:,} | {r['notify_spread_us']/1e3:.1f} |")
EOF
}
single_node b --template-refresh-secs 2 --max-connections 200000
fanout "single node" "127.0.0.1:$STRATUM"
stop_all
nats_servers 1
scaled 1 fan --template-refresh-secs 2
fanout "edge (jobs over NATS)" "127.0.0.1:$E1"
stop_all

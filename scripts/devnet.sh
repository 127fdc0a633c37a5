#!/usr/bin/env bash
# One-command devnet: installs what is missing, builds, starts anvil, makes
# fresh dev keys, runs the node on the embedded regtest chain with settlement
# on, starts three built-in miners for three payout addresses, deploys the
# contracts checkpointed at the node's chain tip, and shows blocks found,
# proofs, settlements, balances and a claim. Keeps running until Ctrl-C.
#
#   scripts/devnet.sh                 # state under .devnet/ (wiped at each start)
#   DEVNET_DIR=/tmp/dn scripts/devnet.sh
#   DEVNET_PROFILE=debug scripts/devnet.sh    # skip the (long) release build
#   DEVNET_WINDOW_LOG2=10 scripts/devnet.sh   # a window of N = 2^10 shares
#   DEVNET_CEREMONY=3 scripts/devnet.sh       # keys from a 3-party ceremony
#
# The proving key is INSECURE (seeded), for devnets only: by default the
# N = 16 key whose verifier is committed (contracts/src/Groth16Verifier.sol);
# with DEVNET_WINDOW_LOG2 set, a key for N = 2^DEVNET_WINDOW_LOG2 made here
# (`circuits setup`, with progress), whose verifier is exported, compiled
# with solcjs and deployed in place of the committed one.
#
# With DEVNET_CEREMONY=K, the key comes from a ceremony instead
# (docs/ceremony.md): snarkjs makes a small phase 1 on the spot, K
# participants contribute in turn (`circuits ceremony contribute`), a beacon
# closes the chain, `circuits ceremony verify` checks it and `finalize`
# writes the key directory and the verifier that is deployed. A phase 1 made
# on the spot by one machine is itself a devnet toy: production downloads a
# public one.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

dir="${DEVNET_DIR:-$root/.devnet}"
rpc_port="${DEVNET_RPC_PORT:-8545}"
api="127.0.0.1:${DEVNET_API_PORT:-8080}"
stratum="127.0.0.1:${DEVNET_STRATUM_PORT:-3333}"
rpc="http://127.0.0.1:$rpc_port"
log() { printf '\033[1mdevnet:\033[0m %s\n' "$*"; }

scripts/install.sh
profile="${DEVNET_PROFILE:-release}"
log2="${DEVNET_WINDOW_LOG2:-4}"
slots=$((1 << log2))
log "building ($profile)"
if [ "$profile" = release ]; then
  cargo build --release -p shareproof -p circuits
else
  cargo build -p shareproof -p circuits
fi
bin="$root/target/$profile/shareproof"
cast="$root/scripts/cast.sh"

rm -rf "$dir"
mkdir -p "$dir"
chmod 700 "$dir"
pids=()
cleanup() {
  log "stopping"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

log "anvil on $rpc"
scripts/anvil.sh --port "$rpc_port" --silent &
pids+=($!)
for _ in $(seq 100); do "$cast" chain-id --rpc-url "$rpc" >/dev/null 2>&1 && break; sleep 0.1; done

# Fresh keys: a node/deployer key and one per miner, funded on anvil.
new_key() {
  local name="$1" out
  out="$("$cast" wallet new)"
  awk '/Private key:/ {print $3}' <<<"$out" >"$dir/$name.key"
  chmod 600 "$dir/$name.key"
  awk '/Address:/ {print $2}' <<<"$out"
}
node_addr="$(new_key node)"
"$cast" rpc --rpc-url "$rpc" anvil_setBalance "$node_addr" 0x3635C9ADC5DEA00000 >/dev/null
miners=()
for i in 1 2 3; do
  a="$(new_key "miner$i")"
  "$cast" rpc --rpc-url "$rpc" anvil_setBalance "$a" 0x3635C9ADC5DEA00000 >/dev/null
  miners+=("$a")
done
log "node key $node_addr; miners ${miners[*]}"

ceremony="${DEVNET_CEREMONY:-0}"
if [ "$ceremony" -gt 0 ]; then
  circuits="$root/target/$profile/circuits"
  snarkjs="$root/scripts/snarkjs.sh"
  power=$("$circuits" count --slots "$slots" | node -e '
    let s = ""; process.stdin.on("data", d => s += d).on("end", () =>
      console.log(Math.log2(JSON.parse(s).domain)));')
  c="$dir/ceremony"
  mkdir -p "$c"
  log "phase 1: a powers of tau of power $power made here by snarkjs (devnet only)"
  "$snarkjs" powersoftau new bn128 "$power" "$c/pot_0.ptau" >/dev/null
  "$snarkjs" powersoftau contribute "$c/pot_0.ptau" "$c/pot_1.ptau" --name=devnet \
    -e="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >/dev/null
  "$snarkjs" powersoftau prepare phase2 "$c/pot_1.ptau" "$c/pot.ptau" >/dev/null
  log "phase 2 for N = $slots: $ceremony participants and a beacon"
  "$circuits" ceremony new --ptau "$c/pot.ptau" --slots "$slots" --out "$c/0000.zkey"
  prev="$c/0000.zkey"
  for i in $(seq "$ceremony"); do
    next="$c/$(printf '%04d' "$i").zkey"
    "$circuits" ceremony contribute --in "$prev" --out "$next" --name "participant $i"
    prev="$next"
  done
  beacon="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  "$circuits" ceremony beacon --in "$prev" --out "$c/final.zkey" --beacon "$beacon" --iterations-exp 10
  "$circuits" ceremony verify --ptau "$c/pot.ptau" --zkey "$c/final.zkey"
  "$circuits" ceremony finalize --ptau "$c/pot.ptau" --zkey "$c/final.zkey" --out "$dir/keys"
  node scripts/compile-verifier.js "$dir/keys/Groth16Verifier.sol" "$dir/Groth16Verifier.bin"
  key_setting="proving_key_dir = \"$dir/keys\""
  verifier_args=(--verifier-bytecode "$dir/Groth16Verifier.bin" --window-size "$slots")
elif [ "$log2" = 4 ]; then
  key_setting='insecure_seed = "shareproof-devnet-16"'
  verifier_args=()
else
  log "making an INSECURE seeded proving key for N = $slots (devnets only)"
  "$root/target/$profile/circuits" setup --slots "$slots" \
    --insecure-seed "shareproof-devnet-${slots}" --out "$dir/keys"
  "$root/target/$profile/circuits" export-solidity --key "$dir/keys" >"$dir/Groth16Verifier.sol"
  node scripts/compile-verifier.js "$dir/Groth16Verifier.sol" "$dir/Groth16Verifier.bin"
  key_setting="proving_key_dir = \"$dir/keys\""
  verifier_args=(--verifier-bytecode "$dir/Groth16Verifier.bin" --window-size "$slots")
fi

cat >"$dir/node.toml" <<TOML
data_dir = "$dir/node"
[stratum]
listen = "$stratum"
[api]
listen = "$api"
[pool]
window_log2_slots = $log2
[chain]
nbits = "1d3fffff"
[vardiff]
target_share_secs = 2.0
start_difficulty = 0.0001
[settlement]
enabled = true
rpc_url = "$rpc"
deployment = "$dir/deployment.json"
key_file = "$dir/node.key"
$key_setting
deliver_peg_in = true
TOML

log "node (Stratum $stratum, web app and API http://$api/)"
"$bin" node --config "$dir/node.toml" >"$dir/node.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do curl -sf "http://$api/health" >/dev/null && break; sleep 0.2; done

for i in 1 2 3; do
  "$bin" mine --url "stratum+tcp://$stratum" --user "${miners[$((i - 1))]}.rig$i" --threads 1 \
    >"$dir/miner$i.log" 2>&1 &
  pids+=($!)
done

log "waiting for a first block (the light client's checkpoint)"
until curl -sf "http://$api/api/v1/chain/tip" | grep -q '"height":[1-9]'; do sleep 1; done
log "deploying the contracts"
"$bin" deploy-devnet --rpc-url "$rpc" --key-file "$dir/node.key" --node-api "http://$api" \
  --out "$dir/deployment.json" --confirmations 2 "${verifier_args[@]}" >"$dir/deploy.log"
cat "$dir/deployment.json"

summary() {
  curl -sf "http://$api/api/v1/blocks" | node -e '
    let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
      for (const b of JSON.parse(s).blocks.slice(-8)) {
        const t = b.settlement || { status: "found" };
        console.log(`  height ${b.height} ${b.hash.slice(0, 16)}… ${t.status}` +
          (t.prove_ms != null ? ` proof ${t.prove_ms} ms` : "") +
          (t.gas_used != null ? ` gas ${t.gas_used} tx ${t.tx_hash}` : "") +
          (t.error ? ` (${t.error})` : ""));
      }
    });'
}

claimed=0
while true; do
  sleep 10
  log "blocks:"
  summary || true
  if [ "$claimed" = 0 ] && curl -sf "http://$api/api/v1/blocks" | grep -q '"status":"settled"'; then
    for i in 1 2 3; do
      "$bin" balance --rpc-url "$rpc" --deployment "$dir/deployment.json" --address "${miners[$((i - 1))]}"
    done
    log "miner 1 claims with its own key"
    "$bin" claim --rpc-url "$rpc" --deployment "$dir/deployment.json" --key-file "$dir/miner1.key"
    pool="$(node -p 'require(process.argv[1]).settlementPool' "$dir/deployment.json")"
    log "any wallet can do the same; with cast, e.g. for miner 2 (after \`cast wallet import miner2 --private-key ...\`):"
    echo "  scripts/cast.sh send $pool 'claim()' --rpc-url $rpc --account miner2"
    echo "  scripts/cast.sh call $pool 'balanceOf(address)(uint256)' ${miners[1]} --rpc-url $rpc"
    log "or in a browser: http://$api/miner/${miners[1]} (connect a wallet on $rpc, chain id 31337, holding miner 2's key)"
    claimed=1
  fi
done

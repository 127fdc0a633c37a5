//! The EVM side of the end-to-end tests: anvil from npm on a free port
//! (killed on drop), its development keys, and polling with a deadline.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;

/// Anvil's development keys 0..=3 (mnemonic "test test ... junk"): 0 runs
/// the node and deploys (and is the fee recipient), 1..=3 are miners.
pub const KEYS: [&str; 4] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];

/// The seed of the committed verifier's key (N = 16).
pub const SEED: &str = "shareproof-devnet-16";

/// Anvil's development key `i` as a signer.
pub fn signer(i: usize) -> PrivateKeySigner {
    KEYS[i].parse().expect("anvil key")
}

/// Anvil on a free port, killed on drop.
pub struct Anvil {
    child: Child,
    /// Its RPC URL.
    pub url: String,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts anvil (`scripts/anvil.sh`) and waits until it listens.
pub async fn start_anvil() -> Anvil {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/anvil.sh");
    let child = Command::new(&script)
        .args(["--port", &port.to_string(), "--silent"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run scripts/install-toolchain.sh)",
                script.display()
            )
        });
    let anvil = Anvil {
        child,
        url: format!("http://127.0.0.1:{port}"),
        port,
    };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return anvil;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("anvil did not listen on {port}");
}

/// Waits up to `secs` for `f` to hold, polling.
pub async fn wait_for(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What every payout address (and the fee recipient) must hold after the
/// settlement of `blocks`: share-verifier's allocation over each block's
/// stored window snapshot, summed, in sats.
pub fn expected_balances(
    store: &shareproof_node::store::Store,
    blocks: &[bitcoin::BlockHash],
    fee_bps: u16,
    fee_recipient: alloy::primitives::Address,
) -> std::collections::BTreeMap<alloy::primitives::Address, u64> {
    use share_verifier::allocation::{allocate, FeeBps};
    let mut expected = std::collections::BTreeMap::new();
    for hash in blocks {
        let snapshot = store.block_snapshot(hash).unwrap().unwrap();
        let info = store.block(hash).unwrap().unwrap();
        let allocation = allocate(
            snapshot.entries.iter().map(|e| (e.address, e.weight)),
            info.reward,
            FeeBps::new(u32::from(fee_bps)).unwrap(),
        )
        .unwrap();
        for p in &allocation.payouts {
            *expected
                .entry(alloy::primitives::Address::from(p.address.0))
                .or_default() += p.amount.to_sat();
        }
        *expected.entry(fee_recipient).or_default() += allocation.fee_recipient_amount().to_sat();
    }
    expected
}

/// Deploys the contracts on `anvil` checkpointed at the embedded chain's
/// tip (see [`deploy_regtest`]) and writes the deployment to `path`, where
/// a node with settlement on waits for it.
pub async fn deploy_at_tip(
    anvil: &Anvil,
    chain: &shareproof_sources::embedded::EmbeddedSource,
    fee_bps: u16,
    verifier: Option<(alloy::primitives::Address, u64)>,
    path: &std::path::Path,
) -> shareproof_evm::Deployment {
    let (height, header) = chain.with_chain(|c| (c.height(), *c.header(c.height()).unwrap()));
    let deployment = deploy_regtest(anvil, &header, height, fee_bps, CONFIRMATIONS, verifier).await;
    deployment.write(path).unwrap();
    deployment
}

/// Deploys the contracts on `anvil` as a regtest devnet does (regtest
/// light-client rules checkpointed at `checkpoint`, key 0 as deployer and
/// fee recipient) with the committed seeded verifier for N = 16, or with
/// `verifier` (already deployed) for a key of another N.
pub async fn deploy_regtest(
    anvil: &Anvil,
    checkpoint: &bitcoin::block::Header,
    checkpoint_height: u32,
    fee_bps: u16,
    confirmations: u64,
    verifier: Option<(alloy::primitives::Address, u64)>,
) -> shareproof_evm::Deployment {
    use alloy::providers::ProviderBuilder;
    use shareproof_evm::contracts::regtest_pow_limit;
    use shareproof_evm::{deploy, DeployParams};
    let provider = ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(signer(0)))
        .connect_http(anvil.url.parse().expect("anvil's URL"));
    deploy(
        provider,
        &DeployParams {
            checkpoint_header: bitcoin::consensus::serialize(checkpoint)
                .try_into()
                .expect("80 bytes"),
            checkpoint_height: u64::from(checkpoint_height),
            pow_limit: regtest_pow_limit(),
            retarget_interval: 0,
            target_timespan: 0,
            settlement_script: hex::decode(shareproof_sources::coinbase::DEVNET_SETTLEMENT_SCRIPT)
                .expect("hex"),
            fee_recipient: signer(0).address(),
            fee_bps,
            confirmations,
            window_size: verifier.map_or(16, |(_, n)| n),
            verifier: verifier.map(|(a, _)| a),
            allow_insecure: false,
        },
    )
    .await
    .expect("deployment")
}

/// The settlement tests' pool fee, in basis points.
pub const FEE_BPS: u16 = 100;
/// Confirmations before settlement in the settlement tests.
pub const CONFIRMATIONS: u64 = 2;
/// About 2^22 hashes per block: a block every few seconds on a CI core.
pub const SETTLE_NBITS: &str = "1e03ffff";

/// A test node configuration that settles on `anvil` (an RPC URL) with key
/// 0 and the committed verifier's seeded key (N = 16), reading the
/// contracts from `deployment` or, when given, from the pool's address.
pub fn settling_config(
    dir: &std::path::Path,
    anvil: &str,
    deployment: &std::path::Path,
    pool: Option<alloy::primitives::Address>,
) -> shareproof_node::config::RawConfig {
    let mut raw = crate::test_config(dir);
    raw.pool.window_log2_slots = Some(4);
    raw.chain.nbits = Some(SETTLE_NBITS.into());
    raw.vardiff.start_difficulty = Some(1e-4);
    raw.vardiff.min_difficulty = Some(1e-6);
    // About one share per second per miner: a window of 16 spans a few blocks.
    raw.vardiff.target_share_secs = Some(1.0);
    let key = dir.join("node.key");
    std::fs::write(&key, KEYS[0]).unwrap();
    let s = &mut raw.settlement;
    s.enabled = Some(true);
    s.rpc_url = Some(anvil.to_owned());
    match pool {
        Some(pool) => s.settlement_pool = Some(pool.to_string()),
        None => s.deployment = Some(deployment.to_owned()),
    }
    s.key_file = Some(key);
    s.insecure_seed = Some(SEED.into());
    s.poll_ms = Some(200);
    s.deliver_peg_in = Some(true);
    raw
}

/// Three built-in miners paying keys 1..=3, one thread each, with
/// different share difficulties; miner `i` mines on `stratum[(i - 1) % len]`
/// over Stratum V1, except miner 3, which mines over Stratum V2 when `v2`
/// names a V2 server.
pub fn start_miners(
    stratum: &[std::net::SocketAddr],
    v2: Option<shareproof_node::V2Endpoint>,
    stop: &tokio_util::sync::CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    use shareproof_miner::cpu::{self as miner, MinerConfig};
    (1..=3)
        .map(|i| {
            let (url, authority_key) = match v2 {
                Some(v2) if i == 3 => (
                    format!("stratum2+tcp://{}", v2.addr),
                    Some(v2.authority.to_string()),
                ),
                _ => (
                    format!("stratum+tcp://{}", stratum[(i - 1) % stratum.len()]),
                    None,
                ),
            };
            let config = MinerConfig {
                url,
                authority_key,
                user: format!("{}.rig{i}", signer(i).address()),
                threads: 1,
                version_rolling: i == 2,
                duration: Some(Duration::from_secs(600)),
                suggest_difficulty: Some(1e-4 * i as f64),
            };
            let stop = stop.clone();
            tokio::spawn(async move {
                let _ = miner::run(config, stop).await;
            })
        })
        .collect()
}

/// Stops the miners and waits for them.
pub async fn stop_miners(
    stop: tokio_util::sync::CancellationToken,
    miners: Vec<tokio::task::JoinHandle<()>>,
) {
    stop.cancel();
    for m in miners {
        let _ = m.await;
    }
}

/// Blocks above the checkpoint, with their settlement status.
pub fn statuses(
    store: &shareproof_node::store::Store,
    checkpoint: u64,
) -> Vec<(
    bitcoin::BlockHash,
    u32,
    shareproof_node::store::SettlementStatus,
)> {
    store
        .blocks()
        .unwrap()
        .into_iter()
        .filter(|b| u64::from(b.height) > checkpoint)
        .map(|b| (b.hash, b.height, store.settlement(&b.hash).unwrap().status))
        .collect()
}

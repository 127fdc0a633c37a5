//! Every window settles (issue "Every window settles"): a window of N = 64
//! slots holding 40 distinct payout addresses — three built-in miners and a
//! client that submits one minimum-difficulty share under each of 37 fresh
//! addresses, as the attacker of the issue would — is proven and settled on
//! a real anvil with a verifier generated for the N = 64 key; lists longer
//! than 16 payees go through the paged flow (`openSettlement`,
//! `checkPayees`, `creditPayees`). Every block settles, every address holds
//! exactly share-verifier's allocation, and each miner claims everything
//! with one transaction.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use serde_json::Value;
use shareproof_evm::EvmClient;
use shareproof_miner::cpu::{self as miner, MinerConfig};
use shareproof_node::config::RawConfig;
use shareproof_node::store::{SettlementStatus, Store};
use shareproof_node::RunningNode;
use shareproof_tests::evm::{
    deploy_at_tip, expected_balances, signer, start_anvil, wait_for, KEYS,
};
use shareproof_tests::{subscribe, test_config};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const FEE_BPS: u16 = 150;
/// About 2^23 hashes per block: a block every few seconds, several within one window.
const NBITS: &str = "1e01ffff";
const LOG2_SLOTS: u32 = 6;
const SEED: &str = "shareproof-devnet-64";
const ATTACKERS: usize = 37;
/// Small pages so that a 40-address list takes the paged flow.
const PAGE_RECORDS: usize = 16;

/// The seeded N = 64 key (as a devnet makes it) and its verifier's creation
/// bytecode, compiled from `export::solidity_verifier` with the npm solc.
fn key_and_verifier(dir: &Path) -> (PathBuf, String) {
    let keys = dir.join("keys");
    let header = circuits::keys::setup(
        circuits::PplnsParams::new(LOG2_SLOTS).unwrap(),
        Some(SEED),
        &keys,
    )
    .unwrap();
    let (_, vk) = circuits::keys::load_verifying_key(&keys).unwrap();
    let source = dir.join("Groth16Verifier.sol");
    std::fs::write(&source, circuits::export::solidity_verifier(&vk, &header)).unwrap();
    let out = dir.join("Groth16Verifier.bin");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/compile-verifier.js");
    let status = std::process::Command::new("node")
        .arg(&script)
        .arg(&source)
        .arg(&out)
        .status()
        .expect("node runs (scripts/install-toolchain.sh)");
    assert!(status.success(), "compile-verifier.js failed");
    (keys, std::fs::read_to_string(out).unwrap())
}

fn node_config(dir: &Path, anvil: &str, deployment: &Path, keys: &Path) -> RawConfig {
    let mut raw = test_config(&dir.join("node"));
    raw.pool.window_log2_slots = Some(LOG2_SLOTS);
    raw.chain.nbits = Some(NBITS.into());
    raw.vardiff.start_difficulty = Some(1e-4);
    raw.vardiff.min_difficulty = Some(1e-6);
    // About one share per 4 s per miner: the attacker's shares stay in the
    // window of 64 for tens of seconds, across several blocks.
    raw.vardiff.target_share_secs = Some(4.0);
    let key = dir.join("node.key");
    std::fs::write(&key, KEYS[0]).unwrap();
    let s = &mut raw.settlement;
    s.enabled = Some(true);
    s.rpc_url = Some(anvil.to_owned());
    s.deployment = Some(deployment.to_owned());
    s.key_file = Some(key);
    s.proving_key_dir = Some(keys.to_owned());
    s.page_records = Some(PAGE_RECORDS);
    s.poll_ms = Some(200);
    s.deliver_peg_in = Some(true);
    raw
}

fn start_miners(node: &RunningNode, stop: &CancellationToken) -> Vec<JoinHandle<()>> {
    (1..=3)
        .map(|i| {
            let config = MinerConfig {
                url: format!("stratum+tcp://{}", node.stratum_addr),
                authority_key: None,
                user: format!("{}.rig{i}", signer(i).address()),
                threads: 1,
                version_rolling: false,
                duration: Some(Duration::from_secs(900)),
                suggest_difficulty: Some(1e-4 * i as f64),
            };
            let stop = stop.clone();
            tokio::spawn(async move {
                let _ = miner::run(config, stop).await;
            })
        })
        .collect()
}

fn height(node: &RunningNode) -> u32 {
    node.embedded.as_ref().unwrap().with_chain(|c| c.height())
}

/// Distinct addresses in a found block's committed window.
fn payees_of(store: &Store, hash: &bitcoin::BlockHash) -> usize {
    let snapshot = store.block_snapshot(hash).unwrap().unwrap();
    snapshot
        .entries
        .iter()
        .map(|e| e.address)
        .collect::<BTreeSet<_>>()
        .len()
}

/// One accepted minimum-difficulty share as `user`, on its own connection
/// (retried on a job that went stale meanwhile).
async fn one_share(stratum: std::net::SocketAddr, user: &str) {
    let mut s = subscribe(stratum, user).await;
    for id in 10..40u64 {
        let target = share_verifier::Difficulty::new(s.difficulty)
            .unwrap()
            .to_target();
        let en2 = id.to_be_bytes();
        let nonce = shareproof_tests::mine(&s.job, &s.extranonce1, &en2, target, s.job.version);
        s.client
            .send(&shareproof_tests::submit(
                id, user, &s.job, &en2, nonce, None,
            ))
            .await;
        // Read until the answer, noting new jobs.
        loop {
            let v: Value = s.client.recv_json().await;
            if v["method"] == "mining.notify" {
                s.job = share_verifier::Job::from_notify_params(&v["params"]).unwrap();
            } else if v["method"] == "mining.set_difficulty" {
                s.difficulty = v["params"][0].as_f64().unwrap();
            } else if v["id"] == id {
                if v["result"] == Value::Bool(true) {
                    return;
                }
                break;
            }
        }
    }
    panic!("{user}: no share accepted in 30 tries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_window_of_40_addresses_settles_in_pages_and_everyone_claims() {
    let anvil = start_anvil().await;
    let dir = tempfile::tempdir().unwrap();
    let (keys, bytecode) = key_and_verifier(dir.path());
    let deployment_path = dir.path().join("deployment.json");
    let config = node_config(dir.path(), &anvil.url, &deployment_path, &keys)
        .validate()
        .unwrap();
    let node = shareproof_node::start(config).await.unwrap();
    let stop = CancellationToken::new();
    let miners = start_miners(&node, &stop);
    wait_for(300, "a first block", || height(&node) >= 1).await;

    // The N = 64 verifier, then the pool on it, checkpointed at the tip.
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer(0)))
        .connect_http(anvil.url.parse().unwrap());
    let code = hex::decode(bytecode.trim().trim_start_matches("0x")).unwrap();
    let receipt = provider
        .send_transaction(alloy::rpc::types::TransactionRequest::default().with_deploy_code(code))
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let verifier = receipt.contract_address.unwrap();
    let deployment = deploy_at_tip(
        &anvil,
        node.embedded.as_ref().unwrap(),
        FEE_BPS,
        Some((verifier, 1 << LOG2_SLOTS)),
        &deployment_path,
    )
    .await;
    let checkpoint = deployment.checkpoint_height;

    // The attacker: one minimum-difficulty share under each of 37 fresh addresses.
    let attackers: Vec<PrivateKeySigner> =
        (0..ATTACKERS).map(|_| PrivateKeySigner::random()).collect();
    // All at once, as a flood would come: they land within a few seconds,
    // inside one window. On a loaded machine the built-in miners' shares may
    // push the first ones out before a block is found: flood again then (the
    // same addresses), as an attacker would.
    let store = node.store.clone();
    let wide = |store: &Store| {
        store
            .blocks()
            .unwrap()
            .into_iter()
            .filter(|b| u64::from(b.height) > checkpoint)
            .find(|b| payees_of(store, &b.hash) >= 40)
    };
    for round in 1..=5 {
        let shares_from = height(&node);
        let flood: Vec<_> = attackers
            .iter()
            .map(|a| {
                let user = a.address().to_string();
                let stratum = node.stratum_addr;
                tokio::spawn(async move { one_share(stratum, &user).await })
            })
            .collect();
        for f in flood {
            f.await.unwrap();
        }
        println!(
            "flood {round}: 37 attacker shares accepted from height {shares_from}; tip {}",
            height(&node)
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while wide(&store).is_none() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if wide(&store).is_some() {
            break;
        }
    }
    assert!(
        wide(&store).is_some(),
        "no block committed a window of 40 addresses after 5 floods"
    );
    let target = wide(&store).unwrap();
    println!(
        "block {} at height {} commits a window of {} addresses",
        target.hash,
        target.height,
        payees_of(&store, &target.hash)
    );
    let settled_up_to = |store: &Store| {
        store
            .blocks()
            .unwrap()
            .into_iter()
            .filter(|b| u64::from(b.height) > checkpoint && b.height <= target.height)
            .all(|b| {
                matches!(
                    store.settlement(&b.hash).unwrap().status,
                    SettlementStatus::Settled | SettlementStatus::Orphaned
                )
            })
    };
    wait_for(600, "every block up to the wide one settled", || {
        settled_up_to(&store)
    })
    .await;
    stop.cancel();
    for m in miners {
        let _ = m.await;
    }
    // Stop the node before reading balances: its settler finishes the block
    // in hand (every page of it) and settles nothing more, so the store and
    // the contract agree while the test compares them and claims.
    node.stop().await;

    // No block was unprovable or orphaned for its size; the wide block
    // settled in pages.
    let settled: Vec<bitcoin::BlockHash> = store
        .blocks()
        .unwrap()
        .into_iter()
        .filter(|b| store.settlement(&b.hash).unwrap().status == SettlementStatus::Settled)
        .map(|b| b.hash)
        .collect();
    assert!(settled.contains(&target.hash));
    let rec = store.settlement(&target.hash).unwrap();
    println!(
        "wide block settled: {} payees, prove {} ms, gas {:?} over all its transactions",
        payees_of(&store, &target.hash),
        rec.prove_ms.unwrap_or(0),
        rec.gas_used
    );
    for b in store.blocks().unwrap() {
        assert_ne!(
            store.settlement(&b.hash).unwrap().status,
            SettlementStatus::Unprovable,
            "block {} unprovable",
            b.hash
        );
    }

    // Every address holds exactly share-verifier's allocation.
    let client = EvmClient::connect(&anvil.url, signer(0), deployment.clone()).unwrap();
    let expected = expected_balances(&store, &settled, FEE_BPS, signer(0).address());
    assert!(expected.len() >= 41, "{} accounts", expected.len());
    for (account, amount) in &expected {
        assert_eq!(
            client.balance_of(*account).await.unwrap(),
            *amount,
            "balance of {account}"
        );
    }

    // Each attacker address claims everything in one transaction of its own.
    let mut claims = Vec::new();
    for a in &attackers {
        let owed = expected.get(&a.address()).copied().unwrap_or(0);
        if owed == 0 {
            continue;
        }
        provider
            .raw_request::<_, Value>(
                "anvil_setBalance".into(),
                (a.address(), "0x56BC75E2D63100000"),
            )
            .await
            .unwrap();
        let own = EvmClient::connect(&anvil.url, a.clone(), deployment.clone()).unwrap();
        let mined = own.claim().await.unwrap();
        assert_eq!(own.token_balance(a.address()).await.unwrap(), owed);
        assert_eq!(own.balance_of(a.address()).await.unwrap(), 0);
        claims.push(mined.gas_used);
    }
    assert!(!claims.is_empty());
    println!(
        "{} claims, one transaction each: {}..{} gas",
        claims.len(),
        claims.iter().min().unwrap(),
        claims.iter().max().unwrap()
    );
}

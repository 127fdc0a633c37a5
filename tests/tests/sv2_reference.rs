//! The Stratum V2 reference implementation's own roles against the node's
//! V2 server: its translator proxy with our V1 miner behind it (extended
//! channel), and its test mining device (standard channel). Each mines
//! shares and blocks into the window, and the exported log audits clean.

use std::time::Duration;

use share_verifier::log::LogReader;
use share_verifier::Auditor;
use shareproof_miner::cpu::{self as miner, MinerConfig};
use shareproof_node::store::Store;
use shareproof_tests::sv2::{log_of, start_mining_device, start_translator, Role};
use shareproof_tests::{get_json, start_node, TestNode, ADDRESS};
use tokio_util::sync::CancellationToken;

/// A node whose blocks take `nbits`' work.
async fn node(nbits: &str) -> TestNode {
    start_node(|raw| {
        raw.chain.nbits = Some(nbits.into());
        raw.vardiff.start_difficulty = Some(1e-4);
        raw.vardiff.target_share_secs = Some(1.0);
    })
    .await
}

/// Waits until `ADDRESS` has `shares` in the window and the pool a block.
async fn wait_for_shares(t: &TestNode, shares: u64, role: &Role) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        let (_, me) = get_json(t.node.api_addr, &format!("/api/v1/miners/{ADDRESS}")).await;
        let (_, pool) = get_json(t.node.api_addr, "/api/v1/pool").await;
        if me["shares"].as_u64().unwrap_or(0) >= shares
            && pool["blocks"].as_u64().unwrap_or(0) >= 1
            && pool["protocols"]["v2"]["shares_accepted"]
                .as_u64()
                .unwrap_or(0)
                >= shares
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {shares} shares in 180 s: {me}\n{pool}\n--- role's log:\n{}",
            log_of(role)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn audit_clean(store: &Store) -> share_verifier::audit::AuditSummary {
    let mut exported = Vec::new();
    store.export_log(&mut exported).unwrap();
    let mut reader = LogReader::new(&exported[..]).unwrap();
    let mut auditor = Auditor::new(reader.header(), None).unwrap();
    for record in reader.by_ref() {
        auditor.check(&record.unwrap()).unwrap();
    }
    auditor.summary()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_translator_carries_a_v1_miner_onto_the_v2_port() {
    // 2^16 hashes per block: blocks within seconds on one core.
    let t = node("1f00ffff").await;
    let v2 = t.node.stratum_v2.expect("V2 on");
    let tproxy = start_translator(v2, &format!("{ADDRESS}.tproxy")).await;
    let stop = CancellationToken::new();
    let mining = tokio::spawn(miner::run(
        MinerConfig {
            url: format!("stratum+tcp://{}", tproxy.downstream.clone().unwrap()),
            authority_key: None,
            user: "behind-the-proxy".into(),
            threads: 1,
            version_rolling: true,
            duration: Some(Duration::from_secs(200)),
            suggest_difficulty: None,
        },
        stop.clone(),
    ));
    wait_for_shares(&t, 5, &tproxy).await;
    stop.cancel();
    let report = mining.await.unwrap().unwrap();
    assert!(report.accepted >= 5, "{report:?}");
    drop(tproxy);
    let store = t.node.store.clone();
    t.node.stop().await;
    let summary = audit_clean(&store);
    assert!(summary.shares >= 5 && summary.blocks >= 1, "{summary:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_mining_device_mines_on_a_standard_channel() {
    // 2^24 hashes per block, a block every few seconds. The device stamps
    // its headers with the wall clock plus 60 s rather than the job's time,
    // so blocks must not come so fast that the chain's median time passes
    // that (on a real chain it is an hour behind the clock).
    let t = node("1e00ffff").await;
    let v2 = t.node.stratum_v2.expect("V2 on");
    let device = start_mining_device(v2, &format!("{ADDRESS}.device"));
    wait_for_shares(&t, 5, &device).await;
    drop(device);
    let store = t.node.store.clone();
    t.node.stop().await;
    let summary = audit_clean(&store);
    assert!(summary.shares >= 5 && summary.blocks >= 1, "{summary:?}");
}

//! Crash safety: the real binary is SIGKILLed while the load generator
//! submits shares; after a restart every acknowledged share is in the
//! exported log and the window, the log audits clean and the chain is intact.

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::Child;
use std::time::Duration;

use share_verifier::log::{LogReader, Record};
use share_verifier::Auditor;
use shareproof_miner::loadgen::{self, LoadgenConfig};
use support::{http_get, spawn};
use tokio_util::sync::CancellationToken;

/// Starts `shareproof node` on ephemeral ports; returns the child and its
/// Stratum and API addresses (read from its banner).
fn spawn_node(data_dir: &Path) -> (Child, String, String) {
    let mut args: Vec<String> = vec![
        "node".into(),
        "--stratum-listen".into(),
        "127.0.0.1:0".into(),
        "--stratum-v2-listen".into(),
        "127.0.0.1:0".into(),
        "--api-listen".into(),
        "127.0.0.1:0".into(),
        "--data-dir".into(),
        data_dir.display().to_string(),
    ];
    args.extend(
        [
            "--window-log2",
            "8",
            "--chain-nbits",
            "1e00ffff",
            "--min-difficulty",
            "1e-12",
            "--start-difficulty",
            "1e-12",
            "--max-difficulty",
            "1e-12",
            "--max-invalid-per-minute",
            "1000000",
        ]
        .map(String::from),
    );
    let spawned = spawn(&args);
    (
        spawned.child,
        spawned.stratum.expect("stratum"),
        spawned.api.expect("api"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_share_survives_a_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    let acked_file = dir.path().join("acked.txt");
    let (mut child, stratum, _) = spawn_node(&data);

    let load = tokio::spawn(loadgen::run(
        LoadgenConfig {
            url: format!("stratum+tcp://{stratum}"),
            authority_key: None,
            connections: 8,
            rate: 3000.0,
            duration: Duration::from_secs(4),
            invalid_fraction: 0.05,
            difficulty: 1e-12,
            acked_file: Some(acked_file.clone()),
            idle: false,
            source_ips: Vec::new(),
        },
        CancellationToken::new(),
    ));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().expect("SIGKILL"); // std's kill() is SIGKILL on Unix
    child.wait().expect("reaped");
    let report = load.await.expect("loadgen task").expect("loadgen");
    assert!(
        report.accepted > 100,
        "the load ran before the kill: {report:?}"
    );

    let (mut child, _, api) = spawn_node(&data);
    let log = http_get(&api, "/api/v1/log").await;
    // Wait for the first job (the template source starts with the node).
    let mut pool = serde_json::Value::Null;
    for _ in 0..100 {
        pool = serde_json::from_slice(&http_get(&api, "/api/v1/pool").await).expect("pool json");
        if !pool["height"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().expect("kill");
    child.wait().expect("reaped");

    let mut reader = LogReader::new(&log[..]).expect("log header");
    let mut auditor = Auditor::new(reader.header(), None).expect("auditor");
    let mut logged = HashSet::new();
    for record in reader.by_ref() {
        let record = record.expect("record");
        auditor.check(&record).expect("audits clean");
        if let Record::Share(s) = &record {
            logged.insert(format!(
                "{} {} {:08x}",
                hex::encode(&s.extranonce1),
                hex::encode(&s.extranonce2),
                s.nonce
            ));
        }
    }
    let acked = std::fs::read_to_string(&acked_file).expect("acked file");
    let acked: Vec<&str> = acked.lines().collect();
    assert_eq!(acked.len() as u64, report.accepted);
    let missing: Vec<_> = acked.iter().filter(|a| !logged.contains(**a)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged shares lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(3)]
    );
    // The window was recovered: it holds the last min(N, shares) shares.
    let shares = auditor.shares();
    assert_eq!(pool["shares"].as_u64().expect("shares"), shares);
    assert_eq!(
        pool["window_shares"].as_u64().expect("window"),
        shares.min(256)
    );
    // The chain is intact: the node reopened it and builds on its tip.
    assert!(pool["chain_tip_height"].as_u64().is_some());
    assert_eq!(
        pool["height"].as_u64(),
        pool["chain_tip_height"].as_u64().map(|h| h + 1)
    );
}
